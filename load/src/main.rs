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
use shakedown_load::throughput::{self, Load, Shape, Shard};

/// Measure what the runbooks promise under load (goose), next to the documented numbers.
///
/// Profiles: `rate-limit` (every documented limit: burst, refill, 429 + Retry-After,
/// isolation, recovery), `slo` (ramp, hold, ramp down; the documented SLOs judged),
/// `spike`, `soak`, `sse` (documented event streams: completion, time to last token,
/// order). `merge DIR` judges the shard files of a `--shard i/N` run.
#[derive(Debug, Parser)]
#[command(name = "shakedown-load", version, after_help = EXIT_CODES)]
struct Args {
    /// The load profile, or `merge`.
    #[arg(value_parser = commands())]
    profile_name: String,
    /// engine-bench (for `cargo xtask bench load`): the URL to send GETs to.
    #[arg(long, hide = true, value_name = "URL")]
    url: Option<String>,
    /// For `merge`: the directory holding the shards' files (their `--report` directory).
    #[arg(required_if_eq("profile_name", "merge"))]
    dir: Option<PathBuf>,
    #[command(flatten)]
    profile: ProfileArgs,
    /// rate-limit: only these limits, as `system/name` or `system` (repeatable).
    #[arg(long = "limit", value_name = "SYSTEM[/NAME]")]
    limits: Vec<String>,
    /// slo, spike, soak, sse: only these systems (repeatable).
    #[arg(long = "system", value_name = "SYSTEM")]
    systems: Vec<String>,
    /// slo, spike, soak, sse: the steady arrival rate (requests or streams a second), all
    /// shards together.
    #[arg(long, value_name = "PER_S", value_parser = positive)]
    rate: Option<f64>,
    /// slo, spike, soak, sse: goose users, all shards together (default: twice the peak rate).
    #[arg(long)]
    users: Option<u32>,
    /// slo, spike, soak, sse: how long the run lasts (default 60 s; soak 10 min; sse 10 s).
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<std::time::Duration>,
    /// slo, spike, soak: run shard i of N (1-based): 1/N of the rate and users; its metrics
    /// go to --report for `merge`.
    #[arg(
        long,
        value_name = "i/N",
        requires = "report",
        conflicts_with = "manifests"
    )]
    shard: Option<Shard>,
    /// slo, spike, soak: write launch manifests for N shards (ECS RunTask inputs, a
    /// Kubernetes Indexed Job) into this directory instead of running.
    #[arg(long, value_name = "DIR", requires = "shards")]
    manifests: Option<PathBuf>,
    /// With --manifests: how many shards.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    shards: Option<u32>,
    /// With --manifests: the container image holding shakedown-load and the fixtures.
    #[arg(long, default_value = "shakedown:latest")]
    image: String,
    /// Relative tolerance of a measurement against the documented number, in percent.
    #[arg(long, default_value_t = 5.0, value_parser = tolerance)]
    tolerance: f64,
    /// Keep goose's HTML report of each run (and a throughput run's metrics) here.
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

const COMMANDS: [&str; 6] = ["rate-limit", "slo", "spike", "soak", "sse", "merge"];
/// An sse run's defaults: streams a second, and for how long.
const SSE_RATE: f64 = 1.0;
const SSE_DURATION: std::time::Duration = std::time::Duration::from_secs(10);
/// The steady rate of a throughput run when none is given.
const DEFAULT_RATE: f64 = 20.0;

/// The commands, and the hidden `engine-bench` that `cargo xtask bench load` runs.
fn commands() -> clap::builder::PossibleValuesParser {
    let mut values: Vec<clap::builder::PossibleValue> = COMMANDS
        .iter()
        .map(|c| clap::builder::PossibleValue::new(*c))
        .collect();
    values.push(clap::builder::PossibleValue::new("engine-bench").hide(true));
    clap::builder::PossibleValuesParser::new(values)
}

fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
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
    if args.profile_name == "merge" {
        return merge(args).await;
    }
    if args.profile_name == "engine-bench" {
        return engine_bench(&args).await;
    }
    if let Some(shape) = Shape::parse(&args.profile_name) {
        return throughput(args, shape).await;
    }
    if args.profile_name == "sse" {
        return sse(args).await;
    }
    if args.rate.is_some()
        || args.users.is_some()
        || args.duration.is_some()
        || args.shard.is_some()
    {
        return Err(Fatal::usage(
            "--rate, --users, --duration and --shard are for slo, spike and soak: rate-limit paces itself from each documented limit",
        ));
    }
    let fixtures = args.profile.fixtures();
    let profile = args.profile.load()?;
    let facts = shakedown_smoke::load_facts(&profile, &fixtures).map_err(Fatal::usage)?;
    let mut selected = rate_limit::checks(&facts);
    if !args.systems.is_empty() {
        selected.retain(|c| args.systems.contains(&c.system));
    }
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
        return Ok(list(&selected, &profile.name, profile.tier));
    }
    if selected.is_empty() {
        return Err(Fatal {
            code: ExitCode::NothingSelected,
            message: format!("no limit matches {:?}; see --list", args.limits),
        });
    }
    let budget = budget_and_reports(&profile, overrides, args.report.as_deref())?;
    let vars = system_vars(&profile);
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

