//! Prometheus and Alertmanager as the Sergas Monitoring Guide describes them, read through
//! their HTTP APIs (the profile's `metrics = { kind = "prometheus", url, alertmanager-url }`):
//! the application's scrape targets are up, its custom metric families are exposed and
//! stored, the alert rules load and evaluate without error and none fires on a healthy
//! system, and a test alert is routed to the on-call receiver and delivered.

use std::collections::BTreeSet;
use std::time::Duration;

use cucumber::then;
use serde_json::{Value, json};
use shakedown_core::profile::MetricSource;
use tokio::time::Instant;

use crate::result::{StepError, StepResult, ensure};
use crate::steps::metrics::prometheus_sum;
use crate::world::AcceptWorld;

/// Longest to wait for a fresh scrape or a rule evaluation that follows one (locally the
/// scrape and evaluation intervals are 2 s; a production Prometheus may use 15-30 s).
const SETTLE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(500);
/// Prefixes of the families client libraries and runtimes export by themselves.
const RUNTIME_PREFIXES: [&str; 6] = [
    "process_",
    "python_",
    "go_",
    "promhttp_",
    "runtime_",
    "jvm_",
];

/// The profile's Prometheus and Alertmanager URLs.
pub fn urls(world: &AcceptWorld) -> Result<(String, Option<String>), StepError> {
    match &world.target()?.profile.metrics {
        MetricSource::Prometheus {
            url,
            alertmanager_url,
        } => Ok((
            url.trim_end_matches('/').to_owned(),
            alertmanager_url
                .as_deref()
                .map(|u| u.trim_end_matches('/').to_owned()),
        )),
        MetricSource::Cloudwatch => Err(StepError::Usage(format!(
            "the profile's system {} reads metrics from CloudWatch; this step needs \
             `metrics = {{ kind = \"prometheus\", url = ... }}`",
            world.system
        ))),
    }
}

/// `GET url` → JSON, or an infrastructure error.
async fn get_json(world: &AcceptWorld, url: &str) -> Result<Value, StepError> {
    let ex = world
        .target()?
        .get(url, None)
        .await
        .map_err(|e| StepError::Infra(e.to_string()))?;
    if !ex.status.is_success() {
        return Err(StepError::Infra(format!(
            "GET {url} answered {}: {}",
            ex.status.as_u16(),
            ex.body.chars().take(300).collect::<String>()
        )));
    }
    serde_json::from_str(&ex.body)
        .map_err(|e| StepError::Infra(format!("GET {url}: not JSON ({e})")))
}

