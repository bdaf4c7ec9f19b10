//! Runbook facts: what each system's runbook promises (names, numbers, sections), parsed
//! from `fixtures/runbooks/<system>.toml`. The checks verify these facts and the local
//! stack's bootstrap builds them, so the numbers live in exactly one place.
//!
//! Resource names may contain `{var}` placeholders (`{env}`, `{stage}`, ...), filled in from
//! the profile's per-system `vars` by [`RunbookFacts::render`].

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::toml_file;

/// Where a claim comes from: the seed document and the section inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookRef {
    /// Seed file name under `shared/seeds/`, e.g. `000_4569d83243026c62.txt`.
    pub seed: String,
    /// Human section reference, e.g. `Task 4 §2 Configure DynamoDB backups`.
    pub section: String,
}

impl std::fmt::Display for RunbookRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} — {}", self.seed, self.section)
    }
}

/// Everything one system's runbook promises that shakedown can check.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RunbookFacts {
    /// System id, e.g. `plot-palette`.
    pub system: String,
    /// Display name, e.g. `Plot Palette`.
    pub title: String,
    /// Seed document every `section` below refers to.
    pub seed: String,
    pub health: Health,
    #[serde(default)]
    pub auth: Option<AuthFacts>,
    #[serde(default)]
    pub sns: Option<SnsTopics>,
    #[serde(default)]
    pub alarms: Vec<Alarm>,
    #[serde(default)]
    pub composite_alarms: Vec<CompositeAlarm>,
    #[serde(default)]
    pub tables: Vec<Table>,
    #[serde(default)]
    pub buckets: Vec<Bucket>,
    #[serde(default)]
    pub stacks: Vec<Stack>,
    #[serde(default)]
    pub functions: Vec<Function>,
    #[serde(default)]
    pub waf: Option<Waf>,
    #[serde(default)]
    pub backup: Option<BackupPlan>,
    #[serde(default)]
    pub cloudtrail: Option<Trail>,
    #[serde(default)]
    pub ecs: Option<EcsCluster>,
    #[serde(default)]
    pub rate_limits: Vec<RateLimit>,
    #[serde(default)]
    pub slos: Vec<Slo>,
    /// The requests a throughput run sends to judge the SLOs.
    #[serde(default)]
    pub load: Option<LoadMix>,
    /// A server-sent-events stream the API documents (the `sse` load profile).
    #[serde(default)]
    pub stream: Option<EventStream>,
    #[serde(default)]
    pub error_codes: Vec<ErrorCode>,
    #[serde(default)]
    pub security_headers: Option<SecurityHeaders>,
    #[serde(default)]
    pub cors: Option<Cors>,
    #[serde(default)]
    pub dashboard: Option<Dashboard>,
    /// Further dashboards the runbook describes by what they show (not by a put-dashboard).
    #[serde(default)]
    pub dashboards: Vec<Dashboard>,
    #[serde(default)]
    pub recovery: Option<Recovery>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
    #[serde(default)]
    pub rbac: Option<Rbac>,
    #[serde(default)]
    pub network: Option<Network>,
    #[serde(default)]
    pub secrets: Vec<Secret>,
    #[serde(default)]
    pub log_groups: Vec<LogGroup>,
    #[serde(default)]
    pub api_gateway: Option<ApiGateway>,
    #[serde(default)]
    pub cdn: Option<Cdn>,
    #[serde(default)]
    pub vulnerability_scanning: Option<VulnerabilityScanning>,
    #[serde(default)]
    pub health_checks: Vec<HealthCheck>,
}

/// A Route 53 health check probing the system's health endpoint, as the runbook schedules it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HealthCheck {
    /// Its `Name` tag: how the harness finds it.
    pub name: String,
    pub section: String,
    pub path: String,
    /// Seconds between probes (Route 53 allows 10 or 30).
    pub interval_seconds: u32,
    /// Text the answer must contain (`HTTP(S)_STR_MATCH`), e.g. the healthy status.
    pub search_string: String,
    #[serde(default = "default_failure_threshold")]
    pub failure_threshold: u32,
}

