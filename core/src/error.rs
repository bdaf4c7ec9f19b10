//! Errors shakedown's library reports: configuration problems (with file, line and key)
//! and infrastructure problems (a target or dependency that could not be reached).

use std::path::PathBuf;

use thiserror::Error;

/// A profile, runbook facts file or other input that is not right.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A TOML file that does not parse or does not match the schema.
    #[error("{path}:{line}:{column}: {key}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        /// Dotted path of the offending key, or `(document)`.
        key: String,
        message: String,
    },
    #[error("unknown profile `{name}`; known profiles: {}", known.join(", "))]
    UnknownProfile { name: String, known: Vec<String> },
    #[error("{path}: system `{system}` names runbook `{runbook}`, which does not exist; known runbooks: {}", known.join(", "))]
    UnknownRunbook {
        path: PathBuf,
        system: String,
        runbook: String,
        known: Vec<String>,
    },
    #[error("{system}: placeholder `{{{variable}}}` has no value; the profile's vars are: {}", known.join(", "))]
    UnknownVariable {
        system: String,
        variable: String,
        known: Vec<String>,
    },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    #[error("environment variable `{var}` (named by {what}) is not set")]
    MissingSecret { var: String, what: String },
}

/// The target, or something it depends on, could not be reached or set up.
/// Reported as exit code 3, never as a failed check.
#[derive(Debug, Error)]
#[error("{what}: {message}")]
pub struct InfraError {
    pub what: String,
    pub message: String,
}

impl InfraError {
    pub fn new(what: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self {
            what: what.into(),
            message: message.to_string(),
        }
    }
}
