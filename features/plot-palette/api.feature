# Seed 000, Task 2: API documentation — authentication and error responses.
Feature: Plot Palette API and authentication
  The API is secured by bearer JWTs from Cognito; a missing, forged or expired token is
  refused with 401, a valid one accepted; errors use the documented codes.

  @readonly @gate @claim(000-api-2.1-bearer) @claim(000-api-2.5-401)
  Scenario: Requests without a valid token are refused with 401
    Then the protected API refuses no token with 401 "UNAUTHORIZED"
    And the protected API refuses a forged token with 401 "UNAUTHORIZED"
    And the protected API refuses an expired token with 401 "UNAUTHORIZED"

  @readonly @gate @claim(000-api-2.2-auth) @claim(000-arch-3.3-auth-flow)
  Scenario: The test user signs in and is accepted
    Given the test user has signed in
    Then the protected API accepts the test user's token

  @readonly @claim(000-api-2.5-errors)
  Scenario: An unknown job is answered 404
    When I send GET "/jobs/does-not-exist" as the test user
    Then the response status is 404

