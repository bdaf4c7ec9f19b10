//! The throughput profiles — `slo`, `spike`, `soak` — judge a system's documented SLOs
//! (runbook facts `[[slos]]`) under a fixed arrival rate of its documented traffic mix
//! (`[load]`). One check per system. Each is a staged open-model schedule on goose:
//!
//! - **slo**: ramp up (20 % of the time), hold (60 %), ramp down (20 %);
//! - **spike**: hold, a jump to [`SPIKE_FACTOR`]× the rate, back, hold — the SLOs are also
//!   judged on the stretch after the spike alone (the system recovers);
//! - **soak**: a long hold in thirds — the late third's p95 must not drift from the
//!   early third's.
//!
//! Latency SLOs are judged on the coordinated-omission-corrected percentiles (from the
//! intended send time, what a user would have seen); the raw ones are reported beside them.
//! Every run is bounded by its schedule and the tier's load cap. With `--shard i/N` a run
//! sends its `1/N` of the rate and users and writes its metrics (histogram buckets and
//! counts) for [`merge`] to judge on the whole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shakedown_core::check::{Check, fail_with, infra, pass, pass_with};
use shakedown_core::event::{Evidence, Outcome};
use shakedown_core::runbook::{RateLimit, RunbookFacts, RunbookRef, Slo};
use shakedown_core::target::{Target, Targets, TokenErrorKind};
use shakedown_core::tier::{Effect, LoadBudget, Tier};

use crate::engine::{VisitPlan, visit};
use crate::metrics::{Metrics, Stats};
use crate::pacing::Stage;
use crate::rate_limit::goose_method;
use crate::users::Request;
use crate::users::visitor::Mix;

/// The spike's peak, as a multiple of the rate.
pub const SPIKE_FACTOR: f64 = 4.0;
/// The share of the planned requests of the steady stages that must be answered.
pub const MIN_THROUGHPUT: f64 = 0.95;
/// At most this share of the sends may leave late before the open model is broken.
pub const MAX_LATE: f64 = 0.01;
/// Per-request timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Format of shard files.
const SHARD_FORMAT: u32 = 1;

/// A throughput profile's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    Slo,
    Spike,
    Soak,
}

impl Shape {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "slo" => Some(Self::Slo),
            "spike" => Some(Self::Spike),
            "soak" => Some(Self::Soak),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Slo => "slo",
            Self::Spike => "spike",
            Self::Soak => "soak",
        }
    }

    /// The run length when none is given.
    pub fn default_duration(self) -> Duration {
        match self {
            Self::Slo => Duration::from_secs(60),
            Self::Spike => Duration::from_secs(60),
            Self::Soak => Duration::from_secs(10 * 60),
        }
    }

    /// The schedule at `rate` requests a second over `duration`.
    pub fn stages(self, rate: f64, duration: Duration) -> Vec<Stage> {
        let part = |f: f64| duration.mul_f64(f);
        match self {
            Self::Slo => vec![
                Stage::new("ramp-up", part(0.2), 0.0, rate),
                Stage::new("hold", part(0.6), rate, rate),
                Stage::new("ramp-down", part(0.2), rate, 0.0),
            ],
            Self::Spike => {
                let peak = rate * SPIKE_FACTOR;
                vec![
                    Stage::new("before", part(0.3), rate, rate),
                    Stage::new("spike-up", part(0.05), rate, peak),
                    Stage::new("spike", part(0.2), peak, peak),
                    Stage::new("spike-down", part(0.05), peak, rate),
                    Stage::new("after", part(0.4), rate, rate),
                ]
            }
            Self::Soak => vec![
                Stage::new("ramp-up", part(0.05), 0.0, rate),
                Stage::new("early", part(0.3), rate, rate),
                Stage::new("middle", part(0.3), rate, rate),
                Stage::new("late", part(0.3), rate, rate),
                Stage::new("ramp-down", part(0.05), rate, 0.0),
            ],
        }
    }
}

