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

  @mutating @serial @claim(002-runbook-5-create-user)
  Scenario: A user created by the procedure can sign in and use the API
    When I create a user with a permanent password as the runbook describes
    Then that user can sign in
    And the protected API answers 200 to that user's token

  @mutating @serial @claim(002-runbook-5-disable-user)
  Scenario: Disabling a user blocks sign-in; enabling restores it
    When I create a user with a permanent password as the runbook describes
    And I disable that user
    Then that user cannot sign in
    When I enable that user
    Then that user can sign in

  @mutating @serial @claim(002-runbook-5-reset-password)
  Scenario: A password reset requires a new password before sign-in
    When I create a user with a permanent password as the runbook describes
    And I reset that user's password
    Then that user's status is RESET_REQUIRED
    And that user cannot sign in through the admin flow

  @readonly @gate @claim(002-runbook-5-artifact-cleanup)
  Scenario: Old artifacts expire
    Then the bucket "energy-insights-artifacts-{env}" expires objects after 90 days

  @mutating @claim(002-troubleshoot-4.4-chat)
  Scenario: A chat message is sent, stored and listed
    When I send POST "/api/conversations" as the test user with the JSON body:
      """
      {"title": "shakedown chat", "message": "What was the peak load yesterday?"}
      """
    Then the response status is 201
    And I save the response JSON at "/id" as "conversation"
    When I send GET "/api/conversations/{conversation}" as the test user
    Then the response JSON at "/messages/0/content" is "What was the peak load yesterday?"
    When I send GET "/api/conversations" as the test user
    Then the response JSON at "/conversations" has an item where:
      | /id               | is | {conversation}                    |
      | /messages/0/role  | is | user                              |

  # Troubleshooting Decision Tree §7: slow API response times — the diagnosis reads API
  # Gateway Latency and IntegrationLatency and the function's Duration.
  @readonly @claim(002-troubleshoot-4.7-slow)
  Scenario: Slow API responses are diagnosable from API Gateway and Lambda latency metrics
    Given I note the samples of the metric "Latency" in "AWS/ApiGateway" with "ApiName=energy-insights-api-{env}"
    And I note the samples of the metric "IntegrationLatency" in "AWS/ApiGateway" with "ApiName=energy-insights-api-{env}"
    And I note the samples of the metric "Duration" in "AWS/Lambda" with "FunctionName=energy-insights-api-{env}"
    When I send GET "/api/conversations" as the test user
    Then the response status is 200
    And within 20 s, the metric "Latency" in "AWS/ApiGateway" with "ApiName=energy-insights-api-{env}" has new datapoints at period 300 s over the last hour
    And within 20 s, the metric "IntegrationLatency" in "AWS/ApiGateway" with "ApiName=energy-insights-api-{env}" has new datapoints at period 300 s over the last hour
    And within 20 s, the metric "Duration" in "AWS/Lambda" with "FunctionName=energy-insights-api-{env}" has new datapoints at period 300 s over the last hour

  # Troubleshooting Decision Tree §6: artifacts not displaying — an artifact a conversation
  # references is in the artifacts bucket and its link serves it with its content type.
  @mutating @claim(002-troubleshoot-4.6-artifacts)
  Scenario: An agent's answer carries an artifact stored in S3 behind a working link
    When I send POST "/api/conversations" as the test user with the JSON body:
      """
      {"title": "shakedown artifacts", "message": "Show consumption by source for last month"}
      """
    Then the response status is 201
    And I save the response JSON at "/id" as "conversation"
    And the after-hook deletes the objects under "artifacts/{conversation}/" in the bucket "energy-insights-artifacts-{env}"
    And the response JSON at "/messages/1/role" is "assistant"
    And the response JSON at "/artifacts" has 1 item
    And every item at "/artifacts" has a "/url" that answers 200 with Content-Type "application/json"
    And the bucket "energy-insights-artifacts-{env}" holds 1 object under "artifacts/{conversation}/"

  # Monitoring and Alert Configurations: custom metrics for agent success rate and artifact
  # generation, published when an agent answers.
  @mutating @claim(002-alarms-3-custom-metrics)
  Scenario: An agent's answer publishes the agent success and artifact generation metrics
    Given I note the samples of the metric "AgentSuccessRate" in "EnergyInsights" with ""
    And I note the samples of the metric "ArtifactGenerationRate" in "EnergyInsights" with ""
    When I send POST "/api/conversations" as the test user with the JSON body:
      """
      {"title": "shakedown metrics", "message": "Which source grew fastest?"}
      """
    Then the response status is 201
    And I save the response JSON at "/id" as "conversation"
    And the after-hook deletes the objects under "artifacts/{conversation}/" in the bucket "energy-insights-artifacts-{env}"
    And within 20 s, the metric "AgentSuccessRate" in "EnergyInsights" with "" has new datapoints at period 300 s over the last hour
    And within 20 s, the metric "ArtifactGenerationRate" in "EnergyInsights" with "" has new datapoints at period 300 s over the last hour
    And the namespace "EnergyInsights" lists the metrics "AgentSuccessRate, ArtifactGenerationRate"

  # Troubleshooting Decision Tree §5: agent responses timing out. The diagnosis reads the
  # agent function's Duration against its Timeout and looks for "Task timed out".
  @mutating @serial @claim(002-troubleshoot-4.5-agent-timeout)
  Scenario: Agent responses complete within the agent function's timeout
    Given I note the samples of the metric "Duration" in "AWS/Lambda" with "FunctionName=energy-insights-agent-{env}"
    When I send POST "/api/conversations" as the test user with the JSON body:
      """
      {"title": "shakedown agent timeout", "message": "How much did wind produce last week?"}
      """
    Then the response status is 201
    And the response JSON at "/messages/1/role" is "assistant"
    And within 30 s, the metric "Duration" in "AWS/Lambda" with "FunctionName=energy-insights-agent-{env}" has new datapoints at period 60 s over the last hour
    And the longest Duration of the function "energy-insights-agent-{env}" over the last hour stays below its configured timeout
    And the log group "/aws/lambda/energy-insights-agent-{env}" has no event matching "Task timed out" since the scenario started

  # Troubleshooting symptom 9, DynamoDB throttling: under normal load nothing is throttled.
  # Read over the last hour (which includes the smoke run and this suite's own traffic);
  # every series of ThrottledRequests (per operation) and Read/WriteThrottleEvents counts.
  @readonly @gate @claim(002-troubleshoot-4.9-dynamodb-throttling)
  Scenario: No DynamoDB table was throttled over the last hour
    Then no table of the runbook was throttled over the last hour

  # Troubleshooting Decision Tree §3 and §8: a 500 and a Lambda error are traceable in the
  # API function's log group and its AWS/Lambda Errors. The error is induced with AWS FIS
  # (aws:lambda:invocation-error; on AWS the function needs the FIS Lambda extension);
  # locally the reference services' fault plane applies the running experiment.
  @destructive @serial @claim(002-troubleshoot-4.3-500) @claim(002-troubleshoot-4.8-lambda-errors)
  Scenario: Valid requests answer without 5xx; an induced error is logged and counted
    Then the log groups "/aws/lambda/energy-insights-api-{env}, /aws/lambda/energy-insights-agent-{env}" exist
    When I send GET "/api/conversations" as the test user
    Then the response status is 200
    Given I note the samples of the metric "Errors" in "AWS/Lambda" with "FunctionName=energy-insights-api-{env}"
    When an FIS experiment fails 100% of the invocations of "energy-insights-api-{env}" for 2 min
    And within 30 s, I send GET "/api/conversations" as the test user until it answers a server error
    Then the response status is 500
    And within 10 s, the log group "/aws/lambda/energy-insights-api-{env}" has an event matching "ERROR" that carries "{request-id}"
    And within 30 s, the Sum of the metric "Errors" in "AWS/Lambda" with "FunctionName=energy-insights-api-{env}" has grown by at least 1
