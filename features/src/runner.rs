//! Running the acceptance suite: decide per scenario (tag expression, the profile's systems,
//! tier policy), report refusals, then let cucumber run the rest through [`SpineWriter`] —
//! cucumber JSON teed beside it — with `@serial` and `@retry(n).after(d)` honoured, a step
//! that matches nothing failing the run, and an after-hook undoing what a scenario changed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cucumber::writer::Json;
use cucumber::{World as _, WriterExt as _, cli};
use shakedown_core::check::verdict;
use shakedown_core::event::{CheckResult, Event, Outcome, RunInfo, Summary};
use shakedown_core::report::{EventSink, Reporters};
use shakedown_core::tier::Tier;
use shakedown_smoke::Ctx;

use crate::catalogue::{Catalogue, Choice, Selection, effective_tags, system_of};
use crate::claims::Claims;
use crate::world::AcceptWorld;
use crate::writer::{Recorder, SpineWriter, slug};

/// How to run.
#[derive(Debug, Clone)]
pub struct AcceptOptions {
    pub profile: String,
    pub tier: Tier,
    pub selection: Selection,
    /// Scenarios run at once (`@serial` ones run alone).
    pub concurrency: usize,
    /// Write cucumber's own JSON report here as well.
    pub cucumber_json: Option<PathBuf>,
}

/// What each scenario of the catalogue will do under `selection`.
pub fn plan(catalogue: &Catalogue, selection: &Selection) -> Vec<(usize, Choice)> {
    catalogue
        .scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| (i, selection.choose(&s.system, &s.tags)))
        .collect()
}

/// Run the selected scenarios; returns the summary (with its exit code) and reporter errors.
pub async fn run(
    catalogue: &Catalogue,
    claims: Arc<Claims>,
    ctx: Arc<Ctx>,
    opts: AcceptOptions,
    reporters: Reporters,
) -> Result<(Summary, Vec<String>), String> {
    let started = Instant::now();
    let choices = plan(catalogue, &opts.selection);
    let selected = choices
        .iter()
        .filter(|(_, c)| *c != Choice::Excluded)
        .count();
    let runnable = choices.iter().filter(|(_, c)| *c == Choice::Run).count();

    let recorder = Arc::new(Mutex::new(Recorder::new(reporters, claims.clone())));
    {
        let mut rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
        rec.reporters.emit(Event::RunStarted(RunInfo {
            run_id: format!("accept-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")),
            suite: "accept".into(),
            profile: opts.profile.clone(),
            tier: opts.tier,
            started_at: chrono::Utc::now().to_rfc3339(),
            selected,
        }));
        for (i, choice) in &choices {
            let Choice::Refused(reason) = choice else {
                continue;
            };
            let s = &catalogue.scenarios[*i];
            let stem = s
                .feature
                .file_stem()
                .and_then(|x| x.to_str())
                .unwrap_or("feature");
            let runbook = s
                .claims
                .first()
                .and_then(|id| claims.get(id))
                .map(|c| c.runbook())
                .unwrap_or_else(|| shakedown_core::runbook::RunbookRef {
                    seed: "(no claim)".into(),
                    section: s.feature.display().to_string(),
                });
            let result = CheckResult {
                id: format!("{}/{stem}/{}", s.system, slug(&s.name)),
                title: s.name.clone(),
                system: s.system.clone(),
                runbook,
                effect: s.effect,
                outcome: Outcome::Refused {
                    reason: format!("{reason} ({})", s.locator()),
                },
                duration_ms: 0,
            };
            rec.emit(result);
        }
    }

    if runnable > 0 {
        crate::world::install(ctx)?;
        let json_out: Box<dyn std::io::Write> = match &opts.cucumber_json {
            Some(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                }
                Box::new(
                    std::fs::File::create(path)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
                )
            }
            None => Box::new(std::io::sink()),
        };
        let writer = SpineWriter(recorder.clone())
            .tee::<AcceptWorld, _>(Json::for_tee(json_out))
            .normalized()
            .fail_on_skipped();
        let mut cli_opts: cli::Opts<_, cucumber::runner::basic::Cli, _, cli::Empty> =
            cli::Opts::default();
        cli_opts.runner.concurrency = Some(opts.concurrency.max(1));
        let selection = opts.selection.clone();
        AcceptWorld::cucumber()
            .with_writer(writer)
            .with_cli(cli_opts)
            .before(|feature, rule, scenario, world| {
                let serial = effective_tags(feature, rule, scenario)
                    .iter()
                    .any(|t| t == "serial");
                Box::pin(async move {
                    world.system = feature
                        .path
                        .as_deref()
                        .and_then(system_of)
                        .unwrap_or_default();
                    world.take_turn(serial).await;
                })
            })
            .after(|_feature, _rule, _scenario, _finished, world| {
                Box::pin(async move {
                    if let Some(world) = world {
                        crate::steps::undo_all(world).await;
                        world.turn = None;
                    }
                })
            })
            .filter_run(catalogue.root.clone(), move |feature, rule, scenario| {
                let system = feature
                    .path
                    .as_deref()
                    .and_then(system_of)
                    .unwrap_or_default();
                selection.choose(&system, &effective_tags(feature, rule, scenario)) == Choice::Run
            })
            .await;
    }

    let mut rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
    for e in std::mem::take(&mut rec.parse_errors) {
        rec.emit(CheckResult {
            id: "accept/parse".into(),
            title: "feature files parse".into(),
            system: "accept".into(),
            runbook: shakedown_core::runbook::RunbookRef {
                seed: "(features)".into(),
                section: "parser".into(),
            },
            effect: shakedown_core::tier::Effect::Read,
            outcome: Outcome::Error { message: e },
            duration_ms: 0,
        });
    }
    let mut summary = rec.summary.clone();
    summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    // Refusals are the tier policy's answer: a run that refuses anything exits 5.
    summary.exit_code = verdict(&summary, true).code();
    rec.reporters.emit(Event::RunFinished(summary.clone()));
    let reporters = std::mem::take(&mut rec.reporters);
    drop(rec);
    Ok((summary, reporters.finish()))
}
