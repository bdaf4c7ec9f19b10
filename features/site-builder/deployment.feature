# Seed 001, Deployment Runbook: DEV/SIT/PROD verification.
Feature: Site Builder deployment verification

  @readonly @gate @claim(001-deploy-4.3-health) @claim(001-deploy-5.3-health)
  Scenario: The API reports healthy after a promotion
    Then the health endpoint answers healthy with the documented schema

  @readonly @gate @claim(001-deploy-5.4)
  Scenario: No error alarms fire after a deploy
    Then no documented alarm of the system is in ALARM

  @mutating @claim(001-deploy-3.3-api) @claim(001-api-generation-sse) @claim(001-api-generation-complete) @claim(001-troubleshoot-2.1)
  Scenario: A generation with a JWT streams progress, chunks and complete within 60 s
    Then a generation on "/v1/sites/{tenant}/generation" streams progress, chunk and complete events with generationId and brandScore within 60 s

  # §3.2 Manual Deployment (Emergency): `aws lambda update-function-code --function-name
  # ${fn}-dev --zip-file fileb://${fn}.zip` for the seven functions. Each is redeployed from
  # its own current package (downloaded from GetFunction's Code.Location), so the code stays
  # what it was while the procedure is proven.
  @mutating @serial @claim(001-deploy-3.2)
  Scenario: The emergency procedure replaces each function's code from its zip package
    Then the emergency deploy of each function "page_generator-{env}, logo_creator-{env}, background_creator-{env}, theme_selector-{env}, layout_agent-{env}, brand_validator-{env}, generation_state-{env}" from its zip package succeeds

  # §3.3: `aws lambda invoke --function-name page_generator-dev --payload '{"test":true}'`,
  # then `aws logs tail /aws/lambda/page_generator-dev`.
  @mutating @claim(001-deploy-3.3-invoke)
  Scenario: A test invocation of page_generator succeeds and shows in its log group
    Then the function "page_generator-{env}" answers an invocation with the payload {"test":true}
    And within 20 s, the log group "/aws/lambda/page_generator-{env}" has an event matching "REPORT" that carries "RequestId: {request-id}"

  @readonly @gate @claim(001-deploy-1.1-lambdas)
  Scenario: The seven Lambda functions of the environment are deployed
    Then the Lambda functions "page_generator-{env}, logo_creator-{env}, background_creator-{env}, theme_selector-{env}, layout_agent-{env}, brand_validator-{env}, generation_state-{env}" exist and are Active

  @readonly @gate @claim(001-deploy-1.1-dynamodb) @claim(001-troubleshoot-2.5-on-demand)
  Scenario: Two on-demand DynamoDB tables, the generation table among them
    Then there are 2 tables named "site-builder-*-{env}", including "site-builder-generation-{env}", each ACTIVE and billed PAY_PER_REQUEST

  @readonly @gate @claim(001-deploy-1.1-s3)
  Scenario: Two S3 buckets, the assets bucket among them
    Then there are 2 buckets named "site-builder-*-{env}", including "site-builder-assets-{env}"

  @readonly @gate @claim(001-deploy-5.3-dashboard)
  Scenario: The generation API dashboard exists
    Then the dashboard "site-builder-generation-api-{env}" has 4 widgets showing:
      | namespace      | metric      |
      | AWS/Lambda     | Invocations |
      | AWS/Lambda     | Errors      |
      | AWS/Lambda     | Duration    |
      | AWS/Lambda     | Throttles   |
      | AWS/ApiGateway | 5XXError    |
      | AWS/ApiGateway | Latency     |

  @readonly @gate @claim(001-deploy-1.1-api-gateway)
  Scenario: An API Gateway REST API with a deployed stage fronts the service at its domain
    Then the domain "{api-host}" maps "v1" to a deployed stage of the REST API "site-builder-{env}"
