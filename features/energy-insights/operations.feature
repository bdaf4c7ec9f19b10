# Seed 002, Operations and Troubleshooting: health, sign-in and 401s.
Feature: Energy Insights operations

  @readonly @gate @claim(002-quickstart-6-health)
  Scenario: System health checks report the platform healthy
    Then the health endpoint answers healthy with the documented schema

  @readonly @gate @claim(002-troubleshoot-4.1-signin)
  Scenario: Users can sign in
    Given the test user has signed in
    Then the protected API accepts the test user's token

  @readonly @gate @claim(002-troubleshoot-4.2-401)
  Scenario: The API returns 401 only for missing or invalid tokens
    Then the protected API refuses no token with 401 "UNAUTHORIZED"
    And the protected API refuses a forged token with 401 "UNAUTHORIZED"
    And the protected API accepts the test user's token
