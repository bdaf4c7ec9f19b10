//! `cargo xtask`: the one entry point for people and CI. It only orchestrates: builds the
//! binaries, starts the local stack when a command needs it, and runs the suites. The
//! logic lives in the workspace crates (core, smoke, fixtures/stack, fixtures/services).
#![allow(clippy::print_stdout, clippy::print_stderr)] // xtask is a command-line edge

mod bench_load;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

/// Development defaults for the local stack's secrets, used only when unset. Real profiles
/// name their own variables; these never leave loopback.
const LOCAL_SECRETS: [(&str, &str); 2] = [
    ("SHAKEDOWN_LOCAL_PASSWORD", "Shakedown-Local-1!"),
    (
        "SHAKEDOWN_LOCAL_SERGAS_SECRET",
        "shakedown-local-sergas-secret",
    ),
];

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "shakedown's tasks: the local stack, the suites, the tests"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Start the local stack (moto + reference services + workers), optionally with defects.
    Up {
        /// Defects to start with (comma-separated or repeated); see --list-defects.
        #[arg(long = "defect", value_delimiter = ',')]
        defects: Vec<String>,
        /// Print the defect switchboard and exit.
        #[arg(long)]
        list_defects: bool,
    },
    /// Stop the local stack (and the tests' stack); nothing is left running.
    Down,
    /// Show the local stack's processes, URLs and defects.
    Status,
    /// Run the smoke suite; arguments go to shakedown-smoke (see `cargo xtask smoke --help`).
    Smoke {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Run the Gherkin acceptance suite; arguments go to shakedown-accept
    /// (`--env`, `--tags EXPR`, `--list`, `--junit PATH`, …; see `cargo xtask accept --help`).
    Accept {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Run a goose load profile; arguments go to shakedown-load
    /// (`rate-limit|slo|spike|soak|sse [--env] [--rate] [--users] [--duration] [--shard i/N]
    /// [--report DIR]`, `merge DIR`; see `cargo xtask load --help`).
    Load {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Runbook claims coverage of the acceptance scenarios; exit 1 if a testable claim is
    /// uncovered (arguments go to shakedown-coverage: `--all`, `--system`, `--markdown`).
    Coverage {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Run every test, including the defect-switchboard matrix against a local stack.
    Test {
        /// Extra arguments for `cargo test`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Benchmarks (not tests): `stack` measures the stack's cold start and the smoke wall
    /// time; `load` the load engine's requests/s next to wrk and oha, and its RSS at 1,000 users.
    Bench {
        #[arg(value_parser = ["stack", "load"])]
        what: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.task) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            // Failing to build or to start something is an infrastructure error.
            ExitCode::from(3)
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn bin(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    target.join("debug").join(name)
}

fn state_dir() -> PathBuf {
    workspace().join("target").join("shakedown").join("local")
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace());
    cmd
}

/// A command with the local stack's development secrets set where the caller has none.
fn with_local_env(mut cmd: Command) -> Command {
    for (var, default) in LOCAL_SECRETS {
        if std::env::var_os(var).is_none() {
            cmd.env(var, default);
        }
    }
    cmd.env("SHAKEDOWN_WORKSPACE", workspace());
    cmd
}

/// Build the binaries xtask drives (a no-op when they are fresh).
fn build() -> Result<()> {
    let status = cargo()
        .args([
            "build",
            "--quiet",
            "-p",
            "shakedown-smoke",
            "-p",
            "shakedown-stack",
            "-p",
            "shakedown-services",
            "-p",
            "shakedown-features",
            "-p",
            "shakedown-load",
        ])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build failed");
    }
    Ok(())
}

fn exit_of(status: std::process::ExitStatus) -> ExitCode {
    ExitCode::from(u8::try_from(status.code().unwrap_or(3)).unwrap_or(3))
}

fn stack(args: &[&str]) -> Result<std::process::ExitStatus> {
    let mut cmd = with_local_env(Command::new(bin("shakedown-stack")));
    cmd.args(args).arg("--state-dir").arg(state_dir());
    cmd.status().context("running shakedown-stack")
}

fn run(task: Task) -> Result<ExitCode> {
    match task {
        Task::Up {
            defects,
            list_defects,
        } => {
            build()?;
            if list_defects {
                return Ok(exit_of(stack(&["list-defects"])?));
            }
            let joined = defects.join(",");
            let mut args = vec!["up"];
            if !joined.is_empty() {
                args.extend(["--defects", joined.as_str()]);
            }
            Ok(exit_of(stack(&args)?))
        }
        Task::Down => {
            if !bin("shakedown-stack").exists() {
                build()?;
            }
            // The test stacks too: a plain `cargo test` leaves them up for the next run.
            for test_state in test_states() {
                let status = with_local_env(Command::new(bin("shakedown-stack")))
                    .args(["down", "--state-dir"])
                    .arg(&test_state)
                    .status()
                    .context("running shakedown-stack down")?;
                if !status.success() {
                    return Ok(exit_of(status));
                }
            }
            Ok(exit_of(stack(&["down"])?))
        }
        Task::Status => {
            build()?;
            Ok(exit_of(stack(&["status"])?))
        }
        Task::Smoke { args } => suite("shakedown-smoke", args),
        Task::Accept { args } => suite("shakedown-accept", args),
        Task::Load { args } => suite("shakedown-load", args),
        Task::Coverage { args } => {
            build()?;
            let status = Command::new(bin("shakedown-coverage"))
                .args(&args)
                .status()
                .context("running shakedown-coverage")?;
            Ok(exit_of(status))
        }
        Task::Test { args } => test(args),
        Task::Bench { what } => bench(&what),
    }
}

/// The profile a smoke invocation targets (`--env X` or `--env=X`, default local).
fn env_of(args: &[OsString]) -> String {
    let mut it = args.iter().filter_map(|a| a.to_str());
    while let Some(a) = it.next() {
        if a == "--env" {
            return it.next().unwrap_or("local").to_owned();
        }
        if let Some(v) = a.strip_prefix("--env=") {
            return v.to_owned();
        }
    }
    std::env::var("SHAKEDOWN_ENV").unwrap_or_else(|_| "local".to_owned())
}

/// Start the local stack unless it is already up (as it is, defects included).
fn ensure_stack() -> Result<()> {
    let quiet_status = with_local_env(Command::new(bin("shakedown-stack")))
        .args(["status", "--state-dir"])
        .arg(state_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .context("running shakedown-stack status")?;
    if quiet_status.success() {
        return Ok(());
    }
    eprintln!("xtask: the local stack is not running; starting it (cargo xtask down stops it)");
    let status = stack(&["up"])?;
    if !status.success() {
        bail!("the local stack did not start (exit {:?})", status.code());
    }
    Ok(())
}

/// Run a suite binary, starting the local stack first when it targets `local`.
fn suite(binary: &str, args: Vec<OsString>) -> Result<ExitCode> {
    build()?;
    let needs_stack = env_of(&args) == "local"
        && !args
            .iter()
            .any(|a| a == "--list" || a == "--help" || a == "-h" || a == "--version");
    if needs_stack {
        ensure_stack()?;
    }
    let mut cmd = with_local_env(Command::new(bin(binary)));
    cmd.args(&args)
        .env("SHAKEDOWN_STACK_FILE", state_dir().join("stack.json"));
    Ok(exit_of(
        cmd.status().with_context(|| format!("running {binary}"))?,
    ))
}

/// The test stacks' state directories (shakedown-testkit's lanes).
fn test_states() -> [PathBuf; 2] {
    let dir = workspace().join("target").join("shakedown");
    [dir.join("test"), dir.join("test-2")]
}

fn test(args: Vec<OsString>) -> Result<ExitCode> {
    // One `cargo test` builds everything, binaries included (each crate with binaries has an
    // integration test). A separate `cargo build` would resolve features without the
    // dev-dependencies and compile the whole tree a second time.
    let mut cmd = with_local_env(cargo());
    cmd.args(["test", "--workspace"])
        .env("SHAKEDOWN_BINARIES_FRESH", "1")
        .args(&args);
    let result = cmd.status().context("running cargo test");
    // The tests share one stack (the acceptance matrix a second beside it); stop them
    // whatever happened.
    for test_state in test_states() {
        let down = with_local_env(Command::new(bin("shakedown-stack")))
            .args(["down", "--state-dir"])
            .arg(&test_state)
            .status();
        if let Err(e) = down {
            eprintln!(
                "xtask: stopping the test stack {}: {e}",
                test_state.display()
            );
        }
    }
    Ok(exit_of(result?))
}

fn bench(what: &str) -> Result<ExitCode> {
    match what {
        "stack" => {
            build()?;
            stack(&["down"])?;
            let t0 = Instant::now();
            if !stack(&["up"])?.success() {
                bail!("the stack did not start");
            }
            let cold = t0.elapsed();
            let t1 = Instant::now();
            let smoke_status = with_local_env(Command::new(bin("shakedown-smoke")))
                .env("SHAKEDOWN_STACK_FILE", state_dir().join("stack.json"))
                .stdout(std::process::Stdio::null())
                .status()
                .context("running shakedown-smoke")?;
            let smoke = t1.elapsed();
            println!(
                "stack cold start (venv present): {:.1} s",
                cold.as_secs_f64()
            );
            println!(
                "smoke suite wall time: {:.1} s (exit {:?})",
                smoke.as_secs_f64(),
                smoke_status.code()
            );
            Ok(ExitCode::SUCCESS)
        }
        "load" => bench_load::run(&workspace(), cargo),
        other => bail!("unknown benchmark {other}"),
    }
}
