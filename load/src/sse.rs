//! The `sse` profile: documented event streams (runbook facts `[stream]`) opened at a
//! fixed arrival rate and read to their end. Judged per run:
//!
//! - **completion**: every stream ends with its `complete` event (at least
//!   [`MIN_COMPLETION`] of them) — not cut off, not timed out, not refused;
//! - **time to last token**: the `ttlt` SLO (Site Builder: the 60 s alarm) holds for the
//!   slowest complete stream, and a stream still open at that bound has failed it;
//! - **order**: each stream opens with `progress` 0, its progress never goes back, its
//!   sections arrive `1..N` with one chunk each, and nothing follows `complete`;
//! - time to first event is reported (p50/p95/max; the runbooks give it no number).
//!
//! Per-tenant streams spend a fresh tenant each where the profile allows
//! (`load-fresh-tenants`), otherwise the rate must stay within the tenant's documented
//! limit (refused if not).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use shakedown_core::check::{Check, fail_with, infra, pass_with};
use shakedown_core::event::{Evidence, Outcome};
use shakedown_core::runbook::{RunbookFacts, RunbookRef};
use shakedown_core::target::Targets;
use shakedown_core::tier::{Effect, LoadBudget};

use crate::engine::stream;
use crate::pacing::Stage;
use crate::rate_limit::goose_method;
use crate::throughput::{bearer, path_matches};
use crate::users::Request;
use crate::users::streamer::Stream;

/// The share of streams that must complete.
pub const MIN_COMPLETION: f64 = 0.99;
/// The time-to-last-token bound when the runbook gives none.
const DEFAULT_TTLT: Duration = Duration::from_secs(60);

/// How many streams, how fast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamLoad {
    /// Streams opened a second.
    pub rate: f64,
    pub duration: Duration,
    pub users: Option<u32>,
}

/// What every sse check shares.
#[derive(Debug)]
pub struct Ctx {
    pub targets: Targets,
    pub facts: BTreeMap<String, RunbookFacts>,
    pub load: StreamLoad,
    pub budget: LoadBudget,
    pub vars: BTreeMap<String, BTreeMap<String, String>>,
    pub report_dir: Option<std::path::PathBuf>,
}

/// What is wrong with the order or completeness of one stream's events.
pub fn order_problems(s: &Stream) -> Vec<String> {
    let mut out = Vec::new();
    let Some(first) = s.events.first() else {
        return out;
    };
    if first.kind != "progress" || first.progress != Some(0.0) {
        out.push(format!(
            "opens with {} {:?}, not progress 0",
            first.kind, first.progress
        ));
    }
    let mut last_progress = f64::MIN;
    let mut sections: Vec<(u32, u32)> = Vec::new();
    let mut chunks = 0usize;
    let mut terminal_at = None;
    for (i, e) in s.events.iter().enumerate() {
        if let Some(t) = terminal_at {
            out.push(format!(
                "{} event after the stream's end (event {t})",
                e.kind
            ));
            break;
        }
        match e.kind.as_str() {
            "progress" => {
                if let Some(p) = e.progress {
                    if p < last_progress {
                        out.push(format!("progress went back from {last_progress} to {p}"));
                    }
                    last_progress = last_progress.max(p);
                }
                if let Some(sec) = e.message.as_deref().and_then(section) {
                    sections.push(sec);
                }
            }
            "chunk" => chunks += 1,
            "complete" | "error" => terminal_at = Some(i),
            other => out.push(format!("unknown event type {other:?}")),
        }
    }
    if let Some(&(_, total)) = sections.last() {
        let seen: Vec<u32> = sections.iter().map(|s| s.0).collect();
        let expected: Vec<u32> = (1..=total).collect();
        if seen != expected {
            let missing: Vec<String> = expected
                .iter()
                .filter(|i| !seen.contains(i))
                .map(u32::to_string)
                .collect();
            out.push(if missing.is_empty() {
                format!("sections out of order: {seen:?}")
            } else {
                format!("section {} of {total} missing", missing.join(", "))
            });
        }
        if chunks != total as usize {
            out.push(format!("{chunks} chunks for {total} sections"));
        }
    } else if chunks == 0 && s.events.iter().any(|e| e.kind == "complete") {
        out.push("complete without a chunk".to_owned());
    }
    out
}

