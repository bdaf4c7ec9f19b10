# Seed 001, Troubleshooting Runbook §1.2: the key-metric alarms with their thresholds.
Feature: Site Builder troubleshooting signals

  @readonly @gate @claim(001-troubleshoot-1.2-lambda-errors)
  Scenario: Lambda Errors > 5 in 5 min alarms
    Then the alarm "site-builder-lambda-errors-{env}" fires when AWS/Lambda Errors Sum > 5 over 300 s, notifying "site-builder-alerts-{env}"

  @readonly @gate @claim(001-troubleshoot-1.2-lambda-duration)
  Scenario: Lambda Duration > 55 s alarms
    Then the alarm "site-builder-lambda-duration-{env}" fires when AWS/Lambda Duration Maximum > 55000 over 60 s, notifying "site-builder-alerts-{env}"

  @readonly @gate @claim(001-troubleshoot-1.2-dynamodb-throttle)
  Scenario: DynamoDB Throttle > 0 alarms
    Then the alarm "site-builder-dynamodb-throttle-{env}" fires when AWS/DynamoDB ThrottledRequests Sum > 0 over 60 s, notifying "site-builder-alerts-{env}"

  @readonly @gate @claim(001-troubleshoot-1.2-5xx)
  Scenario: 5XX Errors > 10 in 1 min alarms
    Then the alarm "site-builder-5xx-{env}" fires when AWS/ApiGateway 5XXError Sum > 10 over 60 s, notifying "site-builder-alerts-{env}"

  @mutating @claim(001-troubleshoot-2.5-state)
  Scenario: A finished generation's state is kept in the generation table
    Given a fresh tenant
    When I stream a generation from "/v1/sites/{tenant}/generation" sending the body as application/json:
      """
      {"prompt": "Create a landing page"}
      """
    Then the stream ends with a "complete" event carrying "/generationId"
    And the table "site-builder-generation-{env}" has the item whose "generationId" is the stream's generationId, with "status" = "COMPLETE"

  @mutating @claim(001-troubleshoot-4-s3)
  Scenario: Generated assets are stored under the assets bucket
    Given a fresh tenant
    When I send POST "/v1/agents/logo" as the test user with the JSON body:
      """
      {"prompt": "Modern tech company logo", "count": 2}
      """
    Then the response status is 200
    And the bucket "site-builder-assets-{env}" holds 2 objects under "logos/{tenant}/"

  @readonly @gate @claim(001-troubleshoot-4-invoke)
  Scenario: Every function answers the documented test invocation
    Then each of the functions "page_generator-{env}, logo_creator-{env}, background_creator-{env}, theme_selector-{env}, layout_agent-{env}, brand_validator-{env}, generation_state-{env}" answers an invocation with the payload {"test": true}

  @readonly @gate @claim(001-troubleshoot-1.1-lambda)
  Scenario: The documented Lambda log groups exist
    Then the log groups "/aws/lambda/page_generator-{env}, /aws/lambda/logo_creator-{env}, /aws/lambda/brand_validator-{env}, /aws/lambda/background_creator-{env}, /aws/lambda/theme_selector-{env}, /aws/lambda/layout_agent-{env}, /aws/lambda/generation_state-{env}" exist

  # §1.1–2.4 read CloudWatch Logs with filter patterns; these find what they look for.
  @readonly @claim(001-troubleshoot-1.1-api-gateway)
  Scenario: API Gateway access logs record each request by its request id
    Then the log groups "/aws/apigateway/site-builder-{env}" exist
    When I send GET "/v1/health"
    Then the response status is 200
    And within 10 s, the log group "/aws/apigateway/site-builder-{env}" has an event matching "requestId" that carries "{request-id}"

  @mutating @claim(001-troubleshoot-2.1-bedrock-log) @claim(001-api-overview-bedrock)
  Scenario: page_generator logs its Bedrock calls to Claude Sonnet 4.5
    Given a fresh tenant
    When I stream a generation from "/v1/sites/{tenant}/generation" sending the body as application/json:
      """
      {"prompt": "Create a landing page"}
      """
    Then the stream ends with a "complete" event carrying "/generationId"
    And within 10 s, the log group "/aws/lambda/page_generator-{env}" has an event matching "bedrock invoke" that carries "requestId={request-id}" and "modelId=anthropic.claude-sonnet-4-5"

  # §2.1: aws cloudwatch get-metric-statistics --namespace AWS/Lambda --metric-name Duration
  #   --dimensions Name=FunctionName,Value=page_generator-{env} --period 300
  #   --statistics Average Maximum (last hour); a healthy generation stays under its 55 s budget.
  @mutating @claim(001-troubleshoot-2.1-duration)
  Scenario: page_generator's Duration is readable in CloudWatch after a generation
    Given a fresh tenant
    And I note the samples of the metric "Duration" in "AWS/Lambda" with "FunctionName=page_generator-{env}"
    When I stream a generation from "/v1/sites/{tenant}/generation" sending the body as application/json:
      """
      {"prompt": "Create a landing page"}
      """
    Then the stream ends with a "complete" event carrying "/generationId"
    And within 20 s, the metric "Duration" in "AWS/Lambda" with "FunctionName=page_generator-{env}" has new datapoints at period 300 s over the last hour
    And the "Maximum" of the metric "Duration" in "AWS/Lambda" with "FunctionName=page_generator-{env}" at period 300 s over the last hour is at most 55000

  @mutating @claim(001-troubleshoot-2.2-log)
  Scenario: brand_validator logs the brandScore it returns
    Given a fresh tenant
    When I send GET "/v1/sites/{tenant}/validate" as the test user
    Then the response status is 200
    And I save the response JSON at "/brandScore" as "score"
    And within 10 s, the log group "/aws/lambda/brand_validator-{env}" has an event matching "brandScore" that carries "brandScore={score} siteId={tenant}"

  @mutating @claim(001-troubleshoot-2.3-s3) @claim(001-api-logo-model)
  Scenario: logo_creator calls Stable Diffusion XL and logs its S3 uploads
    Given a fresh tenant
    When I send POST "/v1/agents/logo" as the test user with the JSON body:
      """
      {"prompt": "Modern tech company logo", "count": 1}
      """
    Then the response status is 200
    And within 10 s, the log group "/aws/lambda/logo_creator-{env}" has an event matching "s3 upload" that carries "requestId={request-id}"
    And within 10 s, the log group "/aws/lambda/logo_creator-{env}" has an event matching "bedrock invoke" that carries "requestId={request-id}" and "modelId=stability.stable-diffusion-xl"

  # §2.3 Image Generation Fails: logo_creator's failures are found with filter-pattern ERROR.
  # The failure is induced with AWS FIS (aws:lambda:invocation-error on logo_creator).
  @destructive @serial @claim(001-troubleshoot-2.3-errors)
  Scenario: A failing logo generation answers an error and logs it with ERROR
    Given a fresh tenant
    When an FIS experiment fails 100% of the invocations of "logo_creator-{env}" for 2 min
    And within 30 s, I send POST "/v1/agents/logo" as the test user with the JSON body until it answers a server error:
      """
      {"prompt": "Modern tech company logo", "count": 1}
      """
    Then the response is 500 with error code "GENERATION_FAILED"
    And within 10 s, the log group "/aws/lambda/logo_creator-{env}" has an event matching "ERROR" that carries "requestId={request-id}"

  # §2.4: a page_generator invocation past its Timeout logs "Task timed out" and the stream
  # ends without completing. Forced by lowering the Timeout to 2 s and delaying the
  # invocation's start by 3 s with AWS FIS (aws:lambda:invocation-add-delay).
  @destructive @serial @claim(001-troubleshoot-2.4-timeout)
  Scenario: A generation past page_generator's timeout logs "Task timed out" and never completes
    Given a fresh tenant
    And the timeout of the function "page_generator-{env}" is lowered to 2 s
    When an FIS experiment delays 100% of the invocations of "page_generator-{env}" by 3000 ms for 1 min
    And within 20 s, I stream generations from "/v1/sites/{tenant}/generation" until one ends without a "complete" event:
      """
      {"prompt": "Create a landing page"}
      """
    Then the stream ends without a "complete" event
    And within 10 s, the log group "/aws/lambda/page_generator-{env}" has an event matching "Task timed out" that carries "{request-id}"

  @mutating @claim(001-troubleshoot-2.4-disconnect)
  Scenario: A stream the client drops is logged as a disconnect
    Given a fresh tenant
    When I open a generation stream from "/v1/sites/{tenant}/generation" and drop it after the first event:
      """
      {"prompt": "Create a landing page"}
      """
    Then within 15 s, the log group "/aws/apigateway/site-builder-{env}" has an event matching "disconnect" that carries "requestId={request-id}"