/// Prometheus' active scrape targets (`/api/v1/targets?state=active`).
async fn active_targets(world: &AcceptWorld, prom: &str) -> Result<Vec<Value>, StepError> {
    let body = get_json(world, &format!("{prom}/api/v1/targets?state=active")).await?;
    Ok(body["data"]["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// Prometheus' `/api/v1/query` for `query`: the result vector.
async fn instant(world: &AcceptWorld, prom: &str, query: &str) -> Result<Vec<Value>, StepError> {
    let url = reqwest::Url::parse_with_params(&format!("{prom}/api/v1/query"), [("query", query)])
        .map_err(|e| StepError::Infra(format!("query URL: {e}")))?;
    let body = get_json(world, url.as_str()).await?;
    if body["status"] != "success" {
        return Err(StepError::Infra(format!("query {query}: {body}")));
    }
    Ok(body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// `Then Prometheus scrapes the job "sergas-api" and every one of its targets is up`
#[then(regex = r#"^Prometheus scrapes the job "([^"]+)" and every one of its targets is up$"#)]
async fn targets_up(world: &mut AcceptWorld, job: String) -> StepResult {
    let (prom, _) = urls(world)?;
    let deadline = Instant::now() + SETTLE;
    let targets = loop {
        let targets: Vec<Value> = active_targets(world, &prom)
            .await?
            .into_iter()
            .filter(|t| t["labels"]["job"] == job.as_str())
            .collect();
        // Judge a scrape made during the scenario, not one from before a change.
        let settled = !targets.is_empty()
            && targets
                .iter()
                .all(|t| t["health"] != "unknown" && millis(&t["lastScrape"]) >= world.started_ms);
        if settled || Instant::now() > deadline {
            break targets;
        }
        tokio::time::sleep(POLL).await;
    };
    ensure(
        !targets.is_empty(),
        format!("Prometheus has scrape targets of the job {job}"),
        "none among its active targets",
    )?;
    let down: Vec<String> = targets
        .iter()
        .filter(|t| t["health"] != "up")
        .map(|t| {
            format!(
                "{} is {} ({})",
                t["scrapeUrl"].as_str().unwrap_or("?"),
                t["health"].as_str().unwrap_or("?"),
                t["lastError"].as_str().unwrap_or("")
            )
        })
        .collect();
    ensure(
        down.is_empty(),
        format!("every target of the job {job} up"),
        down.join("; "),
    )?;
    let up = instant(world, &prom, &format!("up{{job=\"{job}\"}}")).await?;
    let zero: Vec<String> = up
        .iter()
        .filter(|s| s["value"][1] != "1")
        .map(|s| format!("{} = {}", s["metric"]["instance"], s["value"][1]))
        .collect();
    ensure(
        !up.is_empty() && zero.is_empty(),
        format!("up{{job=\"{job}\"}} == 1 for every instance"),
        if up.is_empty() {
            "no series".to_owned()
        } else {
            zero.join(", ")
        },
    )
}

/// An RFC 3339 timestamp of Prometheus' API as Unix milliseconds (`i64::MIN` if absent).
fn millis(value: &Value) -> i64 {
    value
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map_or(i64::MIN, |t| t.timestamp_millis())
}

/// Family names of a Prometheus text exposition: `# TYPE` lines, and the names of samples
/// no `# TYPE` line announced (untyped).
pub fn exposition_families(text: &str) -> BTreeSet<String> {
    let mut families: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    let typed = families.clone();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        let known = typed.iter().any(|f| {
            name == f
                || name.strip_prefix(f.as_str()).is_some_and(|rest| {
                    ["_bucket", "_sum", "_count", "_total", "_created"].contains(&rest)
                })
        });
        if !known && !name.is_empty() {
            families.insert(name.to_owned());
        }
    }
    families
}

/// Whether Prometheus' series names hold a series of `family`.
fn stored(names: &BTreeSet<String>, family: &str) -> bool {
    ["", "_bucket", "_sum", "_count", "_total", "_created"]
        .iter()
        .any(|suffix| names.contains(&format!("{family}{suffix}")))
}

/// `Then the application's "/metrics" exposes at least 30 metric families besides the
/// runtime's, and Prometheus holds series of each under the job "sergas-api"`
#[then(
    regex = r#"^the application's "([^"]+)" exposes at least (\d+) metric families besides the runtime's, and Prometheus holds series of each under the job "([^"]+)"$"#
)]
async fn families_exposed(
    world: &mut AcceptWorld,
    path: String,
    min: usize,
    job: String,
) -> StepResult {
    let (prom, _) = urls(world)?;
    let ex = world
        .target()?
        .get(&path, None)
        .await
        .map_err(|e| StepError::Infra(e.to_string()))?;
    ensure(
        ex.status.is_success(),
        format!("GET {path} answers 200"),
        ex.status.as_u16().to_string(),
    )?;
    let families: Vec<String> = exposition_families(&ex.body)
        .into_iter()
        .filter(|f| !RUNTIME_PREFIXES.iter().any(|p| f.starts_with(p)))
        .collect();
    ensure(
        families.len() >= min,
        format!("at least {min} application metric families at {path}"),
        format!("{}: {}", families.len(), families.join(", ")),
    )?;
    let deadline = Instant::now() + SETTLE;
    let missing = loop {
        let series = instant(
            world,
            &prom,
            &format!("count by (__name__) ({{job=\"{job}\"}})"),
        )
        .await?;
        let names: BTreeSet<String> = series
            .iter()
            .filter_map(|s| s["metric"]["__name__"].as_str().map(str::to_owned))
            .collect();
        let missing: Vec<&String> = families.iter().filter(|f| !stored(&names, f)).collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing.into_iter().cloned().collect::<Vec<_>>();
        }
        tokio::time::sleep(POLL).await;
    };
    ensure(
        missing.is_empty(),
        format!("Prometheus holds series of every family under the job {job}"),
        format!("none of {}", missing.join(", ")),
    )
}

/// `Then Prometheus has loaded the alert rule groups "a, b", every rule evaluates without
/// error and none is firing`
#[then(
    regex = r#"^Prometheus has loaded the alert rule groups "([^"]+)", every rule evaluates without error and none is firing$"#
)]
async fn rules_healthy(world: &mut AcceptWorld, groups: String) -> StepResult {
    let (prom, _) = urls(world)?;
    let wanted = world.render_list(&groups)?;
    // Judge evaluations made on scraped data: after the targets' latest scrape as the step
    // starts (rules evaluated before a first scrape see no series and are trivially "ok").
    let deadline = Instant::now() + SETTLE;
    let scraped = loop {
        let times: Vec<i64> = active_targets(world, &prom)
            .await?
            .iter()
            .map(|t| millis(&t["lastScrape"]))
            .collect();
        // A target never scraped reports year 1 (or nothing).
        let all_scraped = !times.is_empty() && times.iter().all(|t| *t > 0);
        if all_scraped || Instant::now() > deadline {
            break times.into_iter().max().unwrap_or(0).max(world.started_ms);
        }
        tokio::time::sleep(POLL).await;
    };
    let deadline = Instant::now() + SETTLE;
    let loaded = loop {
        let body = get_json(world, &format!("{prom}/api/v1/rules?type=alert")).await?;
        let loaded: Vec<Value> = body["data"]["groups"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let evaluated = loaded
            .iter()
            .all(|g| millis(&g["lastEvaluation"]) > scraped);
        if evaluated || Instant::now() > deadline {
            break loaded;
        }
        tokio::time::sleep(POLL).await;
    };
    let names: Vec<&str> = loaded.iter().filter_map(|g| g["name"].as_str()).collect();
    let absent: Vec<&String> = wanted
        .iter()
        .filter(|w| !names.contains(&w.as_str()))
        .collect();
    ensure(
        absent.is_empty(),
        format!("the rule groups {}", wanted.join(", ")),
        format!("loaded: {}", names.join(", ")),
    )?;
    let mut broken = Vec::new();
    let mut firing = Vec::new();
    for group in loaded.iter().filter(|g| {
        g["name"]
            .as_str()
            .is_some_and(|n| wanted.iter().any(|w| w == n))
    }) {
        let rules = group["rules"].as_array().cloned().unwrap_or_default();
        ensure(
            !rules.is_empty(),
            format!("alert rules in the group {}", group["name"]),
            "an empty group",
        )?;
        for rule in rules {
            let name = rule["name"].as_str().unwrap_or("?").to_owned();
            if rule["health"] != "ok" {
                broken.push(format!(
                    "{name}: {} {}",
                    rule["health"].as_str().unwrap_or("?"),
                    rule["lastError"].as_str().unwrap_or("")
                ));
            }
            if rule["state"] == "firing" {
                firing.push(name);
            }
        }
    }
    ensure(
        broken.is_empty(),
        "every alert rule evaluates without error (health ok)",
        broken.join("; "),
    )?;
    ensure(
        firing.is_empty(),
        "no alert firing on a healthy system",
        format!("firing: {}", firing.join(", ")),
    )
}

/// Successful and failed notification requests so far (Alertmanager's own counters).
async fn notification_requests(world: &AcceptWorld, am: &str) -> Result<(f64, f64), StepError> {
    let ex = world
        .target()?
        .get(&format!("{am}/metrics"), None)
        .await
        .map_err(|e| StepError::Infra(e.to_string()))?;
    let total = prometheus_sum(&ex.body, "alertmanager_notification_requests_total").unwrap_or(0.0);
    let failed =
        prometheus_sum(&ex.body, "alertmanager_notification_requests_failed_total").unwrap_or(0.0);
    Ok((total - failed, failed))
}

/// `POST /api/v2/alerts` with one alert (resolved at once when `ends` is now).
async fn post_alert(world: &AcceptWorld, am: &str, alert: &Value) -> Result<(), StepError> {
    let target = world.target()?;
    let ex = target
        .send(
            target
                .http()
                .post(format!("{am}/api/v2/alerts"))
                .json(&json!([alert])),
        )
        .await
        .map_err(|e| StepError::Infra(e.to_string()))?;
    if !ex.status.is_success() {
        return Err(StepError::Infra(format!(
            "POST {am}/api/v2/alerts answered {}: {}",
            ex.status.as_u16(),
            ex.body
        )));
    }
    Ok(())
}

/// `Then a test alert sent to Alertmanager is routed to the receiver "R" and delivered
/// within N s`. The alert carries a run id and ends by itself after five minutes; it is
/// resolved as soon as the step is done, pass or fail.
#[then(
    regex = r#"^a test alert sent to Alertmanager is routed to the receiver "([^"]+)" and delivered within (\d+) s$"#
)]
async fn test_alert_routed(world: &mut AcceptWorld, receiver: String, seconds: u64) -> StepResult {
    let (_, am) = urls(world)?;
    let am = am.ok_or_else(|| {
        StepError::Usage(format!(
            "the profile's metrics for {} name no `alertmanager-url`",
            world.system
        ))
    })?;
    let receivers = get_json(world, &format!("{am}/api/v2/receivers")).await?;
    let names: Vec<&str> = receivers
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    ensure(
        names.contains(&receiver.as_str()),
        format!("Alertmanager has the receiver {receiver}"),
        format!("receivers: {}", names.join(", ")),
    )?;
    let run = uuid::Uuid::new_v4().to_string();
    let now = chrono::Utc::now();
    let mut alert = json!({
        "labels": {
            "alertname": "ShakedownTestAlert",
            "service": world.system,
            "severity": "critical",
            "shakedown_run": run,
        },
        "annotations": { "summary": "shakedown acceptance test alert: routing check, no action needed" },
        "startsAt": now.to_rfc3339(),
        "endsAt": (now + chrono::Duration::minutes(5)).to_rfc3339(),
    });
    let (delivered_before, _) = notification_requests(world, &am).await?;
    post_alert(world, &am, &alert).await?;
    let outcome =
        routed_and_delivered(world, &am, &run, &receiver, delivered_before, seconds).await;
    alert["endsAt"] = json!(chrono::Utc::now().to_rfc3339());
    if let Err(e) = post_alert(world, &am, &alert).await {
        tracing::warn!(error = %e, "could not resolve the test alert; it ends by itself in 5 minutes");
    }
    outcome
}

