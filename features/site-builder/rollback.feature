# Seed 001, Rollback Runbook: Lambda-only rollback (§3.2), DynamoDB point-in-time restore (§5.1),
# post-rollback verification (§6). The after-hook moves `live` back and deletes restored tables.
Feature: Site Builder rollback

  @destructive @serial @claim(001-rollback-3.2) @claim(001-rollback-3.2-versions) @claim(001-rollback-3.2-alias) @claim(001-rollback-2.1)
  Scenario: Lambda-only rollback moves live to the previous version and the API serves it
    Given the function "page_generator-{env}" serves alias "live" with a previous version to roll back to
    And the API's "/health" reports the version the alias serves
    When I point the alias at the previous version
    Then the alias points at the previous version
    And the API's "/health" reports the version the alias serves

  @destructive @serial @claim(001-rollback-6.3)
  Scenario: After a rollback generations succeed and page_generator logs no ERROR
    Given the function "page_generator-{env}" serves alias "live" with a previous version to roll back to
    And a fresh tenant
    When I point the alias at the previous version
    And I stream a generation from "/v1/sites/{tenant}/generation" sending the body as application/json:
      """
      {"prompt": "Create a landing page"}
      """
    Then the stream ends with a "complete" event carrying "/generationId"
    And the log group "/aws/lambda/page_generator-{env}" has no event matching "ERROR" since the scenario started

  @readonly @gate @claim(001-rollback-5.1-pitr)
  Scenario: The generation table can be restored to a point in time
    Then the table "site-builder-generation-{env}" has point-in-time recovery enabled

  @destructive @serial @claim(001-rollback-5.1-latest)
  Scenario: Restore to the latest restorable time into a new table, items compared
    Given a probe item is written to the table "site-builder-generation-{env}"
    When I restore the table "site-builder-generation-{env}" to the latest restorable time as a new table
    Then the restored table holds every item of the source table

  @destructive @serial @claim(001-rollback-5.1-time)
  Scenario: Restore to a given time into a new table, items compared
    Given a probe item is written to the table "site-builder-generation-{env}"
    When I restore the table "site-builder-generation-{env}" to its state 1 seconds ago as a new table
    Then the restored table holds every item of the source table

  @readonly @gate @claim(001-rollback-6.1)
  Scenario: After a rollback the API reports healthy
    Then the health endpoint answers healthy with the documented schema

  # Rollback workflow (§3.1) with rollback_type lambda_only, function "all", version
  # "previous": every function's live alias moves back one version. (That invoking :live
  # runs it — Invoke's ExecutedVersion — is not shown locally: moto without Docker echoes.)
  @destructive @serial @claim(001-rollback-3.1)
  Scenario: The rollback workflow moves every function's live alias to its previous version
    Given the functions "page_generator-{env}, logo_creator-{env}, background_creator-{env}, theme_selector-{env}, layout_agent-{env}, brand_validator-{env}, generation_state-{env}" serve alias "live" with previous versions to roll back to
    When I point each alias at its previous version
    Then each alias points at its previous version
