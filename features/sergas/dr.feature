# Seed 004, Disaster Recovery: "backup-redis.sh: Redis persistence". Read from Redis itself:
# the append-only file and the snapshot rules, and the last snapshot (the file a backup
# copies) written without error within a day (the seed gives no schedule: daily assumed).
Feature: Sergas disaster recovery

  @readonly @gate @claim(004-dr-redis)
  Scenario: Redis persists its data and its last snapshot is recent
    Then Redis persists its data: the append-only file is on, RDB snapshots are scheduled, and the last snapshot succeeded within 24 h

  # "archive-wal.sh: WAL archiving", read from PostgreSQL: archive_mode on, the archiver not
  # failing (its failure count steady over two reads, its last attempt a success), and a
  # segment archived within the 15-minute RPO.
  @readonly @gate @claim(004-dr-wal)
  Scenario: PostgreSQL archives its write-ahead log
    Then PostgreSQL archives its WAL: archive_mode is on, no archive attempt fails, and a segment was archived within 15 minutes

  # RPO 15 minutes: what a restore can reach is bounded by archive_timeout (a quiet database
  # still closes its segment) and by the age of the newest archived segment.
  @readonly @gate @claim(004-dr-rpo)
  Scenario: The newest recoverable point is within the 15-minute RPO
    Then the newest recoverable point is at most 15 minutes old: archive_timeout is at most that and a segment was archived within it

  # "backup-database.sh: automated database backups": the newest dump is within the backup
  # interval (the profile's backup-interval; the seed names none, daily assumed), not empty,
  # and its table of contents readable by pg_restore.
  @readonly @gate @claim(004-dr-db-backup)
  Scenario: The newest database backup is recent and readable
    Then the newest database backup is younger than the backup interval, not empty, and pg_restore reads it

  # "Point-in-time recovery": a marker account written before T and one written after; the
  # profile's restore command (restore-database.sh) recovers the newest base backup and the
  # WAL archive to T into a scratch server, never the live one. That base backup is the
  # Operations Manual's "Monthly maintenance: full backups": younger than a month, and
  # restorable as the drill shows.
  @mutating @claim(004-dr-pitr) @claim(004-ops-monthly-backup)
  Scenario: A point-in-time restore brings back what was written before T and nothing after
    Given the newest full backup is younger than 31 days
    When I send POST "/api/v1/accounts" as the writer identity with the JSON body:
      """
      {"name": "shakedown pitr before", "owner": "shakedown"}
      """
    Then the response status is 201
    And I save the response JSON at "/id" as "before"
    And the after-hook deletes "/api/v1/accounts/{before}" as the writer identity
    When the restore point is taken
    And I send POST "/api/v1/accounts" as the writer identity with the JSON body:
      """
      {"name": "shakedown pitr after", "owner": "shakedown"}
      """
    Then the response status is 201
    And I save the response JSON at "/id" as "after"
    And the after-hook deletes "/api/v1/accounts/{after}" as the writer identity
    When the database's newest changes are archived
    And the database is restored to the restore point into a scratch server
    Then the restored database has the account "{before}" and not the account "{after}"

  # "restore-database.sh: database restoration": the newest dump restored into a scratch
  # server holds every row the dump holds, and the application's role can log in to it.
  @mutating @claim(004-dr-restore-db)
  Scenario: The newest database backup restores with every row
    When the newest database backup is restored into a scratch server
    Then every table of the restored database holds as many rows as the backup

  # Operations Manual: "Weekly maintenance: database vacuum, log cleanup, backup rotation".
  # Its effects, read where they show: every table vacuumed within the week, no dump older
  # than the retention (the profile's backup-retention; the seed names none, 30 days
  # assumed). Log cleanup is not checked: the seed names no log location or retention.
  @readonly @claim(004-ops-weekly)
  Scenario: Weekly maintenance vacuums every table and rotates old backups
    Then every table of the database was vacuumed within 7 days
    And no database backup is older than the backup retention

  # "RTO: 15 minutes": a drill on the live database. An account is written, the database is
  # lost (the profile's loss-command; locally the server crash-stopped and its data
  # directory removed), restore-from-backup.sh's part brings it back from the newest base
  # backup and the WAL archive, and the API must be healthy and serving — with the account —
  # within 15 minutes of the outage's start. Alone (@serial): the outage is everyone's.
  @destructive @serial @claim(004-dr-rto)
  Scenario: After losing its database the API is back within the 15-minute RTO
    When I send POST "/api/v1/accounts" as the writer identity with the JSON body:
      """
      {"name": "shakedown rto drill", "owner": "shakedown"}
      """
    Then the response status is 201
    And I save the response JSON at "/id" as "before"
    And the after-hook deletes "/api/v1/accounts/{before}" as the writer identity
    When the live database is lost
    And the live database is recovered from backup
    Then the API is healthy and serves accounts within 15 minutes of the outage's start
    When I send GET "/api/v1/accounts/{before}" as the test user
    Then the response status is 200