/// `i/N`: this process runs shard `i` (1-based) of `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("--shard {s:?}: expected i/N with 1 ≤ i ≤ N (e.g. 2/3)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How much load, for the whole run (all shards together).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// The steady arrival rate, requests a second.
    pub rate: f64,
    pub duration: Duration,
    /// goose users; `None` picks enough for the rate (see [`default_users`]).
    pub users: Option<u32>,
}

/// Enough users for the open model to hold at `peak` requests a second with answers up to
/// two seconds long, at least 8.
pub fn default_users(peak: f64) -> u32 {
    ((peak * 2.0).ceil() as u32).max(8)
}

/// What a run sends, recorded with its results (all shards together).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Plan {
    pub shape: Shape,
    pub rate: f64,
    pub duration_s: f64,
    pub users: u32,
    pub stages: Vec<StageRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct StageRecord {
    pub name: String,
    pub secs: f64,
    pub from: f64,
    pub to: f64,
}

impl Plan {
    pub fn new(shape: Shape, load: Load) -> Self {
        let stages = shape.stages(load.rate, load.duration);
        let peak = stages.iter().map(|s| s.from.max(s.to)).fold(0.0, f64::max);
        Self {
            shape,
            rate: load.rate,
            duration_s: load.duration.as_secs_f64(),
            users: load.users.unwrap_or_else(|| default_users(peak)),
            stages: stages
                .iter()
                .map(|s| StageRecord {
                    name: s.name.clone(),
                    secs: s.duration.as_secs_f64(),
                    from: s.from,
                    to: s.to,
                })
                .collect(),
        }
    }

    pub fn peak(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| s.from.max(s.to))
            .fold(0.0, f64::max)
    }

    /// The schedule of one shard: `1/N` of every rate.
    pub fn shard_stages(&self, shard: Option<Shard>) -> Vec<Stage> {
        let n = f64::from(shard.map_or(1, |s| s.count));
        self.stages
            .iter()
            .map(|s| {
                Stage::new(
                    &s.name,
                    Duration::from_secs_f64(s.secs),
                    s.from / n,
                    s.to / n,
                )
            })
            .collect()
    }

    /// The users of one shard (the remainder goes to the first shards).
    pub fn shard_users(&self, shard: Option<Shard>) -> usize {
        match shard {
            None => self.users as usize,
            Some(s) => {
                let base = self.users / s.count;
                let extra = u32::from(s.index <= self.users % s.count);
                (base + extra).max(1) as usize
            }
        }
    }

    /// Requests planned in the constant-rate stages, and those stages' names.
    fn steady(&self) -> (f64, Vec<&str>) {
        let steady: Vec<&StageRecord> = self
            .stages
            .iter()
            .filter(|s| (s.from - s.to).abs() < 1e-9 && s.from > 0.0)
            .collect();
        (
            steady.iter().map(|s| s.from * s.secs).sum(),
            steady.iter().map(|s| s.name.as_str()).collect(),
        )
    }

    fn planned(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| (s.from + s.to) / 2.0 * s.secs)
            .sum()
    }
}

/// One threshold: a documented number next to what the run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub name: String,
    pub expected: String,
    pub observed: String,
    pub passed: bool,
}

/// What an SLO measures on `stats`, in its unit, and how it was counted; `None` for a
/// kind a throughput run does not measure.
pub fn observe(slo: &Slo, stats: &Stats) -> Option<(f64, String)> {
    let n = stats.requests();
    let kind = slo.kind.as_str();
    if let Some(p) = kind
        .strip_prefix("latency-p")
        .and_then(|p| p.parse::<f64>().ok())
    {
        let corrected = stats.corrected.percentile_ms(p)?;
        let raw = stats.raw.percentile_ms(p).unwrap_or_default();
        return Some((
            corrected,
            format!("p{p} {corrected:.1} ms corrected ({raw:.1} ms raw) over {n} requests"),
        ));
    }
    let failed = stats.server_errors() + stats.unanswered();
    Some(match kind {
        "error-rate" => (
            stats.percent(stats.server_errors()),
            format!("{} of {n} answered 5xx", stats.server_errors()),
        ),
        "availability" => (
            100.0 - stats.percent(failed),
            format!("{failed} of {n} failed or answered 5xx"),
        ),
        "failed-requests" => (
            stats.percent(failed),
            format!("{failed} of {n} failed or answered 5xx"),
        ),
        _ => return None,
    })
}

