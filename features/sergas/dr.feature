# Seed 004, Disaster Recovery: "backup-redis.sh: Redis persistence". Read from Redis itself:
# the append-only file and the snapshot rules, and the last snapshot (the file a backup
# copies) written without error within a day (the seed gives no schedule: daily assumed).
Feature: Sergas disaster recovery

  @readonly @gate @claim(004-dr-redis)
  Scenario: Redis persists its data and its last snapshot is recent
    Then Redis persists its data: the append-only file is on, RDB snapshots are scheduled, and the last snapshot succeeded within 24 h
