//! The throughput profiles against the shared local stack: the documented SLOs hold under
//! a fixed arrival rate, spike and soak run bounded, and a run split into three shard
//! processes and merged gives the verdict and percentiles of one run of the same load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use shakedown_testkit::{lock, stack_file, stack_with, with_env};

fn load() -> Command {
    with_env(Command::new(env!("CARGO_BIN_EXE_shakedown-load")))
}

fn command(profile: &str, args: &[&str], json: &Path) -> Command {
    let mut cmd = load();
    cmd.arg(profile)
        .arg("--stack-file")
        .arg(stack_file())
        .arg("--json")
        .arg(json)
        .args(args);
    cmd
}

fn run(profile: &str, args: &[&str], json: &Path) -> Output {
    command(profile, args, json)
        .output()
        .expect("running shakedown-load")
}

/// The `check-finished` events of a JSONL report.
fn finished(json: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(json)
        .expect("the JSONL report")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "check-finished")
        .collect()
}

fn status(e: &serde_json::Value) -> &str {
    e["outcome"]["status"].as_str().unwrap()
}

/// The evidence line named `what` of a finished check.
fn evidence<'a>(e: &'a serde_json::Value, what: &str) -> Option<&'a str> {
    e["outcome"]["evidence"]
        .as_array()?
        .iter()
        .find(|ev| ev["label"] == what)
        .and_then(|ev| ev["detail"].as_str())
}

fn explain(out: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every bucket full (a service-layer switch there and back), so no per-user limit left
/// spent by another test throttles the mix.
fn fresh_buckets() {
    stack_with(&["retry-after-missing"]);
    stack_with(&[]);
}

#[test]
fn the_documented_slos_hold_under_load_on_local() {
    let _guard = lock();
    stack_with(&[]);
    fresh_buckets();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("slo.jsonl");
    let reports = dir.path().join("reports");
    let out = run(
        "slo",
        &["--duration", "10s", "--report", reports.to_str().unwrap()],
        &json,
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let results = finished(&json);
    let ids: Vec<&str> = results.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["energy-insights/slo", "styling-adventures/slo"]);
    for e in &results {
        assert_eq!(status(e), "passed", "{e}");
        // Raw and corrected percentiles side by side, per route; every threshold named.
        let route = e["outcome"]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|ev| ev["label"].as_str().unwrap().starts_with("route GET /api/"))
            .unwrap_or_else(|| panic!("no API route evidence: {e}"));
        let detail = route["detail"].as_str().unwrap();
        assert!(
            detail.contains("corrected") && detail.contains("raw"),
            "{detail}"
        );
        assert!(evidence(e, "threshold throughput").is_some_and(|t| t.starts_with("ok")));
        assert!(evidence(e, "threshold open model").is_some_and(|t| t.starts_with("ok")));
    }
    let styling = &results[1];
    for slo in [
        "p99-latency",
        "availability",
        "error-rate",
        "failed-requests",
    ] {
        let t = evidence(styling, &format!("threshold {slo}")).unwrap_or_default();
        assert!(t.starts_with("ok"), "{slo}: {t}");
    }
    // The database-uptime SLO is a health field, not a throughput measure: said, not judged.
    assert!(
        evidence(styling, "not judged").is_some_and(|n| n.contains("database-uptime")),
        "{styling}"
    );
    // goose's HTML report and the run's metrics beside ours.
    for system in ["energy-insights", "styling-adventures"] {
        assert!(reports.join(format!("slo-{system}.html")).is_file());
        assert!(
            reports
                .join(format!("slo-{system}-shard-1-of-1.json"))
                .is_file()
        );
    }
    // The whole run's metrics judge the same through `merge`.
    let merged = dir.path().join("merged.jsonl");
    let out = run("merge", &[reports.to_str().unwrap()], &merged);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert_eq!(finished(&merged).len(), 2);
}

