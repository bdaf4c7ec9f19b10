//! `shakedown-smoke`: run the smoke suite against a profile and exit with the verdict.
//! Thin: parses arguments, loads the profile, wires reporters, runs core's runner.
#![allow(clippy::print_stdout, clippy::print_stderr)] // the binary is the user-facing edge

use std::process::ExitCode as ProcessExit;
use std::sync::Arc;

use clap::Parser;
use shakedown_core::check::RunOptions;
use shakedown_core::cli::{EXIT_CODES, Fatal, LogFormat, PolicyArgs, ProfileArgs, ReportArgs};
use shakedown_core::exit::ExitCode;
use shakedown_core::profile::Profile;
use shakedown_core::target::Targets;
use shakedown_core::tier::{Decision, Overrides, decide};
use shakedown_smoke::{Ctx, checks, load_facts};

/// Fast post-deploy checks of every documented runbook item.
#[derive(Debug, Parser)]
#[command(name = "shakedown-smoke", version, after_help = EXIT_CODES)]
struct Args {
    #[command(flatten)]
    profile: ProfileArgs,
    /// Only run checks whose id starts with one of these prefixes (repeatable).
    #[arg(long = "check", value_name = "PREFIX")]
    checks: Vec<String>,
    /// Print the checks that would run, and what tier policy says of each, then exit.
    #[arg(long)]
    list: bool,
    #[command(flatten)]
    reports: ReportArgs,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Checks run at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
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
    let facts = load_facts(&profile, &fixtures).map_err(Fatal::usage)?;
    let mut selected = checks(&facts);
    if !args.checks.is_empty() {
        selected.retain(|c| args.checks.iter().any(|p| c.id.starts_with(p.as_str())));
    }
    let overrides = Overrides::from(args.policy);
    if args.list {
        return Ok(list(&profile, &selected, overrides));
    }
    if selected.is_empty() {
        return Err(Fatal {
            code: ExitCode::NothingSelected,
            message: format!("no check matches {:?}; see --list", args.checks),
        });
    }
    let profile = args.profile.resolve(profile)?;
    let mut reporters = args.reports.reporters()?;

    let opts = RunOptions {
        suite: "smoke".to_owned(),
        profile: profile.name.clone(),
        tier: profile.tier,
        overrides,
        concurrency: args.concurrency,
        explicit_selection: !args.checks.is_empty(),
    };
    let targets = Targets::new(profile).await;
    let ctx = Arc::new(Ctx::new(targets, facts));
    let summary = shakedown_core::check::run(selected, ctx, &opts, &mut reporters).await;
    Ok(shakedown_core::cli::finish(reporters, summary.exit_code))
}

fn list(
    profile: &Profile,
    selected: &[shakedown_core::check::Check<Ctx>],
    overrides: Overrides,
) -> ExitCode {
    for c in selected {
        let policy = match decide(profile.tier, c.effect, overrides) {
            Decision::Allow => "runs".to_owned(),
            Decision::Refuse(r) => format!("refused: {r}"),
        };
        println!("{:<60} {:<7} {:<8} {}", c.id, c.effect, policy, c.runbook);
    }
    println!(
        "{} checks on {} ({} tier)",
        selected.len(),
        profile.name,
        profile.tier
    );
    if selected.is_empty() {
        ExitCode::NothingSelected
    } else {
        ExitCode::Ok
    }
}
