//! The smoke suite against the real local stack (moto + reference services + workers):
//! a clean stack passes; every defect of the switchboard that concerns smoke makes the suite
//! exit 1 with the named check failing and its runbook section reported; reports agree with
//! the console; the password never appears anywhere.
//!
//! One stack (state dir `target/shakedown/test`) is shared by every test here and switched
//! between defects; `cargo xtask test` stops it afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::process::{Command, Output};

use serde_json::Value;
use shakedown_testkit::{
    PASSWORD, SERGAS_SECRET, lock, stack_with, state_dir, with_env, workspace,
};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    events: Vec<Value>,
    dir: tempfile::TempDir,
}

fn smoke(extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.jsonl");
    let mut cmd = with_env(Command::new(env!("CARGO_BIN_EXE_shakedown-smoke")));
    cmd.arg("--stack-file")
        .arg(state_dir().join("stack.json"))
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(dir.path().join("junit.xml"))
        .arg("--markdown")
        .arg(dir.path().join("summary.md"))
        .args(extra);
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    let events = std::fs::read_to_string(&json)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        events,
        dir,
    }
}

fn finished(run: &Run) -> Vec<&Value> {
    run.events
        .iter()
        .filter(|e| e["event"] == "check-finished")
        .collect()
}

fn status_of(e: &Value) -> &str {
    e["outcome"]["status"].as_str().unwrap_or("?")
}

/// Whether `text` holds something shaped like a JWT: `eyJ…` base64url, a dot, `eyJ…` again
/// (header and payload are JSON objects), a dot. A bare `eyJ` is not enough: moto's random
/// request ids contain it now and then.
fn has_jwt(text: &str) -> bool {
    let b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices("eyJ").any(|(i, _)| {
        let rest = &text[i..];
        let header = rest.find(|c: char| !b64(c)).unwrap_or(rest.len());
        // A JWT starts a token: not in the middle of a longer id.
        let starts = text[..i].chars().next_back().is_none_or(|c| !b64(c));
        let Some(after) = rest[header..].strip_prefix('.') else {
            return false;
        };
        let payload = after.find(|c: char| !b64(c)).unwrap_or(after.len());
        starts && header > 10 && after.starts_with("eyJ") && after[payload..].starts_with('.')
    })
}

#[test]
fn jwt_shapes_are_told_from_ids_that_happen_to_contain_eyj() {
    assert!(has_jwt(
        "token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl rest"
    ));
    assert!(!has_jwt(
        "aws_request_id: sjWCNd91jAGAYap97Cs0zyXhtcR8BQGaQ01QfqFQeyJ9tx9t3qTW"
    ));
    assert!(!has_jwt("eyJ alone"));
}

#[test]
fn clean_stack_passes_reports_agree_and_no_secret_leaks() {
    let _guard = lock();
    stack_with(&[]);
    let run = smoke(&[]);
    let results = finished(&run);
    // Nothing may be skipped on the local stack: every check runs.
    let expected_skips: [&str; 0] = [];
    let not_passed: Vec<String> = results
        .iter()
        .filter(|e| status_of(e) != "passed")
        .filter(|e| {
            !(status_of(e) == "skipped"
                && expected_skips.contains(&e["id"].as_str().unwrap_or_default()))
        })
        .map(|e| format!("{} {}: {}", status_of(e), e["id"], e["outcome"]))
        .collect();
    assert_eq!(run.code, 0, "clean stack: {not_passed:#?}\n{}", run.stdout);
    assert!(not_passed.is_empty(), "{not_passed:#?}");

    // JUnit is well formed and its counts match the console and the JSON lines.
    let junit = std::fs::read_to_string(run.dir.path().join("junit.xml")).unwrap();
    assert!(junit.starts_with("<?xml"), "{junit}");
    assert_well_formed(&junit);
    let tests_attr = format!("tests=\"{}\"", results.len());
    assert!(
        junit.contains(&tests_attr),
        "JUnit counts {tests_attr}: {junit}"
    );
    assert!(junit.contains("failures=\"0\""), "{junit}");
    assert_eq!(junit.matches("<testcase").count(), results.len());
    assert_eq!(
        junit.matches("<testsuite ").count(),
        5,
        "one suite per system"
    );
    let summary_line = format!(
        "{} passed, 0 failed, 0 errors, 0 refused, {} skipped",
        results.len() - expected_skips.len(),
        expected_skips.len()
    );
    assert!(
        run.stdout.contains(&summary_line),
        "console: {}",
        run.stdout
    );

    // The password and the client secret appear nowhere: output, reports, stack logs.
    let mut places = vec![
        ("stdout".to_owned(), run.stdout.clone()),
        ("stderr".to_owned(), run.stderr.clone()),
    ];
    for name in ["run.jsonl", "junit.xml", "summary.md"] {
        places.push((
            name.to_owned(),
            std::fs::read_to_string(run.dir.path().join(name)).unwrap(),
        ));
    }
    for entry in std::fs::read_dir(state_dir().join("logs")).unwrap() {
        let path = entry.unwrap().path();
        places.push((
            path.display().to_string(),
            std::fs::read_to_string(&path).unwrap_or_default(),
        ));
    }
    for (place, text) in places {
        assert!(!text.contains(PASSWORD), "the password leaks into {place}");
        assert!(
            !text.contains(SERGAS_SECRET),
            "the client secret leaks into {place}"
        );
        assert!(!has_jwt(&text), "a JWT leaks into {place}");
    }
}

