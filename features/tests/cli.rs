//! `shakedown-accept` and `shakedown-coverage` exit codes and messages (no stack needed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use predicates::prelude::*;

fn accept() -> Command {
    let mut cmd = Command::cargo_bin("shakedown-accept").unwrap();
    cmd.env_remove("SHAKEDOWN_ENV").env("NO_COLOR", "1");
    cmd
}

fn write_feature(dir: &std::path::Path, system: &str, text: &str) {
    std::fs::create_dir_all(dir.join(system)).unwrap();
    std::fs::write(dir.join(system).join("x.feature"), text).unwrap();
}

#[test]
fn prod_lists_mutating_and_destructive_scenarios_as_refused() {
    accept()
        .args(["--env", "site-builder-prod", "--list"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("rollback.feature"))
        .stdout(predicate::str::contains("refused: prod is read-only"))
        .stdout(predicate::str::is_match(r"api.feature:\d+ .*read +runs").unwrap());
}

#[test]
fn prod_refusals_are_reported_and_exit_5() {
    // Only refused scenarios selected: nothing reaches the (placeholder) prod hosts.
    // Every @destructive scenario of Site Builder's features is refused (each tag line
    // starts one scenario; none is an outline).
    let features = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("site-builder");
    let destructive: usize = std::fs::read_dir(&features)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|text| {
            text.lines()
                .filter(|l| l.trim_start().starts_with('@') && l.contains("@destructive"))
                .count()
        })
        .sum();
    assert!(destructive >= 3, "{destructive} destructive scenarios");
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    accept()
        .args(["--env", "site-builder-prod", "--tags", "@destructive"])
        .arg("--junit")
        .arg(&junit)
        .env("SITE_BUILDER_PROD_SMOKE_PASSWORD", "not-used")
        .assert()
        .code(5)
        .stdout(predicate::str::contains("REFUSED"))
        .stdout(predicate::str::contains(format!(
            "0 passed, 0 failed, 0 errors, {destructive} refused"
        )));
    let junit = std::fs::read_to_string(junit).unwrap();
    assert_eq!(junit.matches("<testcase").count(), destructive, "{junit}");
}

#[test]
fn a_scenario_without_a_safety_tag_is_a_usage_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write_feature(
        dir.path(),
        "site-builder",
        "Feature: f\n\n  @claim(001-rollback-3.2)\n  Scenario: untagged\n    Then the response status is 200\n",
    );
    accept()
        .arg("--features")
        .arg(dir.path())
        .arg("--list")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("site-builder/x.feature:4"))
        .stderr(predicate::str::contains("no safety tag"));
}

#[test]
fn a_claim_tag_naming_nothing_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    write_feature(
        dir.path(),
        "site-builder",
        "Feature: f\n\n  @readonly @claim(001-no-such-claim)\n  Scenario: s\n    Then the response status is 200\n",
    );
    accept()
        .arg("--features")
        .arg(dir.path())
        .arg("--list")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "@claim(001-no-such-claim) names no claim",
        ));
}

#[test]
fn a_step_matching_no_definition_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    write_feature(
        dir.path(),
        "site-builder",
        "Feature: f\n\n  @readonly @claim(001-rollback-6.1)\n  Scenario: s\n    Then the moon is made of cheese\n",
    );
    // Against an unreachable prod host: the step never reaches it, the unmatched step fails.
    accept()
        .arg("--features")
        .arg(dir.path())
        .args(["--env", "site-builder-prod"])
        .env("SITE_BUILDER_PROD_SMOKE_PASSWORD", "not-used")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("matches no step definition"))
        .stdout(predicate::str::contains("claim 001-rollback-6.1"));
}

#[test]
fn unknown_tag_expression_nothing_selected_exits_4() {
    accept()
        .args(["--tags", "@no-such-tag", "--list"])
        .assert()
        .code(4);
}

#[test]
fn coverage_reports_every_system_and_fails_on_uncovered_claims() {
    let out = Command::cargo_bin("shakedown-coverage")
        .unwrap()
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for system in [
        "plot-palette",
        "site-builder",
        "energy-insights",
        "styling-adventures",
        "sergas",
    ] {
        assert!(stdout.contains(&format!("{system}: ")), "{stdout}");
    }
    let uncovered = stdout.contains("UNCOVERED");
    assert_eq!(
        out.status.code(),
        Some(if uncovered { 1 } else { 0 }),
        "{stdout}"
    );
}

#[test]
fn an_unknown_system_is_a_usage_error_listing_the_known() {
    accept()
        .args(["--system", "no-such-system", "--list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--system no-such-system"))
        .stderr(predicate::str::contains("site-builder"));
}

#[test]
fn system_filter_lists_only_that_systems_scenarios() {
    accept()
        .args(["--system", "sergas", "--list"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("sergas/"))
        .stdout(predicate::str::contains("site-builder/").not());
}

#[test]
fn claim_filter_lists_only_the_scenarios_guarding_it() {
    accept()
        .args(["--claim", "001-rollback-3.2", "--list"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("001-rollback-3.2"))
        .stdout(predicate::str::contains("sergas/").not())
        .stdout(predicate::str::contains("site-builder/api/").not());
}

#[test]
fn an_unknown_claim_is_a_usage_error() {
    accept()
        .args(["--claim", "001-no-such-claim", "--list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--claim 001-no-such-claim"));
}

/// The switchboard's acceptance column is checkable: every claim a defect promises to break
/// is a testable claim of the defect's system that some scenario guards.
#[test]
fn acceptance_defects_name_guarded_claims_of_their_system() {
    let root = shakedown_features::catalogue::default_root();
    let fixtures = root.parent().unwrap().join("fixtures");
    let claims = shakedown_features::claims::Claims::load(&fixtures).unwrap();
    let catalogue = shakedown_features::catalogue::Catalogue::load(&root, &claims).unwrap();
    let refs = catalogue.references();
    let defects =
        shakedown_core::stack::DefectCatalogue::load(&fixtures.join("defects.toml")).unwrap();
    let mut problems = Vec::new();
    for defect in defects.for_acceptance() {
        for id in &defect.accept_claims {
            match claims.get(id) {
                None => problems.push(format!("{}: no claim {id}", defect.name)),
                Some(c) if c.system != defect.system => problems.push(format!(
                    "{}: {id} belongs to {}, the defect to {}",
                    defect.name, c.system, defect.system
                )),
                Some(_) if !refs.contains_key(id) => {
                    problems.push(format!("{}: no scenario guards {id}", defect.name));
                }
                Some(_) => {}
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
