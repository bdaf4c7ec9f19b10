//! Environment profiles: one TOML file per environment under `fixtures/environments/`
//! saying where the systems are, how to authenticate, and which tier the environment is.
//! What the systems promise (the numbers) lives in the runbook facts the profile names.
//!
//! Values may refer to the running local stack with `${stack.<dotted.path>}` (see
//! [`crate::stack::StackManifest`]). Secrets are never in the file: the profile names the
//! environment variables that hold them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, InfraError};
use crate::redact;
use crate::runbook::RunbookFacts;
use crate::stack::StackManifest;
use crate::tier::Tier;
use crate::toml_file;

/// One environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Profile {
    /// Filled from the file name; not written in the file.
    #[serde(skip)]
    pub name: String,
    /// Filled with the file's path.
    #[serde(skip)]
    pub path: PathBuf,
    pub description: String,
    pub tier: Tier,
    pub region: String,
    /// Timeout of each HTTP request.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    #[serde(default)]
    pub aws: AwsProfile,
    /// system id → how to reach it in this environment.
    pub systems: BTreeMap<String, SystemProfile>,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// How to reach AWS in this environment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AwsProfile {
    /// Endpoint override (moto). Without it, aws-config's own resolution applies
    /// (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, or the real endpoints).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Dummy static credentials (the local stack). Otherwise the default chain.
    #[serde(default)]
    pub static_credentials: bool,
}

/// Where one system is and how to authenticate to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SystemProfile {
    /// Runbook facts file (`fixtures/runbooks/<runbook>.toml`).
    pub runbook: String,
    pub base_url: String,
    /// Values for the runbook's `{placeholders}` (`env`, `stage`, `tenant`, ...).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub auth: Option<AuthProfile>,
    /// Where metrics come from.
    #[serde(default)]
    pub metrics: MetricSource,
    /// The system's Redis, for the persistence checks (Sergas' DR section).
    #[serde(default)]
    pub redis: Option<RedisProfile>,
    /// The system's PostgreSQL, for the migration and DR checks (Sergas).
    #[serde(default)]
    pub database: Option<DatabaseProfile>,
    /// The operations scripts the runbook names (`quick-diagnostic`, `daily-health-check`),
    /// each as an argv. The harness runs them with the components' addresses in
    /// `SHAKEDOWN_{API,DATABASE,REDIS,PROMETHEUS,ALERTMANAGER}_URL`, Redis's password in
    /// `SHAKEDOWN_REDIS_PASSWORD` and the backups directory in `SHAKEDOWN_BACKUPS_DIR`.
    #[serde(default)]
    pub ops: BTreeMap<String, Vec<String>>,
    /// The API's public TLS endpoint, when it is not `base-url` (locally nginx in front of
    /// the reference service), for the encryption-in-transit checks.
    #[serde(default)]
    pub tls: Option<TlsProfile>,
}

/// A TLS endpoint: `https://host:port`, its plain-HTTP twin (which must redirect or refuse),
/// and the CA that signs its certificate when it is not a public one (PEM).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TlsProfile {
    pub url: String,
    #[serde(default)]
    pub http_url: Option<String>,
    #[serde(default)]
    pub ca_file: Option<String>,
}

/// A PostgreSQL database and what its DR procedures leave behind.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DatabaseProfile {
    /// `postgres://host:port/database`.
    pub url: String,
    /// The role the checks log in as (the application's: they read, and a DR drill writes
    /// marker rows through the API, not as this role).
    pub user: String,
    #[serde(default)]
    pub password_env: Option<String>,
    /// The deployed release's migrations (`NNN_name.sql`); the newest is the head the
    /// database must be at.
    #[serde(default)]
    pub migrations: Option<String>,
    /// Where `backup-database.sh` writes its dumps (`*.dump`, `pg_dump -Fc`).
    #[serde(default)]
    pub backups: Option<String>,
    /// How often a backup is taken: the newest must be younger than this.
    #[serde(default, with = "humantime_serde")]
    pub backup_interval: Option<Duration>,
    /// Where the full (base) backups are, one directory each with its `backup_label`
    /// (`pg_basebackup -Fp`): the monthly maintenance's, and where a point-in-time restore
    /// starts.
    #[serde(default)]
    pub full_backups: Option<String>,
    /// How long backups are kept: rotation deletes older ones.
    #[serde(default, with = "humantime_serde")]
    pub backup_retention: Option<Duration>,
    /// `restore-database.sh` as an argv. The harness runs it with
    /// `SHAKEDOWN_RESTORE_ACTION=restore|stop`, `SHAKEDOWN_RESTORE_DIR` (an empty scratch
    /// directory), `SHAKEDOWN_RESTORE_PORT` (a free loopback port) and, for a point-in-time
    /// restore, `SHAKEDOWN_RESTORE_TARGET_TIME` (RFC 3339, UTC); `restore` leaves a server
    /// with the same roles on that port, `stop` stops it.
    #[serde(default)]
    pub restore_command: Option<Vec<String>>,
    /// A DR drill's simulated loss of the live database, as an argv (locally
    /// `shakedown-stack database lose`; on a real environment e.g. an FIS experiment or a
    /// forced failover). Only `@destructive` scenarios run it.
    #[serde(default)]
    pub loss_command: Option<Vec<String>>,
    /// `restore-from-backup.sh`: brings the live database back after a loss, as an argv.
    #[serde(default)]
    pub recover_command: Option<Vec<String>>,
}

