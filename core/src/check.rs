//! Checks and the runner: a check is a named, runbook-referenced async probe with a declared
//! effect; the runner applies tier policy, runs checks concurrently with a timeout each,
//! and emits events as results arrive. The verdict (exit code) is computed here too.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::event::{CheckResult, Event, Failure, Outcome, RunInfo, Summary};
use crate::exit::ExitCode;
use crate::report::EventSink;
use crate::runbook::RunbookRef;
use crate::tier::{Decision, Effect, Overrides, Tier, decide};

/// The future a check's body returns.
pub type CheckFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// A check against context `C` (the suite's targets and clients).
pub struct Check<C> {
    pub id: String,
    pub title: String,
    pub system: String,
    pub runbook: RunbookRef,
    pub effect: Effect,
    pub timeout: Duration,
    body: Box<dyn Fn(Arc<C>) -> CheckFuture + Send + Sync>,
}

impl<C> std::fmt::Debug for Check<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .field("effect", &self.effect)
            .finish_non_exhaustive()
    }
}

impl<C: Send + Sync + 'static> Check<C> {
    pub fn new<F, Fut>(
        id: impl Into<String>,
        title: impl Into<String>,
        system: impl Into<String>,
        runbook: RunbookRef,
        effect: Effect,
        body: F,
    ) -> Self
    where
        F: Fn(Arc<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        Self {
            id: id.into(),
            title: title.into(),
            system: system.into(),
            runbook,
            effect,
            timeout: Duration::from_secs(30),
            body: Box::new(move |ctx| Box::pin(body(ctx))),
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Build a failure outcome.
pub fn fail(expected: impl Into<String>, observed: impl Into<String>) -> Outcome {
    Outcome::Failed(Failure {
        expected: expected.into(),
        observed: observed.into(),
        evidence: Vec::new(),
    })
}

/// Build a failure outcome with evidence.
pub fn fail_with(
    expected: impl Into<String>,
    observed: impl Into<String>,
    evidence: Vec<crate::event::Evidence>,
) -> Outcome {
    Outcome::Failed(Failure {
        expected: expected.into(),
        observed: observed.into(),
        evidence,
    })
}

pub fn pass(observed: impl Into<String>) -> Outcome {
    pass_with(observed, Vec::new())
}

/// A pass with the measurements behind it (kept in the JSONL report).
pub fn pass_with(observed: impl Into<String>, evidence: Vec<crate::event::Evidence>) -> Outcome {
    Outcome::Passed {
        observed: observed.into(),
        evidence,
    }
}

pub fn infra(message: impl std::fmt::Display) -> Outcome {
    Outcome::Error {
        message: message.to_string(),
    }
}

/// How to run a selection of checks.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub suite: String,
    pub profile: String,
    pub tier: Tier,
    pub overrides: Overrides,
    pub concurrency: usize,
    /// The user named checks explicitly (`--check`): a refusal then fails the run with exit 5.
    pub explicit_selection: bool,
}

/// Run `checks` against `ctx`, streaming events to `sink`; returns the summary with its exit code.
pub async fn run<C: Send + Sync + 'static>(
    checks: Vec<Check<C>>,
    ctx: Arc<C>,
    opts: &RunOptions,
    sink: &mut dyn EventSink,
) -> Summary {
    let started = Instant::now();
    sink.emit(Event::RunStarted(RunInfo {
        run_id: format!(
            "{}-{}",
            opts.suite,
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
        ),
        suite: opts.suite.clone(),
        profile: opts.profile.clone(),
        tier: opts.tier,
        started_at: chrono::Utc::now().to_rfc3339(),
        selected: checks.len(),
    }));

    let mut summary = Summary::default();
    let mut runnable = Vec::new();
    for check in checks {
        match decide(opts.tier, check.effect, opts.overrides) {
            Decision::Allow => runnable.push(check),
            Decision::Refuse(reason) => {
                let result = result_of(&check, Outcome::Refused { reason }, Duration::ZERO);
                summary.count(&result.outcome);
                sink.emit(Event::CheckFinished(result));
            }
        }
    }

    let mut stream = futures::stream::iter(runnable.into_iter().map(|check| {
        let ctx = Arc::clone(&ctx);
        async move {
            let t0 = Instant::now();
            let fut = (check.body)(ctx);
            // Each check runs in its own task so a panic in one is an error, not a crash.
            let handle = tokio::spawn(tokio::time::timeout(check.timeout, fut));
            let outcome = match handle.await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_)) => infra(format!(
                    "no answer within {}",
                    humantime_secs(check.timeout)
                )),
                Err(join) => infra(format!("the check crashed: {join}")),
            };
            result_of(&check, outcome, t0.elapsed())
        }
    }))
    .buffer_unordered(opts.concurrency.max(1));

    while let Some(result) = stream.next().await {
        summary.count(&result.outcome);
        sink.emit(Event::CheckFinished(result));
    }

    summary.duration_ms = millis(started.elapsed());
    summary.exit_code = verdict(&summary, opts.explicit_selection).code();
    sink.emit(Event::RunFinished(summary.clone()));
    summary
}