fn default_failure_threshold() -> u32 {
    3
}

/// The CloudFront distribution in front of the system's site, as the runbook configures it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Cdn {
    pub section: String,
    /// The distribution's Comment: how the harness finds it.
    pub comment: String,
    pub origin_domain: String,
    pub viewer_protocol_policy: String,
    pub cache_policy_id: String,
    pub origin_request_policy_id: String,
    pub compress: bool,
    pub default_ttl: i64,
    pub max_ttl: i64,
    /// The WAF web ACL (scope CLOUDFRONT) on the distribution.
    #[serde(default)]
    pub web_acl: Option<String>,
    /// The bucket its access logs go to.
    #[serde(default)]
    pub log_bucket: Option<String>,
}

/// The API Gateway REST API (v1) in front of the system's service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ApiGateway {
    pub name: String,
    pub section: String,
    /// The deployed stage.
    pub stage: String,
    /// `METHOD /path` of every route the deployed API serves.
    #[serde(default)]
    pub routes: Vec<String>,
    /// Custom domain the API is reached at, and the base path mapped to the stage.
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub base_path: Option<String>,
    /// Whether the system's WAF web ACL protects the stage.
    #[serde(default)]
    pub waf: bool,
    /// The Lambda function every route integrates (`AWS_PROXY`); without it the routes
    /// are HTTP proxies to the service.
    #[serde(default)]
    pub function: Option<String>,
}

/// A CloudWatch Logs group the runbook reads from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LogGroup {
    pub name: String,
    pub section: String,
    /// Metric filters that turn matching log events into a metric.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metric_filters: Vec<MetricFilter>,
}

/// A CloudWatch Logs metric filter: events matching `pattern` count into `namespace metric`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MetricFilter {
    pub name: String,
    pub pattern: String,
    pub namespace: String,
    pub metric: String,
}

/// The VPC the system runs in, as the runbook describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Network {
    pub section: String,
    /// The VPC's `Name` tag.
    pub vpc: String,
    pub cidr: String,
    /// How many subnets (one per availability zone).
    pub subnets: u32,
    /// Flow-log destination log group, when the runbook enables VPC Flow Logs.
    #[serde(default)]
    pub flow_log_group: Option<String>,
    /// Gateway/interface endpoints by service short name (`dynamodb`, `s3`).
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Security groups by name, one per component.
    #[serde(default)]
    pub security_groups: Vec<String>,
}

/// A secret the runbook keeps in Secrets Manager.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Secret {
    pub name: String,
    pub section: String,
    /// Top-level JSON keys the secret string holds (never their values).
    #[serde(default)]
    pub keys: Vec<String>,
}

/// The health endpoint and what a healthy answer looks like.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Health {
    pub section: String,
    pub path: String,
    /// JSON field holding the status, and the values that mean healthy.
    pub status_field: String,
    pub healthy_values: Vec<String>,
    /// JSON pointers (RFC 6901) that must be present, e.g. `/services/database`.
    #[serde(default)]
    pub required_fields: Vec<String>,
    /// JSON pointers whose value must be exactly `"ok"` when healthy.
    #[serde(default)]
    pub ok_fields: Vec<String>,
    /// Documented latency bound for the health call, if the runbook gives one.
    #[serde(default, with = "humantime_serde")]
    pub max_latency: Option<Duration>,
    /// JSON field that carries the deployed version, if the runbook names one.
    #[serde(default)]
    pub version_field: Option<String>,
}

