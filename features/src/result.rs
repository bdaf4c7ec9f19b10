//! What a step returns: `Ok`, or why it failed — a mismatch between the runbook's promise and
//! what was observed, an unreachable dependency (reported as an infrastructure error, exit 3,
//! not as a failed claim), or a scenario that is written wrong.

use shakedown_core::event::Outcome;
use shakedown_core::target::{TokenError, TokenErrorKind};

/// The marker the writer reads to report a step as an infrastructure error.
pub const INFRA_MARK: &str = "[infra] ";

pub type StepResult = Result<(), StepError>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StepError {
    /// The claim does not hold.
    #[error("expected {expected}; observed {observed}")]
    Mismatch { expected: String, observed: String },
    /// The target or a dependency could not be reached.
    #[error("[infra] {0}")]
    Infra(String),
    /// The scenario itself is wrong (no earlier request, unknown placeholder, …).
    #[error("scenario error: {0}")]
    Usage(String),
}

impl StepError {
    pub fn mismatch(expected: impl Into<String>, observed: impl Into<String>) -> Self {
        StepError::Mismatch {
            expected: expected.into(),
            observed: observed.into(),
        }
    }

    /// A smoke check's outcome as a step result: passed → Ok, failed → mismatch, error →
    /// infrastructure; skipped and refused fail the step (a scenario must really check).
    pub fn from_outcome(outcome: Outcome) -> StepResult {
        match outcome {
            Outcome::Passed { .. } => Ok(()),
            Outcome::Failed(f) => {
                let mut observed = f.observed;
                for e in f.evidence.iter().filter(|e| e.label != "body") {
                    observed.push_str(&format!(" [{}: {}]", e.label, e.detail));
                }
                Err(StepError::mismatch(f.expected, observed))
            }
            Outcome::Error { message } => Err(StepError::Infra(message)),
            Outcome::Skipped { reason } | Outcome::Refused { reason } => {
                Err(StepError::mismatch("the check to run", reason))
            }
        }
    }

    /// A token that could not be had: rejected credentials fail the claim, an unreachable
    /// identity provider is infrastructure.
    pub fn from_token(e: &TokenError) -> Self {
        match e.kind {
            TokenErrorKind::Unreachable => StepError::Infra(format!("token: {e}")),
            _ => StepError::mismatch("a token for the test user", e.to_string()),
        }
    }
}

/// `Ok` when `holds`, else a mismatch.
pub fn ensure(holds: bool, expected: impl Into<String>, observed: impl Into<String>) -> StepResult {
    if holds {
        Ok(())
    } else {
        Err(StepError::mismatch(expected, observed))
    }
}
