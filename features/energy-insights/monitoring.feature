# Seed 002, Monitoring: dashboard, alarms with P0–P3 severities.
Feature: Energy Insights monitoring

  @readonly @gate @claim(002-dashboard-2-widgets)
  Scenario: The EnergyInsights dashboard has 16 widgets
    Then the dashboard "EnergyInsights" has 16 widgets

  @readonly @gate @claim(002-alarms-p0-error-rate) @claim(002-slo-error-rate)
  Scenario: P0 alarm on an API error rate above 5%
    Then the alarm "energy-insights-api-error-rate-{env}" fires when EnergyInsights ApiErrorRate Average > 5 over 300 s, notifying "energy-insights-critical-alerts-{env}"

  @readonly @gate @claim(002-alarms-p1-latency)
  Scenario: P1 alarm on latency above 10 s
    Then the alarm "energy-insights-api-latency-{env}" fires when AWS/ApiGateway Latency Average > 10000 over 300 s, notifying "energy-insights-high-alerts-{env}"

  @readonly @gate @claim(002-alarms-p2-duration)
  Scenario: P2 alarm on Lambda duration above 30 s
    Then the alarm "energy-insights-lambda-duration-{env}" fires when AWS/Lambda Duration Maximum > 30000 over 300 s, notifying "energy-insights-medium-alerts-{env}"

  @readonly @gate @claim(002-alarms-3-custom-alarms) @claim(002-slo-agent-success) @claim(002-slo-artifact-generation)
  Scenario: Custom-metric alarms on agent success and artifact generation
    Then the alarm "energy-insights-agent-success-rate-{env}" fires when EnergyInsights AgentSuccessRate Average < 95 over 900 s, notifying "energy-insights-high-alerts-{env}"
    And the alarm "energy-insights-artifact-generation-{env}" fires when EnergyInsights ArtifactGenerationRate Average < 90 over 900 s, notifying "energy-insights-medium-alerts-{env}"

  @readonly @gate @claim(002-alarms-3-severity)
  Scenario: Every documented alarm routes to its severity's topic and is quiet
    Then no documented alarm of the system is in ALARM

  # The alert categories name these alarms but give no thresholds: existence and routing.
  @readonly @gate @claim(002-alarms-3-lambda-errors)
  Scenario: Lambda errors raise a P0 alert
    Then an alarm on AWS/Lambda Errors notifies "energy-insights-critical-alerts-{env}"

  @readonly @gate @claim(002-alarms-3-lambda-throttles)
  Scenario: Lambda throttling raises an alert
    Then an alarm on AWS/Lambda Throttles notifies "energy-insights-high-alerts-{env}"

  @readonly @gate @claim(002-alarms-3-dynamodb-throttling)
  Scenario: DynamoDB throttling raises a P0 alert
    Then an alarm on AWS/DynamoDB ThrottledRequests notifies "energy-insights-critical-alerts-{env}"

  @readonly @gate @claim(002-alarms-3-dynamodb-system-errors)
  Scenario: DynamoDB system errors raise an alert
    Then an alarm on AWS/DynamoDB SystemErrors notifies "energy-insights-high-alerts-{env}"

  @readonly @gate @claim(002-alarms-3-s3-errors)
  Scenario: S3 errors raise an alert
    Then an alarm on AWS/S3 5xxErrors notifies "energy-insights-medium-alerts-{env}"

  @readonly @gate @claim(002-dashboard-2-metrics) @claim(002-dashboard-2-logs) @claim(002-dashboard-2-calculated)
  Scenario: The dashboard covers API Gateway, Lambda, DynamoDB and S3, log errors and error rates
    Then the dashboard "EnergyInsights" has 16 widgets showing:
      | namespace      | metric                                                                                   |
      | AWS/ApiGateway | Count                                                                                    |
      | AWS/ApiGateway | 5XXError                                                                                 |
      | AWS/ApiGateway | Latency                                                                                  |
      | AWS/Lambda     | Invocations                                                                              |
      | AWS/Lambda     | Errors                                                                                   |
      | AWS/Lambda     | Duration                                                                                 |
      | AWS/Lambda     | ConcurrentExecutions                                                                     |
      | AWS/Lambda     | Throttles                                                                                |
      | AWS/DynamoDB   | ConsumedReadCapacityUnits                                                                |
      | AWS/DynamoDB   | ConsumedWriteCapacityUnits                                                               |
      | AWS/DynamoDB   | SystemErrors                                                                             |
      | AWS/DynamoDB   | ThrottledRequests                                                                        |
      | AWS/S3         | BucketSizeBytes                                                                          |
      | AWS/S3         | AllRequests                                                                              |
      | AWS/S3         | 5xxErrors                                                                                |
      | expression     | 100 * errors / invocations                                                               |
      | logs           | filter @message like /ERROR/                                                             |
    And the log groups "/aws/lambda/energy-insights-api-{env}" exist

  @readonly @gate @claim(002-monitoring-notify)
  Scenario Outline: Each severity topic reaches its on-call channels
    Then the topic "<topic>" delivers to confirmed "<protocols>" subscriptions

    Examples:
      | topic                                 | protocols    |
      | energy-insights-critical-alerts-{env} | email, https |
      | energy-insights-high-alerts-{env}     | email, https |
      | energy-insights-medium-alerts-{env}   | email        |
      | energy-insights-low-alerts-{env}      | email        |

  @readonly @gate @serial @claim(002-slo-availability) @claim(002-slo-latency)
  Scenario: A short measurement of the API meets the availability and p95 latency SLOs
    When I probe GET "/api/conversations" as the test user 100 times, 10 at a time
    Then the measurement meets the "availability, p95-latency, error-rate" SLOs
    When I probe GET "/health" 200 times, 8 at a time
    Then the measurement meets the "availability" SLO

  @readonly @gate @claim(002-alarms-3-count)
  Scenario: At least 15 alarms watch the system, none of them silent
    Then there are at least 15 alarms named "energy-insights-*-{env}", each notifying an SNS topic
    And no documented alarm of the system is in ALARM

  # The seed names no amount: the facts assume 50 USD a day.
  @readonly @gate @claim(002-alarms-3-cost)
  Scenario: A daily cost alarm notifies the on-call topic
    Then the alarm "energy-insights-cost-daily-{env}" fires when AWS/Billing EstimatedCharges Maximum > 50 over 86400 s, notifying "energy-insights-medium-alerts-{env}"

  @readonly @gate @claim(002-alarms-3-metric-filters)
  Scenario: Log-based metric filters count error lines of the API and agent functions
    Then the log group "/aws/lambda/energy-insights-api-{env}" has a metric filter on "ERROR" counting into "EnergyInsights" "ApiLogErrors"
    And the log group "/aws/lambda/energy-insights-agent-{env}" has a metric filter on "ERROR" counting into "EnergyInsights" "AgentLogErrors"

  # §3 Alerting: composite alarms for overall service health (name and components assumed:
  # the seed names neither; service health is the P0 alarms).
  @mutating @serial @claim(002-alarms-3-composite)
  Scenario: The service-health composite alarm follows its components
    Then the composite alarm "energy-insights-service-health-{env}" watches its documented components and notifies its topic
    And within 1 s, the alarm "energy-insights-service-health-{env}" is in OK
    When I set the alarm "energy-insights-api-error-rate-{env}" to ALARM with the reason "shakedown: composite alarm test"
    Then within 10 s, the alarm "energy-insights-service-health-{env}" is in ALARM
