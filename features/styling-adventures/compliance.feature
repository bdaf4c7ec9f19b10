# Seed 003, Security Hardening (secrets, database security) and Compliance & Audit (logging).
Feature: Styling Adventures secrets, data protection and audit logging
  The database password lives in Secrets Manager, the Users table is encrypted with a KMS key
  and reached through a VPC endpoint, API calls are recorded by a multi-region trail and the
  network by VPC Flow Logs.

  @readonly @gate @claim(003-security-secrets)
  Scenario: The database password is kept in Secrets Manager
    Then Secrets Manager holds "{env}/styling-adventures/db-password" with the keys "password"
    And no environment variable of the function "styling-adventures-api-{env}" holds a plaintext credential

  @readonly @gate @claim(003-security-db-at-rest)
  Scenario: The Users table is encrypted at rest
    Then the table "Users-{env}" is encrypted at rest with a KMS key

  @readonly @gate @claim(003-security-vpc-endpoints)
  Scenario: DynamoDB is reached through a VPC endpoint
    Then the VPC "styling-adventures-{env}" has an available Gateway endpoint for "dynamodb"

  @readonly @gate @claim(003-audit-cloudtrail)
  Scenario: AWS API calls are recorded by a multi-region CloudTrail trail
    Then the multi-region trail "styling-adventures-trail-{env}" is logging to bucket "styling-adventures-cloudtrail-{env}"

  @readonly @gate @claim(003-audit-flow-logs)
  Scenario: VPC Flow Logs record the network
    Then the VPC "styling-adventures-{env}" has an ACTIVE flow log of ALL traffic delivering to the log group "/aws/vpc/flow-logs/styling-adventures-{env}"

  @readonly @claim(003-audit-app-logs)
  Scenario: Application requests reach CloudWatch Logs by request id
    When I send GET "/api/profile" as the test user
    Then the response status is 200
    And within 10 s, the log group "/aws/lambda/styling-adventures-api-{env}" has an event matching "requestId" that carries "{request-id}"

  # Compliance & Audit §Data Privacy: data deletion on request.
  @mutating @claim(003-privacy-deletion)
  Scenario: A user's deletion request removes their account and their data
    When I create a user with a permanent password as the runbook describes
    Then that user can sign in
    When I send PUT "/api/profile" as that user with the JSON body:
      """
      {"displayName": "Shakedown Deletion", "city": "Lisbon"}
      """
    Then the response status is 204
    When I send GET "/api/profile" as that user
    Then the response JSON at "/profile/displayName" is "Shakedown Deletion"
    And I save the response JSON at "/sub" as "sub"
    And the after-hook deletes the "Users-{env}" item whose "userId" is "{sub}"
    And the table "Users-{env}" has an item whose "userId" is "{sub}"
    When I send DELETE "/api/profile" as that user
    Then the response status is 204
    And that user no longer exists in the user pool
    And the table "Users-{env}" has no item whose "userId" is "{sub}"
    When I send GET "/api/profile" as that user
    Then the response JSON has no "/profile/displayName"

  # Compliance & Audit §Logging Configuration: audit trail for sensitive operations — each
  # profile change and deletion names its actor, action and target.
  @mutating @claim(003-audit-sensitive-ops)
  Scenario: Profile changes and deletions leave an audit record naming actor and action
    When I create a user with a permanent password as the runbook describes
    Then that user can sign in
    When I send GET "/api/profile" as that user
    Then I save the response JSON at "/sub" as "sub"
    And the after-hook deletes the "Users-{env}" item whose "userId" is "{sub}"
    When I send PUT "/api/profile" as that user with the JSON body:
      """
      {"city": "Porto"}
      """
    Then the response status is 204
    And within 10 s, the log group "/aws/lambda/styling-adventures-api-{env}" has an event matching "AUDIT" that carries "actor={sub}" and "action=profile.update"
    When I send DELETE "/api/profile" as that user
    Then the response status is 204
    And within 10 s, the log group "/aws/lambda/styling-adventures-api-{env}" has an event matching "AUDIT" that carries "actor={sub}" and "action=profile.delete"

  @readonly @gate @claim(003-audit-access-logs)
  Scenario: Access logs go to S3
    Then the CloudFront distribution "styling-adventures-{env}" logs requests to the bucket "styling-adventures-cdn-logs-{env}"
