//! The sse profile against the shared local stack: the documented generation stream,
//! opened at a fixed rate, completes in order within its time-to-last-token bound.
//! (Its defects — `sse-no-complete`, `sse-missing-events` — are in the load matrix.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use shakedown_testkit::{lock, stack_file, stack_with, with_env};

#[test]
fn generation_streams_complete_in_order_within_their_bound() {
    let _guard = lock();
    stack_with(&[]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("sse.jsonl");
    let out = with_env(Command::new(env!("CARGO_BIN_EXE_shakedown-load")))
        .args(["sse", "--rate", "2", "--duration", "5s"])
        .arg("--stack-file")
        .arg(stack_file())
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let report = std::fs::read_to_string(&json).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let finished: Vec<serde_json::Value> = report
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "check-finished")
        .collect();
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0]["id"], "site-builder/sse");
    let evidence = finished[0]["outcome"]["evidence"].as_array().unwrap();
    let line = |what: &str| {
        evidence
            .iter()
            .find(|e| e["label"] == what)
            .and_then(|e| e["detail"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line("completion").starts_with("ok — ") && line("completion").contains("10 of 10"));
    assert!(line("order").starts_with("ok"));
    assert!(line("time to last token").contains("within 60000 ms"));
    assert!(line("time to first event").contains("over 10 streams"));
    assert!(line("load").contains("a fresh tenant each"));
}

#[test]
fn one_tenant_past_its_documented_limit_is_refused() {
    // Where every stream must use the profile's one tenant (no fresh tenants, as on a
    // real environment), 10 streams in 5 s trip its 10-per-minute limit: refused before
    // anything is sent, not reported as a failure of the API.
    let _guard = lock();
    stack_with(&[]);
    let dir = tempfile::tempdir().unwrap();
    let fixtures = shakedown_testkit::copy_fixtures(dir.path());
    let profile = fixtures.join("environments").join("local.toml");
    let text = std::fs::read_to_string(&profile).unwrap();
    assert!(text.contains("load-fresh-tenants = \"true\""));
    std::fs::write(
        &profile,
        text.replace(
            "load-fresh-tenants = \"true\"",
            "load-fresh-tenants = \"false\"",
        ),
    )
    .unwrap();
    let json = dir.path().join("sse.jsonl");
    let out = with_env(Command::new(env!("CARGO_BIN_EXE_shakedown-load")))
        .args([
            "sse",
            "--system",
            "site-builder",
            "--rate",
            "2",
            "--duration",
            "5s",
        ])
        .arg("--fixtures")
        .arg(&fixtures)
        .arg("--stack-file")
        .arg(stack_file())
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let report = std::fs::read_to_string(&json).unwrap();
    assert_eq!(out.status.code(), Some(5), "{report}");
    assert!(
        report.contains("exceed its documented limit generation"),
        "{report}"
    );
}
