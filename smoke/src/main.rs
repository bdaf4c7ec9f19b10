//! `shakedown-smoke`: run the smoke suite against a profile and exit with the verdict.
//! Thin: parses arguments, loads the profile, wires reporters, runs core's runner.
#![allow(clippy::print_stdout, clippy::print_stderr)] // the binary is the user-facing edge

use std::path::PathBuf;
use std::process::ExitCode as ProcessExit;
use std::sync::Arc;

use clap::Parser;
use shakedown_core::check::RunOptions;
use shakedown_core::exit::ExitCode;
use shakedown_core::profile::{AuthProfile, Profile, ProfileError, Secret};
use shakedown_core::report::{
    ConsoleReporter, ConsoleStyle, JsonLinesReporter, JunitReporter, MarkdownReporter, Reporters,
};
use shakedown_core::stack::{MANIFEST_ENV, MANIFEST_FILE, StackManifest};
use shakedown_core::target::Targets;
use shakedown_core::tier::{Decision, Overrides, decide};
use shakedown_smoke::{Ctx, checks, load_facts};

const EXIT_CODES: &str = "Exit codes: 0 all passed · 1 a check failed · 2 bad usage or invalid profile · \
3 target or dependency unreachable · 4 nothing selected · 5 refused by tier policy";

/// Fast post-deploy checks of every documented runbook item.
#[derive(Debug, Parser)]
#[command(name = "shakedown-smoke", version, after_help = EXIT_CODES)]
struct Args {
    /// Profile name (a file in fixtures/environments/).
    #[arg(long, default_value = "local", env = "SHAKEDOWN_ENV")]
    env: String,
    /// The fixtures directory (profiles, runbook facts).
    #[arg(long, env = "SHAKEDOWN_FIXTURES")]
    fixtures: Option<PathBuf>,
    /// The local stack's manifest (default: target/shakedown/local/stack.json).
    #[arg(long, env = MANIFEST_ENV)]
    stack_file: Option<PathBuf>,
    /// Only run checks whose id starts with one of these prefixes (repeatable).
    #[arg(long = "check", value_name = "PREFIX")]
    checks: Vec<String>,
    /// Print the checks that would run, and what tier policy says of each, then exit.
    #[arg(long)]
    list: bool,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Stream every event as JSON lines to this file.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Write a markdown summary (for a PR comment).
    #[arg(long, value_name = "PATH")]
    markdown: Option<PathBuf>,
    /// Allow checks that write data on a prod profile.
    #[arg(long)]
    allow_mutation_on_prod: bool,
    /// Allow destructive checks above dev.
    #[arg(long)]
    allow_destructive: bool,
    /// Checks run at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> ProcessExit {
    let args = Args::parse();
    init_logs(args.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::Infra.into();
        }
    };
    runtime.block_on(run(args)).into()
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(shakedown_core::redact::stderr_writer);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(args: Args) -> ExitCode {
    let fixtures = args
        .fixtures
        .clone()
        .unwrap_or_else(shakedown_core::fixtures_dir);
    let profile = match Profile::load_named(&fixtures, &args.env) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::Usage;
        }
    };
    let facts = match load_facts(&profile, &fixtures) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::Usage;
        }
    };
    let mut selected = checks(&facts);
    if !args.checks.is_empty() {
        selected.retain(|c| args.checks.iter().any(|p| c.id.starts_with(p.as_str())));
    }
    let overrides = Overrides {
        allow_mutation_on_prod: args.allow_mutation_on_prod,
        allow_destructive: args.allow_destructive,
    };
    if args.list {
        return list(&profile, &selected, overrides);
    }
    if selected.is_empty() {
        eprintln!("error: no check matches {:?}; see --list", args.checks);
        return ExitCode::NothingSelected;
    }

    let manifest_path = args.stack_file.clone().unwrap_or_else(|| {
        fixtures
            .join("..")
            .join("target")
            .join("shakedown")
            .join("local")
            .join(MANIFEST_FILE)
    });
    let manifest = if profile.uses_stack() && manifest_path.is_file() {
        match StackManifest::load(&manifest_path) {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::Infra;
            }
        }
    } else {
        None
    };
    let profile = match profile.resolve(manifest.as_ref()) {
        Ok(p) => p,
        Err(ProfileError::Config(e)) => {
            eprintln!("error: {e}");
            return ExitCode::Usage;
        }
        Err(ProfileError::Infra(e)) => {
            eprintln!("error: {e}");
            return ExitCode::Infra;
        }
    };
    if let Err(e) = check_secrets(&profile) {
        eprintln!("error: {e}");
        return ExitCode::Usage;
    }

    let mut reporters = Reporters::new();
    reporters.add(ConsoleReporter::stdout(ConsoleStyle::detect()));
    if let Some(path) = &args.json {
        match JsonLinesReporter::create(path) {
            Ok(r) => {
                reporters.add(r);
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::Usage;
            }
        }
    }
    if let Some(path) = &args.junit {
        reporters.add(JunitReporter::new(path));
    }
    if let Some(path) = &args.markdown {
        reporters.add(MarkdownReporter::new(path));
    }

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
    let errors = reporters.finish();
    for e in &errors {
        eprintln!("error: {e}");
    }
    if !errors.is_empty() && summary.exit_code == 0 {
        return ExitCode::Infra;
    }
    match summary.exit_code {
        0 => ExitCode::Ok,
        1 => ExitCode::Failed,
        3 => ExitCode::Infra,
        4 => ExitCode::NothingSelected,
        5 => ExitCode::Refused,
        _ => ExitCode::Usage,
    }
}

/// Every secret the profile names must be set before anything runs (exit 2 otherwise).
fn check_secrets(profile: &Profile) -> Result<(), shakedown_core::error::ConfigError> {
    for (system, sys) in &profile.systems {
        match &sys.auth {
            Some(AuthProfile::CognitoPassword { password_env, .. }) => {
                Secret::from_env(password_env, &format!("{system}.auth.password-env"))?;
            }
            Some(AuthProfile::Oauth2ClientCredentials {
                client_secret_env, ..
            }) => {
                Secret::from_env(
                    client_secret_env,
                    &format!("{system}.auth.client-secret-env"),
                )?;
            }
            Some(AuthProfile::StaticBearer { token_env }) => {
                Secret::from_env(token_env, &format!("{system}.auth.token-env"))?;
            }
            None => {}
        }
    }
    Ok(())
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