/// A Redis server: `redis://host:port` and the variable holding its password.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RedisProfile {
    pub url: String,
    #[serde(default)]
    pub password_env: Option<String>,
}

/// Metric source of a system.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", tag = "kind", deny_unknown_fields)]
pub enum MetricSource {
    #[default]
    Cloudwatch,
    /// A Prometheus server (its HTTP API at `url`) and, where alerts are routed, the
    /// Alertmanager it sends them to.
    Prometheus {
        url: String,
        #[serde(default, rename = "alertmanager-url")]
        alertmanager_url: Option<String>,
    },
}

/// Authentication strategies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", deny_unknown_fields)]
pub enum AuthProfile {
    /// Cognito `USER_PASSWORD_AUTH` (real JWTs).
    CognitoPassword {
        #[serde(rename = "user-pool-id")]
        user_pool_id: String,
        #[serde(rename = "client-id")]
        client_id: String,
        username: String,
        #[serde(rename = "password-env")]
        password_env: String,
        /// A validly signed token that has expired, from an environment variable
        /// (capture one from an earlier session), to prove expired tokens are refused.
        #[serde(default, rename = "expired-token-env")]
        expired_token_env: Option<String>,
        /// The same, given directly (the local stack mints one: `${stack.expired-tokens.X}`).
        #[serde(default, rename = "expired-token")]
        expired_token: Option<String>,
        /// A second test user with the same password (`password-env`): the other user of
        /// per-user isolation checks (one user's exhausted rate limit must not throttle it).
        #[serde(default, rename = "neighbour-username")]
        neighbour_username: Option<String>,
    },
    /// OAuth2 client credentials grant.
    Oauth2ClientCredentials {
        #[serde(rename = "token-url")]
        token_url: String,
        #[serde(rename = "client-id")]
        client_id: String,
        #[serde(rename = "client-secret-env")]
        client_secret_env: String,
        #[serde(default)]
        scope: Option<String>,
        /// A second client that procedures changing data act as (create, then delete, an
        /// account), so the main identity can stay read-only (least privilege).
        #[serde(default, rename = "writer-client-id")]
        writer_client_id: Option<String>,
        /// The writer's secret variable (default: `client-secret-env`).
        #[serde(default, rename = "writer-client-secret-env")]
        writer_client_secret_env: Option<String>,
    },
    /// A static bearer token from an environment variable.
    StaticBearer {
        #[serde(rename = "token-env")]
        token_env: String,
    },
}