async fn routed_and_delivered(
    world: &AcceptWorld,
    am: &str,
    run: &str,
    receiver: &str,
    delivered_before: f64,
    seconds: u64,
) -> StepResult {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let filter = format!("shakedown_run=\"{run}\"");
    let url = reqwest::Url::parse_with_params(
        &format!("{am}/api/v2/alerts"),
        [("filter", filter.as_str())],
    )
    .map_err(|e| StepError::Infra(format!("alerts URL: {e}")))?;
    let routed_to = loop {
        let alerts = get_json(world, url.as_str()).await?;
        let routed: Vec<String> = alerts
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|a| a["receivers"].as_array().cloned().unwrap_or_default())
            .filter_map(|r| r["name"].as_str().map(str::to_owned))
            .collect();
        if !routed.is_empty() || Instant::now() > deadline {
            break routed;
        }
        tokio::time::sleep(POLL).await;
    };
    ensure(
        routed_to.iter().any(|r| r == receiver),
        format!("the test alert routed to {receiver}"),
        if routed_to.is_empty() {
            "the alert is not in Alertmanager".to_owned()
        } else {
            format!("routed to {}", routed_to.join(", "))
        },
    )?;
    let (delivered, failed) = loop {
        let (delivered, failed) = notification_requests(world, am).await?;
        if delivered > delivered_before || Instant::now() > deadline {
            break (delivered, failed);
        }
        tokio::time::sleep(POLL).await;
    };
    ensure(
        delivered > delivered_before,
        format!("a notification delivered by Alertmanager within {seconds} s"),
        format!(
            "no successful notification request ({failed} failed so far, per alertmanager_notification_requests_failed_total)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_of_an_exposition() {
        let text = "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\nuntyped_thing 3\n";
        let f = exposition_families(text);
        assert_eq!(
            f.into_iter().collect::<Vec<_>>(),
            ["a_total", "h", "untyped_thing"]
        );
    }

    #[test]
    fn stored_matches_histogram_and_counter_series() {
        let names: BTreeSet<String> = ["h_bucket", "c_total", "g"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert!(stored(&names, "h"));
        assert!(stored(&names, "c"));
        assert!(stored(&names, "g"));
        assert!(!stored(&names, "x"));
    }
}