fn result_of<C>(check: &Check<C>, outcome: Outcome, took: Duration) -> CheckResult {
    CheckResult {
        id: check.id.clone(),
        title: check.title.clone(),
        system: check.system.clone(),
        runbook: check.runbook.clone(),
        effect: check.effect,
        outcome,
        duration_ms: millis(took),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn humantime_secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// The exit code for a finished run.
///
/// Failed checks decide the gate (1). If nothing failed but some checks could not reach
/// their target, the run could not verify the claims (3). Refusals count only when the user
/// asked for the refused checks by name (5); otherwise they are listed and skipped.
pub fn verdict(summary: &Summary, explicit_selection: bool) -> ExitCode {
    if summary.total() == 0 {
        ExitCode::NothingSelected
    } else if explicit_selection && summary.refused > 0 {
        ExitCode::Refused
    } else if summary.failed > 0 {
        ExitCode::Failed
    } else if summary.errors > 0 {
        ExitCode::Infra
    } else if summary.passed == 0 && summary.refused > 0 {
        ExitCode::Refused
    } else {
        ExitCode::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::MemorySink;

    fn rb() -> RunbookRef {
        RunbookRef {
            seed: "000.txt".into(),
            section: "§1".into(),
        }
    }

    fn opts(tier: Tier, explicit: bool) -> RunOptions {
        RunOptions {
            suite: "test".into(),
            profile: "p".into(),
            tier,
            overrides: Overrides::default(),
            concurrency: 4,
            explicit_selection: explicit,
        }
    }

    fn checks() -> Vec<Check<()>> {
        vec![
            Check::new("s/ok", "ok", "s", rb(), Effect::Read, |_| async {
                pass("fine")
            }),
            Check::new("s/bad", "bad", "s", rb(), Effect::Read, |_| async {
                fail("200", "503")
            }),
            Check::new("s/write", "write", "s", rb(), Effect::Mutate, |_| async {
                pass("wrote")
            }),
            Check::new("s/slow", "slow", "s", rb(), Effect::Read, |_| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                pass("late")
            })
            .with_timeout(Duration::from_millis(50)),
        ]
    }

    #[tokio::test]
    async fn counts_outcomes_and_refuses_by_tier() {
        let mut sink = MemorySink::default();
        let summary = run(checks(), Arc::new(()), &opts(Tier::Prod, false), &mut sink).await;
        assert_eq!(summary.passed, 1);
        assert_eq!(summary.failed, 1);
        assert_eq!(summary.refused, 1);
        assert_eq!(summary.errors, 1, "the timeout is an infrastructure error");
        assert_eq!(summary.exit_code, ExitCode::Failed.code());
        let finished = sink
            .events
            .iter()
            .filter(|e| matches!(e, Event::CheckFinished(_)))
            .count();
        assert_eq!(finished, 4);
        assert!(matches!(sink.events.first(), Some(Event::RunStarted(_))));
        assert!(matches!(sink.events.last(), Some(Event::RunFinished(_))));
    }

    #[tokio::test]
    async fn explicit_refusal_is_exit_5() {
        let only_write: Vec<Check<()>> =
            checks().into_iter().filter(|c| c.id == "s/write").collect();
        let mut sink = MemorySink::default();
        let summary = run(only_write, Arc::new(()), &opts(Tier::Prod, true), &mut sink).await;
        assert_eq!(summary.exit_code, ExitCode::Refused.code());
    }

    #[test]
    fn verdict_order() {
        let s = |p, f, e, r| Summary {
            passed: p,
            failed: f,
            errors: e,
            refused: r,
            ..Summary::default()
        };
        assert_eq!(verdict(&s(0, 0, 0, 0), false), ExitCode::NothingSelected);
        assert_eq!(verdict(&s(3, 0, 0, 0), false), ExitCode::Ok);
        assert_eq!(verdict(&s(3, 1, 1, 0), false), ExitCode::Failed);
        assert_eq!(verdict(&s(3, 0, 1, 0), false), ExitCode::Infra);
        assert_eq!(verdict(&s(3, 0, 0, 1), false), ExitCode::Ok);
        assert_eq!(verdict(&s(3, 0, 0, 1), true), ExitCode::Refused);
        assert_eq!(verdict(&s(0, 0, 0, 2), false), ExitCode::Refused);
    }
}
