//! Events: what suites emit and reporters consume. A check's result carries what was
//! expected (with the runbook section it comes from), what was observed and the evidence.

use serde::{Deserialize, Serialize};

use crate::runbook::RunbookRef;
use crate::tier::{Effect, Tier};

/// One thing that happened during a run. Serialised as one JSON line each.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    RunStarted(RunInfo),
    CheckStarted { id: String, title: String },
    CheckFinished(CheckResult),
    RunFinished(Summary),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct RunInfo {
    pub run_id: String,
    pub suite: String,
    pub profile: String,
    pub tier: Tier,
    /// RFC 3339.
    pub started_at: String,
    pub selected: usize,
}

/// The result of one check.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct CheckResult {
    /// Stable id, `<system>/<area>[/<item>]`, e.g. `plot-palette/table/JobsTable-local`.
    pub id: String,
    pub title: String,
    pub system: String,
    pub runbook: RunbookRef,
    pub effect: Effect,
    pub outcome: Outcome,
    pub duration_ms: u64,
}

/// How a check ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    /// The claim holds; `observed` says what was seen, `evidence` the measurements behind
    /// it where a check has more to say than one line (a load run's percentiles).
    Passed {
        observed: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        evidence: Vec<Evidence>,
    },
    /// The claim does not hold.
    Failed(Failure),
    /// The check could not run: the target or a dependency was unreachable (exit 3).
    Error { message: String },
    /// Not run because tier policy refuses it.
    Refused { reason: String },
    /// Not run for another stated reason (e.g. its prerequisite failed).
    Skipped { reason: String },
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Passed { .. } => "PASS",
            Outcome::Failed(_) => "FAIL",
            Outcome::Error { .. } => "ERROR",
            Outcome::Refused { .. } => "REFUSED",
            Outcome::Skipped { .. } => "SKIP",
        }
    }

    /// One line for tables: what was observed, or why it did not run.
    pub fn summary(&self) -> String {
        match self {
            Outcome::Passed { observed, .. } => observed.clone(),
            Outcome::Failed(f) => f.observed.clone(),
            Outcome::Error { message } => message.clone(),
            Outcome::Refused { reason } | Outcome::Skipped { reason } => reason.clone(),
        }
    }
}

/// Why a check failed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Failure {
    pub expected: String,
    pub observed: String,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

/// One piece of evidence: the request made, the status, a trimmed body, a metric value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Evidence {
    pub label: String,
    pub detail: String,
}

impl Evidence {
    pub fn new(label: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            detail: detail.into(),
        }
    }

    /// A response body, trimmed to `max` characters.
    pub fn body(body: &str, max: usize) -> Self {
        let trimmed: String = body.chars().take(max).collect();
        let detail = if body.chars().count() > max {
            format!("{trimmed}… ({} bytes)", body.len())
        } else {
            trimmed
        };
        Self::new("body", detail)
    }
}

/// Counts at the end of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub refused: usize,
    pub skipped: usize,
    pub duration_ms: u64,
    pub exit_code: u8,
}

impl Summary {
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.errors + self.refused + self.skipped
    }

    pub fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Passed { .. } => self.passed += 1,
            Outcome::Failed(_) => self.failed += 1,
            Outcome::Error { .. } => self.errors += 1,
            Outcome::Refused { .. } => self.refused += 1,
            Outcome::Skipped { .. } => self.skipped += 1,
        }
    }
}
