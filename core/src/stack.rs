//! The local stack's shared vocabulary: the manifest a running stack writes (ports, pool
//! ids, pids), the config the reference services are started with, and the defect
//! catalogue (`fixtures/defects.toml`). The stack writes these; profiles and suites read them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::toml_file;

/// File name of the manifest inside a stack's state directory.
pub const MANIFEST_FILE: &str = "stack.json";
/// Environment variable that points suites at a stack manifest.
pub const MANIFEST_ENV: &str = "SHAKEDOWN_STACK_FILE";

/// What a running local stack tells its clients. Written to `<state-dir>/stack.json`.
///
/// Profiles refer to its fields with `${stack.<dotted.path>}`, e.g.
/// `${stack.services.plot-palette}` or `${stack.cognito.plot-palette.user-pool-id}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StackManifest {
    pub version: u32,
    /// moto_server endpoint, e.g. `http://127.0.0.1:41234`.
    pub aws: String,
    pub region: String,
    /// system id → base URL of its reference service.
    pub services: BTreeMap<String, String>,
    /// Admin endpoint of the reference services (defect switching).
    pub admin: String,
    /// system id → Cognito pool created by the bootstrap.
    #[serde(default)]
    pub cognito: BTreeMap<String, CognitoPool>,
    /// system id → a validly signed JWT that has expired (minted with moto's signing key).
    #[serde(default)]
    pub expired_tokens: BTreeMap<String, String>,
    /// Defects the stack is running with.
    #[serde(default)]
    pub defects: Vec<String>,
    /// Processes the stack started (so `down` can stop them and nothing else).
    #[serde(default)]
    pub processes: Vec<StackProcess>,
    /// RFC 3339 start time.
    pub started_at: String,
    /// The fixtures directory the stack was built from (`${stack.fixtures}` in a profile,
    /// e.g. for the SDK examples a scenario runs).
    #[serde(default)]
    pub fixtures: String,
    /// The stack's state directory (`${stack.state}`: where its PostgreSQL keeps the WAL
    /// archive and backups the DR scripts read).
    #[serde(default)]
    pub state: String,
    /// The `shakedown-stack` binary that started the stack (`${stack.stack-bin}`: profiles
    /// name its `database lose|recover` drill commands).
    #[serde(default)]
    pub stack_bin: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CognitoPool {
    pub user_pool_id: String,
    pub client_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StackProcess {
    /// `moto`, `services`, `worker-1`, ...
    pub name: String,
    pub pid: u32,
    pub log: PathBuf,
    /// ECS task ARN, for processes registered as ECS tasks (the workers).
    #[serde(default)]
    pub task_arn: Option<String>,
}

impl StackManifest {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| ConfigError::Invalid {
            what: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Look up a dotted path (`services.plot-palette`) in the manifest.
    pub fn lookup(&self, dotted: &str) -> Option<String> {
        let value = serde_json::to_value(self).ok()?;
        let mut cur = &value;
        for part in dotted.split('.') {
            cur = cur.get(part)?;
        }
        match cur {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// How `shakedown-services` is started: written by the stack as JSON, path passed with `--config`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServicesConfig {
    pub aws: String,
    pub region: String,
    /// `fixtures/` directory (runbooks, defects catalogue).
    pub fixtures_dir: PathBuf,
    /// Variables for rendering runbook names, per system (same as the local profile's).
    pub vars: BTreeMap<String, BTreeMap<String, String>>,
    /// system id (and `admin`) → `127.0.0.1:PORT` to listen on.
    pub listen: BTreeMap<String, String>,
    pub cognito: BTreeMap<String, CognitoPool>,
    /// Environment variable holding the OAuth2 client secret for Sergas' clients.
    pub sergas_secret_env: String,
    pub defects: Vec<String>,
}

/// Who applies a defect.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DefectLayer {
    Service,
    Worker,
    Aws,
}

/// One entry of `fixtures/defects.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Defect {
    pub name: String,
    pub layer: DefectLayer,
    pub system: String,
    /// What breaks, in one line.
    pub breaks: String,
    /// The runbook claim it breaks.
    pub claim: String,
    /// Suite that must catch it (`smoke`, `accept`, `load`, `chaos`).
    pub suite: String,
    /// Check-id prefixes; a failing check must start with one of them.
    pub caught_by: Vec<String>,
    /// Claims of the inventory (`fixtures/claims/`) the acceptance suite must name in a failed
    /// scenario while this defect is on; empty when the defect does not concern acceptance.
    #[serde(default)]
    pub accept_claims: Vec<String>,
    /// Checks of the load suite (`system/rate-limit/name`) that must fail while this defect
    /// is on; empty when the defect does not concern load.
    #[serde(default)]
    pub load_checks: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefectFile {
    defect: Vec<Defect>,
}

/// The whole switchboard.
#[derive(Debug, Clone)]
pub struct DefectCatalogue {
    pub defects: Vec<Defect>,
}

impl DefectCatalogue {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file: DefectFile = toml_file::parse(path)?;
        Ok(Self {
            defects: file.defect,
        })
    }

    pub fn get(&self, name: &str) -> Option<&Defect> {
        self.defects.iter().find(|d| d.name == name)
    }

    /// The switchboard as a markdown table (the README's copy is checked against this).
    pub fn markdown_table(&self) -> String {
        let mut md = String::from(
            "| defect | layer | what breaks | runbook claim | suite | caught by | acceptance claims | load checks |\n|---|---|---|---|---|---|---|---|\n",
        );
        for d in &self.defects {
            let layer = match d.layer {
                DefectLayer::Service => "service",
                DefectLayer::Worker => "worker",
                DefectLayer::Aws => "aws",
            };
            md.push_str(&format!(
                "| `{}` | {layer} | {} | {} | {} | {} | {} | {} |\n",
                d.name,
                d.breaks.replace('|', "\\|"),
                d.claim.replace('|', "\\|"),
                d.suite,
                ticked(&d.caught_by),
                ticked(&d.accept_claims),
                ticked(&d.load_checks),
            ));
        }
        md
    }

    /// The defects the acceptance suite must catch.
    pub fn for_acceptance(&self) -> impl Iterator<Item = &Defect> {
        self.defects.iter().filter(|d| !d.accept_claims.is_empty())
    }

    /// The defects the load suite must catch.
    pub fn for_load(&self) -> impl Iterator<Item = &Defect> {
        self.defects.iter().filter(|d| !d.load_checks.is_empty())
    }

    /// Validate a list of requested defect names; unknown names are an error listing the known.
    pub fn check_names(&self, names: &[String]) -> Result<(), ConfigError> {
        for name in names {
            if self.get(name).is_none() {
                return Err(ConfigError::Invalid {
                    what: format!("defect `{name}`"),
                    message: format!(
                        "unknown defect; known defects: {}",
                        self.defects
                            .iter()
                            .map(|d| d.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        Ok(())
    }
}

fn ticked(items: &[String]) -> String {
    items
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = "<!-- defects:start -->\n";
    const END: &str = "<!-- defects:end -->";

    /// The README's switchboard table is generated from `fixtures/defects.toml`.
    /// Run with `SHAKEDOWN_BLESS=1` to rewrite it.
    #[test]
    fn readme_switchboard_table_is_fresh() {
        let fixtures = crate::fixtures_dir();
        let catalogue = DefectCatalogue::load(&fixtures.join("defects.toml")).unwrap();
        let readme_path = fixtures.join("..").join("README.md");
        let readme = std::fs::read_to_string(&readme_path).unwrap();
        let start = readme
            .find(START)
            .expect("README has a defects:start marker")
            + START.len();
        let end = readme.find(END).expect("README has a defects:end marker");
        let fresh = catalogue.markdown_table();
        if readme[start..end] != fresh {
            if std::env::var_os("SHAKEDOWN_BLESS").is_some() {
                let updated = format!("{}{fresh}{}", &readme[..start], &readme[end..]);
                std::fs::write(&readme_path, updated).unwrap();
            } else {
                panic!(
                    "README.md's switchboard table is stale: run `SHAKEDOWN_BLESS=1 cargo test -p shakedown-core`"
                );
            }
        }
    }

    #[test]
    fn defect_names_are_unique_and_unknown_ones_are_refused() {
        let catalogue = DefectCatalogue::load(&crate::fixtures_dir().join("defects.toml")).unwrap();
        let mut names: Vec<&str> = catalogue.defects.iter().map(|d| d.name.as_str()).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(n, names.len());
        let err = catalogue
            .check_names(&["nope".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("pitr-off"), "{err}");
    }
}
