# Seed 002, Deployment Pipeline (§1) and Operations Runbook (§5): releases and rollbacks move
# the API function's `live` alias; /health reports the version it serves; conversations are
# kept in DynamoDB with point-in-time recovery and can be exported. After-hooks move the
# alias back, delete restored tables and exported objects.
Feature: Energy Insights deployment, rollback and data operations

  @destructive @serial @claim(002-deploy-1-rollback)
  Scenario: A rollback returns the API to the previous version
    Given the function "energy-insights-api-{env}" serves alias "live" with a previous version to roll back to
    And the API's "/health" reports the version the alias serves
    When I point the alias at the previous version
    Then the alias points at the previous version
    And the API's "/health" reports the version the alias serves
    And the health endpoint answers healthy with the documented schema
    When I send GET "/api/conversations" as the test user
    Then the response status is 200

  @destructive @serial @claim(002-runbook-5-update-lambda)
  Scenario: Updating the function's code publishes a version the live alias serves
    When I deploy new code to the function "energy-insights-api-{env}", publish it and point alias "live" at the new version
    Then the alias serves the new code
    And the API's "/health" reports the version the alias serves
    And the health endpoint answers healthy with the documented schema

  # Deployment Pipeline: production is blue/green with traffic shifting and a gradual
  # rollout 10% → 50% → 100%. The release moves the live alias's weights as the pipeline
  # does; /health reports the version each request reached. The after-hook points the alias
  # wholly back.
  @destructive @serial @claim(002-deploy-1-bluegreen) @claim(002-deploy-1-rollout)
  Scenario: A release shifts traffic 10% → 50% → 100% while the previous version keeps serving
    When I publish new code of the function "energy-insights-api-{env}" and route 10% of alias "live" to it
    Then of 200 "/health" answers, about 10% report the new version and the rest the previous one
    And the previous version is still published
    When I route 50% of alias "live" to the new version
    Then of 200 "/health" answers, about 50% report the new version and the rest the previous one
    When I route 100% of alias "live" to the new version
    Then of 50 "/health" answers, about 100% report the new version and the rest the previous one
    And the previous version is still published

  # Usage Examples §Deploy to Production: `npx cdk deploy --all --profile production`, then
  # `npm run test:smoke -- --env production` — health, sign-in, the conversations API.
  @destructive @serial @claim(002-deploy-smoke)
  Scenario: The smoke checks pass right after a deploy
    When I deploy new code to the function "energy-insights-api-{env}", publish it and point alias "live" at the new version
    Then the health endpoint answers healthy with the documented schema
    When I send GET "/api/conversations" as the test user
    Then the response status is 200
    And the response JSON has "/conversations"

  @readonly @gate @claim(002-security-secrets)
  Scenario: No function keeps a credential in its environment
    Then no environment variable of the function "energy-insights-api-{env}" holds a plaintext credential
    And no environment variable of the function "energy-insights-agent-{env}" holds a plaintext credential

  @destructive @serial @claim(002-dr-backup)
  Scenario: Conversations can be restored to a point in time into a new table
    Given the table "energy-insights-conversations-{env}" has point-in-time recovery enabled
    And a probe item is written to the table "energy-insights-conversations-{env}"
    When I restore the table "energy-insights-conversations-{env}" to the latest restorable time as a new table
    Then the restored table holds every item of the source table

  @mutating @serial @claim(002-runbook-5-export)
  Scenario: The conversations table exports to S3 with every item
    Given a probe item is written to the table "energy-insights-conversations-{env}"
    When I export the table "energy-insights-conversations-{env}" to the bucket "energy-insights-artifacts-{env}" under "exports/conversations"
    Then the export holds every item of the table

  @readonly @gate @claim(002-security-iam)
  Scenario: The functions run with least-privilege roles
    Then the execution roles of the functions "energy-insights-api-{env}, energy-insights-agent-{env}" follow least privilege