/// How the API authenticates and how it refuses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AuthFacts {
    pub section: String,
    /// A read-only endpoint that needs a token.
    pub protected_path: String,
    /// Extra headers the API requires on every call (`X-Tenant-Id` for Site Builder);
    /// values may use placeholders.
    #[serde(default)]
    pub required_headers: BTreeMap<String, String>,
    /// Error code the body carries on 401, if the runbook documents one.
    #[serde(default)]
    pub unauthorized_code: Option<String>,
    /// JSON field in error bodies that carries the code.
    #[serde(default)]
    pub error_code_field: Option<String>,
    /// Whether an expired token can be presented: true for JWTs a profile can capture
    /// (Cognito); false where the tokens are opaque to the harness (OAuth2 client credentials).
    #[serde(default = "yes")]
    pub expired_token_probe: bool,
    /// Cognito group whose members administer the system (needs a confirmed member).
    #[serde(default)]
    pub admin_group: Option<String>,
    /// The user pool's MFA setting (`ON` or `OPTIONAL`), when the runbook requires MFA.
    #[serde(default)]
    pub mfa: Option<String>,
    /// The app clients' OAuth callback URLs, where the runbook names the site they belong to.
    #[serde(default)]
    pub callback_urls: Vec<String>,
    /// Whether the pool logs to `/aws/cognito/user-pool/<pool id>` (a runbook tails it).
    #[serde(default)]
    pub pool_log_group: bool,
}

fn yes() -> bool {
    true
}

/// The SNS topics alarms notify, by severity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SnsTopics {
    pub section: String,
    /// severity → topic name, e.g. `critical = "plot-palette-critical-{env}"`.
    pub topics: BTreeMap<String, String>,
    /// severity → the protocols its topic delivers to (`email`, `sms`, `https`), where the
    /// runbook says who is notified how.
    #[serde(default)]
    pub subscriptions: BTreeMap<String, Vec<String>>,
}

/// A CloudWatch alarm the runbook documents.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Alarm {
    pub name: String,
    pub section: String,
    /// The runbook's own words, e.g. `High error rate (>5% for 5 minutes)`.
    pub documented: String,
    pub namespace: String,
    pub metric: String,
    pub statistic: String,
    pub comparison: String,
    pub threshold: f64,
    pub period_seconds: i32,
    pub evaluation_periods: i32,
    /// Severity, a key of the system's SNS topics (critical/warning/info, or P0..P3).
    pub severity: String,
    /// `true` where the runbook gives the number but not the alarm's name.
    #[serde(default)]
    pub name_assumed: bool,
    /// Metric dimensions (`FunctionName`, `TableName`, `Currency`), where the alarm watches
    /// one resource rather than the namespace's aggregate.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
}

/// Vulnerability scanning of the system's functions (Amazon Inspector).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VulnerabilityScanning {
    pub section: String,
    /// Inspector resource types scanned (`LAMBDA`, `LAMBDA_CODE`, `ECR`, `EC2`).
    pub resource_types: Vec<String>,
    /// Highest severity allowed among active findings (`HIGH`: no CRITICAL).
    pub max_severity: String,
}

/// A composite alarm: in ALARM while any of its component alarms is (its rule is
/// `ALARM("a") OR ALARM("b") …`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CompositeAlarm {
    pub name: String,
    pub section: String,
    pub documented: String,
    /// The alarms it watches, by name.
    pub components: Vec<String>,
    /// Severity, a key of the system's SNS topics.
    pub severity: String,
    #[serde(default)]
    pub name_assumed: bool,
}