/// `Generated section i of N` → `(i, N)`.
fn section(message: &str) -> Option<(u32, u32)> {
    let rest = message.strip_prefix("Generated section ")?;
    let (i, n) = rest.split_once(" of ")?;
    Some((i.trim().parse().ok()?, n.trim().parse().ok()?))
}

/// How one stream ended.
fn ending(s: &Stream) -> String {
    if s.status != 200 {
        return if s.status == 0 {
            "no answer".to_owned()
        } else {
            format!("answered {}", s.status)
        };
    }
    match s
        .events
        .iter()
        .find(|e| e.kind == "complete" || e.kind == "error")
    {
        Some(e) if e.kind == "complete" => "complete".to_owned(),
        Some(e) => format!("error {}", e.code.as_deref().unwrap_or("(no code)")),
        None if s.timed_out => "still open at the deadline".to_owned(),
        None if s.broken => "connection broken".to_owned(),
        None => "closed without complete".to_owned(),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The verdict lines `(name, passed, expected, observed)` of a run's streams.
pub fn judge(streams: &[Stream], ttlt: Duration) -> Vec<(String, bool, String, String)> {
    let n = streams.len();
    let mut endings: BTreeMap<String, usize> = BTreeMap::new();
    for s in streams {
        *endings.entry(ending(s)).or_default() += 1;
    }
    let complete = endings.get("complete").copied().unwrap_or(0);
    let mut out = vec![(
        "completion".to_owned(),
        n > 0 && complete as f64 >= MIN_COMPLETION * n as f64,
        format!(
            "≥ {:.0} % of streams end with complete",
            MIN_COMPLETION * 100.0
        ),
        format!(
            "{complete} of {n} ({})",
            endings
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )];
    let mut last: Vec<f64> = streams
        .iter()
        .filter_map(|s| {
            s.events
                .iter()
                .find(|e| e.kind == "complete")
                .map(|e| e.at.as_secs_f64() * 1000.0)
        })
        .collect();
    last.sort_by(f64::total_cmp);
    let open_at_deadline = streams.iter().filter(|s| s.timed_out).count();
    let slowest = last.last().copied();
    out.push((
        "time to last token".to_owned(),
        open_at_deadline == 0 && slowest.is_some_and(|ms| ms < ttlt.as_secs_f64() * 1000.0),
        format!("every stream complete within {} ms", ttlt.as_millis()),
        format!(
            "p50 {:.0} ms, p95 {:.0} ms, max {} ms; {open_at_deadline} still open at the bound",
            percentile(&last, 50.0),
            percentile(&last, 95.0),
            slowest.map_or("–".to_owned(), |v| format!("{v:.0}"))
        ),
    ));
    let problems: Vec<String> = streams
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            order_problems(s)
                .into_iter()
                .map(move |p| format!("stream {}: {p}", i + 1))
        })
        .collect();
    out.push((
        "order".to_owned(),
        problems.is_empty(),
        "progress 0 first, sections 1..N with one chunk each, nothing after complete".to_owned(),
        if problems.is_empty() {
            format!("{n} streams in order")
        } else {
            format!(
                "{} problems: {}",
                problems.len(),
                problems
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        },
    ));
    out
}

/// Time-to-first-event figures (reported, not judged).
fn first_events(streams: &[Stream]) -> String {
    let mut first: Vec<f64> = streams
        .iter()
        .filter_map(|s| s.events.first().map(|e| e.at.as_secs_f64() * 1000.0))
        .collect();
    first.sort_by(f64::total_cmp);
    format!(
        "p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms over {} streams",
        percentile(&first, 50.0),
        percentile(&first, 95.0),
        first.last().copied().unwrap_or_default(),
        first.len()
    )
}

/// One check per system whose runbook documents a stream.
pub fn checks(facts: &BTreeMap<String, RunbookFacts>, load: StreamLoad) -> Vec<Check<Ctx>> {
    facts
        .iter()
        .filter_map(|(system, f)| {
            let stream = f.stream.as_ref()?;
            let ttlt = f.slos.iter().find(|s| s.kind == "ttlt");
            let title = format!(
                "{} streams at {:.1}/s: all complete, in order{}",
                stream.request,
                load.rate,
                ttlt.map(|s| format!(", TTLT {} {} ms", s.op, s.value))
                    .unwrap_or_default()
            );
            let system2 = system.clone();
            Some(
                Check::new(
                    format!("{system}/sse"),
                    title,
                    system.clone(),
                    RunbookRef {
                        seed: f.seed.clone(),
                        section: stream.section.clone(),
                    },
                    if stream.request.starts_with("GET ") {
                        Effect::Read
                    } else {
                        Effect::Mutate
                    },
                    move |ctx: Arc<Ctx>| {
                        let system = system2.clone();
                        async move { run(&ctx, &system).await }
                    },
                )
                .with_timeout(load.duration + ttlt_of(f) + Duration::from_secs(60)),
            )
        })
        .collect()
}

fn ttlt_of(facts: &RunbookFacts) -> Duration {
    facts
        .slos
        .iter()
        .find(|s| s.kind == "ttlt")
        .map_or(DEFAULT_TTLT, |s| Duration::from_secs_f64(s.value / 1000.0))
}

async fn run(ctx: &Ctx, system: &str) -> Outcome {
    let (Some(facts), Some(target)) = (ctx.facts.get(system), ctx.targets.get(system)) else {
        return infra(format!("the profile has no target for {system}"));
    };
    let Some(doc) = &facts.stream else {
        return infra(format!("{system}'s runbook documents no stream"));
    };
    let ttlt = ttlt_of(facts);
    // A stream still open this long after its send has failed the bound.
    let deadline = ttlt + Duration::from_secs(5);
    let stages = vec![Stage::new(
        "hold",
        ctx.load.duration,
        ctx.load.rate,
        ctx.load.rate,
    )];
    let planned = (ctx.load.rate * ctx.load.duration.as_secs_f64()).floor() as u32;
    let users = ctx.load.users.unwrap_or_else(|| {
        ((ctx.load.rate * deadline.as_secs_f64()).ceil() as u32)
            .clamp(1, planned.max(1))
            .min(ctx.budget.users)
    });
    if let Err(over) = ctx.budget.admits(users, ctx.load.rate, ctx.load.duration) {
        return Outcome::Refused {
            reason: format!("{planned} streams over {users} users: {over}"),
        };
    }
    let mut parts = doc.request.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return infra(format!(
            "{system}: stream request {:?} is not `METHOD /path`",
            doc.request
        ));
    };
    let method = match goose_method(&method.to_ascii_uppercase()) {
        Ok(m) => m,
        Err(e) => return infra(format!("{system}: {e}")),
    };
    let vars = ctx.vars.get(system);
    let var = |k: &str| vars.and_then(|v| v.get(k)).cloned();
    let tenant = var("tenant");
    let fresh = var("load-fresh-tenants").as_deref() == Some("true");
    // The facts come rendered: `{tenant}` in the path is already the profile's tenant.
    let tenant = tenant.filter(|t| path.contains(&format!("/{t}")));
    // One tenant for every stream: the rate must stay within its documented limit.
    if tenant.is_some()
        && !fresh
        && let Some(l) = facts
            .rate_limits
            .iter()
            .find(|l| l.per == "tenant" && l.paths.iter().any(|p| path_matches(p, path)))
        && (ctx.load.rate > l.rate_per_s() || planned > l.capacity())
    {
        return Outcome::Refused {
            reason: format!(
                "{planned} streams at {:.2}/s from one tenant exceed its documented limit {} ({} per {}): lower --rate/--duration, or allow fresh tenants",
                ctx.load.rate,
                l.name,
                l.limit,
                humantime::format_duration(l.window)
            ),
        };
    }
    let token = match bearer(target).await {
        Ok(t) => t,
        Err(outcome) => return outcome,
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let (path, base) = (path.to_owned(), target.url(""));
    let (header, body) = (doc.tenant_header.clone(), doc.body.clone());
    let profile_tenant = tenant.clone();
    let request = move |k: u64| {
        let tenant = tenant.as_ref().map(|t| {
            if fresh {
                format!("{t}-sse-{stamp}-{k}")
            } else {
                t.clone()
            }
        });
        let mut headers: Vec<(String, String)> = token
            .iter()
            .map(|t| ("authorization".to_owned(), format!("Bearer {t}")))
            .collect();
        if let (Some(h), Some(t)) = (&header, &tenant) {
            headers.push((h.clone(), t.clone()));
        }
        let path = match (&tenant, &profile_tenant) {
            (Some(t), Some(p)) => path.replace(&format!("/{p}"), &format!("/{t}")),
            _ => path.clone(),
        };
        Request {
            method,
            url: format!("{}{path}", base.trim_end_matches('/')),
            headers,
            body: body.clone(),
        }
    };
    let report = ctx
        .report_dir
        .as_ref()
        .map(|d| d.join(format!("sse-{system}.html")));
    let streams = match stream(
        &target.base_url,
        stages,
        users as usize,
        Box::new(request),
        deadline,
        report,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return infra(format!("{system} sse: {e}")),
    };
    if streams.is_empty() || streams.iter().all(|s| s.status == 0) {
        return infra(format!(
            "{} answered none of {} streams (unreachable)",
            target.base_url,
            streams.len()
        ));
    }
    let verdicts = judge(&streams, ttlt);
    let mut evidence: Vec<Evidence> = verdicts
        .iter()
        .map(|(name, ok, expected, observed)| {
            Evidence::new(
                name.clone(),
                format!(
                    "{} — expected {expected}; observed {observed}",
                    if *ok { "ok" } else { "FAILED" }
                ),
            )
        })
        .collect();
    evidence.push(Evidence::new("time to first event", first_events(&streams)));
    evidence.push(Evidence::new(
        "load",
        format!(
            "{} streams at {:.1}/s over {} s, {users} users{}",
            streams.len(),
            ctx.load.rate,
            ctx.load.duration.as_secs(),
            if fresh { ", a fresh tenant each" } else { "" }
        ),
    ));
    let summary: Vec<String> = verdicts
        .iter()
        .map(|(name, _, _, observed)| format!("{name} {observed}"))
        .collect();
    if verdicts.iter().all(|v| v.1) {
        pass_with(summary.join("; "), evidence)
    } else {
        let failed: Vec<String> = verdicts
            .iter()
            .filter(|v| !v.1)
            .map(|(name, _, expected, observed)| {
                format!("{name}: {observed} (expected {expected})")
            })
            .collect();
        fail_with(
            format!("{}: {}", doc.request, doc.section),
            failed.join("; "),
            evidence,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::streamer::StreamEvent;

    fn ev(ms: u64, kind: &str, progress: Option<f64>, message: Option<&str>) -> StreamEvent {
        StreamEvent {
            at: Duration::from_millis(ms),
            kind: kind.into(),
            progress,
            message: message.map(str::to_owned),
            code: None,
        }
    }

    /// A documented stream of `n` sections, complete at `end` ms.
    fn good(n: u32, end: u64) -> Stream {
        let mut events = vec![ev(5, "progress", Some(0.0), Some("Starting generation..."))];
        for i in 1..=n {
            events.push(ev(10 * u64::from(i), "chunk", None, None));
            events.push(ev(
                10 * u64::from(i) + 1,
                "progress",
                Some(f64::from(i * 90 / n)),
                Some(&format!("Generated section {i} of {n}")),
            ));
        }
        events.push(ev(end, "complete", None, None));
        Stream {
            status: 200,
            events,
            timed_out: false,
            broken: false,
        }
    }

    #[test]
    fn documented_streams_pass() {
        let streams = vec![good(4, 300), good(4, 350)];
        let v = judge(&streams, Duration::from_secs(60));
        assert!(v.iter().all(|v| v.1), "{v:?}");
    }

    #[test]
    fn a_missing_section_a_late_event_or_no_complete_fail() {
        let mut missing = good(4, 300);
        missing.events.remove(3); // chunk 2
        missing.events.remove(3); // "section 2 of 4"
        assert!(
            order_problems(&missing)
                .iter()
                .any(|p| p.contains("section 2 of 4 missing")),
            "{:?}",
            order_problems(&missing)
        );
        let mut after = good(2, 100);
        after.events.push(ev(120, "chunk", None, None));
        assert!(order_problems(&after)[0].contains("after the stream's end"));
        let mut unfinished = good(3, 100);
        unfinished.events.pop();
        let v = judge(&[good(3, 100), unfinished], Duration::from_secs(60));
        assert!(
            !v[0].1 && v[0].3.contains("closed without complete"),
            "{v:?}"
        );
        let mut open = good(3, 100);
        open.events.pop();
        open.timed_out = true;
        let v = judge(&[open], Duration::from_secs(60));
        assert!(!v[1].1, "{v:?}");
    }

    #[test]
    fn a_stream_past_the_ttlt_bound_fails_it() {
        let v = judge(&[good(2, 100), good(2, 61_000)], Duration::from_secs(60));
        assert!(v[0].1 && !v[1].1, "{v:?}");
    }
}
