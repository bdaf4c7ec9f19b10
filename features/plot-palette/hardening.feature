# Seed 000, Task 4: Security hardening. Names use {env} from the profile.
Feature: Plot Palette security hardening
  The production hardening of Task 4 holds: WAF rate limiting, point-in-time recovery and
  daily backups, private encrypted versioned buckets, and CloudTrail.

  @readonly @gate @claim(000-hardening-4.1-rate)
  Scenario: WAF limits each IP to 1000 requests per 5 minutes
    Then the web ACL "plot-palette-waf-{env}" has a rate-based rule "RateLimitPerIP" blocking more than 1000 requests per 5 minutes per IP

  @readonly @gate @claim(000-hardening-4.2-pitr)
  Scenario Outline: Point-in-time recovery is enabled on <table>
    Then the table "<table>" has point-in-time recovery enabled

    Examples:
      | table                  |
      | JobsTable-{env}        |
      | TemplatesTable-{env}   |
      | CostTrackingTable-{env} |

  @readonly @gate @claim(000-hardening-4.2-backup-schedule) @claim(000-hardening-4.2-backup-retention)
  Scenario: AWS Backup takes daily backups at 2 AM UTC and keeps them 7 days
    Then the backup plan "plot-palette-backup-{env}" rule "DailyBackups" runs "cron(0 2 * * ? *)" into vault "plot-palette-vault-{env}" and keeps backups 7 days

  @readonly @gate @claim(000-hardening-4.4-encryption) @claim(000-hardening-4.4-versioning) @claim(000-hardening-4.4-public-access)
  Scenario Outline: The <bucket> bucket is encrypted with AES-256, versioned and private
    Then the bucket "<bucket>" is encrypted with AES256, versioned and blocks public access

    Examples:
      | bucket                     |
      | plot-palette-data-{env}    |
      | plot-palette-exports-{env} |

  @readonly @gate @claim(000-hardening-4.4-cloudtrail)
  Scenario: CloudTrail records API calls for audit
    Then the trail "plot-palette-trail-{env}" is logging to bucket "plot-palette-cloudtrail-{env}"

  @readonly @gate @claim(000-hardening-4.1-sqli)
  Scenario: WAF blocks common SQL injection patterns
    Then the web ACL "plot-palette-waf-{env}" has a rule blocking SQL injection

  @readonly @gate @claim(000-hardening-4.1-xss)
  Scenario: WAF blocks XSS attempts
    Then the web ACL "plot-palette-waf-{env}" has a rule blocking cross-site scripting

  @readonly @claim(000-hardening-4.1-metrics)
  Scenario: Blocked requests are visible in CloudWatch
    Then the web ACL "plot-palette-waf-{env}" and each of its rules publish CloudWatch metrics

  @readonly @gate @claim(000-hardening-4.4-mfa)
  Scenario: MFA is enabled for admin accounts
    Then the user pool's MFA setting is OPTIONAL
    And the Cognito group "admin" has a CONFIRMED member with a verified email and MFA

  @readonly @gate @claim(000-arch-3.2-vpc)
  Scenario: The system runs in a VPC with subnets and a security group per component
    Then the VPC "plot-palette-{env}" has 2 subnets in distinct availability zones and the security groups "plot-palette-api-{env}, plot-palette-worker-{env}"

  @readonly @gate @claim(000-hardening-4.4-flow-logs)
  Scenario: VPC Flow Logs are enabled
    Then the VPC "plot-palette-{env}" has an ACTIVE flow log of ALL traffic delivering to the log group "/aws/vpc/flow-logs/plot-palette-{env}"

  # Task 4 §3 Per-user rate limits: 100 requests/minute, burst 200, 429 when exceeded. Each
  # scenario spends the limit of its own new user; the test user stands for "another user".
  @mutating @claim(000-hardening-4.3-burst)
  Scenario: A fresh user gets a burst of 200 requests, then 429 with Retry-After
    When I create a user with a permanent password as the runbook describes
    Then that user can sign in
    And GET "/jobs" as that user is served 200 times back to back at most, refilling 100 a minute, then answered 429 with Retry-After
    When I send GET "/jobs" as the test user
    Then the response status is 200

  @mutating @claim(000-hardening-4.3-rate)
  Scenario: Sustained traffic above 100 requests a minute is throttled per user
    When I create a user with a permanent password as the runbook describes
    Then that user can sign in
    And GET "/jobs" as that user, sent 4 times a second for 8 s once its burst is spent, is served 100 times a minute and otherwise answered 429
    When I send GET "/jobs" as the test user
    Then the response status is 200

  @readonly @gate @claim(000-hardening-4.5-ddb-autoscaling)
  Scenario: Every table scales with demand
    Then every documented table scales with demand

  @readonly @gate @claim(000-hardening-4.4-iam)
  Scenario: The workers run with a least-privilege task role
    Then the task role of the ECS task definition "plot-palette-worker-{env}" follows least privilege

  @readonly @gate @claim(000-hardening-4.1-associate)
  Scenario: The WAF web ACL protects the API Gateway stage
    Then the web ACL "plot-palette-waf-{env}" is associated with the stage "{stage}" of the REST API "plot-palette-api-{env}"
