# Seed 001, API Documentation: authentication, headers, the error-code table.
Feature: Site Builder API

  @readonly @gate @claim(001-api-auth-cognito) @claim(001-api-errors-unauthorized)
  Scenario: A JWT from Cognito is required
    Then the protected API refuses no token with 401 "UNAUTHORIZED"
    And the protected API refuses a forged token with 401 "UNAUTHORIZED"
    And the protected API refuses an expired token with 401 "UNAUTHORIZED"
    And the protected API accepts the test user's token

  @readonly @claim(001-api-auth-headers) @claim(001-api-errors-validation-error)
  Scenario: A request without X-Tenant-Id is answered VALIDATION_ERROR 400
    When I send GET "/v1/sites/{tenant}/validate" as the test user without the "X-Tenant-Id" header
    Then the response is 400 with error code "VALIDATION_ERROR"

  @readonly @claim(001-api-errors-forbidden)
  Scenario: Another tenant's site is answered FORBIDDEN 403
    When I send GET "/v1/sites/{tenant}/validate" as the test user with header "X-Tenant-Id" set to "someone-else"
    Then the response is 403 with error code "FORBIDDEN"

  @readonly @claim(001-api-errors-not-found)
  Scenario: An unknown resource is answered NOT_FOUND 404
    When I send GET "/v1/no-such-resource" as the test user
    Then the response is 404 with error code "NOT_FOUND"

  @readonly @claim(001-api-validate-response)
  Scenario: Validation returns the documented result shape
    When I send GET "/v1/sites/{tenant}/validate" as the test user
    Then the response status is 200
    And the response JSON has "/brandScore, /securityPassed, /performanceMs, /accessibilityPassed, /issues"