/// Print the selected checks and what tier policy says; exit 0 unless none is selected.
fn list<C>(
    selected: &[shakedown_core::check::Check<C>],
    profile: &str,
    tier: impl std::fmt::Display,
) -> ExitCode {
    for c in selected {
        println!("{:<50} {:<7} {}", c.id, c.effect, c.title);
    }
    println!("{} checks on {profile} ({tier} tier)", selected.len());
    if selected.is_empty() {
        ExitCode::NothingSelected
    } else {
        ExitCode::Ok
    }
}

/// slo, spike, soak: one check per system with a load mix and an SLO a run can judge.
async fn throughput(args: Args, shape: Shape) -> Result<ExitCode, Fatal> {
    if !args.limits.is_empty() {
        return Err(Fatal::usage("--limit is for rate-limit; use --system"));
    }
    let fixtures = args.profile.fixtures();
    let profile = args.profile.load()?;
    let facts = shakedown_smoke::load_facts(&profile, &fixtures).map_err(Fatal::usage)?;
    let load = Load {
        rate: args.rate.unwrap_or(DEFAULT_RATE),
        duration: args.duration.unwrap_or_else(|| shape.default_duration()),
        users: args.users,
    };
    if load.duration < std::time::Duration::from_secs(5) {
        return Err(Fatal::usage(format!(
            "--duration {}: a {} run needs at least 5 s",
            humantime::format_duration(load.duration),
            shape.name()
        )));
    }
    let mut selected = throughput::checks(&facts, shape, load);
    if !args.systems.is_empty() {
        selected.retain(|c| args.systems.contains(&c.system));
    }
    let overrides = Overrides::from(args.policy);
    if args.list {
        return Ok(list(&selected, &profile.name, profile.tier));
    }
    if selected.is_empty() {
        return Err(Fatal {
            code: ExitCode::NothingSelected,
            message: format!(
                "no system of {} has a load mix and a throughput SLO{}; see --list",
                profile.name,
                if args.systems.is_empty() {
                    String::new()
                } else {
                    format!(" among {:?}", args.systems)
                }
            ),
        });
    }
    if let Some(dir) = &args.manifests {
        return manifests(&args, shape, load, dir);
    }
    let budget = budget_and_reports(&profile, overrides, args.report.as_deref())?;
    let profile = args.profile.resolve(profile)?;
    let mut reporters = args.reports.reporters()?;
    let opts = RunOptions {
        suite: match args.shard {
            Some(s) => format!("load {} shard {s}", shape.name()),
            None => format!("load {}", shape.name()),
        },
        profile: profile.name.clone(),
        tier: profile.tier,
        overrides,
        concurrency: 1,
        explicit_selection: !args.systems.is_empty(),
    };
    let (env, tier) = (profile.name.clone(), profile.tier);
    let ctx = Arc::new(throughput::Ctx {
        targets: Targets::new(profile).await,
        facts,
        shape,
        load,
        shard: args.shard,
        report_dir: args.report.clone(),
        budget,
        env,
        tier,
    });
    let summary = shakedown_core::check::run(selected, ctx, &opts, &mut reporters).await;
    Ok(shakedown_core::cli::finish(reporters, summary.exit_code))
}

/// `merge DIR`: the shards' metrics merged per system and judged on the whole.
async fn merge(args: Args) -> Result<ExitCode, Fatal> {
    let dir = args
        .dir
        .clone()
        .ok_or_else(|| Fatal::usage("merge needs the directory of shard files"))?;
    let records = throughput::merge(&dir).map_err(Fatal::usage)?;
    let (env, tier) = (records[0].0.env.clone(), records[0].0.tier);
    let selected = throughput::merged_checks(records);
    if args.list {
        return Ok(list(&selected, &env, tier));
    }
    let mut reporters = args.reports.reporters()?;
    let opts = RunOptions {
        suite: "load merge".to_owned(),
        profile: env,
        tier,
        overrides: Overrides::from(args.policy),
        concurrency: 1,
        explicit_selection: false,
    };
    let summary = shakedown_core::check::run(selected, Arc::new(()), &opts, &mut reporters).await;
    Ok(shakedown_core::cli::finish(reporters, summary.exit_code))
}

