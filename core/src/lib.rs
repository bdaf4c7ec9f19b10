//! shakedown's shared library: profiles and runbook facts, tier policy, targets (HTTP with
//! auth, AWS SDK config), checks and their events, reporters, redaction and exit codes.
//! Every suite (smoke, features, load, chaos) builds on it.

pub mod archive;
pub mod aws;
pub mod check;
pub mod cli;
pub mod error;
pub mod event;
pub mod exit;
pub mod profile;
pub mod redact;
pub mod report;
pub mod runbook;
pub mod stack;
pub mod target;
pub mod tier;
pub mod toml_file;

/// The workspace's `fixtures/` directory (runbooks, environments, defects).
pub fn fixtures_dir() -> std::path::PathBuf {
    if let Ok(dir) = std::env::var("SHAKEDOWN_FIXTURES") {
        return dir.into();
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fixtures")
}
