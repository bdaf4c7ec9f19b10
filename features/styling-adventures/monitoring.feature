# Seed 003, CloudWatch Monitoring: the alarms and the dashboard.
Feature: Styling Adventures alarms and dashboard

  @readonly @gate @claim(003-alarms-api-p99-latency) @claim(003-slo-p99-latency)
  Scenario: API p99 latency alarm at 500 ms
    Then the alarm "styling-adventures-api-p99-latency-{env}" fires when AWS/ApiGateway Latency p99 > 500 over 300 s, notifying "styling-adventures-alerts-{env}"

  @readonly @gate @claim(003-alarms-lambda-error-rate)
  Scenario: Lambda error rate alarm at 1%
    Then the alarm "styling-adventures-lambda-error-rate-{env}" fires when StylingAdventures LambdaErrorRate Average > 0.01 over 300 s, notifying "styling-adventures-alerts-{env}"

  @readonly @gate @claim(003-alarms-dynamodb-throttling)
  Scenario: Any DynamoDB throttle event alarms
    Then the alarm "styling-adventures-dynamodb-throttling-{env}" fires when AWS/DynamoDB ThrottledRequests Sum >= 1 over 60 s, notifying "styling-adventures-alerts-{env}"

  @readonly @gate @claim(003-alarms-cognito-auth-failures)
  Scenario: Cognito auth failures alarm above 100 per minute
    Then the alarm "styling-adventures-cognito-auth-failures-{env}" fires when StylingAdventures CognitoAuthFailures Sum > 100 over 60 s, notifying "styling-adventures-alerts-{env}"

  @readonly @gate @claim(003-monitoring-dashboard)
  Scenario: The dashboard shows the key metrics
    Then the dashboard "styling-adventures-{env}" has 5 widgets showing:
      | namespace          | metric                    |
      | AWS/ApiGateway     | Latency                   |
      | AWS/Lambda         | Duration                  |
      | AWS/DynamoDB       | ConsumedReadCapacityUnits |
      | AWS/DynamoDB       | ConsumedWriteCapacityUnits |
      | AWS/ApiGateway     | 5XXError                  |
      | AWS/Lambda         | Errors                    |
      | StylingAdventures  | CognitoAuthFailures       |
      | AWS/S3             | BucketSizeBytes           |
      | AWS/S3             | AllRequests               |
      | AWS/CloudFront     | CacheHitRate              |
      | AWS/Lambda         | Invocations               |
      | AWS/DynamoDB       | ThrottledRequests         |

  # A short measurement: 400 health probes can only show "no failure in 400" (0.25 %
  # resolution); the step's evidence says how many probes each verdict rests on.
  @readonly @gate @serial @claim(003-slo-availability) @claim(003-slo-error-rate) @claim(003-slo-failed-requests) @claim(003-slo-db-uptime) @claim(003-synthetic-error-rate)
  Scenario: A short measurement meets the availability, error-rate and database-uptime SLOs
    Given within 30 s, the health endpoint answers healthy with the documented schema
    When I probe GET "/health" 400 times, 8 at a time
    Then the measurement meets the "availability, error-rate, failed-requests, database-uptime, synthetic-error-rate" SLOs
    When I probe GET "/api/profile" as the test user 200 times, 2 at a time
    Then the measurement meets the "availability, error-rate, failed-requests, p99-latency" SLOs

  @readonly @gate @claim(003-incident-severity)
  Scenario: Error-rate alarms page by severity: above 5% P2, above 1% P3
    Then the alarm "styling-adventures-error-rate-p2-{env}" fires when StylingAdventures ApiErrorRate Average > 5 over 300 s, notifying "styling-adventures-p2-{env}"
    And the alarm "styling-adventures-error-rate-p3-{env}" fires when StylingAdventures ApiErrorRate Average > 1 over 300 s, notifying "styling-adventures-p3-{env}"

  # Monitoring Dashboards §Real-Time Status. Health, error rate and active users are the
  # API's own metrics; recent deployments are the trail's deployment calls.
  @readonly @gate @claim(003-dashboard-realtime)
  Scenario: The real-time status dashboard shows health, error rate, latency, active users and deployments
    Then the dashboard "styling-adventures-realtime-{env}" has 5 widgets showing:
      | namespace         | metric                                                                      |
      | StylingAdventures | HealthStatus                                                                |
      | StylingAdventures | ApiErrorRate                                                                |
      | AWS/ApiGateway    | Latency                                                                     |
      | StylingAdventures | ActiveUsers                                                                 |
      | logs              | filter eventName in ['UpdateAlias', 'UpdateFunctionCode', 'CreateDeployment'] |
    Given I note the samples of the metric "HealthStatus" in "StylingAdventures" with ""
    When I send GET "/health"
    Then within 30 s, the metric "HealthStatus" in "StylingAdventures" with "" has new datapoints at period 60 s over the last hour

  # Monitoring Dashboards §Business Metrics: a signed-in call counts towards the daily
  # active users, engagement and the feature's usage, and the dashboard shows them beside
  # the error and latency trends.
  @readonly @gate @serial @claim(003-dashboard-business)
  Scenario: Business metrics are published and on the business dashboard
    Then the dashboard "styling-adventures-business-{env}" has 5 widgets showing:
      | namespace         | metric           |
      | StylingAdventures | DailyActiveUsers |
      | StylingAdventures | UserEngagement   |
      | StylingAdventures | FeatureUsage     |
      | AWS/ApiGateway    | 5XXError         |
      | AWS/ApiGateway    | Latency          |
    Given I note the samples of the metric "DailyActiveUsers" in "StylingAdventures" with ""
    And I note the samples of the metric "FeatureUsage" in "StylingAdventures" with "Feature=profile-view"
    When I send GET "/api/profile" as the test user
    Then the response status is 200
    And within 30 s, the metric "DailyActiveUsers" in "StylingAdventures" with "" has new datapoints at period 60 s over the last hour
    And within 30 s, the metric "FeatureUsage" in "StylingAdventures" with "Feature=profile-view" has new datapoints at period 60 s over the last hour
    And the "Maximum" of the metric "DailyActiveUsers" in "StylingAdventures" with "" at period 60 s over the last hour is at least 1
