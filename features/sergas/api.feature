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

  # "SSL/TLS configuration" and "encryption in transit": the public endpoint (locally nginx
  # terminating TLS) presents a certificate valid for its host, speaks TLS 1.2 or newer only,
  # and plain HTTP is redirected to HTTPS.
  @readonly @gate @claim(004-deploy-tls)
  Scenario: The API is served over TLS 1.2 or newer only, and plain HTTP is redirected
    Then the API's TLS endpoint presents a certificate valid for its host and negotiates TLS 1.2 or newer
    And the API's TLS endpoint refuses TLS 1.0 and TLS 1.1
    And plain HTTP to the API is redirected to HTTPS or refused

  # "Database setup and migrations": every migration the release ships (the profile's
  # database.migrations) is recorded as applied, and the service reaches its database.
  @readonly @gate @claim(004-deploy-migrations)
  Scenario: The database schema is at the release's newest migration
    Then the database schema is at the release's newest migration
    When I send GET "/health"
    Then the response JSON at "/checks/database" is "ok"

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
    And the database credentials stored in "sergas/{env}/database" log in to the database

  # API Documentation: error handling — every error is JSON {error, error_description} with a
  # documented code (the seed lists no codes: the runbook facts' [[error-codes]] are assumed).
  @readonly @gate @claim(004-api-errors)
  Scenario Outline: <what> is answered <status> <code> with a description
    When I send <request>
    Then the response is <status> with error code "<code>"
    And the response JSON has "/error_description"

    Examples:
      | what                    | request                                                        | status | code            |
      | A page size over 100    | GET "/api/v1/accounts?page_size=1000" as the test user         | 400    | invalid_request |
      | An unknown status       | GET "/api/v1/accounts?status=bogus" as the test user           | 400    | invalid_request |
      | No token                | GET "/api/v1/accounts"                                         | 401    | unauthorized    |
      | A viewer's write        | POST "/api/v1/accounts" as the test user                       | 403    | forbidden       |
      | An unknown account id   | GET "/api/v1/accounts/acc-9999" as the test user               | 404    | not_found       |

  # API Documentation: rate limiting (the limit is assumed: 60 at once, 600 a minute per
  # client). It spends the test client's own limit, so it runs alone and gives it back.
  @mutating @serial @claim(004-api-ratelimit) @claim(004-api-errors)
  Scenario: A client over its rate limit is answered 429 with Retry-After, then served again
    Given I wait 6 s for the rate limit to refill
    And the after-hook waits 6 s for the rate limit to refill
    Then GET "/api/v1/accounts" as the test user is served 60 times back to back at most, refilling 600 a minute, then answered 429 with Retry-After
    And the response is 429 with error code "rate_limit_exceeded"
    And the response JSON has "/error_description"
    And within 10 s, GET "/api/v1/accounts" as the test user has "/total" other than ""

  # Security Guide: PII detection and masking — a customer contact's e-mail and phone are
  # masked in answers to every role but admin (the aggregated logs are not shown locally).
  @mutating @claim(004-security-pii)
  Scenario: Contact details are masked for roles other than admin
    When I send POST "/api/v1/accounts" as the writer identity with the JSON body:
      """
      {"name": "shakedown pii", "owner": "shakedown", "contact_email": "jane.doe@example.com", "contact_phone": "+44 20 7946 0958"}
      """
    Then the response status is 201
    And I save the response JSON at "/id" as "account"
    And the after-hook deletes "/api/v1/accounts/{account}" as the writer identity
    When I send GET "/api/v1/accounts/{account}" as the test user
    Then the response status is 200
    And the response JSON at "/contact_email" is "j***@example.com"
    And the response JSON at "/contact_phone" is "***-***-0958"
    When I send GET "/api/v1/accounts/{account}" as the writer identity
    Then the response JSON at "/contact_email" is "jane.doe@example.com"

  # Security Guide: audit logging — creating and deleting an account each leave a record of
  # the client, the action, the account and the time (read from the admin audit endpoint,
  # `/api/v1/audit`, whose name is assumed: the seed names none).
  @mutating @claim(004-security-audit)
  Scenario: Creating and deleting an account leave audit records naming client, action and account
    When I send POST "/api/v1/accounts" as the writer identity with the JSON body:
      """
      {"name": "shakedown audit", "owner": "shakedown"}
      """
    Then the response status is 201
    And I save the response JSON at "/id" as "account"
    And the after-hook deletes "/api/v1/accounts/{account}" as the writer identity
    When I send DELETE "/api/v1/accounts/{account}" as the writer identity
    Then the response status is 204
    When I send GET "/api/v1/audit?target={account}" as the writer identity
    Then the response status is 200
    And the response JSON at "/items" has an item where:
      | /actor  | is | sergas-admin   |
      | /action | is | account.create |
      | /target | is | {account}      |
    And the response JSON at "/items" has an item where:
      | /actor  | is | sergas-admin   |
      | /action | is | account.delete |
      | /target | is | {account}      |
    And every item at "/items" has "/at"
    When I send GET "/api/v1/audit?target={account}" as the test user
    Then the response is 403 with error code "forbidden"

  # Security monitoring: refused credentials are counted where a security alert rule can
  # watch them (the seed names neither the metric nor the rule; monitoring.feature checks
  # that Prometheus evaluates the sergas-security rules).
  @mutating @claim(004-security-monitoring)
  Scenario: Refused credentials are counted in the application metrics
    Given I note the Prometheus counter "sergas_auth_failures_total" at "/metrics"
    Then the protected API refuses no token with 401
    And the protected API refuses a forged token with 401
    And the read-only identity is refused a write to "/api/v1/accounts" with 403
    And the Prometheus counter "sergas_auth_failures_total" at "/metrics" has grown by at least 3

  # Architecture Overview, data flow: "Account analysis workflow". The seed names no endpoint:
  # POST /api/v1/accounts/{id}/analysis (202, an analysis id) and GET /api/v1/analyses/{id}
  # are assumed, as is the result's shape (recommendations with type, priority, title and
  # rationale). Requesting one is a write: the writer identity does.
  @mutating @claim(004-arch-analysis-flow)
  Scenario: Analysing an existing account produces recommendations
    When I send POST "/api/v1/accounts/acc-0001/analysis" as the writer identity
    Then the response status is 202
    And I save the response JSON at "/analysis_id" as "analysis"
    And within 20 s, GET "/api/v1/analyses/{analysis}" as the writer identity has "/status" equal to "COMPLETED"
    And the response JSON at "/account_id" is "acc-0001"
    And every item at "/recommendations" has "/type, /priority, /title, /rationale"

  # Usage Examples: "python examples/analyze_account.py"; the documentation promises Python
  # and JavaScript SDK examples that work against the API. Each runs with the environment's
  # base URL and the writer's client credentials (the profile's `examples` var says where
  # the examples are; locally the reference ones in fixtures/examples/sergas).
  @mutating @claim(004-api-sdk)
  Scenario Outline: The <language> SDK example analyses an account
    When I run the SDK example "<command> acc-0002" with the API's base URL and the writer's client credentials
    Then the example exits 0 and prints "recommendation(s)"

    Examples:
      | language   | command                                |
      | Python     | python3 {examples}/analyze_account.py  |
      | JavaScript | node {examples}/analyze_account.mjs    |
