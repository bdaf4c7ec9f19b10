//! goose runs, assembled from the users in [`crate::users`]. A rate-limit run: the throttled user and its neighbour as goose scenarios,
//! paced by an open-model [`Pacer`], bounded by goose's run time; then the recovery
//! request once the last refusal's Retry-After has passed. A throughput run ([`visit`]):
//! many visitors sharing one staged pacer, recording mergeable metrics.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use goose::config::GooseConfiguration;
use goose::prelude::*;

use crate::measure::{Sample, Who, retry_after_valid};
use crate::metrics::Metrics;
use crate::pacing::{Pacer, Stage};
use crate::users::streamer::{self, Stream, Streamers};
use crate::users::visitor::{self, Mix, Visitors};
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
    let users = if plan.neighbour.is_some() { 2 } else { 1 };
    // goose counts whole seconds; the pacer stops the sending on time, goose a moment later.
    let config = goose_config(
        host,
        users,
        Bound::RunTime(plan.duration + Duration::from_secs(1)),
        plan.timeout,
        plan.report.as_deref(),
    )?;
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

/// What ends a goose run.
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    /// goose stops every user after this long.
    RunTime(Duration),
    /// Each user runs its transaction this many times (each bounded by the pacer's
    /// schedule and the request timeout), and the run ends when all have: no idle tail.
    Iterations(usize),
}

/// Iterations enough for `users` users to take all `planned` slots of a shared pacer,
/// with room for the uneven share a slow answer causes (twice the even share, plus one).
pub fn iterations_for(planned: u64, users: usize) -> usize {
    let users = users.max(1) as u64;
    usize::try_from(planned.div_ceil(users) * 2 + 1).unwrap_or(usize::MAX)
}

/// goose's configuration for a paced run of `users` users: all started within a second
/// (the pacer, not goose's hatch rate, shapes the load), no metrics printed, no telnet
/// controller (nothing listens but the target; goose's WebSocket one is off by default).
fn goose_config(
    host: &str,
    users: usize,
    bound: Bound,
    timeout: Duration,
    report: Option<&std::path::Path>,
) -> Result<GooseConfiguration, String> {
    let mut args: Vec<String> = vec![
        "--host".into(),
        host.into(),
        "--users".into(),
        users.max(1).to_string(),
        "--increase-rate".into(),
        users.max(100).to_string(),
        "--timeout".into(),
        timeout.as_secs().max(1).to_string(),
        // The pacer's intended send times are this engine's coordinated-omission
        // correction (see `crate::metrics`); goose's own estimates a closed model's.
        "--co-mitigation".into(),
        "disabled".into(),
        "--no-print-metrics".into(),
        "--no-error-summary".into(),
        "--no-telnet".into(),
        "--quiet".into(),
    ];
    match bound {
        Bound::RunTime(t) => {
            args.push("--run-time".into());
            args.push(format!("{}s", t.as_secs_f64().ceil().max(1.0)));
        }
        Bound::Iterations(n) => {
            args.push("--iterations".into());
            args.push(n.max(1).to_string());
        }
    }
    if let Some(report) = report {
        args.push("--report-file".to_owned());
        args.push(report.display().to_string());
    }
    GooseConfiguration::parse_args_default(&args).map_err(|e| format!("goose configuration: {e}"))
}

/// What a throughput run sends: the mix, the schedule, how many goose users share it.
#[derive(Debug, Clone)]
pub struct VisitPlan {
    pub mix: Mix,
    pub stages: Vec<Stage>,
    /// goose users sharing the pacer: enough that `rate × latency` never exhausts them.
    pub users: usize,
    pub timeout: Duration,
    pub report: Option<PathBuf>,
}

/// Run `plan` on goose and return what its visitors recorded.
pub async fn visit(host: &str, plan: VisitPlan) -> Result<Metrics, String> {
    let pacer = Pacer::with_stages(plan.stages.clone());
    let bound = Bound::Iterations(iterations_for(pacer.planned() + 1, plan.users));
    let shared = Arc::new(Visitors::new(plan.mix.clone(), pacer));
    let config = goose_config(
        host,
        plan.users,
        bound,
        plan.timeout,
        plan.report.as_deref(),
    )?;
    GooseAttack::initialize_with_config(config)
        .map_err(|e| format!("goose: {e}"))?
        .register_scenario(visitor::scenario(Arc::clone(&shared)))
        .execute()
        .await
        .map_err(|e| format!("goose run: {e}"))?;
    Ok(shared.metrics())
}

/// Open `planned` event streams on the `stages` schedule, `users` goose users sharing the
/// pacer, each stream read to its end or `deadline`; returns every stream.
pub async fn stream(
    host: &str,
    stages: Vec<Stage>,
    users: usize,
    request: Box<dyn Fn(u64) -> Request + Send + Sync>,
    deadline: Duration,
    report: Option<PathBuf>,
) -> Result<Vec<Stream>, String> {
    let pacer = Pacer::with_stages(stages);
    let bound = Bound::Iterations(iterations_for(pacer.planned() + 1, users));
    let shared = Arc::new(Streamers::new(pacer, request, deadline));
    let config = goose_config(host, users, bound, deadline, report.as_deref())?;
    GooseAttack::initialize_with_config(config)
        .map_err(|e| format!("goose: {e}"))?
        .register_scenario(streamer::scenario(Arc::clone(&shared)))
        .execute()
        .await
        .map_err(|e| format!("goose run: {e}"))?;
    Ok(shared.streams())
}

/// The engine flat out, for `cargo xtask bench load` (a benchmark, not a profile):
/// `users` goose users, a closed model without pacing, each sending `GET url` and reading
/// the answer, for `duration`. Returns the requests answered 2xx.
pub async fn saturate(url: &str, users: usize, duration: Duration) -> Result<u64, String> {
    let ok = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let request = Arc::new(Request {
        method: GooseMethod::Get,
        url: url.to_owned(),
        headers: Vec::new(),
        body: None,
    });
    let (count, req) = (Arc::clone(&ok), Arc::clone(&request));
    let hit: TransactionFunction = Arc::new(move |user| {
        let (count, req) = (Arc::clone(&count), Arc::clone(&req));
        Box::pin(async move {
            let goose = user.request(req.goose(user, "bench", |b| b)?).await?;
            if let Ok(response) = goose.response
                && response.status().is_success()
                && response.bytes().await.is_ok()
            {
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(())
        })
    });
    let config = goose_config(
        url,
        users,
        Bound::RunTime(duration),
        Duration::from_secs(10),
        None,
    )?;
    GooseAttack::initialize_with_config(config)
        .map_err(|e| format!("goose: {e}"))?
        .register_scenario(Scenario::new("bench").register_transaction(Transaction::new(hit)))
        .execute()
        .await
        .map_err(|e| format!("goose run: {e}"))?;
    Ok(ok.load(std::sync::atomic::Ordering::Relaxed))
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