fn unit(kind: &str) -> &'static str {
    if kind.starts_with("latency-") {
        " ms"
    } else {
        " %"
    }
}

/// Judge `slos` on what a run recorded. Returns the thresholds and, for SLOs a throughput
/// run does not measure, why not.
pub fn judge(slos: &[Slo], plan: &Plan, metrics: &Metrics) -> (Vec<Threshold>, Vec<String>) {
    let mut out = Vec::new();
    let mut not_judged = Vec::new();
    let all = metrics.all();
    let scope = |slo: &Slo| -> Option<Stats> {
        match &slo.route {
            Some(route) => metrics.routes.get(route).cloned(),
            None => Some(all.clone()),
        }
    };
    let mut threshold = |name: String, slo: &Slo, stats: Option<&Stats>| {
        let expected = format!("{} {} {}{}", slo.kind, slo.op, slo.value, unit(&slo.kind));
        let (passed, observed) = match stats.and_then(|s| observe(slo, s)) {
            Some((v, how)) => (slo.met_by(v), format!("{v:.2}{}: {how}", unit(&slo.kind))),
            None => (false, "not measured: no request of its scope".to_owned()),
        };
        out.push(Threshold {
            name,
            expected,
            observed,
            passed,
        });
    };
    for slo in slos {
        if observe(slo, &Stats::default()).is_none() && !slo.kind.starts_with("latency-p") {
            not_judged.push(format!(
                "{} ({} {} {}): not a throughput measure",
                slo.name, slo.kind, slo.op, slo.value
            ));
            continue;
        }
        threshold(slo.name.clone(), slo, scope(slo).as_ref());
        if plan.shape == Shape::Spike && slo.route.is_none() {
            threshold(
                format!("{} after the spike", slo.name),
                slo,
                metrics.stages.get("after"),
            );
        }
    }
    // The load itself: the steady stages were answered at the planned rate…
    let (planned, steady) = plan.steady();
    let answered: u64 = steady
        .iter()
        .filter_map(|s| metrics.stages.get(*s))
        .map(|s| s.requests() - s.unanswered())
        .sum();
    let secs: f64 = plan
        .stages
        .iter()
        .filter(|s| steady.contains(&s.name.as_str()))
        .map(|s| s.secs)
        .sum();
    out.push(Threshold {
        name: "throughput".to_owned(),
        expected: format!(
            "≥ {:.0} % of {:.1} requests/s answered in {}",
            MIN_THROUGHPUT * 100.0,
            planned / secs.max(f64::MIN_POSITIVE),
            steady.join(", ")
        ),
        observed: format!(
            "{:.1} requests/s ({answered} of {planned:.0})",
            answered as f64 / secs.max(f64::MIN_POSITIVE)
        ),
        passed: answered as f64 >= MIN_THROUGHPUT * planned.floor(),
    });
    // …and the generator kept the schedule (otherwise the latencies are a closed model's).
    let total = plan.planned().max(1.0);
    out.push(Threshold {
        name: "open model".to_owned(),
        expected: format!(
            "≤ {:.0} % of sends late (more --users otherwise)",
            MAX_LATE * 100.0
        ),
        observed: format!("{} of {total:.0} sends late", metrics.late),
        passed: (metrics.late as f64) <= MAX_LATE * total,
    });
    if plan.shape == Shape::Soak {
        out.push(drift(metrics));
    }
    (out, not_judged)
}

/// Soak: the late third's corrected p95 within 1.5× the early third's (+10 ms for noise).
fn drift(metrics: &Metrics) -> Threshold {
    let p95 = |stage: &str| {
        metrics
            .stages
            .get(stage)
            .and_then(|s| s.corrected.percentile_ms(95.0))
    };
    let (passed, observed) = match (p95("early"), p95("late")) {
        (Some(early), Some(late)) => (
            late <= early * 1.5 + 10.0,
            format!("p95 {early:.1} ms early, {late:.1} ms late"),
        ),
        _ => (
            false,
            "not measured: a third of the soak sent nothing".to_owned(),
        ),
    };
    Threshold {
        name: "no drift".to_owned(),
        expected: "late p95 ≤ 1.5 × early p95 + 10 ms".to_owned(),
        observed,
        passed,
    }
}

