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
