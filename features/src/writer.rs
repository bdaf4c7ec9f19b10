//! A cucumber writer that turns scenario results into the spine's events, so acceptance runs
//! report through the same console, JUnit, JSON-lines and markdown reporters as every suite.
//! One scenario is one result: its id is `<system>/<feature>/<scenario>`, its runbook reference
//! the first claim it checks, and a failure names every claim the scenario guards, the step
//! that failed, and what was expected and observed.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use cucumber::event::{self, Cucumber, Feature, Hook, HookType, Rule, Scenario, Step, StepError};
use cucumber::{Event, Writer, cli, gherkin, parser};
use shakedown_core::event::{CheckResult, Evidence, Failure, Outcome, Summary};
use shakedown_core::report::{EventSink, Reporters};
use shakedown_core::runbook::RunbookRef;

use crate::catalogue::{claims_of, effect_of, effective_tags, system_of};
use crate::claims::Claims;
use crate::result::INFRA_MARK;
use crate::world::AcceptWorld;

/// The writer cucumber drives; the runner keeps a handle on the same [`Recorder`] to read
/// the summary afterwards and to add results decided before the run (refusals).
#[derive(Debug, Clone)]
pub struct SpineWriter(pub Arc<Mutex<Recorder>>);

/// Receives results and counts them.
pub struct Recorder {
    /// The spine's reporters (taken back by the runner to finish them).
    pub reporters: Reporters,
    claims: Arc<Claims>,
    running: HashMap<(String, usize), Running>,
    ids: BTreeSet<String>,
    pub summary: Summary,
    /// Parser errors (reported as errors; a catalogue check normally catches them first).
    pub parse_errors: Vec<String>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("summary", &self.summary)
            .finish()
    }
}

struct Running {
    /// When cucumber started the scenario (the event's own time: the normalising writer
    /// delivers a scenario's events together once it is done).
    started: SystemTime,
    steps: usize,
    failure: Option<(String, String)>,
}

impl Recorder {
    pub fn new(reporters: Reporters, claims: Arc<Claims>) -> Self {
        Self {
            reporters,
            claims,
            running: HashMap::new(),
            ids: BTreeSet::new(),
            summary: Summary::default(),
            parse_errors: Vec::new(),
        }
    }

    /// Emit a result that did not come from cucumber (a refusal decided before the run).
    pub fn emit(&mut self, result: CheckResult) {
        self.summary.count(&result.outcome);
        self.reporters
            .emit(shakedown_core::event::Event::CheckFinished(result));
    }

    /// A stable id, unique within the run.
    pub fn unique_id(
        &mut self,
        system: &str,
        feature: &gherkin::Feature,
        name: &str,
        line: usize,
    ) -> String {
        let stem = feature
            .path
            .as_deref()
            .and_then(|p| p.file_stem())
            .and_then(|s| s.to_str())
            .unwrap_or("feature");
        let base = format!("{system}/{stem}/{}", slug(name));
        let id = if self.ids.contains(&base) {
            format!("{base}@{line}")
        } else {
            base
        };
        self.ids.insert(id.clone());
        id
    }

    fn scenario(
        &mut self,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        sc: &gherkin::Scenario,
        ev: event::RetryableScenario<AcceptWorld>,
        at: SystemTime,
    ) {
        let key = (
            feature
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            sc.position.line,
        );
        match ev.event {
            Scenario::Started => {
                self.running.insert(
                    key,
                    Running {
                        started: at,
                        steps: 0,
                        failure: None,
                    },
                );
            }
            Scenario::Step(step, st) | Scenario::Background(step, st) => {
                let Some(run) = self.running.get_mut(&key) else {
                    return;
                };
                match st {
                    Step::Passed(..) => run.steps += 1,
                    Step::Skipped => {
                        if run.failure.is_none() {
                            run.failure = Some((
                                format!("{} {}", step.keyword.trim(), step.value),
                                "step skipped: it matches no step definition".into(),
                            ));
                        }
                    }
                    Step::Failed(_, _, _, err) => {
                        if run.failure.is_none() {
                            run.failure = Some((
                                format!("{} {}", step.keyword.trim(), step.value),
                                step_error(&err),
                            ));
                        }
                    }
                    Step::Started => {}
                }
            }
            Scenario::Hook(kind, Hook::Failed(_, info)) => {
                if let Some(run) = self.running.get_mut(&key)
                    && run.failure.is_none()
                {
                    let which = match kind {
                        HookType::Before => "before-hook",
                        HookType::After => "after-hook (undoing the scenario's changes)",
                    };
                    run.failure = Some((which.into(), panic_text(&info)));
                }
            }
            Scenario::Hook(..) | Scenario::Log(_) => {}
            Scenario::Finished => {
                let Some(run) = self.running.remove(&key) else {
                    return;
                };
                let retrying = run.failure.is_some() && ev.retries.is_some_and(|r| r.left > 0);
                if retrying {
                    return;
                }
                let result = self.result(feature, rule, sc, run, at);
                self.emit(result);
            }
        }
    }

