//! One rate-limit run on goose: the throttled user and its neighbour as goose scenarios,
//! paced by an open-model [`Pacer`], bounded by goose's run time; then the recovery
//! request once the last refusal's Retry-After has passed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use goose::config::GooseConfiguration;
use goose::prelude::*;

use crate::measure::{Sample, Who, retry_after_valid};
use crate::pacing::Pacer;
use crate::users::{Request, Shared, neighbour, throttled};

/// What one run sends, how fast and for how long.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub request: Request,
    pub neighbour: Option<Request>,
    /// The documented refusal status.
    pub refusal: u16,
    /// The throttled user's arrival rate.
    pub rate_per_s: f64,
    /// How long the throttled user sends.
    pub duration: Duration,
    /// The longest wait for the recovery request (a Retry-After beyond it fails recovery).
    pub max_recovery_wait: Duration,
    /// goose's HTML report, when asked for.
    pub report: Option<PathBuf>,
    /// The per-request timeout (goose's requests).
    pub timeout: Duration,
    /// The target's own client (core's: its timeouts, no redirects), for the recovery
    /// request sent outside goose.
    pub client: reqwest::Client,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub samples: Vec<Sample>,
    /// The pacer's spacing (the refill measurement's resolution).
    pub spacing: Duration,
    /// Slots sent later than one spacing past their time.
    pub late: u64,
    /// goose's own count of requests.
    pub goose_requests: usize,
}

/// Run `plan` against `host` (the target's base URL; requests carry full URLs).
pub async fn run(host: &str, plan: RunPlan) -> Result<RunResult, String> {
    let pacer = Pacer::new(plan.rate_per_s, plan.duration);
    let spacing = pacer.interval();
    let shared = Arc::new(Shared::new(
        plan.request.clone(),
        plan.neighbour.clone(),
        plan.refusal,
        pacer,
    ));
    // goose counts whole seconds; the pacer stops the sending on time, goose a moment later.
    let run_time = format!("{}s", plan.duration.as_secs() + 1);
    let timeout = plan.timeout.as_secs().max(1).to_string();
    let users = if plan.neighbour.is_some() { "2" } else { "1" };
    let mut args: Vec<String> = [
        "--host",
        host,
        "--users",
        users,
        "--increase-rate",
        "100",
        "--run-time",
        &run_time,
        "--timeout",
        &timeout,
        "--co-mitigation",
        "disabled",
        "--no-print-metrics",
        "--no-error-summary",
        // No telnet/WebSocket controller: nothing listens but the target.
        "--no-telnet",
        "--no-websocket",
        "--quiet",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if let Some(report) = &plan.report {
        args.push("--report-file".to_owned());
        args.push(report.display().to_string());
    }
    let config = GooseConfiguration::parse_args_default(&args)
        .map_err(|e| format!("goose configuration: {e}"))?;
    let mut attack = GooseAttack::initialize_with_config(config)
        .map_err(|e| format!("goose: {e}"))?
        .register_scenario(throttled::scenario(Arc::clone(&shared)));
    if plan.neighbour.is_some() {
        attack = attack.register_scenario(neighbour::scenario(Arc::clone(&shared)));
    }
    let metrics = attack
        .execute()
        .await
        .map_err(|e| format!("goose run: {e}"))?;
    let goose_requests = metrics
        .requests
        .values()
        .map(|r| r.success_count + r.fail_count)
        .sum();
    let late = shared.pacer.late();
    let mut samples = shared.samples();

    // Recovery: wait out the last refusal's Retry-After (bounded), then ask once more.
    let last_refusal = samples
        .iter()
        .filter(|s| s.who == Who::Throttled && s.status == plan.refusal)
        .max_by_key(|s| s.at)
        .cloned();
    if let Some(refusal) = last_refusal {
        let wait = refusal
            .retry_after
            .as_deref()
            .filter(|v| retry_after_valid(v))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(Duration::from_secs(1), Duration::from_secs);
        if wait <= plan.max_recovery_wait {
            let since = shared.pacer.elapsed().saturating_sub(refusal.at);
            tokio::time::sleep(wait.saturating_sub(since) + Duration::from_millis(100)).await;
            samples.push(recovery(&plan, shared.pacer.elapsed()).await);
        } else {
            samples.push(Sample {
                who: Who::Recovery,
                at: shared.pacer.elapsed(),
                status: 0,
                retry_after: refusal.retry_after.clone(),
                code: Some(format!(
                    "not tried: Retry-After {} s is past the {} s bound",
                    wait.as_secs(),
                    plan.max_recovery_wait.as_secs()
                )),
            });
        }
    }
    Ok(RunResult {
        samples,
        spacing,
        late,
        goose_requests,
    })
}

/// One request of the throttled identity, outside goose.
async fn recovery(plan: &RunPlan, at: Duration) -> Sample {
    let method = match plan.request.method {
        GooseMethod::Post => reqwest::Method::POST,
        GooseMethod::Put => reqwest::Method::PUT,
        GooseMethod::Patch => reqwest::Method::PATCH,
        GooseMethod::Delete => reqwest::Method::DELETE,
        GooseMethod::Head => reqwest::Method::HEAD,
        _ => reqwest::Method::GET,
    };
    let mut req = plan.client.request(method, &plan.request.url);
    for (k, v) in &plan.request.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if let Some(body) = &plan.request.body {
        req = req
            .header("content-type", "application/json")
            .body(body.clone());
    }
    let (status, retry_after) = match req.send().await {
        Ok(r) => (
            r.status().as_u16(),
            r.headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        ),
        Err(_) => (0, None),
    };
    Sample {
        who: Who::Recovery,
        at,
        status,
        retry_after,
        code: None,
    }
}