/// A secret read from the environment. Its `Debug` never shows the value, and reading it
/// registers it with the redactor.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Read the secret from environment variable `var`.
    pub fn from_env(var: &str, what: &str) -> Result<Self, ConfigError> {
        match std::env::var(var) {
            Ok(value) if !value.is_empty() => {
                redact::register_secret(&value);
                Ok(Secret(value))
            }
            _ => Err(ConfigError::MissingSecret {
                var: var.to_owned(),
                what: what.to_owned(),
            }),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A secret given directly (tests).
    #[cfg(test)]
    pub(crate) fn literal(value: &str) -> Self {
        redact::register_secret(value);
        Secret(value.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// The profiles directory: `fixtures/environments`.
pub fn environments_dir(fixtures: &Path) -> PathBuf {
    fixtures.join("environments")
}

/// Names of every profile in `dir`, sorted.
pub fn known_profiles(dir: &Path) -> Vec<String> {
    toml_file::stems(dir)
}

impl Profile {
    /// Load profile `name` from `fixtures/environments/<name>.toml`.
    pub fn load_named(fixtures: &Path, name: &str) -> Result<Self, ConfigError> {
        let dir = environments_dir(fixtures);
        let path = dir.join(format!("{name}.toml"));
        if !path.is_file() {
            return Err(ConfigError::UnknownProfile {
                name: name.to_owned(),
                known: known_profiles(&dir),
            });
        }
        Self::load(&path, fixtures)
    }

    /// Load and validate one profile file (placeholders are left unresolved).
    pub fn load(path: &Path, fixtures: &Path) -> Result<Self, ConfigError> {
        let mut profile: Profile = toml_file::parse(path)?;
        profile.name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        profile.path = path.to_owned();
        let known = crate::runbook::known_runbooks(fixtures);
        for (system, sys) in &profile.systems {
            if !known.contains(&sys.runbook) {
                return Err(ConfigError::UnknownRunbook {
                    path: path.to_owned(),
                    system: system.clone(),
                    runbook: sys.runbook.clone(),
                    known,
                });
            }
        }
        Ok(profile)
    }

    /// Whether any value refers to the local stack.
    pub fn uses_stack(&self) -> bool {
        serde_json::to_string(self).is_ok_and(|s| s.contains("${stack."))
    }

    /// Replace every `${stack.<path>}` with the running stack's value.
    ///
    /// A profile that refers to the stack when none is running is an infrastructure error
    /// (exit 3), naming the command that starts it.
    pub fn resolve(self, manifest: Option<&StackManifest>) -> Result<Self, ProfileError> {
        if !self.uses_stack() {
            return Ok(self);
        }
        let manifest = manifest.ok_or_else(|| {
            ProfileError::Infra(InfraError::new(
                format!("profile {}", self.name),
                "it refers to the local stack, which is not running (start it with `cargo xtask up`)",
            ))
        })?;
        let (name, path) = (self.name.clone(), self.path.clone());
        let mut value = serde_json::to_value(&self).map_err(|e| {
            ProfileError::Config(ConfigError::Invalid {
                what: name.clone(),
                message: e.to_string(),
            })
        })?;
        resolve_value(&mut value, manifest, &path)?;
        let mut resolved: Profile = serde_json::from_value(value).map_err(|e| {
            ProfileError::Config(ConfigError::Invalid {
                what: name.clone(),
                message: e.to_string(),
            })
        })?;
        resolved.name = name;
        resolved.path = path;
        Ok(resolved)
    }

    /// The rendered runbook facts of one system of this profile.
    pub fn facts(&self, fixtures: &Path, system: &str) -> Result<RunbookFacts, ConfigError> {
        let sys = self
            .systems
            .get(system)
            .ok_or_else(|| ConfigError::Invalid {
                what: format!("profile {}", self.name),
                message: format!("has no system `{system}`"),
            })?;
        let facts = RunbookFacts::load(&crate::runbook::runbook_path(fixtures, &sys.runbook))?;
        facts.render(&sys.vars)
    }
}

/// Loading a profile can fail for a bad file (exit 2) or a missing stack (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Infra(#[from] InfraError),
}

fn resolve_value(
    value: &mut serde_json::Value,
    manifest: &StackManifest,
    path: &Path,
) -> Result<(), ProfileError> {
    match value {
        serde_json::Value::String(s) => {
            while let Some(start) = s.find("${stack.") {
                let Some(len) = s[start..].find('}') else {
                    return Err(ConfigError::Invalid {
                        what: path.display().to_string(),
                        message: format!("unterminated placeholder in `{s}`"),
                    }
                    .into());
                };
                let key = &s[start + "${stack.".len()..start + len];
                let replacement = manifest.lookup(key).ok_or_else(|| {
                    InfraError::new(
                        path.display().to_string(),
                        format!(
                            "the running local stack has no `{key}` (restart it with `cargo xtask down && cargo xtask up`)"
                        ),
                    )
                })?;
                s.replace_range(start..=start + len, &replacement);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                resolve_value(item, manifest, path)?;
            }
        }
        serde_json::Value::Object(map) => {
            for v in map.values_mut() {
                resolve_value(v, manifest, path)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        crate::fixtures_dir()
    }

    #[test]
    fn every_shipped_profile_and_runbook_parses_and_renders() {
        let dir = environments_dir(&fixtures());
        let names = known_profiles(&dir);
        assert!(names.contains(&"local".to_owned()), "{names:?}");
        for name in names {
            let profile = Profile::load_named(&fixtures(), &name)
                .unwrap_or_else(|e| panic!("profile {name}: {e}"));
            assert_eq!(profile.name, name);
            for system in profile.systems.keys() {
                profile
                    .facts(&fixtures(), system)
                    .unwrap_or_else(|e| panic!("profile {name}, system {system}: {e}"));
            }
        }
    }

    #[test]
    fn unknown_profile_lists_the_known_ones() {
        let err = Profile::load_named(&fixtures(), "nope").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unknown profile `nope`"), "{msg}");
        assert!(msg.contains("local"), "{msg}");
        assert!(msg.contains("plot-palette-prod"), "{msg}");
    }

    #[test]
    fn unknown_key_is_reported_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(
            &path,
            "description = \"x\"\ntier = \"dev\"\nregion = \"eu-west-1\"\n[systems.a]\nrunbook = \"site-builder\"\nbase-url = \"https://x\"\nbase-ulr = \"typo\"\n",
        )
        .unwrap();
        let msg = Profile::load(&path, &fixtures()).unwrap_err().to_string();
        assert!(msg.contains("bad.toml:7:"), "{msg}");
        assert!(msg.contains("systems.a"), "{msg}");
        assert!(msg.contains("base-ulr"), "{msg}");
    }

    #[test]
    fn wrong_tier_value_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(
            &path,
            "description = \"x\"\ntier = \"production\"\nregion = \"eu-west-1\"\n[systems]\n",
        )
        .unwrap();
        let msg = Profile::load(&path, &fixtures()).unwrap_err().to_string();
        assert!(msg.contains("bad.toml:2:"), "{msg}");
        assert!(msg.contains("tier"), "{msg}");
    }

    #[test]
    fn stack_placeholders_need_a_running_stack() {
        let profile = Profile::load_named(&fixtures(), "local").unwrap();
        assert!(profile.uses_stack());
        assert!(matches!(
            profile.clone().resolve(None),
            Err(ProfileError::Infra(_))
        ));
        let manifest = StackManifest {
            version: 1,
            aws: "http://127.0.0.1:1".into(),
            region: "us-east-1".into(),
            services: [
                "plot-palette",
                "site-builder",
                "styling-adventures",
                "energy-insights",
                "sergas",
                "prometheus",
                "alertmanager",
                "redis",
                "postgres",
                "sergas-https",
                "sergas-http",
            ]
            .iter()
            .map(|s| (s.to_string(), format!("http://127.0.0.1:2/{s}")))
            .collect(),
            admin: "http://127.0.0.1:3".into(),
            cognito: [
                "plot-palette",
                "site-builder",
                "styling-adventures",
                "energy-insights",
            ]
            .iter()
            .map(|s| {
                (
                    s.to_string(),
                    crate::stack::CognitoPool {
                        user_pool_id: format!("pool-{s}"),
                        client_id: format!("client-{s}"),
                    },
                )
            })
            .collect(),
            expired_tokens: [
                "plot-palette",
                "site-builder",
                "styling-adventures",
                "energy-insights",
            ]
            .iter()
            .map(|s| (s.to_string(), format!("expired-{s}")))
            .collect(),
            defects: vec![],
            processes: vec![],
            started_at: "now".into(),
            fixtures: "/w/fixtures".into(),
            state: "/w/target/shakedown/local".into(),
            stack_bin: "/w/target/debug/shakedown-stack".into(),
        };
        let resolved = profile.resolve(Some(&manifest)).unwrap();
        assert!(!resolved.uses_stack());
        assert_eq!(resolved.aws.endpoint.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(
            resolved.systems["plot-palette"].base_url,
            "http://127.0.0.1:2/plot-palette"
        );
    }

    #[test]
    fn secret_debug_hides_the_value() {
        // SAFETY of the test: a unique variable name so parallel tests do not race on it.
        let var = "SHAKEDOWN_TEST_SECRET_DEBUG";
        let missing = Secret::from_env(var, "test").unwrap_err();
        assert!(missing.to_string().contains(var));
    }
}
