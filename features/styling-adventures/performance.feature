# Seed 003, Performance Tuning: Lambda and DynamoDB optimisation.
Feature: Styling Adventures performance tuning
  The API function runs with the documented memory, ephemeral storage and timeout, and the
  Users table bills on demand, serves its common queries from a GSI and expires items by TTL.

  @readonly @gate @claim(003-perf-lambda-config)
  Scenario: The API function has 1024 MB of memory, 512 MB of /tmp and a 60 s timeout
    Then the function "styling-adventures-api-{env}" has 1024 MB of memory, 512 MB of ephemeral storage and a 60 s timeout

  # "Provisioned concurrency: On busy endpoints": the API function serving /api/profile.
  @readonly @gate @claim(003-perf-lambda-provisioned)
  Scenario: The busy endpoint's function keeps provisioned concurrency warm
    Then the function "styling-adventures-api-{env}" has provisioned concurrency READY on its alias "live"

  @readonly @gate @claim(003-perf-dynamodb-on-demand)
  Scenario: The Users table bills on demand
    Then there is 1 table named "Users-{env}*", including "Users-{env}", each ACTIVE and billed PAY_PER_REQUEST

  @readonly @gate @claim(003-perf-dynamodb-gsi)
  Scenario: Common queries are served by a global secondary index
    Then the table "Users-{env}" has an ACTIVE global secondary index "email-index"

  @readonly @gate @claim(003-perf-dynamodb-ttl)
  Scenario: Expiring items are cleaned up by TTL
    Then the table "Users-{env}" expires items by TTL on "expiresAt"

  # Success Criteria §Performance: "Bundle size: <500KB gzipped", measured as a browser
  # fetches the front page's scripts.
  @readonly @gate @claim(003-success-bundle-size)
  Scenario: The front page's JavaScript is under 500 KB gzipped
    When I open the frontend at "{frontend-url}"
    Then the page's JavaScript bundles and stylesheets load
    And the JavaScript the page loads weighs less than 500 KB gzipped on the wire

  # Performance Tuning §CloudFront Cache Settings: the documented DefaultCacheBehavior, and
  # what it does for a text asset (compressed; a cached copy never older than MaxTTL).
  @readonly @gate @claim(003-perf-cloudfront-cache)
  Scenario: CloudFront caches and compresses as configured
    Then the CloudFront distribution "styling-adventures-{env}" caches with the cache policy "658327ea-f89d-4fab-a63d-7e88639e58f6" and the origin request policy "216adef5-5c7f-47e4-b989-5492eafa07d3", compression on, a default TTL of 3600 s and a max TTL of 86400 s
    When I open the frontend at "{frontend-url}"
    Then the page's stylesheets come back compressed and no older than 86400 s
