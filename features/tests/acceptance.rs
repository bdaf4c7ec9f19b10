//! The whole acceptance suite against the local test stack, as its own harness (`harness =
//! false`): a clean stack passes, twice in a row — so rollback and restore scenarios leave
//! the stack as they found it — and the reports agree. Exits non-zero on the first problem.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::process::{Command, ExitCode};

use shakedown_testkit::{lock, stack_file, stack_with, with_env};

fn run_suite(dir: &std::path::Path, round: usize) -> Result<(), String> {
    let json = dir.join(format!("run-{round}.jsonl"));
    let junit = dir.join(format!("junit-{round}.xml"));
    let out = with_env(Command::new(env!("CARGO_BIN_EXE_shakedown-accept")))
        .arg("--stack-file")
        .arg(stack_file())
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .arg("--cucumber-json")
        .arg(dir.join(format!("cucumber-{round}.json")))
        .output()
        .map_err(|e| format!("running shakedown-accept: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(0) {
        return Err(format!(
            "round {round}: exit {:?}\n{stdout}\n{stderr}",
            out.status.code()
        ));
    }
    let events = std::fs::read_to_string(&json).map_err(|e| e.to_string())?;
    let finished = events
        .lines()
        .filter(|l| l.contains("\"event\":\"check-finished\""))
        .count();
    let junit_text = std::fs::read_to_string(&junit).map_err(|e| e.to_string())?;
    if junit_text.matches("<testcase").count() != finished || finished == 0 {
        return Err(format!(
            "round {round}: JUnit has {} test cases, JSONL {finished} results",
            junit_text.matches("<testcase").count()
        ));
    }
    let cucumber: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("cucumber-{round}.json")))
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("cucumber JSON: {e}"))?;
    if cucumber.as_array().is_none_or(|a| a.is_empty()) {
        return Err(format!("round {round}: empty cucumber JSON"));
    }
    if stdout.contains(shakedown_testkit::PASSWORD) || stderr.contains(shakedown_testkit::PASSWORD)
    {
        return Err("the password appears in the output".into());
    }
    println!("acceptance round {round}: {finished} scenarios passed");
    Ok(())
}

fn main() -> ExitCode {
    // `cargo test -- --list` and filters: this harness has one test.
    if std::env::args().any(|a| a == "--list") {
        println!("acceptance_suite_on_local: test");
        return ExitCode::SUCCESS;
    }
    let _guard = lock();
    stack_with(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    for round in 1..=2 {
        if let Err(e) = run_suite(dir.path(), round) {
            eprintln!("acceptance suite on local failed: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
