//! The rate-limit profile against the shared local stack: every documented limit measures
//! as documented, each load defect of the switchboard fails its check, and bad input gets
//! the documented exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use shakedown_core::stack::DefectCatalogue;
use shakedown_testkit::{lock, stack_file, stack_with, with_env, workspace};

fn load() -> Command {
    with_env(Command::new(env!("CARGO_BIN_EXE_shakedown-load")))
}

fn run(args: &[&str], json: &Path) -> Output {
    run_profile("rate-limit", args, json)
}

fn run_profile(profile: &str, args: &[&str], json: &Path) -> Output {
    load()
        .arg(profile)
        .arg("--stack-file")
        .arg(stack_file())
        .arg("--json")
        .arg(json)
        .args(args)
        .output()
        .expect("running shakedown-load")
}

/// `(id, status, observed-or-reason)` of every finished check.
fn results(json: &Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(json)
        .expect("the JSONL report")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "check-finished")
        .map(|e| {
            let o = &e["outcome"];
            let text = o["observed"]
                .as_str()
                .or_else(|| o["reason"].as_str())
                .or_else(|| o["message"].as_str())
                .unwrap_or_default();
            (
                e["id"].as_str().unwrap().to_owned(),
                o["status"].as_str().unwrap().to_owned(),
                text.to_owned(),
            )
        })
        .collect()
}

/// Every bucket full: a service-layer defect switch (there and back) makes the services
/// forget their buckets, so neither an earlier test's traffic nor this one's leaks.
fn fresh_buckets() {
    stack_with(&["retry-after-missing"]);
    stack_with(&[]);
}

#[test]
fn every_documented_limit_measures_as_documented_on_local() {
    let _guard = lock();
    stack_with(&[]);
    fresh_buckets();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("load.jsonl");
    let reports = dir.path().join("reports");
    let out = run(&["--report", reports.to_str().unwrap()], &json);
    fresh_buckets();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results = results(&json);
    let facts = [
        "plot-palette",
        "site-builder",
        "styling-adventures",
        "sergas",
    ];
    let mut measured = 0;
    for (id, status, text) in &results {
        assert!(facts.iter().any(|s| id.starts_with(s)), "{id}");
        if id.ends_with("/waf-per-ip") {
            assert_eq!(status, "skipped", "{id}: {text}");
            continue;
        }
        assert_eq!(status, "passed", "{id}: {text}");
        assert!(
            text.contains("burst") && text.contains("refill") && text.contains("documented"),
            "{id}: {text}"
        );
        measured += 1;
        // goose's HTML report is kept beside ours.
        let system = id.split('/').next().unwrap();
        let name = id.rsplit('/').next().unwrap();
        let html = reports.join(format!("rate-limit-{system}-{name}.html"));
        assert!(html.is_file(), "no goose report {}", html.display());
    }
    assert_eq!(measured, 6, "{results:?}");
    assert!(!stdout.contains(shakedown_testkit::PASSWORD));
}

#[test]
fn each_load_defect_fails_its_check() {
    let _guard = lock();
    let catalogue =
        DefectCatalogue::load(&workspace().join("fixtures").join("defects.toml")).unwrap();
    let defects: Vec<_> = catalogue.for_load().collect();
    assert!(
        defects.len() >= 5,
        "the switchboard has {} load defects",
        defects.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut misses = Vec::new();
    for defect in defects {
        stack_with(&[defect.name.as_str()]);
        // Rate limits through the rate-limit profile, the rest (`system/slo`) through
        // theirs, short.
        let mut failed = Vec::new();
        let mut codes = Vec::new();
        let mut stdout = String::new();
        let (limits, others): (Vec<&String>, Vec<&String>) = defect
            .load_checks
            .iter()
            .partition(|c| c.contains("/rate-limit/"));
        let mut runs: Vec<(String, Vec<String>)> = Vec::new();
        if !limits.is_empty() {
            let mut args = Vec::new();
            for check in limits {
                args.push("--limit".to_owned());
                args.push(check.replace("/rate-limit/", "/"));
            }
            runs.push(("rate-limit".to_owned(), args));
        }
        for check in others {
            let (system, profile) = check.split_once('/').unwrap();
            runs.push((
                profile.to_owned(),
                ["--system", system, "--duration", "10s"]
                    .map(str::to_owned)
                    .to_vec(),
            ));
        }
        for (i, (profile, args)) in runs.iter().enumerate() {
            let json = dir.path().join(format!("{}-{i}.jsonl", defect.name));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run_profile(profile, &args, &json);
            codes.push(out.status.code());
            stdout.push_str(&String::from_utf8_lossy(&out.stdout));
            failed.extend(
                results(&json)
                    .into_iter()
                    .filter(|(_, status, _)| status == "failed")
                    .map(|(id, _, _)| id),
            );
        }
        let caught = codes.iter().all(|c| *c == Some(1))
            && defect.load_checks.iter().all(|c| failed.contains(c));
        if caught {
            println!("defect {}: caught by {failed:?}", defect.name);
        } else {
            misses.push(format!(
                "{}: exit {codes:?}, failed {failed:?}\n{stdout}",
                defect.name,
            ));
        }
    }
    stack_with(&[]);
    assert!(
        misses.is_empty(),
        "load defects not caught:\n{}",
        misses.join("\n")
    );
}

#[test]
fn bad_input_gets_the_documented_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("x.jsonl");
    // Nothing selected: 4, before any stack or secret is needed.
    let out = run(&["--limit", "plot-palette/no-such-limit"], &json);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no limit matches"));
    // A bad tolerance or profile name: 2.
    let out = run(&["--tolerance", "80"], &json);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside"));
    let out = load().args(["soak-forever"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Prod takes no load without the explicit override: refused, 5.
    let out = load()
        .args(["rate-limit", "--env", "plot-palette-prod"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--allow-heavy-load"), "{stderr}");
    // --list names every documented limit and exits 0 without a stack.
    let out = load().args(["rate-limit", "--list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let listed = String::from_utf8_lossy(&out.stdout);
    for id in [
        "plot-palette/rate-limit/per-user",
        "site-builder/rate-limit/generation",
        "site-builder/rate-limit/agents",
        "site-builder/rate-limit/validation",
        "sergas/rate-limit/per-client",
        "styling-adventures/rate-limit/per-user",
    ] {
        assert!(listed.contains(id), "{listed}");
    }
}
