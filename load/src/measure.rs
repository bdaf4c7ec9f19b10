//! What a rate-limit run measured, from its samples: the burst accepted before the first
//! refusal, the sustained (refill) rate once throttled, the shape of the refusals, the
//! neighbour's isolation and the recovery — each next to the documented number with a
//! tolerance and a verdict. Pure functions of the samples, so every rule is unit-tested
//! against synthetic token buckets.

use std::time::Duration;

use shakedown_core::runbook::RateLimit;

/// Whose request a sample is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The identity that spends its bucket.
    Throttled,
    /// Another user/tenant/client, sending while the first is throttled.
    Neighbour,
    /// The throttled identity again, after waiting out its Retry-After.
    Recovery,
}

/// One request and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub who: Who,
    /// When the request was sent, from the start of the run.
    pub at: Duration,
    /// HTTP status; 0 when no answer came (connection refused, timeout).
    pub status: u16,
    /// The `Retry-After` header as sent.
    pub retry_after: Option<String>,
    /// The error code in a refusal's JSON body (`error.code`, `code` or `error`).
    pub code: Option<String>,
}

impl Sample {
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// How close a measurement must be to the documented number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Relative, e.g. 0.05 for ±5 %.
    pub relative: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self { relative: 0.05 }
    }
}

/// One measured quantity next to its documented value.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// `throttles`, `burst`, `refill`, `refusal`, `isolation`, `recovery`.
    pub what: &'static str,
    pub expected: String,
    pub observed: String,
    pub passed: bool,
}

/// Everything one run of one limit measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub verdicts: Vec<Verdict>,
    /// Requests sent by the throttled identity.
    pub sent: usize,
    /// The measured bucket, when one was seen.
    pub burst: Option<f64>,
    /// The measured refill, requests per minute, when enough was accepted once throttled.
    pub refill_per_min: Option<f64>,
}

impl Measurement {
    pub fn passed(&self) -> bool {
        !self.verdicts.is_empty() && self.verdicts.iter().all(|v| v.passed)
    }

    /// A verdict the run was meant to reach (`isolation` when a neighbour was sent,
    /// `recovery`) fails as "not measured" when the identity was throttled but the samples
    /// hold none: a part of the promise that went unobserved is not a pass.
    pub fn require(&mut self, what: &'static str, expected: &str) {
        let throttled = self
            .verdicts
            .iter()
            .any(|v| v.what == "throttles" && v.passed);
        if throttled && !self.verdicts.iter().any(|v| v.what == what) {
            self.verdicts.push(Verdict {
                what,
                expected: expected.to_owned(),
                observed: "not measured: the run sent no such request".to_owned(),
                passed: false,
            });
        }
    }
}

/// Whether a `Retry-After` value is valid: delay-seconds, or an HTTP-date.
pub fn retry_after_valid(value: &str) -> bool {
    let v = value.trim();
    (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())) || httpdate_like(v)
}

fn httpdate_like(v: &str) -> bool {
    // IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
    v.len() == 29 && v.ends_with(" GMT") && v.as_bytes().get(3) == Some(&b',')
}

