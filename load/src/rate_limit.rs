//! The `rate-limit` profile: one check per documented limit of every system in the
//! profile (`[[rate-limits]]` in the runbook facts). Each runs the throttled user above
//! the limit and its neighbour on goose, then judges burst, refill, refusal shape,
//! isolation and recovery against the documented numbers (see [`crate::measure`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use goose::goose::GooseMethod;
use shakedown_core::check::{Check, fail_with, infra, pass_with};
use shakedown_core::event::{Evidence, Outcome};
use shakedown_core::runbook::{RateLimit, RunbookFacts, RunbookRef};
use shakedown_core::target::{Target, Targets, TokenErrorKind};
use shakedown_core::tier::{Effect, LoadBudget};

use crate::engine::{RunPlan, run};
use crate::measure::{Tolerance, judge};
use crate::users::Request;

/// What every rate-limit check shares.
#[derive(Debug)]
pub struct Ctx {
    pub targets: Targets,
    pub facts: BTreeMap<String, RunbookFacts>,
    pub tolerance: Tolerance,
    /// Where goose's HTML reports go, when asked for.
    pub report_dir: Option<PathBuf>,
    /// The tier's load cap.
    pub budget: LoadBudget,
    /// `vars` of each system (the tenant of per-tenant limits).
    pub vars: BTreeMap<String, BTreeMap<String, String>>,
}

/// At least this many refilled tokens are measured once throttled.
const REFILLED_TOKENS: f64 = 4.0;
/// The bucket is emptied in about this long.
const EXHAUST_IN: Duration = Duration::from_secs(3);
/// Per-request timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How fast and how long to send to measure `limit`: fast enough to empty the bucket in
/// about [`EXHAUST_IN`] and to sample the refill at least ten times a token; long enough to
/// see [`REFILLED_TOKENS`] tokens come back after that.
pub fn pace(limit: &RateLimit) -> (f64, Duration) {
    let refill = limit.rate_per_s();
    let rate = (f64::from(limit.capacity()) / EXHAUST_IN.as_secs_f64())
        .max(10.0 * refill)
        .max(10.0);
    let exhaust = f64::from(limit.capacity()) / (rate - refill).max(f64::EPSILON);
    let secs = (exhaust + REFILLED_TOKENS / refill + 1.0).ceil().max(5.0);
    (rate, Duration::from_secs_f64(secs))
}

/// The checks for every limit of every system in `facts`.
pub fn checks(facts: &BTreeMap<String, RunbookFacts>) -> Vec<Check<Ctx>> {
    let mut out = Vec::new();
    for (system, f) in facts {
        for limit in &f.rate_limits {
            let (_, duration) = pace(limit);
            let effect = match limit.measured_request() {
                Ok((method, _)) if !matches!(method.as_str(), "GET" | "HEAD") => Effect::Mutate,
                _ => Effect::Read,
            };
            let title = format!(
                "{} {} per {}{}, then {}{}",
                limit.name,
                limit.limit,
                humantime::format_duration(limit.window),
                limit
                    .burst
                    .map(|b| format!(" (burst {b})"))
                    .unwrap_or_default(),
                limit.status,
                limit
                    .code
                    .as_ref()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default()
            );
            let (system, limit) = (system.clone(), limit.clone());
            let runbook = RunbookRef {
                seed: f.seed.clone(),
                section: limit.section.clone(),
            };
            out.push(
                Check::new(
                    format!("{system}/rate-limit/{}", limit.name),
                    title,
                    system.clone(),
                    runbook,
                    effect,
                    move |ctx: Arc<Ctx>| {
                        let (system, limit) = (system.clone(), limit.clone());
                        async move { measure(&ctx, &system, &limit).await }
                    },
                )
                .with_timeout(duration + Duration::from_secs(90)),
            );
        }
    }
    out
}

pub(crate) fn goose_method(method: &str) -> Result<GooseMethod, String> {
    Ok(match method {
        "GET" => GooseMethod::Get,
        "POST" => GooseMethod::Post,
        "PUT" => GooseMethod::Put,
        "PATCH" => GooseMethod::Patch,
        "DELETE" => GooseMethod::Delete,
        "HEAD" => GooseMethod::Head,
        other => return Err(format!("unsupported method {other}")),
    })
}

