# Seed 003, Runbooks: Issue: High API Latency, Issue: Database Errors.
Feature: Styling Adventures runbook diagnoses
  The runbooks diagnose latency and database errors from CloudWatch metrics. A new user
  writes and reads a profile so the API function and the Users table have fresh datapoints;
  the user's data is deleted on request at the end (and by the after-hook if that fails).

  Background:
    Given I note the samples of the metric "Duration" in "AWS/Lambda" with "FunctionName=styling-adventures-api-{env}"
    And I note the samples of the metric "ConsumedWriteCapacityUnits" in "AWS/DynamoDB" with "TableName=Users-{env}"
    When I create a user with a permanent password as the runbook describes
    Then that user can sign in
    When I send PUT "/api/profile" as that user with the JSON body:
      """
      {"displayName": "Shakedown Diagnoses", "stylePreference": "minimal"}
      """
    Then the response status is 204
    When I send GET "/api/profile" as that user
    Then the response status is 200
    And I save the response JSON at "/sub" as "sub"
    And the after-hook deletes the "Users-{env}" item whose "userId" is "{sub}"

  # aws cloudwatch get-metric-statistics --namespace AWS/Lambda --metric-name Duration
  #   --period 60 --statistics Average,Maximum (last hour), then AWS/DynamoDB
  #   ConsumedWriteCapacityUnits; the function's 60 s timeout bounds a healthy Maximum.
  @mutating @claim(003-troubleshoot-latency)
  Scenario: High API latency is diagnosed from Lambda Duration and Users write capacity
    Then within 20 s, the metric "Duration" in "AWS/Lambda" with "FunctionName=styling-adventures-api-{env}" has new datapoints at period 60 s over the last hour
    And the "Maximum" of the metric "Duration" in "AWS/Lambda" with "FunctionName=styling-adventures-api-{env}" at period 60 s over the last hour is at most 60000
    And within 20 s, the metric "ConsumedWriteCapacityUnits" in "AWS/DynamoDB" with "TableName=Users-{env}" has new datapoints at period 60 s over the last hour

  # aws dynamodb describe-table --table-name Users; aws cloudwatch get-metric-statistics
  #   --namespace AWS/DynamoDB --metric-name UserErrors: nothing the app sent was rejected.
  @mutating @claim(003-troubleshoot-db-errors)
  Scenario: Database errors are diagnosed from the Users table status and UserErrors
    Then the table "Users-{env}" has an item whose "userId" is "{sub}"
    And there is 1 table named "Users-*", including "Users-{env}", each ACTIVE and billed PAY_PER_REQUEST
    And the "Sum" of the metric "UserErrors" in "AWS/DynamoDB" with "" at period 60 s over the last hour is at most 0
