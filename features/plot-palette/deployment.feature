# Seed 000, Task 6: Deployment and the post-deploy smoke test.
Feature: Plot Palette deployment verification
  After deploy.sh the master stack and its nested stacks are complete with every output, the
  API is healthy, the workers run on Fargate Spot, and the smoke flow produces good data.

  @readonly @gate @claim(000-deploy-6.2-stack) @claim(000-deploy-6.6-outputs)
  Scenario: The stack and all nested stacks are complete with every output
    Then the stack "plot-palette-{stage}" is complete with outputs "ApiEndpoint, UserPoolId, UserPoolClientId, JobsTableName, DataBucketName, EcsClusterName" and nested stacks "NetworkStack, StorageStack, AuthStack, ApiStack, ComputeStack"

  @readonly @gate @claim(000-deploy-6.5-health)
  Scenario: curl -f $API_ENDPOINT/health succeeds
    Then the health endpoint answers healthy with the documented schema

  @readonly @gate @claim(000-complete-fargate-spot) @claim(000-deploy-6-services)
  Scenario: Generation workers run on ECS Fargate Spot
    Then the ECS workers run as documented on Fargate Spot

  # Task 3 §1 System Architecture: Frontend → API Gateway → Lambda → DynamoDB and S3; the
  # ECS workers → DynamoDB, S3 and Bedrock. (moto has no Amplify: the frontend's own
  # scenarios cover it.)
  @readonly @gate @claim(000-arch-3.1-components)
  Scenario: The components are deployed and wired as the architecture diagram draws them
    Then every route of the REST API "plot-palette-api-{env}" is integrated with the Lambda function "plot-palette-api-{env}"
    And the Lambda functions "plot-palette-api-{env}" exist and are Active
    And there are 3 tables named "*Table-{env}", including "JobsTable-{env}", each ACTIVE and billed PAY_PER_REQUEST
    And the buckets "plot-palette-data-{env}, plot-palette-exports-{env}" exist
    And the ECS workers run as documented on Fargate Spot
    And the task role of the ECS task definition "plot-palette-worker-{env}" allows "bedrock:InvokeModel, dynamodb:PutItem, s3:PutObject"

  @readonly @claim(000-deploy-6.3-templates)
  Scenario: The sample templates are loaded
    When I send GET "/templates" as the test user
    Then the response status is 200
    And the response JSON has "/templates"

  @mutating @serial @claim(000-deploy-6.5-job-flow) @claim(000-deploy-6.5-data-quality) @claim(000-arch-3.3-checkpoint)
  Scenario: The post-deploy smoke flow completes with good data
    Then the post-deploy flow completes: job, seed upload, completion, export rows that pass the data-quality checks, S3 checkpoint

  @readonly @gate @claim(000-deploy-6.4-admin)
  Scenario: An admin user is confirmed, verified and in the admin group
    Then the Cognito group "admin" has a CONFIRMED member with a verified email

  # Task 6 §6 "Frontend accessible": the Amplify-hosted React app's page and the bundles it
  # loads are served.
  @readonly @gate @claim(000-deploy-6.6-frontend)
  Scenario: The frontend is accessible and its app bundle loads
    When I open the frontend at "{frontend-url}"
    Then the page's JavaScript bundles and stylesheets load
