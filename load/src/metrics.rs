//! What a throughput run records, in a form that merges: per route and per stage, the
//! answers by status and two latency histograms (HdrHistogram, microseconds, 3 significant
//! digits) — **raw**, from when the request actually left, and **corrected**, from when
//! the schedule meant it to leave (a request held back by a busy generator waits, as a
//! user would, and that wait is counted: the coordinated-omission correction of an open
//! model). Shards write these buckets and counts, never percentiles, so a merge is exact:
//! the percentiles of the merged histograms are those of one run that sent everything.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Highest latency a histogram holds (longer ones are clamped to it): 10 minutes.
const MAX_MICROS: u64 = 600_000_000;

/// A latency histogram that serializes as its recorded buckets.
#[derive(Debug, Clone)]
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        // Bounds and precision are constants: cannot fail.
        #[allow(clippy::expect_used)]
        let h = Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds");
        Self(h)
    }
}

impl PartialEq for Latency {
    fn eq(&self, other: &Self) -> bool {
        self.buckets() == other.buckets()
    }
}

impl Latency {
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(MAX_MICROS)
            .clamp(1, MAX_MICROS);
        self.record_n(us, 1);
    }

    fn record_n(&mut self, us: u64, n: u64) {
        // Clamped into the bounds above: cannot fail.
        let _ = self.0.record_n(us.clamp(1, MAX_MICROS), n);
    }

    pub fn merge(&mut self, other: &Latency) {
        for (us, n) in other.buckets() {
            self.record_n(us, n);
        }
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The latency at percentile `p` (0–100), in milliseconds; `None` when empty.
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        (self.count() > 0).then(|| self.0.value_at_percentile(p) as f64 / 1000.0)
    }

    pub fn max_ms(&self) -> Option<f64> {
        (self.count() > 0).then(|| self.0.max() as f64 / 1000.0)
    }

    /// `(highest value of the bucket in µs, count)` for every recorded bucket.
    fn buckets(&self) -> Vec<(u64, u64)> {
        self.0
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }
}

impl Serialize for Latency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.buckets().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let buckets = Vec::<(u64, u64)>::deserialize(d)?;
        let mut h = Latency::default();
        for (us, n) in buckets {
            if us == 0 || us > MAX_MICROS {
                return Err(serde::de::Error::custom(format!(
                    "latency bucket {us} µs is outside 1..={MAX_MICROS}"
                )));
            }
            h.record_n(us, n);
        }
        Ok(h)
    }
}

/// Answers and latencies of a set of requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Stats {
    /// Answers by HTTP status; `0` counts requests that got none (refused, reset, timeout).
    pub by_status: BTreeMap<u16, u64>,
    /// From the actual send.
    pub raw: Latency,
    /// From the intended send (coordinated omission corrected).
    pub corrected: Latency,
}

impl Stats {
    pub fn record(&mut self, status: u16, raw: Duration, corrected: Duration) {
        *self.by_status.entry(status).or_default() += 1;
        self.raw.record(raw);
        self.corrected.record(corrected);
    }

    pub fn merge(&mut self, other: &Stats) {
        for (status, n) in &other.by_status {
            *self.by_status.entry(*status).or_default() += n;
        }
        self.raw.merge(&other.raw);
        self.corrected.merge(&other.corrected);
    }

    pub fn requests(&self) -> u64 {
        self.by_status.values().sum()
    }

    fn count(&self, f: impl Fn(u16) -> bool) -> u64 {
        self.by_status
            .iter()
            .filter(|(s, _)| f(**s))
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests answered 5xx.
    pub fn server_errors(&self) -> u64 {
        self.count(|s| s >= 500)
    }

    /// Requests that got no answer.
    pub fn unanswered(&self) -> u64 {
        self.count(|s| s == 0)
    }

    /// Requests refused with 429 (a documented limit, not an error).
    pub fn throttled(&self) -> u64 {
        self.count(|s| s == 429)
    }

    /// `part` as a percentage of the requests (0 when there were none).
    pub fn percent(&self, part: u64) -> f64 {
        match self.requests() {
            0 => 0.0,
            n => part as f64 * 100.0 / n as f64,
        }
    }
}

/// Everything a throughput run (or one shard of it) recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Metrics {
    /// By route (`GET /api/profile`).
    pub routes: BTreeMap<String, Stats>,
    /// By stage of the schedule (`ramp-up`, `hold`, ...).
    pub stages: BTreeMap<String, Stats>,
    /// Slots the generator took more than one spacing late.
    pub late: u64,
}

impl Metrics {
    pub fn record(
        &mut self,
        route: &str,
        stage: &str,
        status: u16,
        raw: Duration,
        corrected: Duration,
    ) {
        self.routes
            .entry(route.to_owned())
            .or_default()
            .record(status, raw, corrected);
        self.stages
            .entry(stage.to_owned())
            .or_default()
            .record(status, raw, corrected);
    }

    pub fn merge(&mut self, other: &Metrics) {
        for (k, v) in &other.routes {
            self.routes.entry(k.clone()).or_default().merge(v);
        }
        for (k, v) in &other.stages {
            self.stages.entry(k.clone()).or_default().merge(v);
        }
        self.late += other.late;
    }

    /// Every request of the run.
    pub fn all(&self) -> Stats {
        let mut all = Stats::default();
        for s in self.routes.values() {
            all.merge(s);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_of_a_merge_are_those_of_the_whole() {
        // 1..=1000 ms in one run, and the same split over three shards.
        let mut whole = Metrics::default();
        let mut shards = vec![Metrics::default(), Metrics::default(), Metrics::default()];
        for i in 1..=1000u64 {
            let status = if i % 100 == 0 { 503 } else { 200 };
            whole.record("GET /a", "hold", status, ms(i), ms(i + 5));
            shards[(i % 3) as usize].record("GET /a", "hold", status, ms(i), ms(i + 5));
        }
        let mut merged = Metrics::default();
        for s in &shards {
            // Through the wire format, as `load merge` reads them.
            let text = serde_json::to_string(s).unwrap();
            merged.merge(&serde_json::from_str(&text).unwrap());
        }
        assert_eq!(merged, whole);
        let all = merged.all();
        assert_eq!(all.requests(), 1000);
        assert_eq!(all.server_errors(), 10);
        assert!((all.percent(all.server_errors()) - 1.0).abs() < 1e-9);
        let p95 = all.raw.percentile_ms(95.0).unwrap();
        assert!((p95 - 950.0).abs() <= 1.0, "{p95}");
        let p95c = all.corrected.percentile_ms(95.0).unwrap();
        assert!((p95c - 955.0).abs() <= 1.0, "{p95c}");
    }

    #[test]
    fn a_bucket_outside_the_bounds_is_refused() {
        assert!(serde_json::from_str::<Latency>("[[0, 3]]").is_err());
        assert!(serde_json::from_str::<Latency>("[[600000001, 1]]").is_err());
        assert_eq!(
            serde_json::from_str::<Latency>("[[1500, 2]]")
                .unwrap()
                .count(),
            2
        );
    }
}
