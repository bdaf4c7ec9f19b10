//! The whole acceptance suite against the local test stack, as its own harness (`harness =
//! false`): a clean stack passes, twice in a row — so rollback and restore scenarios leave
//! the stack as they found it — and the reports agree. Then the switchboard matrix: every
//! defect with `accept-claims` makes the suite exit 1 with a failed scenario naming one of
//! those claims. Exits non-zero on the first problem of the clean rounds, after the whole
//! matrix otherwise.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::process::{Command, ExitCode};
use std::sync::Mutex;
use std::time::Instant;

use shakedown_core::stack::{Defect, DefectCatalogue, DefectLayer};
use shakedown_testkit::{
    LANES, lane_dir, lane_down, lane_with, lock, stack_file, stack_with, with_env, workspace,
};

fn run_suite(dir: &std::path::Path, round: usize) -> Result<(), String> {
    let started = Instant::now();
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
    let mut durations: Vec<(u64, String)> = Vec::new();
    for line in events.lines() {
        let event: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        if event["event"] == "check-finished" {
            durations.push((
                event["duration-ms"].as_u64().unwrap_or_default(),
                event["id"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    let finished = durations.len();
    // Durations are the scenarios' own (cucumber's event times), not the moment the
    // normalising writer handed their events over: every scenario makes requests.
    let unmeasured = durations.iter().filter(|(ms, _)| *ms == 0).count();
    if unmeasured * 2 > finished {
        return Err(format!(
            "round {round}: {unmeasured} of {finished} scenarios report a duration of 0 ms"
        ));
    }
    durations.sort_unstable_by(|a, b| b.cmp(a));
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
    let slowest: Vec<String> = durations
        .iter()
        .take(5)
        .map(|(ms, id)| format!("{id} {:.1} s", *ms as f64 / 1000.0))
        .collect();
    println!(
        "acceptance round {round}: {finished} scenarios passed in {:.1} s; slowest: {}",
        started.elapsed().as_secs_f64(),
        slowest.join(", ")
    );
    Ok(())
}

/// With `defect` on, the suite (its system's scenarios guarding the defect's claims) exits 1
/// and a failed scenario names one of those claims. Running only the guarding scenarios
/// keeps the matrix to seconds a defect; the two clean rounds run everything.
fn catches(dir: &std::path::Path, lane: usize, defect: &Defect) -> Result<String, String> {
    let json = dir.join(format!("defect-{}.jsonl", defect.name));
    let out = with_env(Command::new(env!("CARGO_BIN_EXE_shakedown-accept")))
        .arg("--stack-file")
        .arg(lane_dir(lane).join("stack.json"))
        .arg("--system")
        .arg(&defect.system)
        .args(
            defect
                .accept_claims
                .iter()
                .flat_map(|c| ["--claim", c.as_str()]),
        )
        .arg("--json")
        .arg(&json)
        .output()
        .map_err(|e| format!("running shakedown-accept: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.code() != Some(1) {
        return Err(format!(
            "exit {:?} (want 1)\n{stdout}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let events = std::fs::read_to_string(&json).map_err(|e| e.to_string())?;
    let mut failed = Vec::new();
    for line in events.lines() {
        let event: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        if event["event"] != "check-finished" || event["outcome"]["status"] != "failed" {
            continue;
        }
        let named: Vec<&str> = event["outcome"]["evidence"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["label"] == "claim")
            .filter_map(|e| e["detail"].as_str()?.split(' ').next())
            .collect();
        if let Some(claim) = named
            .iter()
            .find(|c| defect.accept_claims.iter().any(|a| a == *c))
        {
            let id = event["id"].as_str().unwrap_or_default();
            if !stdout.contains(*claim) {
                return Err(format!(
                    "{id} names {claim} in the JSON but not on the console"
                ));
            }
            return Ok(format!("{id} ({claim})"));
        }
        failed.push(format!("{} {named:?}", event["id"]));
    }
    Err(format!(
        "no failed scenario names {:?}; failed: {failed:?}",
        defect.accept_claims
    ))
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

    let catalogue = DefectCatalogue::load(&workspace().join("fixtures").join("defects.toml"))
        .expect("the defect catalogue loads");
    let defects: Vec<&Defect> = catalogue.for_acceptance().collect();
    let misses = Mutex::new(Vec::new());
    // Two stacks side by side, each taking half the defects: most of a defect's run is
    // waiting (for a deadline that proves an absence, a probe interval), and AWS-layer
    // switches are moto re-bootstraps, so two lanes overlap one's waits with the other's work.
    // In each lane service-layer defects come first: they switch in place on the clean AWS
    // layer, and only the AWS or worker defects after them cost a re-bootstrap each.
    let lanes: Vec<Vec<&Defect>> = (0..LANES)
        .map(|lane| {
            let mut mine: Vec<&Defect> = defects
                .iter()
                .enumerate()
                .filter(|(i, _)| i % LANES == lane)
                .map(|(_, d)| *d)
                .collect();
            mine.sort_by_key(|d| d.layer != DefectLayer::Service);
            mine
        })
        .collect();
    std::thread::scope(|scope| {
        for (lane, mine) in lanes.iter().enumerate() {
            let (dir, misses) = (dir.path(), &misses);
            scope.spawn(move || {
                for defect in mine {
                    let started = Instant::now();
                    lane_with(lane, &[defect.name.as_str()]);
                    let switched = started.elapsed();
                    let result = catches(dir, lane, defect);
                    let timing = format!(
                        "lane {lane}, switch {:.1} s, run {:.1} s",
                        switched.as_secs_f64(),
                        (started.elapsed() - switched).as_secs_f64()
                    );
                    match result {
                        Ok(by) => println!("defect {}: caught by {by} ({timing})", defect.name),
                        Err(e) => misses
                            .lock()
                            .unwrap()
                            .push(format!("{}: {e} ({timing})", defect.name)),
                    }
                }
            });
        }
    });
    for lane in 1..LANES {
        lane_down(lane);
    }
    let misses = misses.into_inner().unwrap();
    stack_with(&[]);
    if defects.len() < 20 {
        eprintln!(
            "the switchboard has {} acceptance defects; want at least 20",
            defects.len()
        );
        return ExitCode::FAILURE;
    }
    if !misses.is_empty() {
        eprintln!(
            "defects the acceptance suite does not catch:\n{}",
            misses.join("\n")
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