#[test]
fn spike_and_soak_run_bounded_and_judge_their_own_stretches() {
    let _guard = lock();
    stack_with(&[]);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("spike.jsonl");
    let out = run(
        "spike",
        &[
            "--system",
            "energy-insights",
            "--rate",
            "10",
            "--duration",
            "10s",
        ],
        &json,
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let spike = &finished(&json)[0];
    assert!(
        evidence(spike, "threshold error-rate after the spike")
            .is_some_and(|t| t.starts_with("ok")),
        "{spike}"
    );
    assert!(evidence(spike, "stage spike").is_some_and(|s| s.contains("40.0")));
    let json = dir.path().join("soak.jsonl");
    let out = run(
        "soak",
        &["--system", "energy-insights", "--duration", "12s"],
        &json,
    );
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let soak = &finished(&json)[0];
    assert!(evidence(soak, "threshold no drift").is_some_and(|t| t.starts_with("ok")));
    // A spike whose per-user share would trip Styling's documented limit is refused, not
    // mistaken for a failure (5 requests/s per user; 20 % of 4 × 10/s is 8).
    let json = dir.path().join("refused.jsonl");
    let out = run(
        "spike",
        &[
            "--system",
            "styling-adventures",
            "--rate",
            "10",
            "--duration",
            "10s",
        ],
        &json,
    );
    assert_eq!(out.status.code(), Some(5), "{}", explain(&out));
    let refused = &finished(&json)[0];
    assert!(
        refused["outcome"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("per-user")),
        "{refused}"
    );
}

/// `(verdict, requests, p50, p95)` of the `energy-insights/slo` result of a report.
fn summary(json: &Path) -> (String, u64, f64, f64) {
    let e = finished(json)
        .into_iter()
        .find(|e| e["id"] == "energy-insights/slo")
        .unwrap();
    let route = evidence(&e, "route GET /api/conversations")
        .unwrap()
        .to_owned();
    // "<n> requests (...); p50/p95/p99 a/b/c ms corrected, ..."
    let requests: u64 = route.split_whitespace().next().unwrap().parse().unwrap();
    let pct = route
        .split("p50/p95/p99 ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .split('/')
        .map(|v| v.parse::<f64>().unwrap())
        .collect::<Vec<_>>();
    (status(&e).to_owned(), requests, pct[0], pct[1])
}

/// One run of `args` as three concurrent shard processes, merged.
fn sharded(dir: &Path, tag: &str, args: &[&str]) -> std::path::PathBuf {
    let shards = dir.join(format!("shards-{tag}"));
    let children: Vec<_> = (1..=3)
        .map(|i| {
            let shard = format!("{i}/3");
            let json = dir.join(format!("{tag}-shard-{i}.jsonl"));
            let mut a = args.to_vec();
            a.extend(["--shard", &shard, "--report", shards.to_str().unwrap()]);
            command("slo", &a, &json).spawn().unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a shard failed");
    }
    let merged = dir.join(format!("{tag}-merged.jsonl"));
    let out = run("merge", &[shards.to_str().unwrap()], &merged);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        explain(&out)
    );
    merged
}

#[test]
fn three_shards_merged_agree_with_one_run_of_the_same_load() {
    let _guard = lock();
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--system",
        "energy-insights",
        "--rate",
        "30",
        "--duration",
        "10s",
    ];

    // Healthy: both pass, with the same request count (±2 %) and close percentiles
    // (loopback answers in a few ms: within half or 5 ms).
    stack_with(&[]);
    let single = dir.path().join("single.jsonl");
    let out = run("slo", &args, &single);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let merged = sharded(dir.path(), "clean", &args);
    let (a, b) = (summary(&single), summary(&merged));
    assert_eq!((a.0.as_str(), b.0.as_str()), ("passed", "passed"));
    assert!(a.1.abs_diff(b.1) as f64 <= 0.02 * a.1 as f64, "{a:?} {b:?}");
    assert!(
        (a.2 - b.2).abs() <= (0.5 * a.2.max(b.2)).max(5.0),
        "{a:?} {b:?}"
    );

    // A tail the SLO cares about (one request in ten takes 5.5 s): both fail, and their
    // p95s — set by that tail — agree within 5 %.
    stack_with(&["slow-api"]);
    let single = dir.path().join("slow-single.jsonl");
    let out = run("slo", &args, &single);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let merged = sharded(dir.path(), "slow", &args);
    stack_with(&[]);
    let (a, b) = (summary(&single), summary(&merged));
    assert_eq!((a.0.as_str(), b.0.as_str()), ("failed", "failed"));
    assert!(a.3 > 5000.0 && b.3 > 5000.0, "{a:?} {b:?}");
    assert!((a.3 - b.3).abs() <= 0.05 * a.3, "{a:?} {b:?}");

    // A shard missing from the directory is an error naming it, not a verdict on part.
    let shards = dir.path().join("shards-slow");
    std::fs::remove_file(shards.join("slo-energy-insights-shard-2-of-3.json")).unwrap();
    let out = run(
        "merge",
        &[shards.to_str().unwrap()],
        &dir.path().join("x.jsonl"),
    );
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shard 2/3 missing"));
}

#[test]
fn throughput_arguments_are_checked_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("x.jsonl");
    for (args, says) in [
        (vec!["slo", "--shard", "4/3", "--report", "x"], "i/N"),
        (vec!["slo", "--rate=-3"], "positive"),
        (vec!["slo", "--duration", "2s"], "at least 5 s"),
        (
            vec!["rate-limit", "--rate", "10"],
            "rate-limit paces itself",
        ),
        (vec!["merge"], "DIR"),
    ] {
        let out = load()
            .args(&args)
            .arg("--json")
            .arg(&json)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", explain(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // The engine benchmark loads loopback addresses only.
    let out = load()
        .args(["engine-bench", "--url", "http://example.com/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only loads loopback"));
    // --shard needs --report (where the shard's metrics go).
    let out = load().args(["slo", "--shard", "1/3"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // An empty directory has nothing to merge.
    let out = load()
        .args(["merge", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no shard files"));
    // --list names a check per system with a load mix, without a stack.
    let out = load().args(["slo", "--list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("energy-insights/slo") && listed.contains("styling-adventures/slo"));
    // Launch manifests for three shards, written without running anything.
    let manifests = dir.path().join("manifests");
    let out = load()
        .args([
            "slo",
            "--env",
            "energy-insights-staging",
            "--rate",
            "300",
            "--shards",
            "3",
        ])
        .arg("--manifests")
        .arg(&manifests)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    for i in 1..=3 {
        let task: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(manifests.join(format!("ecs-run-task-{i}-of-3.json")))
                .unwrap(),
        )
        .unwrap();
        let command = task["overrides"]["containerOverrides"][0]["command"].to_string();
        assert!(command.contains(&format!("\"{i}/3\"")), "{command}");
    }
    let job = std::fs::read_to_string(manifests.join("k8s-indexed-job.yaml")).unwrap();
    assert!(
        job.contains("completionMode: Indexed") && job.contains("--env energy-insights-staging")
    );
    // Prod: refused without the override (5); a system with no load mix: nothing selected (4).
    let out = load()
        .args(["slo", "--env", "styling-adventures-prod"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", explain(&out));
    let out = load()
        .args(["slo", "--env", "plot-palette-prod"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", explain(&out));
}
