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