/// Judge `samples` against `limit`. `resolution` is the spacing of the throttled
/// identity's requests: a token refilled between two requests is only seen at the next,
/// so the refill measurement is uncertain by about one spacing at each end.
pub fn judge(
    limit: &RateLimit,
    samples: &[Sample],
    resolution: Duration,
    tolerance: Tolerance,
) -> Measurement {
    let mut mine: Vec<&Sample> = samples.iter().filter(|s| s.who == Who::Throttled).collect();
    mine.sort_by_key(|s| s.at);
    let sent = mine.len();
    let mut verdicts = Vec::new();
    let unanswered = mine.iter().filter(|s| s.status == 0).count();
    let first_refusal = mine.iter().position(|s| s.status == limit.status);
    let rate = limit.rate_per_s();
    let Some(first) = first_refusal else {
        let accepted = mine.iter().filter(|s| s.accepted()).count();
        verdicts.push(Verdict {
            what: "throttles",
            expected: format!(
                "{} once the bucket of {} is spent ({} per {})",
                limit.status,
                limit.capacity(),
                limit.limit,
                humantime::format_duration(limit.window)
            ),
            observed: format!(
                "no {} in {sent} requests ({accepted} accepted, {unanswered} unanswered)",
                limit.status
            ),
            passed: false,
        });
        return Measurement {
            verdicts,
            sent,
            burst: None,
            refill_per_min: None,
        };
    };
    verdicts.push(Verdict {
        what: "throttles",
        expected: format!("{} once the bucket is spent", limit.status),
        observed: format!("first {} at request {}", limit.status, first + 1),
        passed: true,
    });

    // Refill: the accepted requests once throttled arrive one per refilled token.
    let after: Vec<Duration> = mine[first..]
        .iter()
        .filter(|s| s.accepted())
        .map(|s| s.at)
        .collect();
    let refill = match (after.first(), after.last()) {
        (Some(a), Some(b)) if after.len() >= 3 && b > a => {
            Some((after.len() - 1) as f64 / (*b - *a).as_secs_f64())
        }
        _ => None,
    };
    let measured_rate = refill.unwrap_or(rate);
    let per_min = |r: f64| r * 60.0;
    match refill {
        Some(r) => {
            let span = (after[after.len() - 1] - after[0]).as_secs_f64();
            // One request spacing at each end of the span.
            let uncertainty = 2.0 * resolution.as_secs_f64() / span;
            let allowed = tolerance.relative + uncertainty;
            let off = (r - rate) / rate;
            verdicts.push(Verdict {
                what: "refill",
                expected: format!(
                    "{:.1} requests/min ±{:.1} % ({:.0} % tolerance + {:.1} % resolution)",
                    per_min(rate),
                    allowed * 100.0,
                    tolerance.relative * 100.0,
                    uncertainty * 100.0
                ),
                observed: format!(
                    "{:.1} requests/min ({:+.1} %): {} accepted over {:.1} s once throttled",
                    per_min(r),
                    off * 100.0,
                    after.len(),
                    span
                ),
                passed: off.abs() <= allowed,
            });
        }
        None => verdicts.push(Verdict {
            what: "refill",
            expected: format!(
                "{:.1} requests/min once throttled (at least 3 accepted to measure)",
                per_min(rate)
            ),
            observed: format!(
                "{} accepted after the first {} over {:.1} s",
                after.len(),
                limit.status,
                mine.last()
                    .map_or(0.0, |l| (l.at - mine[first].at).as_secs_f64())
            ),
            passed: false,
        }),
    }

    // Burst: what was accepted before the first refusal, less what refilled meanwhile.
    let accepted_before = mine[..first].iter().filter(|s| s.accepted()).count();
    let spent = mine[first].at.saturating_sub(mine[0].at).as_secs_f64();
    let burst = accepted_before as f64 - measured_rate * spent;
    let capacity = f64::from(limit.capacity());
    let allowed = (capacity * tolerance.relative).max(1.0);
    verdicts.push(Verdict {
        what: "burst",
        expected: format!("{capacity:.0} ±{allowed:.1} requests accepted at once"),
        observed: format!(
            "{burst:.1} ({accepted_before} accepted in {spent:.2} s before the first {}, less {:.1} refilled meanwhile)",
            limit.status,
            measured_rate * spent
        ),
        passed: (burst - capacity).abs() <= allowed,
    });

    // The refusals' shape.
    let refusals: Vec<&&Sample> = mine.iter().filter(|s| s.status == limit.status).collect();
    let no_retry_after = refusals
        .iter()
        .filter(|s| !s.retry_after.as_deref().is_some_and(retry_after_valid))
        .count();
    let wrong_code = limit.code.as_ref().map_or(0, |code| {
        refusals
            .iter()
            .filter(|s| s.code.as_deref() != Some(code.as_str()))
            .count()
    });
    let other_errors = mine
        .iter()
        .filter(|s| !s.accepted() && s.status != limit.status)
        .count();
    verdicts.push(Verdict {
        what: "refusal",
        expected: format!(
            "every refusal {} with a valid Retry-After{}, no other error",
            limit.status,
            limit
                .code
                .as_ref()
                .map(|c| format!(" and code {c}"))
                .unwrap_or_default()
        ),
        observed: format!(
            "{} refusals: {no_retry_after} without a valid Retry-After{}; {other_errors} other errors ({unanswered} unanswered)",
            refusals.len(),
            limit
                .code
                .as_ref()
                .map(|_| format!(", {wrong_code} with another code"))
                .unwrap_or_default()
        ),
        passed: no_retry_after == 0 && wrong_code == 0 && other_errors == 0,
    });

    // Isolation: the neighbour, sending while the first identity is throttled.
    let throttled_from = mine[first].at;
    let neighbour: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.who == Who::Neighbour && s.at >= throttled_from)
        .collect();
    if !neighbour.is_empty() {
        let refused = neighbour.iter().filter(|s| !s.accepted()).count();
        verdicts.push(Verdict {
            what: "isolation",
            expected: format!(
                "another {} is served while this one is throttled",
                limit.per
            ),
            observed: format!(
                "{} of {} of its requests refused (statuses {:?})",
                refused,
                neighbour.len(),
                neighbour.iter().map(|s| s.status).collect::<Vec<_>>()
            ),
            passed: refused == 0,
        });
    }

    // Recovery: after waiting out the Retry-After, the throttled identity is served again.
    let recovery: Vec<&Sample> = samples.iter().filter(|s| s.who == Who::Recovery).collect();
    if !recovery.is_empty() {
        let served = recovery.iter().any(|s| s.accepted());
        verdicts.push(Verdict {
            what: "recovery",
            expected: "served again once the Retry-After has passed".to_owned(),
            observed: format!(
                "statuses after waiting: {:?}",
                recovery.iter().map(|s| s.status).collect::<Vec<_>>()
            ),
            passed: served,
        });
    }

    Measurement {
        verdicts,
        sent,
        burst: Some(burst),
        refill_per_min: refill.map(per_min),
    }
}