impl CompositeAlarm {
    /// The AlarmRule: ALARM of any component.
    pub fn rule(&self) -> String {
        self.components
            .iter()
            .map(|c| format!("ALARM(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" OR ")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[derive(Default)]
pub struct Table {
    pub name: String,
    pub section: String,
    pub pitr: bool,
    /// Partition key attribute name used by the local stack when creating it.
    pub key: String,
    /// Global secondary indexes (`name:partition-key`) the runbook's queries use.
    #[serde(default)]
    pub gsi: Vec<String>,
    /// Attribute that holds each item's expiry, when the runbook promises TTL clean-up.
    #[serde(default)]
    pub ttl_attribute: Option<String>,
    /// Encrypted at rest with a KMS key (`SSEDescription.Status ENABLED`).
    #[serde(default)]
    pub sse: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Bucket {
    pub name: String,
    pub section: String,
    /// Server-side encryption algorithm, e.g. `AES256`; `None` if not documented.
    #[serde(default)]
    pub encryption: Option<String>,
    #[serde(default)]
    pub versioning: bool,
    #[serde(default)]
    pub public_access_block: bool,
    /// Objects expire after this many days (a lifecycle rule), when the runbook cleans up.
    #[serde(default)]
    pub expire_days: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Stack {
    pub name: String,
    pub section: String,
    pub required_outputs: Vec<String>,
    /// Logical ids of nested stacks that must exist and be complete.
    #[serde(default)]
    pub nested: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Function {
    pub name: String,
    pub section: String,
    /// Alias that serves traffic and is moved on rollback.
    pub alias: String,
    /// Documented memory size, MB.
    #[serde(default)]
    pub memory_mb: Option<i32>,
    /// Documented ephemeral storage (`/tmp`), MB.
    #[serde(default)]
    pub ephemeral_mb: Option<i32>,
    /// Documented timeout, seconds.
    #[serde(default)]
    pub timeout_seconds: Option<i32>,
    /// Provisioned concurrency on the alias (busy endpoints).
    #[serde(default)]
    pub provisioned_concurrency: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Waf {
    pub web_acl: String,
    pub section: String,
    pub scope: String,
    pub rate_rule: String,
    /// Requests per `window` per IP.
    pub rate_limit: i64,
    #[serde(with = "humantime_serde")]
    pub window: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BackupPlan {
    pub plan: String,
    pub section: String,
    pub vault: String,
    pub rule: String,
    /// AWS Backup schedule expression, e.g. `cron(0 2 * * ? *)` for 02:00 UTC daily.
    pub schedule: String,
    pub retention_days: i64,
    /// Regions each recovery point is copied to (multi-region backups).
    #[serde(default)]
    pub copy_regions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Trail {
    pub name: String,
    pub section: String,
    pub bucket: String,
    /// A multi-region trail.
    #[serde(default)]
    pub multi_region: bool,
    /// Tables whose data events (item reads and writes) the trail records.
    #[serde(default)]
    pub data_event_tables: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EcsCluster {
    pub cluster: String,
    pub section: String,
    pub worker_family: String,
    pub capacity_provider: String,
    /// How many worker tasks the local stack runs.
    pub workers: u32,
    /// Prefix of the checkpoint objects in the data bucket.
    pub checkpoint_prefix: String,
}

/// A documented request-rate limit (checked by the load suite).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RateLimit {
    pub name: String,
    pub section: String,
    /// Who the limit is per: `user`, `tenant`, `ip`, `client`.
    pub per: String,
    /// Path pattern(s) the limit applies to.
    pub paths: Vec<String>,
    pub limit: u32,
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    #[serde(default)]
    pub burst: Option<u32>,
    pub status: u16,
    #[serde(default)]
    pub code: Option<String>,
    /// The request the load suite measures the limit with, `METHOD /path` (`{tenant}` and
    /// other profile vars substituted); default `GET` of the only path when it has no `*`.
    #[serde(default)]
    pub request: Option<String>,
    /// Its JSON body, for a `POST`/`PUT` request.
    #[serde(default)]
    pub body: Option<String>,
    /// For a per-tenant limit: the header naming the tenant (the path's `{tenant}` too).
    #[serde(default)]
    pub tenant_header: Option<String>,
}

impl RateLimit {
    /// The documented sustained rate, requests per second.
    pub fn rate_per_s(&self) -> f64 {
        f64::from(self.limit) / self.window.as_secs_f64().max(f64::EPSILON)
    }

    /// The documented bucket: `burst`, or `limit` when none is given.
    pub fn capacity(&self) -> u32 {
        self.burst.unwrap_or(self.limit)
    }

    /// The measured request as (method, path): `request`, or `GET` of the only path.
    pub fn measured_request(&self) -> Result<(String, String), String> {
        if let Some(req) = &self.request {
            let mut parts = req.split_whitespace();
            return match (parts.next(), parts.next(), parts.next()) {
                (Some(method), Some(path), None) if path.starts_with('/') => {
                    Ok((method.to_ascii_uppercase(), path.to_owned()))
                }
                _ => Err(format!(
                    "rate limit {}: request {req:?} is not `METHOD /path`",
                    self.name
                )),
            };
        }
        match self.paths.as_slice() {
            [only] if !only.contains('*') => Ok(("GET".to_owned(), only.clone())),
            _ => Err(format!(
                "rate limit {}: paths {:?} name no single request; give `request = \"METHOD /path\"`",
                self.name, self.paths
            )),
        }
    }
}

/// The requests a throughput run (the `slo`, `soak` and `spike` load profiles) sends, each
/// with its share of the arrival rate: the traffic the SLOs are about.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LoadMix {
    pub section: String,
    pub requests: Vec<LoadRequest>,
}

/// A documented server-sent-events stream: each `data:` line a JSON object with a `type`;
/// the stream opens with a `progress` of 0, carries `chunk`s (each followed by a
/// `progress` naming its section, "Generated section i of N"), and ends with one
/// `complete` (or an `error` with its code).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EventStream {
    pub section: String,
    /// `METHOD /path`; `{tenant}` is the profile's tenant.
    pub request: String,
    #[serde(default)]
    pub body: Option<String>,
    /// The header naming the tenant, when the API takes one.
    #[serde(default)]
    pub tenant_header: Option<String>,
}

/// One request of a [`LoadMix`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LoadRequest {
    /// `METHOD /path`, e.g. `GET /api/profile`.
    pub request: String,
    /// Its part of the arrival rate (shares are normalised to their sum).
    pub share: f64,
    /// JSON body, for a request that takes one.
    #[serde(default)]
    pub body: Option<String>,
}

impl LoadRequest {
    /// `(METHOD, /path)`.
    pub fn parse(&self) -> Result<(String, String), String> {
        let mut parts = self.request.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(method), Some(path), None) if path.starts_with('/') => {
                if self.share > 0.0 && self.share.is_finite() {
                    Ok((method.to_ascii_uppercase(), path.to_owned()))
                } else {
                    Err(format!(
                        "load request {:?}: share {} is not a positive number",
                        self.request, self.share
                    ))
                }
            }
            _ => Err(format!(
                "load request {:?} is not `METHOD /path`",
                self.request
            )),
        }
    }
}

/// A service-level objective.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Slo {
    pub name: String,
    pub section: String,
    /// What is measured: `availability`, `latency-p95`, `latency-p99`, `error-rate`, ...
    pub kind: String,
    /// `<`, `<=`, `>`, `>=`.
    pub op: String,
    /// Number in the unit of `kind` (percent for rates, milliseconds for latency).
    pub value: f64,
    /// Only this route of the load mix (`GET /api/profile`), where the runbook says so;
    /// otherwise every request.
    #[serde(default)]
    pub route: Option<String>,
    /// For kind `field-ok`: the JSON pointer in each probe's answer whose value must be
    /// `"ok"` (e.g. `/services/database` of a health answer).
    #[serde(default)]
    pub field: Option<String>,
}

impl Slo {
    /// Whether `observed` (in the unit of `kind`) meets the objective.
    pub fn met_by(&self, observed: f64) -> bool {
        match self.op.as_str() {
            "<" => observed < self.value,
            "<=" => observed <= self.value,
            ">" => observed > self.value,
            ">=" => observed >= self.value,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ErrorCode {
    pub code: String,
    pub status: u16,
    pub description: String,
    pub section: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecurityHeaders {
    pub section: String,
    pub path: String,
    /// header name → required value; an empty value means "present, any value".
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Cors {
    pub section: String,
    pub path: String,
    pub allowed_origin: String,
    pub denied_origin: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dashboard {
    pub name: String,
    pub section: String,
    pub widgets: usize,
    /// Metrics the runbook lists on the dashboard, `Namespace MetricName`; the local stack
    /// draws its first widgets from these, then from the alarms.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// CloudWatch Logs Insights queries shown as log widgets.
    #[serde(default)]
    pub log_queries: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Recovery {
    pub section: String,
    #[serde(with = "humantime_serde")]
    pub rto: Duration,
    #[serde(with = "humantime_serde")]
    pub rpo: Duration,
}

/// A paginated list endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Pagination {
    pub section: String,
    pub path: String,
    pub page_param: String,
    pub size_param: String,
    pub items_field: String,
    pub total_field: String,
}

/// Role-based access: the smoke identity is read-only, so a write must be refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rbac {
    pub section: String,
    pub write_path: String,
    pub denied_status: u16,
    /// A valid body, so only authorization can refuse it.
    pub probe_body: String,
}

impl RunbookFacts {
    /// Parse one runbook facts file, with file:line:key errors.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        toml_file::parse(path)
    }

    /// Reference to a section of this system's seed document.
    pub fn at(&self, section: &str) -> RunbookRef {
        RunbookRef {
            seed: self.seed.clone(),
            section: section.to_owned(),
        }
    }

    /// Replace `{var}` placeholders in every name with the given values.
    ///
    /// Unknown placeholders are an error naming the system and the placeholder.
    pub fn render(&self, vars: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let value = serde_json::to_value(self).map_err(|e| ConfigError::Invalid {
            what: format!("runbook facts for {}", self.system),
            message: e.to_string(),
        })?;
        let rendered = render_value(value, vars, &self.system)?;
        serde_json::from_value(rendered).map_err(|e| ConfigError::Invalid {
            what: format!("runbook facts for {}", self.system),
            message: e.to_string(),
        })
    }
}

/// Path of runbook facts `name`: `fixtures/runbooks/<name>.toml`.
pub fn runbook_path(fixtures: &Path, name: &str) -> std::path::PathBuf {
    fixtures.join("runbooks").join(format!("{name}.toml"))
}

/// Names of every runbook facts file, sorted.
pub fn known_runbooks(fixtures: &Path) -> Vec<String> {
    toml_file::stems(&fixtures.join("runbooks"))
}

/// Fields that quote the runbook rather than name a resource.
/// `routes` too: their `{id}` path parameters are API Gateway's, not runbook variables.
const PROSE_KEYS: [&str; 5] = ["section", "documented", "description", "title", "routes"];

fn render_value(
    value: serde_json::Value,
    vars: &BTreeMap<String, String>,
    system: &str,
) -> Result<serde_json::Value, ConfigError> {
    use serde_json::Value;
    Ok(match value {
        Value::String(s) => Value::String(render_str(&s, vars, system)?),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| render_value(v, vars, system))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    // Prose quotes the runbook verbatim (`Bearer {jwt}`): never templated.
                    if PROSE_KEYS.contains(&k.as_str()) {
                        Ok((k, v))
                    } else {
                        Ok((k, render_value(v, vars, system)?))
                    }
                })
                .collect::<Result<_, ConfigError>>()?,
        ),
        other => other,
    })
}

/// Fill `{name}` placeholders; `{{`/`}}` are not special (runbook names never use them).
pub fn render_str(
    s: &str,
    vars: &BTreeMap<String, String>,
    system: &str,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end)
                if after[..end]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    && end > 0 =>
            {
                let name = &after[..end];
                let value = vars.get(name).ok_or_else(|| ConfigError::UnknownVariable {
                    system: system.to_owned(),
                    variable: name.to_owned(),
                    known: vars.keys().cloned().collect(),
                })?;
                out.push_str(value);
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        BTreeMap::from([("env".to_owned(), "sit".to_owned())])
    }

    #[test]
    fn renders_known_placeholders() {
        assert_eq!(
            render_str("page_generator-{env}", &vars(), "sb").unwrap(),
            "page_generator-sit"
        );
        assert_eq!(
            render_str("cron(0 2 * * ? *)", &vars(), "sb").unwrap(),
            "cron(0 2 * * ? *)"
        );
        assert_eq!(
            render_str("{\"json\": 1}", &vars(), "sb").unwrap(),
            "{\"json\": 1}"
        );
    }

    #[test]
    fn unknown_placeholder_names_the_known_ones() {
        let err = render_str("x-{stage}", &vars(), "plot-palette").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("stage"), "{text}");
        assert!(text.contains("env"), "{text}");
    }
}