/// Evidence lines: per route and per stage, counts and raw and corrected percentiles.
pub fn describe(metrics: &Metrics, plan: &Plan) -> Vec<Evidence> {
    let line = |s: &Stats| {
        let pct = |h: &crate::metrics::Latency| {
            [50.0, 95.0, 99.0]
                .iter()
                .map(|p| {
                    h.percentile_ms(*p)
                        .map_or("–".into(), |v| format!("{v:.1}"))
                })
                .collect::<Vec<_>>()
                .join("/")
        };
        let statuses: Vec<String> = s
            .by_status
            .iter()
            .map(|(k, n)| {
                if *k == 0 {
                    format!("no answer {n}")
                } else {
                    format!("{k} {n}")
                }
            })
            .collect();
        format!(
            "{} requests ({}); p50/p95/p99 {} ms corrected, {} ms raw; max {} ms",
            s.requests(),
            statuses.join(", "),
            pct(&s.corrected),
            pct(&s.raw),
            s.corrected
                .max_ms()
                .map_or("–".into(), |v| format!("{v:.1}"))
        )
    };
    let mut out: Vec<Evidence> = metrics
        .routes
        .iter()
        .map(|(route, s)| Evidence::new(format!("route {route}"), line(s)))
        .collect();
    for st in &plan.stages {
        if let Some(s) = metrics.stages.get(&st.name) {
            out.push(Evidence::new(
                format!("stage {}", st.name),
                format!(
                    "{:.0} s at {:.1}→{:.1}/s: {}",
                    st.secs,
                    st.from,
                    st.to,
                    line(s)
                ),
            ));
        }
    }
    out
}

/// What one system's run recorded, as a shard file holds it (also a whole run's record).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Record {
    pub format: u32,
    pub env: String,
    pub tier: Tier,
    pub system: String,
    pub seed: String,
    pub section: String,
    pub shard: Shard,
    pub plan: Plan,
    pub slos: Vec<Slo>,
    pub metrics: Metrics,
}

impl Record {
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}-shard-{}-of-{}.json",
            self.plan.shape.name(),
            self.system,
            self.shard.index,
            self.shard.count
        )
    }
}

/// What every throughput check shares.
#[derive(Debug)]
pub struct Ctx {
    pub targets: Targets,
    pub facts: BTreeMap<String, RunbookFacts>,
    pub shape: Shape,
    pub load: Load,
    pub shard: Option<Shard>,
    /// Where goose's HTML reports and the shard files go.
    pub report_dir: Option<PathBuf>,
    pub budget: LoadBudget,
    /// The profile's name and tier, recorded in shard files.
    pub env: String,
    pub tier: Tier,
}

/// The SLOs of `facts` a throughput run judges.
fn judged(facts: &RunbookFacts) -> Vec<&Slo> {
    facts
        .slos
        .iter()
        .filter(|s| observe(s, &Stats::default()).is_some() || s.kind.starts_with("latency-p"))
        .collect()
}

