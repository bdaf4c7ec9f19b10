//! The smoke binary's exit codes and messages for bad input, unreachable targets and tier
//! policy — none of these needs the local stack.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn smoke() -> Command {
    let mut cmd = Command::cargo_bin("shakedown-smoke").unwrap();
    cmd.env_remove("SHAKEDOWN_ENV")
        .env_remove("SHAKEDOWN_FIXTURES")
        .env_remove("SHAKEDOWN_STACK_FILE")
        .env("NO_COLOR", "1");
    cmd
}

/// A fixtures directory with the real runbooks and one extra profile.
fn fixtures_with(profile_name: &str, profile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let runbooks = dir.path().join("runbooks");
    std::fs::create_dir_all(&runbooks).unwrap();
    for entry in std::fs::read_dir(fixtures().join("runbooks")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), runbooks.join(entry.file_name())).unwrap();
    }
    let envs = dir.path().join("environments");
    std::fs::create_dir_all(&envs).unwrap();
    std::fs::write(envs.join(format!("{profile_name}.toml")), profile).unwrap();
    dir
}

#[test]
fn unknown_env_is_exit_2_and_lists_profiles() {
    smoke()
        .args(["--env", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown profile `nope`"))
        .stderr(predicate::str::contains("plot-palette-prod"))
        .stderr(predicate::str::contains("site-builder-sit"));
}

#[test]
fn unknown_key_is_exit_2_with_file_line_and_key() {
    let dir = fixtures_with(
        "broken",
        "description = \"x\"\ntier = \"dev\"\nregion = \"eu-west-1\"\n\n[systems.site-builder]\nrunbook = \"site-builder\"\nbase-url = \"http://127.0.0.1:9\"\ntimeout = \"5s\"\n",
    );
    smoke()
        .args(["--env", "broken", "--fixtures"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.toml:8:"))
        .stderr(predicate::str::contains("systems.site-builder"))
        .stderr(predicate::str::contains("timeout"));
}

#[test]
fn wrong_type_is_exit_2_with_file_line_and_key() {
    let dir = fixtures_with(
        "typed",
        "description = \"x\"\ntier = \"dev\"\nregion = \"eu-west-1\"\nrequest-timeout = 30\n[systems]\n",
    );
    smoke()
        .args(["--env", "typed", "--fixtures"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("typed.toml:4:"))
        .stderr(predicate::str::contains("request-timeout"));
}

#[test]
fn missing_secret_is_exit_2_naming_the_variable() {
    smoke()
        .args(["--env", "site-builder-sit"])
        .env_remove("SITE_BUILDER_SIT_SMOKE_PASSWORD")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("SITE_BUILDER_SIT_SMOKE_PASSWORD"));
}

#[test]
fn unreachable_target_is_exit_3_not_a_failure() {
    // Sergas has no AWS resources: its checks are all HTTP, against a closed port.
    let dir = fixtures_with(
        "nowhere",
        "description = \"nothing listens here\"\ntier = \"dev\"\nregion = \"us-east-1\"\nrequest-timeout = \"2s\"\n\n[systems.sergas]\nrunbook = \"sergas\"\nvars = { env = \"dev\" }\nbase-url = \"http://127.0.0.1:9\"\n",
    );
    smoke()
        .args(["--env", "nowhere", "--fixtures"])
        .arg(dir.path())
        .assert()
        .code(3)
        .stdout(predicate::str::contains("ERROR"))
        .stdout(predicate::str::contains("could not connect"))
        .stdout(predicate::str::contains("0 failed"));
}

#[test]
fn mutating_check_on_prod_is_refused_with_exit_5() {
    smoke()
        .args(["--env", "plot-palette-prod", "--check", "plot-palette/flow"])
        .env("PLOT_PALETTE_PROD_SMOKE_PASSWORD", "not-used-refused-first")
        .assert()
        .code(5)
        .stdout(predicate::str::contains("REFUSED"))
        .stdout(predicate::str::contains("--allow-mutation-on-prod"));
}

#[test]
fn prod_list_shows_refusals_and_needs_no_target() {
    smoke()
        .args(["--env", "plot-palette-prod", "--list"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("plot-palette/flow"))
        .stdout(predicate::str::contains("refused: prod is read-only"))
        .stdout(predicate::str::contains(
            "plot-palette/table/JobsTable-prod",
        ));
}

#[test]
fn nothing_selected_is_exit_4() {
    smoke()
        .args(["--env", "plot-palette-prod", "--check", "no-such-check"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("no check matches"));
}

#[test]
fn local_without_a_stack_is_exit_3() {
    let missing = tempfile::tempdir().unwrap();
    smoke()
        .args(["--env", "local", "--stack-file"])
        .arg(missing.path().join("stack.json"))
        .assert()
        .code(3)
        .stderr(predicate::str::contains("cargo xtask up"));
}