/// A per-user limit of `limit` per `window_s` seconds answered 429 `RATE_LIMITED` (tests).
#[cfg(test)]
pub(crate) fn test_limit(limit: u32, window_s: u64, burst: Option<u32>) -> RateLimit {
    RateLimit {
        name: "per-user".into(),
        section: "§".into(),
        per: "user".into(),
        paths: vec!["/jobs".into()],
        limit,
        window: Duration::from_secs(window_s),
        burst,
        status: 429,
        code: Some("RATE_LIMITED".into()),
        request: None,
        body: None,
        tenant_header: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_limit as limit;

    /// A token bucket answering requests sent every `spacing` for `duration`.
    fn bucket(capacity: f64, per_s: f64, spacing: Duration, duration: Duration) -> Vec<Sample> {
        let mut tokens = capacity;
        let mut last = Duration::ZERO;
        let mut at = Duration::ZERO;
        let mut out = Vec::new();
        while at < duration {
            tokens = (tokens + (at - last).as_secs_f64() * per_s).min(capacity);
            last = at;
            let status = if tokens >= 1.0 {
                tokens -= 1.0;
                200
            } else {
                429
            };
            out.push(Sample {
                who: Who::Throttled,
                at,
                status,
                retry_after: (status == 429).then(|| "1".to_owned()),
                code: (status == 429).then(|| "RATE_LIMITED".to_owned()),
            });
            at += spacing;
        }
        out
    }

    fn verdict<'a>(m: &'a Measurement, what: &str) -> &'a Verdict {
        m.verdicts.iter().find(|v| v.what == what).unwrap()
    }

    #[test]
    fn a_bucket_as_documented_passes() {
        let l = limit(100, 60, Some(200));
        let spacing = Duration::from_millis(15);
        let samples = bucket(200.0, 100.0 / 60.0, spacing, Duration::from_secs(12));
        let m = judge(&l, &samples, spacing, Tolerance::default());
        assert!(m.passed(), "{m:#?}");
        let burst = m.burst.unwrap();
        assert!((burst - 200.0).abs() <= 2.0, "{burst}");
        let refill = m.refill_per_min.unwrap();
        assert!((refill - 100.0).abs() < 5.0, "{refill}");
    }

    #[test]
    fn a_faster_refill_fails_the_refill_verdict() {
        let l = limit(100, 60, Some(200));
        let spacing = Duration::from_millis(15);
        let samples = bucket(200.0, 150.0 / 60.0, spacing, Duration::from_secs(12));
        let m = judge(&l, &samples, spacing, Tolerance::default());
        assert!(!verdict(&m, "refill").passed, "{m:#?}");
        assert!(!m.passed());
    }

    #[test]
    fn a_smaller_bucket_fails_the_burst_verdict() {
        let l = limit(100, 60, Some(200));
        let spacing = Duration::from_millis(15);
        let samples = bucket(100.0, 100.0 / 60.0, spacing, Duration::from_secs(12));
        let m = judge(&l, &samples, spacing, Tolerance::default());
        let b = verdict(&m, "burst");
        assert!(!b.passed, "{b:?}");
        assert!(verdict(&m, "refill").passed, "{m:#?}");
    }

    #[test]
    fn no_refusal_at_all_is_one_failed_verdict_not_a_panic() {
        let l = limit(100, 60, Some(200));
        let samples = bucket(1e9, 1e9, Duration::from_millis(10), Duration::from_secs(3));
        let m = judge(
            &l,
            &samples,
            Duration::from_millis(10),
            Tolerance::default(),
        );
        assert_eq!(m.verdicts.len(), 1);
        assert!(!m.passed());
        assert!(m.verdicts[0].observed.contains("no 429"), "{m:?}");
        assert!(!judge(&l, &[], Duration::from_millis(10), Tolerance::default()).passed());
    }

    #[test]
    fn refusals_without_retry_after_or_with_another_code_fail_the_shape() {
        let l = limit(60, 60, None);
        let spacing = Duration::from_millis(50);
        let mut samples = bucket(60.0, 1.0, spacing, Duration::from_secs(8));
        for s in samples.iter_mut().filter(|s| s.status == 429).take(2) {
            s.retry_after = None;
        }
        let m = judge(&l, &samples, spacing, Tolerance::default());
        let r = verdict(&m, "refusal");
        assert!(!r.passed && r.observed.contains("2 without"), "{r:?}");

        let mut samples = bucket(60.0, 1.0, spacing, Duration::from_secs(8));
        samples
            .iter_mut()
            .filter(|s| s.status == 429)
            .for_each(|s| {
                s.code = Some("TOO_MANY".into());
            });
        assert!(
            !verdict(
                &judge(&l, &samples, spacing, Tolerance::default()),
                "refusal"
            )
            .passed
        );
    }

    #[test]
    fn a_neighbour_refused_while_the_first_is_throttled_fails_isolation() {
        let l = limit(60, 60, None);
        let spacing = Duration::from_millis(50);
        let mut samples = bucket(60.0, 1.0, spacing, Duration::from_secs(8));
        let at = Duration::from_secs(5);
        samples.push(Sample {
            who: Who::Neighbour,
            at,
            status: 200,
            retry_after: None,
            code: None,
        });
        assert!(
            verdict(
                &judge(&l, &samples, spacing, Tolerance::default()),
                "isolation"
            )
            .passed
        );
        samples.push(Sample {
            who: Who::Neighbour,
            at: at + Duration::from_millis(500),
            status: 429,
            retry_after: Some("1".into()),
            code: Some("RATE_LIMITED".into()),
        });
        let m = judge(&l, &samples, spacing, Tolerance::default());
        assert!(!verdict(&m, "isolation").passed, "{m:#?}");
    }

    #[test]
    fn recovery_needs_one_accepted_request() {
        let l = limit(60, 60, None);
        let spacing = Duration::from_millis(50);
        let mut samples = bucket(60.0, 1.0, spacing, Duration::from_secs(8));
        samples.push(Sample {
            who: Who::Recovery,
            at: Duration::from_secs(10),
            status: 429,
            retry_after: Some("1".into()),
            code: None,
        });
        let m = judge(&l, &samples, spacing, Tolerance::default());
        assert!(!verdict(&m, "recovery").passed);
        samples.last_mut().unwrap().status = 200;
        assert!(
            verdict(
                &judge(&l, &samples, spacing, Tolerance::default()),
                "recovery"
            )
            .passed
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        assert!(retry_after_valid("7"));
        assert!(retry_after_valid("Sun, 06 Nov 1994 08:49:37 GMT"));
        assert!(!retry_after_valid(""));
        assert!(!retry_after_valid("-1"));
        assert!(!retry_after_valid("soon"));
    }

    #[test]
    fn an_isolation_or_recovery_never_observed_is_not_a_pass() {
        let l = limit(60, 60, None);
        let spacing = Duration::from_millis(50);
        let samples = bucket(60.0, 1.0, spacing, Duration::from_secs(8));
        let mut m = judge(&l, &samples, spacing, Tolerance::default());
        assert!(m.passed(), "{m:#?}");
        m.require("isolation", "another user is served");
        assert!(!m.passed());
        assert!(verdict(&m, "isolation").observed.contains("not measured"));
        // Never throttled: the one failed verdict says so; nothing is added.
        let mut never = judge(&l, &[], spacing, Tolerance::default());
        never.require("recovery", "served again");
        assert_eq!(never.verdicts.len(), 1);
    }
}
