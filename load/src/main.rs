//! `shakedown-load`: run a load profile against a profile's systems and exit with the
//! verdict. Thin: parses arguments, loads the profile, wires reporters, runs core's runner.
#![allow(clippy::print_stdout, clippy::print_stderr)] // the binary is the user-facing edge

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode as ProcessExit;
use std::sync::Arc;

use clap::Parser;
use shakedown_core::check::RunOptions;
use shakedown_core::cli::{EXIT_CODES, Fatal, LogFormat, PolicyArgs, ProfileArgs, ReportArgs};
use shakedown_core::exit::ExitCode;
use shakedown_core::target::Targets;
use shakedown_core::tier::{Overrides, load_budget};
use shakedown_load::measure::Tolerance;
use shakedown_load::rate_limit::{self, Ctx};

/// Measure what the runbooks promise under load (goose), next to the documented numbers.
#[derive(Debug, Parser)]
#[command(name = "shakedown-load", version, after_help = EXIT_CODES)]
struct Args {
    /// The load profile: rate-limit.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(shakedown_load::PROFILES))]
    profile_name: String,
    #[command(flatten)]
    profile: ProfileArgs,
    /// Only these limits, as `system/name` or `system` (repeatable).
    #[arg(long = "limit", value_name = "SYSTEM[/NAME]")]
    limits: Vec<String>,
    /// Relative tolerance of a measurement against the documented number, in percent.
    #[arg(long, default_value_t = 5.0, value_parser = tolerance)]
    tolerance: f64,
    /// Keep goose's HTML report of each run in this directory.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Print what would run, and what tier policy says, then exit.
    #[arg(long)]
    list: bool,
    #[command(flatten)]
    reports: ReportArgs,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

fn tolerance(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage"))?;
    if v > 0.0 && v <= 50.0 {
        Ok(v)
    } else {
        Err(format!("{v} % is outside 0–50 %"))
    }
}

fn main() -> ProcessExit {
    let args = Args::parse();
    shakedown_core::cli::main_with(args.log_format, run(args))
}

async fn run(args: Args) -> Result<ExitCode, Fatal> {
    let fixtures = args.profile.fixtures();
    let profile = args.profile.load()?;
    let facts = shakedown_smoke::load_facts(&profile, &fixtures).map_err(Fatal::usage)?;
    let mut selected = rate_limit::checks(&facts);
    if !args.limits.is_empty() {
        selected.retain(|c| {
            args.limits.iter().any(|l| {
                let id = c.id.replace("/rate-limit/", "/");
                id == *l || c.system == *l
            })
        });
    }
    let overrides = Overrides::from(args.policy);
    if args.list {
        for c in &selected {
            println!("{:<50} {:<7} {}", c.id, c.effect, c.title);
        }
        println!(
            "{} checks on {} ({} tier)",
            selected.len(),
            profile.name,
            profile.tier
        );
        return Ok(if selected.is_empty() {
            ExitCode::NothingSelected
        } else {
            ExitCode::Ok
        });
    }
    if selected.is_empty() {
        return Err(Fatal {
            code: ExitCode::NothingSelected,
            message: format!("no limit matches {:?}; see --list", args.limits),
        });
    }
    let budget = load_budget(profile.tier, overrides).map_err(|reason| Fatal {
        code: ExitCode::Refused,
        message: format!("{} ({} tier): {reason}", profile.name, profile.tier),
    })?;
    if let Some(dir) = &args.report {
        std::fs::create_dir_all(dir)
            .map_err(|e| Fatal::usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    let vars: BTreeMap<String, BTreeMap<String, String>> = profile
        .systems
        .iter()
        .map(|(name, sys)| (name.clone(), sys.vars.clone()))
        .collect();
    let profile = args.profile.resolve(profile)?;
    let mut reporters = args.reports.reporters()?;
    let opts = RunOptions {
        suite: format!("load {}", args.profile_name),
        profile: profile.name.clone(),
        tier: profile.tier,
        overrides,
        // One measurement at a time: two would share the machine and skew each other.
        concurrency: 1,
        explicit_selection: !args.limits.is_empty(),
    };
    let targets = Targets::new(profile).await;
    let ctx = Arc::new(Ctx {
        targets,
        facts,
        tolerance: Tolerance {
            relative: args.tolerance / 100.0,
        },
        report_dir: args.report.clone(),
        budget,
        vars,
    });
    let summary = shakedown_core::check::run(selected, ctx, &opts, &mut reporters).await;
    Ok(shakedown_core::cli::finish(reporters, summary.exit_code))
}
