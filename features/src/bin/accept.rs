//! `shakedown-accept`: run the Gherkin acceptance scenarios against a profile and exit with the
//! verdict. Thin: parses arguments, validates the scenarios against the claims inventory,
//! plans with tier policy, then hands over to the library's runner.
#![allow(clippy::print_stdout, clippy::print_stderr)] // the binary is the user-facing edge

use std::path::PathBuf;
use std::process::ExitCode as ProcessExit;
use std::sync::Arc;

use clap::Parser;
use cucumber::gherkin::tagexpr::TagOperation;
use shakedown_core::cli::{EXIT_CODES, Fatal, LogFormat, PolicyArgs, ProfileArgs, ReportArgs};
use shakedown_core::exit::ExitCode;
use shakedown_core::target::Targets;
use shakedown_core::tier::Overrides;
use shakedown_features::catalogue::{self, Catalogue, Choice, Selection};
use shakedown_features::claims::Claims;
use shakedown_features::runner::{self, AcceptOptions};
use shakedown_smoke::{Ctx, load_facts};

/// Gherkin acceptance scenarios for every documented runbook procedure.
#[derive(Debug, Parser)]
#[command(name = "shakedown-accept", version, after_help = EXIT_CODES)]
struct Args {
    #[command(flatten)]
    profile: ProfileArgs,
    /// Tag expression selecting scenarios, e.g. `@gate and not @slow`.
    #[arg(long, value_name = "EXPR")]
    tags: Option<String>,
    /// Only the scenarios of these systems (repeatable; default: every system of the profile).
    #[arg(long = "system", value_name = "SYSTEM")]
    systems: Vec<String>,
    /// Only the scenarios guarding these claims of the inventory (repeatable), e.g.
    /// `--claim 001-rollback-3.2`.
    #[arg(long = "claim", value_name = "ID")]
    claims: Vec<String>,
    /// Print the scenarios, their safety tag, what tier policy says and their claims; exit.
    #[arg(long)]
    list: bool,
    #[command(flatten)]
    reports: ReportArgs,
    /// Also write cucumber's JSON report (for cucumber tooling).
    #[arg(long, value_name = "PATH")]
    cucumber_json: Option<PathBuf>,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Scenarios run at once (`@serial` ones run alone).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// The features root (default: the workspace's `features/`).
    #[arg(long, value_name = "DIR")]
    features: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

fn main() -> ProcessExit {
    let args = Args::parse();
    shakedown_core::cli::main_with(args.log_format, run(args))
}

async fn run(args: Args) -> Result<ExitCode, Fatal> {
    let fixtures = args.profile.fixtures();
    let profile = args.profile.load()?;
    let claims = Claims::load(&fixtures).map_err(Fatal::usage)?;
    let root = args
        .features
        .clone()
        .unwrap_or_else(catalogue::default_root);
    let catalogue = Catalogue::load(&root, &claims).map_err(|problems| {
        Fatal::usage(format!(
            "the scenarios do not validate:\n  {}",
            problems.join("\n  ")
        ))
    })?;
    let tags = args
        .tags
        .as_deref()
        .map(|t| {
            t.parse::<TagOperation>()
                .map_err(|e| Fatal::usage(format!("--tags {t:?}: {e}")))
        })
        .transpose()?;
    if let Some(unknown) = args
        .systems
        .iter()
        .find(|s| !profile.systems.contains_key(s.as_str()))
    {
        return Err(Fatal::usage(format!(
            "--system {unknown}: the profile {} has no such system; it has: {}",
            profile.name,
            profile
                .systems
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if let Some(unknown) = args.claims.iter().find(|c| claims.get(c).is_none()) {
        return Err(Fatal::usage(format!(
            "--claim {unknown}: the claims inventory (fixtures/claims/) has no such claim"
        )));
    }
    let systems = if args.systems.is_empty() {
        profile.systems.keys().cloned().collect()
    } else {
        args.systems.clone()
    };
    let selection = Selection {
        tags,
        systems,
        claims: args.claims.clone(),
        tier: profile.tier,
        overrides: Overrides::from(args.policy),
    };
    let plan = runner::plan(&catalogue, &selection);
    let selected = plan.iter().filter(|(_, c)| *c != Choice::Excluded).count();
    if args.list {
        for (i, choice) in &plan {
            let s = &catalogue.scenarios[*i];
            let policy = match choice {
                Choice::Excluded => continue,
                Choice::Run => "runs".to_owned(),
                Choice::Refused(r) => format!("refused: {r}"),
            };
            println!(
                "{:<70} {:<7} {:<8} {}",
                s.locator(),
                s.effect,
                policy,
                s.claims.join(" ")
            );
        }
        println!(
            "{selected} scenarios on {} ({} tier)",
            profile.name, profile.tier
        );
        return Ok(if selected == 0 {
            ExitCode::NothingSelected
        } else {
            ExitCode::Ok
        });
    }
    if selected == 0 {
        return Err(Fatal {
            code: ExitCode::NothingSelected,
            message: format!(
                "no scenario of {} matches {}; see --list",
                profile.name,
                args.tags.as_deref().unwrap_or("(all)")
            ),
        });
    }
    let facts = load_facts(&profile, &fixtures).map_err(Fatal::usage)?;
    let profile = args.profile.resolve(profile)?;
    let reporters = args.reports.reporters()?;
    let opts = AcceptOptions {
        profile: profile.name.clone(),
        tier: profile.tier,
        selection,
        concurrency: args.concurrency,
        cucumber_json: args.cucumber_json.clone(),
    };
    let targets = Targets::new(profile).await;
    let ctx = Arc::new(Ctx::new(targets, facts));
    let (summary, errors) = runner::run(&catalogue, Arc::new(claims), ctx, opts, reporters)
        .await
        .map_err(Fatal::infra)?;
    for e in &errors {
        eprintln!("error: {e}");
    }
    if !errors.is_empty() && summary.exit_code == 0 {
        return Ok(ExitCode::Infra);
    }
    Ok(ExitCode::from_code(summary.exit_code))
}