    fn result(
        &mut self,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        sc: &gherkin::Scenario,
        run: Running,
        finished: SystemTime,
    ) -> CheckResult {
        let system = feature
            .path
            .as_deref()
            .and_then(system_of)
            .unwrap_or_else(|| "unknown".into());
        let tags = effective_tags(feature, rule, sc);
        let claim_ids = claims_of(&tags);
        let located: Vec<_> = claim_ids
            .iter()
            .filter_map(|id| self.claims.get(id))
            .collect();
        let runbook = located.first().map(|c| c.runbook()).unwrap_or(RunbookRef {
            seed: "(no claim)".into(),
            section: feature.name.clone(),
        });
        let effect = effect_of(&tags).unwrap_or(shakedown_core::tier::Effect::Read);
        let outcome = match run.failure {
            None => Outcome::Passed {
                observed: format!("{} steps passed", run.steps),
                evidence: Vec::new(),
            },
            Some((step, message)) if message.starts_with(INFRA_MARK) => Outcome::Error {
                message: format!("{step}: {}", message.trim_start_matches(INFRA_MARK)),
            },
            Some((step, message)) => {
                let named = located
                    .iter()
                    .map(|c| {
                        format!(
                            "claim {} ({}): {}",
                            c.claim.id, c.claim.section, c.claim.claim
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut evidence = vec![Evidence::new("step", step.clone())];
                evidence.extend(located.iter().map(|c| {
                    Evidence::new("claim", format!("{} — {}", c.claim.id, c.claim.claim))
                }));
                if let Some(path) = &feature.path {
                    evidence.push(Evidence::new(
                        "scenario",
                        format!("{}:{}", path.display(), sc.position.line),
                    ));
                }
                Outcome::Failed(Failure {
                    expected: format!("{named} — step `{step}`"),
                    observed: message,
                    evidence,
                })
            }
        };
        let line = sc.position.line;
        CheckResult {
            id: self.unique_id(&system, feature, &sc.name, line),
            title: sc.name.clone(),
            system,
            runbook,
            effect,
            outcome,
            duration_ms: u64::try_from(
                finished
                    .duration_since(run.started)
                    .unwrap_or_default()
                    .as_millis(),
            )
            .unwrap_or(u64::MAX),
        }
    }
}

/// A scenario name as an id segment: lowercase, dashes.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

fn panic_text(info: &cucumber::event::Info) -> String {
    if let Some(s) = info.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = info.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        "panicked".into()
    }
}

fn step_error(err: &StepError) -> String {
    match err {
        StepError::NotFound => "the step matches no step definition".into(),
        StepError::AmbiguousMatch(e) => format!("the step matches several definitions: {e}"),
        StepError::Panic(info) => panic_text(info),
    }
}

impl Writer<AcceptWorld> for SpineWriter {
    type Cli = cli::Empty;

    async fn handle_event(
        &mut self,
        event: parser::Result<Event<Cucumber<AcceptWorld>>>,
        _cli: &Self::Cli,
    ) {
        let mut rec = self.0.lock().unwrap_or_else(|e| e.into_inner());
        rec.handle(event);
    }
}

impl Recorder {
    fn handle(&mut self, event: parser::Result<Event<Cucumber<AcceptWorld>>>) {
        let (ev, at) = match event {
            Ok(ev) => (ev.value, ev.at),
            Err(e) => {
                self.parse_errors.push(e.to_string());
                return;
            }
        };
        match ev {
            Cucumber::Feature(f, Feature::Scenario(sc, ev)) => self.scenario(&f, None, &sc, ev, at),
            Cucumber::Feature(f, Feature::Rule(r, Rule::Scenario(sc, ev))) => {
                self.scenario(&f, Some(&r), &sc, ev, at)
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_stable_ids() {
        assert_eq!(
            slug("Lambda-only rollback: alias `live` → previous"),
            "lambda-only-rollback-alias-live-previous"
        );
        assert_eq!(slug("  A  b "), "a-b");
    }
}
