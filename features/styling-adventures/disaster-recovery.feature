# Seed 003, Disaster Recovery: point-in-time recovery and the 1 hour RTO.
Feature: Styling Adventures disaster recovery

  @readonly @gate @claim(003-security-pitr)
  Scenario: Point-in-time recovery is enabled on the Users table
    Then the table "Users-{env}" has point-in-time recovery enabled

  @destructive @serial @claim(003-dr-rto) @claim(003-dr-rpo)
  Scenario: A point-in-time restore completes within the 1 hour RTO and loses nothing
    Given a probe item is written to the table "Users-{env}"
    When I restore the table "Users-{env}" to the latest restorable time as a new table
    Then the restored table holds every item of the source table
    And the restore finished within the documented RTO of 1 hour

  @readonly @gate @claim(003-dr-backup-plan)
  Scenario: Daily backups kept 30 days in two regions
    Then the backup plan "styling-adventures-backup-{env}" rule "DailyBackups" runs "cron(0 3 * * ? *)" into vault "styling-adventures-vault-{env}" and keeps backups 30 days, copied to "us-east-1, us-west-2"