/// The neighbour's tenant: the profile's tenant with a suffix.
fn neighbour_tenant(tenant: &str) -> String {
    format!("{tenant}-neighbour")
}

async fn measure(ctx: &Ctx, system: &str, limit: &RateLimit) -> Outcome {
    if limit.per == "ip" {
        return Outcome::Skipped {
            reason: format!(
                "a per-IP limit ({} per {}) is enforced in front of the API (WAF); this run's one address would only measure this host's share — its rule is checked by the acceptance suite",
                limit.limit,
                humantime::format_duration(limit.window)
            ),
        };
    }
    let Some(target) = ctx.targets.get(system) else {
        return infra(format!("the profile has no target for {system}"));
    };
    let (rate, duration) = pace(limit);
    if let Err(over) = ctx.budget.admits(2, rate, duration) {
        return Outcome::Refused {
            reason: format!(
                "measuring {} needs {rate:.1} requests/s for {} s: {over}",
                limit.name,
                duration.as_secs()
            ),
        };
    }
    let plan = match plan(ctx, target, system, limit, rate, duration).await {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    let base = target.base_url.clone();
    let result = match run(&base, plan).await {
        Ok(r) => r,
        Err(e) => return infra(format!("{system} rate limit {}: {e}", limit.name)),
    };
    let unanswered = result.samples.iter().filter(|s| s.status == 0).count();
    if !result.samples.is_empty() && unanswered == result.samples.len() {
        return infra(format!(
            "{base} answered none of {} requests (unreachable)",
            result.samples.len()
        ));
    }
    let mut m = judge(limit, &result.samples, result.spacing, ctx.tolerance);
    m.require(
        "isolation",
        &format!(
            "another {} is served while this one is throttled",
            limit.per
        ),
    );
    m.require("recovery", "served again once the Retry-After has passed");
    let mut evidence: Vec<Evidence> = m
        .verdicts
        .iter()
        .map(|v| {
            Evidence::new(
                v.what,
                format!(
                    "{} — expected {}; observed {}",
                    if v.passed { "ok" } else { "FAILED" },
                    v.expected,
                    v.observed
                ),
            )
        })
        .collect();
    evidence.push(Evidence::new(
        "load",
        format!(
            "{} requests at {rate:.1}/s for {} s ({} by goose, {} late), neighbour {}",
            m.sent,
            duration.as_secs(),
            result.goose_requests,
            result.late,
            if limit.per == "tenant" {
                "another tenant"
            } else {
                "another identity"
            }
        ),
    ));
    let summary = format!(
        "burst {} (documented {}), refill {} (documented {:.1}/min)",
        m.burst.map_or("–".to_owned(), |b| format!("{b:.1}")),
        limit.capacity(),
        m.refill_per_min
            .map_or("–".to_owned(), |r| format!("{r:.1}/min")),
        limit.rate_per_s() * 60.0
    );
    if m.passed() {
        pass_with(
            format!(
                "{summary}; {} refusals with Retry-After; neighbour served; recovered",
                limit.status
            ),
            evidence,
        )
    } else {
        let failed: Vec<String> = m
            .verdicts
            .iter()
            .filter(|v| !v.passed)
            .map(|v| format!("{}: {}", v.what, v.observed))
            .collect();
        if m.verdicts.iter().any(|v| v.what == "burst" && !v.passed) {
            evidence.push(Evidence::new(
                "note",
                format!(
                    "a bucket spent by an earlier run measures low until it refills: {:.0} s after it for this limit",
                    f64::from(limit.capacity()) / limit.rate_per_s()
                ),
            ));
        }
        fail_with(
            format!(
                "{} per {}{} then {} with Retry-After, per {} — {}",
                limit.limit,
                humantime::format_duration(limit.window),
                limit
                    .burst
                    .map(|b| format!(", burst {b}"))
                    .unwrap_or_default(),
                limit.status,
                limit.per,
                limit.section
            ),
            failed.join("; "),
            evidence,
        )
    }
}

/// The requests of the throttled identity and its neighbour.
async fn plan(
    ctx: &Ctx,
    target: &Target,
    system: &str,
    limit: &RateLimit,
    rate: f64,
    duration: Duration,
) -> Result<RunPlan, Outcome> {
    let (method, mut path) = limit
        .measured_request()
        .map_err(|e| infra(format!("{system}: {e}")))?;
    let method = goose_method(&method).map_err(|e| infra(format!("{system}: {e}")))?;
    let token = target.token().await.map_err(|e| match e.kind {
        TokenErrorKind::Unreachable => infra(e.message.clone()),
        _ => fail_with(
            "the test identity signs in",
            e.message.clone(),
            vec![Evidence::new("auth", e.message)],
        ),
    })?;
    let bearer = ("authorization".to_owned(), format!("Bearer {token}"));
    let mut headers = vec![bearer.clone()];
    let mut neighbour_path = path.clone();
    let mut neighbour_headers = Vec::new();
    match limit.per.as_str() {
        "tenant" => {
            let tenant = ctx
                .vars
                .get(system)
                .and_then(|v| v.get("tenant"))
                .cloned()
                .ok_or_else(|| {
                    infra(format!(
                        "{system}: a per-tenant limit needs the profile's `tenant` var"
                    ))
                })?;
            let vars = ctx.vars.get(system);
            let var = |name: &str| vars.and_then(|v| v.get(name)).cloned();
            // A bucket spent by an earlier run measures low until it refills: where the
            // API takes any tenant (`load-fresh-tenants = "true"`, the local stack), each
            // run spends a tenant of its own.
            let mine = if var("load-fresh-tenants").as_deref() == Some("true") {
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis();
                format!("{tenant}-load-{stamp}")
            } else {
                tenant.clone()
            };
            let other = var("neighbour-tenant").unwrap_or_else(|| neighbour_tenant(&mine));
            neighbour_path = path.replace(&tenant, &other);
            path = path.replace(&tenant, &mine);
            neighbour_headers.push(bearer);
            if let Some(h) = &limit.tenant_header {
                headers.push((h.clone(), mine));
                neighbour_headers.push((h.clone(), other));
            }
        }
        _ => {
            let other = target.neighbour_token().await.map_err(|e| match e.kind {
                TokenErrorKind::Unreachable => infra(e.message.clone()),
                TokenErrorKind::NotConfigured => Outcome::Skipped {
                    reason: format!("isolation needs a second identity: {}", e.message),
                },
                TokenErrorKind::Rejected => fail_with(
                    "the neighbour identity signs in",
                    e.message.clone(),
                    vec![Evidence::new("auth", e.message)],
                ),
            })?;
            neighbour_headers.push(("authorization".to_owned(), format!("Bearer {other}")));
        }
    }
    let report = ctx
        .report_dir
        .as_ref()
        .map(|d| d.join(format!("rate-limit-{system}-{}.html", limit.name)));
    Ok(RunPlan {
        request: Request {
            method,
            url: target.url(&path),
            headers,
            body: limit.body.clone(),
        },
        neighbour: Some(Request {
            method,
            url: target.url(&neighbour_path),
            headers: neighbour_headers,
            body: limit.body.clone(),
        }),
        refusal: limit.status,
        rate_per_s: rate,
        duration,
        // A Retry-After past two windows (or 2 min) is a broken promise, not a wait.
        max_recovery_wait: (limit.window * 2).min(Duration::from_secs(120)),
        report,
        timeout: REQUEST_TIMEOUT,
        client: target.http().clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::measure::test_limit as limit;

    #[test]
    fn the_pace_empties_the_bucket_quickly_and_waits_for_four_tokens() {
        // Plot Palette: 100/min, burst 200.
        let (rate, duration) = pace(&limit(100, 60, Some(200)));
        assert!((rate - 66.7).abs() < 0.1, "{rate}");
        assert!(duration >= Duration::from_secs(6) && duration <= Duration::from_secs(8));
        // Site Builder generation: 10/min, no burst: 4 tokens take 24 s.
        let (rate, duration) = pace(&limit(10, 60, None));
        assert_eq!(rate, 10.0);
        assert!(duration >= Duration::from_secs(25), "{duration:?}");
        // Every pace stays above the refill, so the bucket stays empty.
        for l in [
            limit(600, 60, Some(60)),
            limit(300, 60, Some(30)),
            limit(1, 1, None),
        ] {
            let (rate, _) = pace(&l);
            assert!(rate >= 10.0 * l.rate_per_s() - 1e-9);
        }
    }
}
