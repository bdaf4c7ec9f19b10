# Seed 000, Task 5: Monitoring and alerting — the alarm list and its SNS routing.
Feature: Plot Palette alarms
  Every alarm of Task 5 §2 exists with its documented threshold and period, notifies the
  topic of its severity (critical, warning, info), and none is firing.

  @readonly @gate @claim(000-monitoring-5.2-api-error-rate)
  Scenario: HighAPIErrorRate fires above 5% errors for 5 minutes
    Then the alarm "HighAPIErrorRate" fires when AWS/ApiGateway 5XXError Average > 5 over 300 s, notifying "plot-palette-critical-{env}"

  @readonly @gate @claim(000-monitoring-5.2-api-latency)
  Scenario: High latency fires above p95 1 s for 5 minutes
    Then the alarm "HighAPILatency" fires when AWS/ApiGateway Latency p95 > 1000 over 300 s, notifying "plot-palette-critical-{env}"

  @readonly @gate @claim(000-monitoring-5.2-api-availability)
  Scenario: Low availability fires below 99% for 10 minutes
    Then the alarm "LowAPIAvailability" fires when PlotPalette Availability Average < 99 over 600 s, notifying "plot-palette-critical-{env}"

  @readonly @gate @claim(000-monitoring-5.2-ecs-task-failures)
  Scenario: ECS task failures fire above 3 in 5 minutes
    Then the alarm "ECSTaskFailures" fires when PlotPalette WorkerTaskFailures Sum > 3 over 300 s, notifying "plot-palette-warning-{env}"

  @readonly @gate @claim(000-monitoring-5.2-worker-memory)
  Scenario: Worker memory fires above 90% for 10 minutes
    Then the alarm "HighWorkerMemory" fires when AWS/ECS MemoryUtilization Average > 90 over 600 s, notifying "plot-palette-warning-{env}"

  @readonly @gate @claim(000-monitoring-5.2-bedrock-throttling)
  Scenario: Bedrock throttling fires above 10 in 5 minutes
    Then the alarm "BedrockThrottling" fires when AWS/Bedrock InvocationThrottles Sum > 10 over 300 s, notifying "plot-palette-warning-{env}"

  @readonly @gate @claim(000-monitoring-5.2-daily-spend)
  Scenario: Daily spend fires above $50
    Then the alarm "DailySpend" fires when AWS/Billing EstimatedCharges Maximum > 50 over 86400 s, notifying "plot-palette-warning-{env}"

  @readonly @gate @claim(000-monitoring-5.2-bedrock-cost)
  Scenario: Bedrock cost spike fires above $20 in 1 hour
    Then the alarm "BedrockCostSpike" fires when PlotPalette BedrockCost Sum > 20 over 3600 s, notifying "plot-palette-warning-{env}"

  @readonly @gate @claim(000-monitoring-5.2-ddb-throttling)
  Scenario: Any DynamoDB throttling event fires
    Then the alarm "DynamoDBThrottling" fires when AWS/DynamoDB ThrottledRequests Sum > 0 over 300 s, notifying "plot-palette-critical-{env}"

  @readonly @gate @claim(000-monitoring-5.2-ddb-read)
  Scenario: Read capacity above 80% fires
    Then the alarm "DynamoDBReadCapacity" fires when PlotPalette ReadCapacityUtilization Average > 80 over 300 s, notifying "plot-palette-info-{env}"

  @readonly @gate @claim(000-monitoring-5.2-ddb-write)
  Scenario: Write capacity above 80% fires
    Then the alarm "DynamoDBWriteCapacity" fires when PlotPalette WriteCapacityUtilization Average > 80 over 300 s, notifying "plot-palette-info-{env}"

  @readonly @gate @claim(000-monitoring-5.2-actions)
  Scenario: Every documented alarm is configured, routed to its topic and quiet
    Then no documented alarm of the system is in ALARM

  # Testing Instructions: "Trigger test alarm" with set-alarm-state, then check the alert
  # arrived. A probe queue stands in for the on-call's inbox.
  @mutating @serial @claim(000-monitoring-5-test-alert)
  Scenario: A test alarm sends an alert to the alarm's topic
    Given a probe queue subscribed to the topics the alarm "HighAPIErrorRate" notifies in ALARM
    When I set the alarm "HighAPIErrorRate" to ALARM with the reason "Testing alert"
    Then the probe queue receives the ALARM notification of "HighAPIErrorRate" within 20 s

  @readonly @gate @claim(000-monitoring-5.3-topics)
  Scenario Outline: Each severity topic reaches its subscribers
    Then the topic "<topic>" delivers to confirmed "<protocols>" subscriptions

    Examples:
      | topic                     | protocols  |
      | plot-palette-critical-{env} | email, sms |
      | plot-palette-warning-{env}  | email      |
      | plot-palette-info-{env}     | email      |

  @readonly @gate @claim(000-monitoring-5.1-dashboard)
  Scenario: The dashboard shows API, Lambda, ECS, DynamoDB, Bedrock and S3 metrics
    Then the dashboard "{dashboard}" has 6 widgets showing:
      | namespace             | metric                     |
      | AWS/ApiGateway        | Count                      |
      | AWS/ApiGateway        | Latency                    |
      | AWS/ApiGateway        | 5XXError                   |
      | AWS/Lambda            | Invocations                |
      | AWS/Lambda            | Errors                     |
      | AWS/Lambda            | Duration                   |
      | AWS/Lambda            | ConcurrentExecutions       |
      | ECS/ContainerInsights | RunningTaskCount           |
      | AWS/ECS               | CPUUtilization             |
      | AWS/ECS               | MemoryUtilization          |
      | AWS/DynamoDB          | ConsumedReadCapacityUnits  |
      | AWS/DynamoDB          | ConsumedWriteCapacityUnits |
      | AWS/DynamoDB          | ThrottledRequests          |
      | AWS/Bedrock           | Invocations                |
      | AWS/Bedrock           | InputTokenCount            |
      | AWS/Bedrock           | InvocationThrottles        |
      | AWS/S3                | BucketSizeBytes            |
      | AWS/S3                | AllRequests                |