/// sse: one check per system whose runbook documents an event stream.
async fn sse(args: Args) -> Result<ExitCode, Fatal> {
    if !args.limits.is_empty() || args.shard.is_some() || args.manifests.is_some() {
        return Err(Fatal::usage(
            "--limit, --shard and --manifests are not for sse; use --system, --rate, --duration",
        ));
    }
    let fixtures = args.profile.fixtures();
    let profile = args.profile.load()?;
    let facts = shakedown_smoke::load_facts(&profile, &fixtures).map_err(Fatal::usage)?;
    let load = shakedown_load::sse::StreamLoad {
        rate: args.rate.unwrap_or(SSE_RATE),
        duration: args.duration.unwrap_or(SSE_DURATION),
        users: args.users,
    };
    let mut selected = shakedown_load::sse::checks(&facts, load);
    if !args.systems.is_empty() {
        selected.retain(|c| args.systems.contains(&c.system));
    }
    if args.list {
        return Ok(list(&selected, &profile.name, profile.tier));
    }
    if selected.is_empty() {
        return Err(Fatal {
            code: ExitCode::NothingSelected,
            message: format!(
                "no system of {} documents an event stream; see --list",
                profile.name
            ),
        });
    }
    let overrides = Overrides::from(args.policy);
    let budget = budget_and_reports(&profile, overrides, args.report.as_deref())?;
    let vars = system_vars(&profile);
    let profile = args.profile.resolve(profile)?;
    let mut reporters = args.reports.reporters()?;
    let opts = RunOptions {
        suite: "load sse".to_owned(),
        profile: profile.name.clone(),
        tier: profile.tier,
        overrides,
        concurrency: 1,
        explicit_selection: !args.systems.is_empty(),
    };
    let ctx = Arc::new(shakedown_load::sse::Ctx {
        targets: Targets::new(profile).await,
        facts,
        load,
        budget,
        vars,
        report_dir: args.report.clone(),
    });
    let summary = shakedown_core::check::run(selected, ctx, &opts, &mut reporters).await;
    Ok(shakedown_core::cli::finish(reporters, summary.exit_code))
}

/// `--manifests DIR --shards N`: the launch manifests of a sharded run, written, not run.
fn manifests(
    args: &Args,
    shape: Shape,
    load: Load,
    dir: &std::path::Path,
) -> Result<ExitCode, Fatal> {
    let count = args.shards.unwrap_or(1);
    let mut common = vec![
        shape.name().to_owned(),
        "--env".to_owned(),
        args.profile.env.clone(),
        "--rate".to_owned(),
        load.rate.to_string(),
        "--duration".to_owned(),
        humantime::format_duration(load.duration).to_string(),
    ];
    if let Some(users) = load.users {
        common.extend(["--users".to_owned(), users.to_string()]);
    }
    for system in &args.systems {
        common.extend(["--system".to_owned(), system.clone()]);
    }
    let launch = shakedown_load::launch::Launch {
        image: args.image.clone(),
        count,
        args: common,
        env: args.profile.env.clone(),
        profile: shape.name().to_owned(),
    };
    let written = launch.write(dir).map_err(Fatal::usage)?;
    for path in &written {
        println!("{}", path.display());
    }
    println!(
        "{count} shards; when all are done: shakedown-load merge {}",
        shakedown_load::launch::RESULTS
    );
    Ok(ExitCode::Ok)
}

/// The tier's load budget (refused: exit 5), and the report directory made.
fn budget_and_reports(
    profile: &shakedown_core::profile::Profile,
    overrides: Overrides,
    report: Option<&std::path::Path>,
) -> Result<shakedown_core::tier::LoadBudget, Fatal> {
    let budget = load_budget(profile.tier, overrides).map_err(|reason| Fatal {
        code: ExitCode::Refused,
        message: format!("{} ({} tier): {reason}", profile.name, profile.tier),
    })?;
    if let Some(dir) = report {
        std::fs::create_dir_all(dir)
            .map_err(|e| Fatal::usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    Ok(budget)
}

/// `vars` of every system of the profile.
fn system_vars(
    profile: &shakedown_core::profile::Profile,
) -> BTreeMap<String, BTreeMap<String, String>> {
    profile
        .systems
        .iter()
        .map(|(name, sys)| (name.clone(), sys.vars.clone()))
        .collect()
}

/// `engine-bench --url URL --users C --duration D`: the engine flat out against a loopback
/// URL; prints one JSON line (requests, rps, peak RSS) for `cargo xtask bench load`.
async fn engine_bench(args: &Args) -> Result<ExitCode, Fatal> {
    let url = args
        .url
        .clone()
        .ok_or_else(|| Fatal::usage("engine-bench needs --url"))?;
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or_default();
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err(Fatal::usage(format!(
            "engine-bench only loads loopback addresses, not {host:?}"
        )));
    }
    let users = args.users.unwrap_or(50) as usize;
    let duration = args
        .duration
        .unwrap_or(std::time::Duration::from_secs(10))
        .min(std::time::Duration::from_secs(120));
    let ok = shakedown_load::engine::saturate(&url, users, duration)
        .await
        .map_err(|e| Fatal {
            code: ExitCode::Infra,
            message: e,
        })?;
    let rss_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({
            "users": users,
            "seconds": duration.as_secs_f64(),
            "requests": ok,
            "rps": ok as f64 / duration.as_secs_f64(),
            "peak_rss_kib": rss_kib,
        })
    );
    Ok(ExitCode::Ok)
}
