//! Reporters: consumers of [`Event`]s. Suites emit; reporters format. [`Reporters`] fans
//! events out to every configured reporter after redacting them — the one place where
//! secrets are masked before anything is written.

mod console;
mod jsonl;
mod junit;
mod markdown;

use std::path::Path;

pub use console::{ConsoleReporter, ConsoleStyle};
pub use jsonl::JsonLinesReporter;
pub use junit::JunitReporter;
pub use markdown::MarkdownReporter;

use crate::event::Event;
use crate::redact;

/// Something that receives events.
pub trait EventSink {
    fn emit(&mut self, event: Event);
}

/// A reporter writes events somewhere. Errors are reported once, at `finish`.
pub trait Reporter: Send {
    fn event(&mut self, event: &Event) -> std::io::Result<()>;
    /// Called once after `RunFinished`: write whole-document formats (JUnit, markdown).
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    /// What this reporter writes to (for error messages).
    fn describe(&self) -> String;
}

/// Fan-out to every reporter, redacting first.
#[derive(Default)]
pub struct Reporters {
    reporters: Vec<Box<dyn Reporter>>,
    errors: Vec<String>,
}

impl std::fmt::Debug for Reporters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporters")
            .field("count", &self.reporters.len())
            .finish()
    }
}

impl Reporters {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, reporter: impl Reporter + 'static) -> &mut Self {
        self.reporters.push(Box::new(reporter));
        self
    }

    /// Finish every reporter; returns the write errors met along the way.
    pub fn finish(mut self) -> Vec<String> {
        for r in &mut self.reporters {
            if let Err(e) = r.finish() {
                self.errors.push(format!("{}: {e}", r.describe()));
            }
        }
        self.errors
    }
}

/// Redact every string in an event.
pub fn redacted(event: &Event) -> Event {
    match serde_json::to_value(event) {
        Ok(mut value) => {
            redact::redact_json(&mut value);
            serde_json::from_value(value).unwrap_or_else(|_| event.clone())
        }
        Err(_) => event.clone(),
    }
}

impl EventSink for Reporters {
    fn emit(&mut self, event: Event) {
        let event = redacted(&event);
        for r in &mut self.reporters {
            if let Err(e) = r.event(&event) {
                self.errors.push(format!("{}: {e}", r.describe()));
            }
        }
    }
}

/// Keeps events in memory (tests, and suites that post-process).
#[derive(Debug, Default)]
pub struct MemorySink {
    pub events: Vec<Event>,
}

impl EventSink for MemorySink {
    fn emit(&mut self, event: Event) {
        self.events.push(event);
    }
}

/// Create the parent directory of an output file.
pub(crate) fn create_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
        _ => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use crate::event::*;
    use crate::runbook::RunbookRef;
    use crate::tier::{Effect, Tier};

    pub fn run() -> Vec<Event> {
        let rb = RunbookRef {
            seed: "000_4569d83243026c62.txt".into(),
            section: "Task 4 §2 PITR on all tables".into(),
        };
        vec![
            Event::RunStarted(RunInfo {
                run_id: "smoke-1".into(),
                suite: "smoke".into(),
                profile: "local".into(),
                tier: Tier::Local,
                started_at: "2026-11-22T00:00:00Z".into(),
                selected: 3,
            }),
            Event::CheckFinished(CheckResult {
                id: "plot-palette/health".into(),
                title: "Health answers healthy".into(),
                system: "plot-palette".into(),
                runbook: rb.clone(),
                effect: Effect::Read,
                outcome: Outcome::Passed {
                    observed: "200 healthy in 12 ms".into(),
                    evidence: Vec::new(),
                },
                duration_ms: 12,
            }),
            Event::CheckFinished(CheckResult {
                id: "plot-palette/table/JobsTable-local".into(),
                title: "JobsTable-local has PITR".into(),
                system: "plot-palette".into(),
                runbook: rb.clone(),
                effect: Effect::Read,
                outcome: Outcome::Failed(Failure {
                    expected: "PointInTimeRecoveryStatus ENABLED".into(),
                    observed: "DISABLED <&> \"quoted\"".into(),
                    evidence: vec![Evidence::new(
                        "call",
                        "dynamodb DescribeContinuousBackups JobsTable-local",
                    )],
                }),
                duration_ms: 7,
            }),
            Event::CheckFinished(CheckResult {
                id: "plot-palette/flow".into(),
                title: "Post-deploy flow".into(),
                system: "plot-palette".into(),
                runbook: rb,
                effect: Effect::Mutate,
                outcome: Outcome::Refused {
                    reason: "prod is read-only".into(),
                },
                duration_ms: 0,
            }),
            Event::RunFinished(Summary {
                passed: 1,
                failed: 1,
                errors: 0,
                refused: 1,
                skipped: 0,
                duration_ms: 20,
                exit_code: 1,
            }),
        ]
    }
}
