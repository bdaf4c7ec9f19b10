//! Service-level objectives met by a short measurement: a bounded number of probes of one
//! endpoint, a few at a time, then each documented SLO (runbook facts `[[slos]]`) computed
//! from what they observed. A short run cannot prove 99.99 %; it can catch a service that
//! misses it badly, and its evidence says how many probes the verdict rests on.

use std::time::Duration;

use cucumber::{then, when};
use futures::StreamExt;
use shakedown_core::runbook::Slo;

use crate::result::{StepError, StepResult};
use crate::steps::http::{Caller, build};
use crate::world::AcceptWorld;

/// Most probes one measurement may send (every loop here is bounded).
const MAX_PROBES: usize = 2000;
/// Most probes in flight at once.
const MAX_CONCURRENCY: usize = 32;

/// One probe's outcome.
#[derive(Debug, Clone)]
pub struct Probe {
    /// HTTP status, or `None` when the request failed outright (timeout, refused, reset).
    pub status: Option<u16>,
    pub latency: Duration,
    pub json: Option<serde_json::Value>,
}

/// What a measurement observed.
#[derive(Debug, Clone, Default)]
pub struct Measurement {
    pub what: String,
    pub probes: Vec<Probe>,
}

impl Measurement {
    fn count(&self, f: impl Fn(&Probe) -> bool) -> usize {
        self.probes.iter().filter(|p| f(p)).count()
    }

    fn percent(&self, n: usize) -> f64 {
        if self.probes.is_empty() {
            0.0
        } else {
            n as f64 * 100.0 / self.probes.len() as f64
        }
    }

    /// Nearest-rank percentile of the answered probes' latencies, in ms.
    fn percentile_ms(&self, q: f64) -> Option<f64> {
        let mut ms: Vec<f64> = self
            .probes
            .iter()
            .filter(|p| p.status.is_some())
            .map(|p| p.latency.as_secs_f64() * 1000.0)
            .collect();
        if ms.is_empty() {
            return None;
        }
        ms.sort_by(f64::total_cmp);
        let rank = ((q / 100.0) * ms.len() as f64).ceil() as usize;
        Some(ms[rank.clamp(1, ms.len()) - 1])
    }

    /// The SLO's measure over this measurement, and a line saying how it was counted.
    pub fn observe(&self, slo: &Slo) -> Result<(f64, String), String> {
        let n = self.probes.len();
        let server_error = |p: &Probe| p.status.is_some_and(|s| s >= 500);
        let failed = |p: &Probe| p.status.is_none_or(|s| s >= 500);
        let rate = |k: usize, what: &str| (self.percent(k), format!("{k} of {n} probes {what}"));
        Ok(match slo.kind.as_str() {
            "availability" => {
                let bad = self.count(failed);
                let (_, text) = rate(bad, "failed or answered 5xx");
                (100.0 - self.percent(bad), text)
            }
            "error-rate" => rate(self.count(server_error), "answered 5xx"),
            "failed-requests" => rate(self.count(failed), "failed outright or answered 5xx"),
            "field-ok" => {
                let field = slo
                    .field
                    .as_deref()
                    .ok_or("an SLO of kind field-ok needs `field`")?;
                let ok = self.count(|p| {
                    p.json
                        .as_ref()
                        .and_then(|j| j.pointer(field))
                        .and_then(|v| v.as_str())
                        == Some("ok")
                });
                (
                    self.percent(ok),
                    format!("{ok} of {n} probes reported {field} = \"ok\""),
                )
            }
            kind if kind.starts_with("latency-p") => {
                let q: f64 = kind["latency-p".len()..]
                    .parse()
                    .map_err(|_| format!("unknown latency kind `{kind}`"))?;
                let ms = self
                    .percentile_ms(q)
                    .ok_or("no probe was answered, so there is no latency")?;
                (ms, format!("p{q} of {n} probes' latencies, in ms"))
            }
            other => return Err(format!("SLO kind `{other}` is not measured by probes")),
        })
    }
}