#[test]
fn every_smoke_defect_is_caught_by_its_check() {
    let _guard = lock();
    let catalogue = shakedown_core::stack::DefectCatalogue::load(
        &workspace().join("fixtures").join("defects.toml"),
    )
    .unwrap();
    let mut misses = Vec::new();
    let defects: Vec<_> = catalogue
        .defects
        .iter()
        .filter(|d| d.suite == "smoke")
        .collect();
    assert!(
        defects.len() >= 12,
        "the switchboard has at least 12 smoke defects"
    );
    for defect in defects {
        stack_with(&[defect.name.as_str()]);
        let run = smoke(&[]);
        let failing: Vec<&Value> = finished(&run)
            .into_iter()
            .filter(|e| status_of(e) == "failed")
            .collect();
        let catching: Vec<&&Value> = failing
            .iter()
            .filter(|e| {
                let id = e["id"].as_str().unwrap_or_default();
                defect.caught_by.iter().any(|p| id.starts_with(p.as_str()))
            })
            .collect();
        if run.code != 1 {
            misses.push(format!("{}: exit {} (want 1)", defect.name, run.code));
        }
        match catching.first() {
            None => misses.push(format!(
                "{}: no failing check starts with {:?}; failing: {:?}",
                defect.name,
                defect.caught_by,
                failing.iter().map(|e| e["id"].clone()).collect::<Vec<_>>()
            )),
            Some(e) => {
                let section = e["runbook"]["section"].as_str().unwrap_or_default();
                let seed = e["runbook"]["seed"].as_str().unwrap_or_default();
                let id = e["id"].as_str().unwrap_or_default();
                if section.is_empty() || !run.stdout.contains(&format!("{seed} — {section}")) {
                    misses.push(format!(
                        "{}: {id} fails without naming its runbook section",
                        defect.name
                    ));
                }
            }
        }
        eprintln!(
            "{}: exit {}, caught by {:?}",
            defect.name,
            run.code,
            catching.iter().map(|e| e["id"].clone()).collect::<Vec<_>>()
        );
    }
    stack_with(&[]);
    assert!(
        misses.is_empty(),
        "defects not caught:\n{}",
        misses.join("\n")
    );
}

/// Parse the whole document: every tag balanced, every attribute and escape valid.
fn assert_well_formed(xml: &str) {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut depth = 0i32;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) => {
                depth += 1;
                for attr in e.attributes() {
                    attr.unwrap().unescape_value().unwrap();
                }
            }
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Text(t)) => {
                t.decode().unwrap();
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!(
                "JUnit is not well-formed at {}: {e}",
                reader.buffer_position()
            ),
        }
    }
    assert_eq!(depth, 0, "unbalanced JUnit document");
}