/// One check per system with a load mix and an SLO a throughput run judges.
pub fn checks(facts: &BTreeMap<String, RunbookFacts>, shape: Shape, load: Load) -> Vec<Check<Ctx>> {
    let mut out = Vec::new();
    for (system, f) in facts {
        let Some(mix) = &f.load else { continue };
        let slos = judged(f);
        if slos.is_empty() {
            continue;
        }
        let effect = if mix
            .requests
            .iter()
            .all(|r| r.request.starts_with("GET ") || r.request.starts_with("HEAD "))
        {
            Effect::Read
        } else {
            Effect::Mutate
        };
        let title = format!(
            "{} at {:.0} requests/s: {}",
            shape.name(),
            load.rate,
            slos.iter()
                .map(|s| format!("{} {} {}{}", s.kind, s.op, s.value, unit(&s.kind)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let system2 = system.clone();
        out.push(
            Check::new(
                format!("{system}/{}", shape.name()),
                title,
                system.clone(),
                RunbookRef {
                    seed: f.seed.clone(),
                    section: mix.section.clone(),
                },
                effect,
                move |ctx: Arc<Ctx>| {
                    let system = system2.clone();
                    async move { run(&ctx, &system).await }
                },
            )
            .with_timeout(load.duration + Duration::from_secs(60)),
        );
    }
    out
}

/// The test identity's token, `None` for a system without auth; an identity that cannot
/// sign in fails the check, an unreachable identity provider is an infrastructure error.
pub(crate) async fn bearer(target: &Target) -> Result<Option<String>, Outcome> {
    match target.token().await {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind == TokenErrorKind::NotConfigured => Ok(None),
        Err(e) if e.kind == TokenErrorKind::Unreachable => Err(infra(e.message)),
        Err(e) => Err(fail_with(
            "the test identity signs in",
            e.message.clone(),
            vec![Evidence::new("auth", e.message)],
        )),
    }
}

/// Whether a rate limit's `pattern` (`/api/*`, `/v1/sites/{tenant}/x`) covers `path`.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let mut p = pattern.split('/');
    let mut q = path.split('/');
    loop {
        match (p.next(), q.next()) {
            (Some("*"), _) => return true,
            (Some(a), Some(b)) if a == b || (a.starts_with('{') && a.ends_with('}')) => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Why a route's rate would trip a documented per-identity limit (one identity sends it).
fn over_limit(limits: &[RateLimit], method: &str, path: &str, rate: f64) -> Option<String> {
    limits
        .iter()
        .filter(|l| matches!(l.per.as_str(), "user" | "client"))
        .filter(|l| l.paths.iter().any(|p| path_matches(p, path)))
        .find(|l| rate > l.rate_per_s())
        .map(|l| {
            format!(
                "{method} {path} at {rate:.1}/s from one {} is above the documented limit {} ({} per {}): lower --rate",
                l.per,
                l.name,
                l.limit,
                humantime::format_duration(l.window)
            )
        })
}

async fn run(ctx: &Ctx, system: &str) -> Outcome {
    let Some(facts) = ctx.facts.get(system) else {
        return infra(format!("no runbook facts for {system}"));
    };
    let Some(mix_facts) = &facts.load else {
        return infra(format!("{system}'s runbook facts have no [load] mix"));
    };
    let Some(target) = ctx.targets.get(system) else {
        return infra(format!("the profile has no target for {system}"));
    };
    let plan = Plan::new(ctx.shape, ctx.load);
    // The tier's cap applies to the whole run, every shard together.
    let duration = Duration::from_secs_f64(plan.duration_s);
    if let Err(over) = ctx.budget.admits(plan.users, plan.peak(), duration) {
        return Outcome::Refused {
            reason: format!(
                "{} users at up to {:.1} requests/s for {} s: {over}",
                plan.users,
                plan.peak(),
                duration.as_secs()
            ),
        };
    }
    let token = match bearer(target).await {
        Ok(t) => t,
        Err(outcome) => return outcome,
    };
    let share_sum: f64 = mix_facts.requests.iter().map(|r| r.share).sum();
    let mut routes = Vec::new();
    for r in &mix_facts.requests {
        let (method, path) = match r.parse() {
            Ok(p) => p,
            Err(e) => return infra(format!("{system}: {e}")),
        };
        let rate = plan.peak() * r.share / share_sum;
        if let Some(reason) = over_limit(&facts.rate_limits, &method, &path, rate) {
            return Outcome::Refused { reason };
        }
        let method_g = match goose_method(&method) {
            Ok(m) => m,
            Err(e) => return infra(format!("{system}: {e}")),
        };
        let headers = token
            .iter()
            .map(|t| ("authorization".to_owned(), format!("Bearer {t}")))
            .collect();
        routes.push((
            format!("{method} {path}"),
            Request {
                method: method_g,
                url: target.url(&path),
                headers,
                body: r.body.clone(),
            },
            r.share,
        ));
    }
    let mix = match Mix::new(routes) {
        Ok(m) => m,
        Err(e) => return infra(format!("{system}: {e}")),
    };
    let shard_tag = ctx
        .shard
        .map(|s| format!("-shard-{}-of-{}", s.index, s.count))
        .unwrap_or_default();
    let report = ctx
        .report_dir
        .as_ref()
        .map(|d| d.join(format!("{}-{system}{shard_tag}.html", ctx.shape.name())));
    let visit_plan = VisitPlan {
        mix,
        stages: plan.shard_stages(ctx.shard),
        users: plan.shard_users(ctx.shard),
        timeout: REQUEST_TIMEOUT,
        report,
    };
    let metrics = match visit(&target.base_url, visit_plan).await {
        Ok(m) => m,
        Err(e) => return infra(format!("{system} {}: {e}", ctx.shape.name())),
    };
    let all = metrics.all();
    if all.requests() == 0 || all.unanswered() == all.requests() {
        return infra(format!(
            "{} answered none of {} requests (unreachable)",
            target.base_url,
            all.requests()
        ));
    }
    let record = Record {
        format: SHARD_FORMAT,
        env: ctx.env.clone(),
        tier: ctx.tier,
        system: system.to_owned(),
        seed: facts.seed.clone(),
        section: mix_facts.section.clone(),
        shard: ctx.shard.unwrap_or(Shard { index: 1, count: 1 }),
        plan,
        slos: facts.slos.clone(),
        metrics,
    };
    let written = match &ctx.report_dir {
        Some(dir) => match write_record(dir, &record) {
            Ok(p) => Some(p),
            Err(e) => return infra(e),
        },
        None => None,
    };
    match ctx.shard {
        Some(shard) => pass(format!(
            "shard {shard}: {} requests recorded in {} — `load merge` judges the whole",
            all.requests(),
            written.map_or_else(String::new, |p| p.display().to_string())
        )),
        None => verdict(&record, 1),
    }
}

fn write_record(dir: &Path, record: &Record) -> Result<PathBuf, String> {
    let path = dir.join(record.file_name());
    let text = serde_json::to_string(record).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// The outcome of a (whole or merged) record: every threshold met, or which were not.
pub fn verdict(record: &Record, shards: u32) -> Outcome {
    let (thresholds, not_judged) = judge(&record.slos, &record.plan, &record.metrics);
    let mut evidence: Vec<Evidence> = thresholds
        .iter()
        .map(|t| {
            Evidence::new(
                format!("threshold {}", t.name),
                format!(
                    "{} — expected {}; observed {}",
                    if t.passed { "ok" } else { "FAILED" },
                    t.expected,
                    t.observed
                ),
            )
        })
        .collect();
    evidence.extend(describe(&record.metrics, &record.plan));
    for n in &not_judged {
        evidence.push(Evidence::new("not judged", n.clone()));
    }
    evidence.push(Evidence::new(
        "load",
        format!(
            "{} at {:.1} requests/s (peak {:.1}) for {:.0} s, {} users{}",
            record.plan.shape.name(),
            record.plan.rate,
            record.plan.peak(),
            record.plan.duration_s,
            record.plan.users,
            if shards > 1 {
                format!(", merged from {shards} shards")
            } else {
                String::new()
            }
        ),
    ));
    let summary: Vec<String> = thresholds
        .iter()
        .map(|t| format!("{} {}", t.name, t.observed))
        .collect();
    if thresholds.iter().all(|t| t.passed) {
        pass_with(summary.join("; "), evidence)
    } else {
        let failed: Vec<String> = thresholds
            .iter()
            .filter(|t| !t.passed)
            .map(|t| format!("{}: {} (expected {})", t.name, t.observed, t.expected))
            .collect();
        let expected: Vec<String> = thresholds.iter().map(|t| t.expected.clone()).collect();
        fail_with(expected.join("; "), failed.join("; "), evidence)
    }
}

/// Shard files found in `dir`, grouped by `(shape, env, system)` and merged; an
/// incomplete or inconsistent group is an error naming the files.
pub fn merge(dir: &Path) -> Result<Vec<(Record, u32)>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut groups: BTreeMap<(String, String, String), Vec<(PathBuf, Record)>> = BTreeMap::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !(name.contains("-shard-") && name.ends_with(".json")) {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let record: Record = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a shard file: {e}", path.display()))?;
        if record.format != SHARD_FORMAT {
            return Err(format!(
                "{}: shard format {} (this build reads {SHARD_FORMAT})",
                path.display(),
                record.format
            ));
        }
        groups
            .entry((
                record.plan.shape.name().to_owned(),
                record.env.clone(),
                record.system.clone(),
            ))
            .or_default()
            .push((path, record));
    }
    if groups.is_empty() {
        return Err(format!(
            "no shard files (*-shard-*.json) in {}",
            dir.display()
        ));
    }
    let mut out = Vec::new();
    for ((shape, env, system), mut files) in groups {
        files.sort_by_key(|(_, r)| r.shard.index);
        let count = files[0].1.shard.count;
        let what = format!("{shape} of {system} on {env}");
        let indices: Vec<u32> = files.iter().map(|(_, r)| r.shard.index).collect();
        let missing: Vec<String> = (1..=count)
            .filter(|i| !indices.contains(i))
            .map(|i| format!("{i}/{count}"))
            .collect();
        if !missing.is_empty() {
            return Err(format!("{what}: shard {} missing", missing.join(", ")));
        }
        if indices.len() != count as usize {
            return Err(format!("{what}: a shard appears twice ({indices:?})"));
        }
        let first = &files[0].1;
        for (path, r) in &files[1..] {
            if r.shard.count != count || r.plan != first.plan {
                return Err(format!(
                    "{}: its plan or shard count differs from {}'s",
                    path.display(),
                    files[0].0.display()
                ));
            }
        }
        let mut merged = first.clone();
        merged.metrics = Metrics::default();
        for (_, r) in &files {
            merged.metrics.merge(&r.metrics);
        }
        merged.shard = Shard { index: 1, count: 1 };
        out.push((merged, count));
    }
    Ok(out)
}

/// Checks that judge merged records (the `load merge` command).
pub fn merged_checks(records: Vec<(Record, u32)>) -> Vec<Check<()>> {
    records
        .into_iter()
        .map(|(record, shards)| {
            let record = Arc::new(record);
            let r = Arc::clone(&record);
            Check::new(
                format!("{}/{}", record.system, record.plan.shape.name()),
                format!(
                    "{} at {:.0} requests/s, merged from {shards} shards",
                    record.plan.shape.name(),
                    record.plan.rate
                ),
                record.system.clone(),
                RunbookRef {
                    seed: record.seed.clone(),
                    section: record.section.clone(),
                },
                Effect::Read,
                move |_: Arc<()>| {
                    let r = Arc::clone(&r);
                    async move { verdict(&r, shards) }
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slo(kind: &str, op: &str, value: f64) -> Slo {
        Slo {
            name: kind.into(),
            section: "s".into(),
            kind: kind.into(),
            op: op.into(),
            value,
            field: None,
            route: None,
        }
    }

    fn load(rate: f64, secs: u64) -> Load {
        Load {
            rate,
            duration: Duration::from_secs(secs),
            users: None,
        }
    }

    /// A run of `plan` where every `err_every`-th request answers 500 and latencies are
    /// `base` ms plus `slow` ms on every tenth request.
    fn metrics(plan: &Plan, err_every: u64, base: u64, slow: u64) -> Metrics {
        let mut m = Metrics::default();
        let mut i = 0u64;
        for st in &plan.stages {
            let n = ((st.from + st.to) / 2.0 * st.secs).round() as u64;
            for _ in 0..n {
                i += 1;
                let status = if err_every > 0 && i.is_multiple_of(err_every) {
                    500
                } else {
                    200
                };
                let ms = base + if i.is_multiple_of(10) { slow } else { 0 };
                let d = Duration::from_millis(ms);
                m.record("GET /a", &st.name, status, d, d + Duration::from_millis(1));
            }
        }
        m
    }

    #[test]
    fn shapes_are_bounded_and_shards_split_them() {
        let plan = Plan::new(Shape::Slo, load(20.0, 60));
        assert_eq!(plan.stages.len(), 3);
        assert!((plan.planned() - 20.0 * 36.0 - 20.0 * 12.0).abs() < 1e-6);
        let spike = Plan::new(Shape::Spike, load(10.0, 100));
        assert_eq!(spike.peak(), 40.0);
        assert_eq!(spike.users, 80);
        let total: f64 = spike.stages.iter().map(|s| s.secs).sum();
        assert!((total - 100.0).abs() < 1e-9);
        let shard = |i| Some(Shard { index: i, count: 3 });
        assert_eq!(
            (1..=3).map(|i| spike.shard_users(shard(i))).sum::<usize>(),
            80
        );
        let s2 = spike.shard_stages(shard(2));
        assert!((s2[2].from - 40.0 / 3.0).abs() < 1e-9);
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn slos_pass_on_a_healthy_run_and_fail_on_errors_or_latency() {
        let plan = Plan::new(Shape::Slo, load(20.0, 30));
        let slos = vec![
            slo("latency-p99", "<", 500.0),
            slo("error-rate", "<", 1.0),
            slo("availability", ">=", 99.9),
            slo("ttlt", "<", 60000.0),
        ];
        let (t, not_judged) = judge(&slos, &plan, &metrics(&plan, 0, 5, 0));
        assert!(t.iter().all(|t| t.passed), "{t:#?}");
        assert_eq!(not_judged.len(), 1);
        assert!(not_judged[0].contains("ttlt"));
        // 2 % errors: error rate and availability fail, latency does not.
        let (t, _) = judge(&slos, &plan, &metrics(&plan, 50, 5, 0));
        let failed: Vec<&str> = t
            .iter()
            .filter(|t| !t.passed)
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(failed, ["error-rate", "availability"]);
        // One request in ten 800 ms slower: p99 fails.
        let (t, _) = judge(&slos, &plan, &metrics(&plan, 0, 5, 800));
        let failed: Vec<&str> = t
            .iter()
            .filter(|t| !t.passed)
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(failed, ["latency-p99"]);
    }

    #[test]
    fn a_short_or_late_run_fails_its_load_thresholds() {
        let plan = Plan::new(Shape::Slo, load(20.0, 30));
        let mut m = metrics(&plan, 0, 5, 0);
        // Half the hold never answered.
        let hold = m.stages.get_mut("hold").unwrap();
        let n = hold.requests();
        hold.by_status.insert(200, n / 2);
        hold.by_status.insert(0, n - n / 2);
        m.late = 100;
        let (t, _) = judge(&[], &plan, &m);
        assert!(t.iter().all(|t| !t.passed), "{t:#?}");
    }

    #[test]
    fn a_soak_that_drifts_and_a_spike_that_does_not_recover_fail() {
        let plan = Plan::new(Shape::Soak, load(10.0, 300));
        let mut m = metrics(&plan, 0, 5, 0);
        let (t, _) = judge(&[], &plan, &m);
        assert!(t.iter().all(|t| t.passed), "{t:#?}");
        for _ in 0..200 {
            m.record(
                "GET /a",
                "late",
                200,
                Duration::from_millis(300),
                Duration::from_millis(300),
            );
        }
        let (t, _) = judge(&[], &plan, &m);
        assert!(t.iter().any(|t| t.name == "no drift" && !t.passed));

        let plan = Plan::new(Shape::Spike, load(10.0, 100));
        let mut m = metrics(&plan, 0, 5, 0);
        // 10 errors: under 1 % of the run, over 1 % of the stretch after the spike.
        for _ in 0..10 {
            m.record("GET /a", "after", 503, Duration::ZERO, Duration::ZERO);
        }
        let (t, _) = judge(&[slo("error-rate", "<", 1.0)], &plan, &m);
        let failed: Vec<&str> = t
            .iter()
            .filter(|t| !t.passed)
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(failed, ["error-rate after the spike"]);
    }

    #[test]
    fn rate_limit_patterns_cover_their_paths() {
        assert!(path_matches("/api/*", "/api/profile"));
        assert!(path_matches("/jobs", "/jobs"));
        assert!(!path_matches("/jobs", "/jobs/1"));
        assert!(path_matches("/v1/sites/{tenant}/x", "/v1/sites/acme/x"));
        assert!(!path_matches("/api/*", "/health"));
    }
}