#[when(
    regex = r#"^I probe (GET|POST) "([^"]*)"( as the test user)? (\d+) times, (\d+) at a time$"#
)]
async fn probe(
    world: &mut AcceptWorld,
    method: String,
    path: String,
    as_user: String,
    times: usize,
    concurrency: usize,
) -> StepResult {
    if times == 0 || times > MAX_PROBES || concurrency == 0 || concurrency > MAX_CONCURRENCY {
        return Err(StepError::Usage(format!(
            "probe 1..={MAX_PROBES} times, 1..={MAX_CONCURRENCY} at a time"
        )));
    }
    let caller = if as_user.is_empty() {
        Caller::Anonymous
    } else {
        Caller::TestUser
    };
    let template = build(world, &method, &path, caller, None, &[], None).await?;
    let mut requests = Vec::with_capacity(times);
    for _ in 0..times {
        requests.push(
            template
                .try_clone()
                .ok_or_else(|| StepError::Usage("this request cannot be repeated".into()))?,
        );
    }
    let target = world.target()?;
    let mut probes: Vec<Probe> = futures::stream::iter(requests)
        .map(|req| async move {
            let started = tokio::time::Instant::now();
            match target.send(req).await {
                Ok(ex) => Probe {
                    status: Some(ex.status.as_u16()),
                    latency: ex.latency,
                    json: ex.json(),
                },
                Err(_) => Probe {
                    status: None,
                    latency: started.elapsed(),
                    json: None,
                },
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    if probes.iter().all(|p| p.status.is_none()) {
        // Nothing answered at all: the target is unreachable, not out of its SLO.
        let url = target.url(&world.render(&path)?);
        return Err(StepError::Infra(format!(
            "none of {times} probes of {method} {url} got an answer"
        )));
    }
    probes.shrink_to_fit();
    world.measurement = Some(Measurement {
        what: format!("{method} {path}"),
        probes,
    });
    Ok(())
}

#[then(regex = r#"^the measurement meets the "([^"]+)" SLOs?$"#)]
fn meets(world: &mut AcceptWorld, names: String) -> StepResult {
    let m = world
        .measurement
        .as_ref()
        .ok_or_else(|| StepError::Usage("no probes were sent before this step".into()))?;
    let facts = world.facts()?;
    let mut misses = Vec::new();
    for name in names.split(',').map(str::trim) {
        let slo = facts.slos.iter().find(|s| s.name == name).ok_or_else(|| {
            StepError::Usage(format!(
                "the runbook facts of {} have no SLO `{name}` (known: {})",
                world.system,
                facts
                    .slos
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if !matches!(slo.op.as_str(), "<" | "<=" | ">" | ">=") {
            return Err(StepError::Usage(format!(
                "SLO `{name}` has op `{}`; want <, <=, > or >=",
                slo.op
            )));
        }
        let (observed, how) = m.observe(slo).map_err(StepError::Usage)?;
        if !slo.met_by(observed) {
            misses.push(format!(
                "{name}: {observed:.3} ({how}), wanted {} {} ({})",
                slo.op, slo.value, slo.section
            ));
        }
    }
    if misses.is_empty() {
        Ok(())
    } else {
        Err(StepError::Mismatch {
            expected: format!(
                "{} probes of {} to meet the SLOs {names}",
                m.probes.len(),
                m.what
            ),
            observed: misses.join("; "),
        })
    }
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
            field: Some("/db".into()),
            route: None,
        }
    }

    fn probe(status: Option<u16>, ms: u64, db: &str) -> Probe {
        Probe {
            status,
            latency: Duration::from_millis(ms),
            // A probe that got no answer has no body.
            json: status.map(|_| serde_json::json!({ "db": db })),
        }
    }

    fn measurement() -> Measurement {
        let mut probes: Vec<Probe> = (1..=97).map(|i| probe(Some(200), i, "ok")).collect();
        probes.push(probe(Some(503), 1000, "down"));
        probes.push(probe(Some(404), 2, "ok"));
        probes.push(probe(None, 5000, "ok"));
        Measurement {
            what: "GET /health".into(),
            probes,
        }
    }

    #[test]
    fn rates_count_5xx_and_outright_failures_as_documented() {
        let m = measurement();
        let (a, _) = m.observe(&slo("availability", ">=", 99.0)).unwrap();
        assert!((a - 98.0).abs() < 1e-9, "{a}");
        assert!(!slo("availability", ">=", 99.0).met_by(a));
        let (e, _) = m.observe(&slo("error-rate", "<", 1.0)).unwrap();
        assert!((e - 1.0).abs() < 1e-9, "{e}");
        assert!(!slo("error-rate", "<", 1.0).met_by(e));
        let (f, _) = m.observe(&slo("failed-requests", "<", 5.0)).unwrap();
        assert!((f - 2.0).abs() < 1e-9, "{f}");
        assert!(slo("failed-requests", "<", 5.0).met_by(f));
        let (ok, _) = m.observe(&slo("field-ok", ">=", 99.0)).unwrap();
        assert!((ok - 98.0).abs() < 1e-9, "{ok}");
    }

    #[test]
    fn latency_percentiles_use_nearest_rank_over_answered_probes() {
        let m = measurement();
        // 99 answered probes: 1..=97 ms, 1000 ms, 2 ms. p95 rank = ceil(94.05) = 95.
        let (p95, _) = m.observe(&slo("latency-p95", "<", 500.0)).unwrap();
        assert!((p95 - 94.0).abs() < 1e-9, "{p95}");
        let (p99, _) = m.observe(&slo("latency-p99", "<", 500.0)).unwrap();
        assert!((p99 - 1000.0).abs() < 1e-9, "{p99}");
        assert!(!slo("latency-p99", "<", 500.0).met_by(p99));
    }

    #[test]
    fn unknown_kinds_and_missing_fields_are_usage_errors() {
        let m = measurement();
        assert!(m.observe(&slo("ttlt", "<", 1.0)).is_err());
        let mut s = slo("field-ok", ">=", 1.0);
        s.field = None;
        assert!(m.observe(&s).is_err());
        assert!(!slo("availability", "=~", 1.0).met_by(100.0));
    }
}
