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


  # Task 2 §5: "500 Internal Server Error for a server error" — the API function failing,
  # induced with AWS FIS (aws:lambda:invocation-error; function name assumed; on AWS it needs
  # the FIS Lambda extension), is answered with the documented JSON body and nothing more.
  @destructive @serial @claim(000-api-2.5-500)
  Scenario: A server error is answered 500 with the documented body and no stack trace
    When an FIS experiment fails 100% of the invocations of "plot-palette-api-{env}" for 2 min
    And within 30 s, I send GET "/jobs" as the test user until it answers a server error
    Then the response is 500 with error code "INTERNAL_ERROR"
    And the response header "content-type" is "application/json"
    And the response body carries no stack trace

  # Task 2 checklist "All endpoints documented": what API Gateway serves and what the
  # specification documents are the same operations.
  @readonly @gate @claim(000-api-2-coverage)
  Scenario: Every deployed route is documented and every documented operation deployed
    Then the REST API "plot-palette-api-{env}" serves exactly the operations of the OpenAPI document at "/openapi.json"

  # Task 2 §1 and §6: the OpenAPI 3.0.0 specification ("Plot Palette API" 1.0.0, server
  # https://api.plotpalette.com, bearer JWT) documents every endpoint of §2–§4 with the error
  # responses of §5, and Swagger UI links to it with "Try it out" enabled. The page is served
  # by the API itself, so "Try it out" needs no cross-origin preflight.
  @readonly @gate @claim(000-api-2.6-swagger)
  Scenario: Swagger UI serves the OpenAPI specification with Try it out
    When I send GET "/docs"
    Then the response status is 200
    And the response header "content-type" is "text/html; charset=utf-8"
    And the response body contains "<!DOCTYPE html>"
    And the response body contains "/openapi.json"
    And the response body contains "tryItOutEnabled: true"
    When I send GET "/openapi.json"
    Then the response status is 200
    And the response JSON at "/openapi" is "3.0.0"
    And the response JSON at "/info/title" is "Plot Palette API"
    And the response JSON at "/info/version" is "1.0.0"
    And the response JSON at "/servers/0/url" is "https://api.plotpalette.com"
    And the response JSON at "/components/securitySchemes/BearerAuth/bearerFormat" is "JWT"
    And the OpenAPI document documents the operations "POST /auth/signup, POST /auth/login, POST /jobs, GET /jobs, GET /jobs/{id}, DELETE /jobs/{id}, POST /templates, GET /templates, PUT /templates/{id}, POST /templates/{id}/test", each with the responses "400, 401, 403, 404, 500"
