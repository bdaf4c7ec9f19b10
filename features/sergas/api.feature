# Seed 004, API Documentation and Security Guide: OAuth 2.0, RBAC, pagination.
Feature: Sergas API

  @readonly @gate @claim(004-api-oauth)
  Scenario: OAuth 2.0 client credentials grant a token the API accepts; none is refused
    Given the test user has signed in
    Then the protected API accepts the test user's token
    And the protected API refuses no token with 401

  @mutating @claim(004-security-rbac)
  Scenario: The read-only identity is refused writes
    Then the read-only identity is refused a write to "/api/v1/accounts" with 403

  @readonly @gate @claim(004-api-pagination)
  Scenario: Accounts are paginated
    Then listing "/api/v1/accounts" pages with "page" and "page_size" into "items" with a "total" count

  @readonly @gate @claim(004-deploy-health)
  Scenario: Post-deployment health checks report the system and its dependencies
    Then the health endpoint answers healthy with the documented schema

  @readonly @gate @claim(004-api-filtering)
  Scenario Outline: Accounts filter by status, and the total counts only what matches
    When I send GET "/api/v1/accounts?status=<status>&page_size=100" as the test user
    Then the response status is 200
    And every item at "/items" has "/status" equal to "<status>"
    And the response JSON at "/total" counts the items at "/items"

    Examples:
      | status   |
      | active   |
      | at_risk  |

  @readonly @gate @claim(004-security-secrets)
  Scenario: The database, Redis and OAuth2 client secrets live in Secrets Manager
    Then Secrets Manager holds "sergas/{env}/database" with the keys "username, password"
    And Secrets Manager holds "sergas/{env}/redis" with the keys "password"
    And Secrets Manager holds "sergas/{env}/oauth-client" with the keys "client_id, client_secret"
    And the OAuth2 client secret stored in "sergas/{env}/oauth-client" is the one the token endpoint accepts
