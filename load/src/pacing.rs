//! An open-model (arrival-rate) mode on goose. Goose's users are a closed model: each
//! sends its next request when the previous one is answered, so a slow target slows the
//! load and the measured rate is whatever the target allows. A rate limit, and an SLO at a
//! given throughput, need requests to leave at fixed times instead. A [`Pacer`] hands out
//! send times `start + k / rate`, one per request, to every goose user sharing it: a user
//! sleeps until its slot and sends, so the arrival rate holds as long as there are more
//! users than requests in flight (`rate × latency`). A user that gets its slot late
//! (all users busy) sends at once and the lateness is counted, which is the
//! coordinated-omission signal: the `late` count says how far the run fell short of an
//! open model.
//!
//! A schedule is a list of [`Stage`]s, each moving the rate linearly (ramp up, hold, ramp
//! down, spike): request `k` leaves when the area under the rate reaches `k`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// One stage of an arrival-rate schedule: the rate moves linearly from `from` to `to`
/// requests a second over `duration` (k6's ramping-arrival-rate stages).
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// What the stage is called in reports: `ramp-up`, `hold`, `spike`, ...
    pub name: String,
    pub duration: Duration,
    pub from: f64,
    pub to: f64,
}

impl Stage {
    pub fn new(name: &str, duration: Duration, from: f64, to: f64) -> Self {
        Self {
            name: name.to_owned(),
            duration,
            from: from.max(0.0),
            to: to.max(0.0),
        }
    }

    /// Requests the stage sends: the area under its rate.
    pub fn requests(&self) -> f64 {
        (self.from + self.to) / 2.0 * self.duration.as_secs_f64()
    }

    /// The time into the stage of its `n`-th request (`n` may be fractional): the
    /// inverse of `from·t + (to − from)·t² / (2·T)`.
    fn time_of(&self, n: f64) -> f64 {
        let t = self.duration.as_secs_f64();
        let c = (self.to - self.from) / (2.0 * t);
        if c.abs() < 1e-12 {
            return n / self.from.max(f64::MIN_POSITIVE);
        }
        let disc = (self.from * self.from + 4.0 * c * n).max(0.0);
        ((disc.sqrt() - self.from) / (2.0 * c)).clamp(0.0, t)
    }

    /// The rate `secs` into the stage.
    fn rate_at(&self, secs: f64) -> f64 {
        let t = self.duration.as_secs_f64().max(f64::MIN_POSITIVE);
        self.from + (self.to - self.from) * (secs / t).clamp(0.0, 1.0)
    }
}

/// Send times for an arrival-rate schedule over a bounded time.
#[derive(Debug)]
pub struct Pacer {
    /// Set by the first slot: goose's own start-up is not counted against the schedule.
    start: OnceLock<Instant>,
    stages: Vec<Stage>,
    /// Requests before each stage (cumulative), and in all.
    before: Vec<f64>,
    total: f64,
    next: AtomicU64,
    late: AtomicU64,
}

/// One send time handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub index: u64,
    /// When the request was meant to leave, from the start.
    pub intended: Duration,
    /// The schedule's stage it belongs to (an index into [`Pacer::stages`]).
    pub stage: usize,
}

impl Pacer {
    /// A fixed `rate_per_s` requests a second (at least one per hour) for `duration` from
    /// the first slot.
    pub fn new(rate_per_s: f64, duration: Duration) -> Self {
        let rate = rate_per_s.max(1.0 / 3600.0);
        Self::with_stages(vec![Stage::new("hold", duration, rate, rate)])
    }

    /// A schedule of stages run one after the other.
    pub fn with_stages(stages: Vec<Stage>) -> Self {
        let mut before = Vec::with_capacity(stages.len());
        let mut total = 0.0;
        for s in &stages {
            before.push(total);
            total += s.requests();
        }
        Self {
            start: OnceLock::new(),
            stages,
            before,
            total,
            next: AtomicU64::new(0),
            late: AtomicU64::new(0),
        }
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// How long the whole schedule runs.
    pub fn duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// Requests the whole schedule sends.
    pub fn planned(&self) -> u64 {
        self.total.floor() as u64
    }

    /// The spacing of send times at the highest rate of the schedule.
    pub fn interval(&self) -> Duration {
        let peak = self
            .stages
            .iter()
            .map(|s| s.from.max(s.to))
            .fold(0.0, f64::max)
            .max(1.0 / 3600.0);
        Duration::from_secs_f64(1.0 / peak)
    }

    /// Time since the first slot (zero before it).
    pub fn elapsed(&self) -> Duration {
        self.start.get().map(Instant::elapsed).unwrap_or_default()
    }

    /// The intended time and stage of request `index`, `None` past the schedule's end.
    fn time_of(&self, index: u64) -> Option<(Duration, usize, f64)> {
        let n = index as f64;
        if n >= self.total {
            return None;
        }
        let stage = self.before.iter().rposition(|&b| b <= n)?;
        let s = &self.stages[stage];
        let offset: Duration = self.stages[..stage].iter().map(|s| s.duration).sum();
        let within = s.time_of(n - self.before[stage]);
        let rate = s.rate_at(within).max(1.0 / 3600.0);
        Some((offset + Duration::from_secs_f64(within), stage, rate))
    }

    /// Wait for the next send time; `None` once the schedule is over (nothing more to send).
    pub async fn slot(&self) -> Option<Slot> {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        let (intended, stage, rate) = self.time_of(index)?;
        let when = *self.start.get_or_init(Instant::now) + intended;
        let now = Instant::now();
        if now > when + Duration::from_secs_f64(1.0 / rate) {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep_until(when).await;
        Some(Slot {
            index,
            intended,
            stage,
        })
    }

    /// Slots handed out later than one interval (at their stage's rate) past their time.
    pub fn late(&self) -> u64 {
        self.late.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_evenly_spaced_and_end_with_the_run() {
        let pacer = Pacer::new(50.0, Duration::from_millis(200));
        let mut slots = Vec::new();
        while let Some(slot) = pacer.slot().await {
            // Never sent before its time.
            assert!(pacer.elapsed() >= slot.intended);
            slots.push(slot.intended);
        }
        assert_eq!(slots.len(), 10);
        assert_eq!(slots[1] - slots[0], Duration::from_millis(20));
        assert_eq!(pacer.interval(), Duration::from_millis(20));
    }

    #[tokio::test]
    async fn a_slot_taken_late_is_counted() {
        let pacer = Pacer::new(10.0, Duration::from_secs(10));
        pacer.slot().await;
        tokio::time::sleep(Duration::from_millis(550)).await;
        pacer.slot().await;
        assert_eq!(pacer.late(), 1);
    }

    #[test]
    fn a_ramp_sends_the_area_under_its_rate_at_rising_rates() {
        let pacer = Pacer::with_stages(vec![
            Stage::new("ramp-up", Duration::from_secs(10), 0.0, 10.0),
            Stage::new("hold", Duration::from_secs(10), 10.0, 10.0),
            Stage::new("ramp-down", Duration::from_secs(10), 10.0, 0.0),
        ]);
        assert_eq!(pacer.planned(), 200);
        assert_eq!(pacer.duration(), Duration::from_secs(30));
        let times: Vec<(Duration, usize)> = (0..200)
            .map(|k| {
                let (t, stage, _) = pacer.time_of(k).unwrap();
                (t, stage)
            })
            .collect();
        assert!(pacer.time_of(200).is_none());
        // Monotonic, in the right stages, ramp-up's 50 requests in its 10 s.
        assert!(times.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(times.iter().filter(|(_, s)| *s == 0).count(), 50);
        assert_eq!(times.iter().filter(|(_, s)| *s == 1).count(), 100);
        assert_eq!(times[50].0, Duration::from_secs(10));
        // Half of ramp-up's requests go in its last ~29 %: (25 = 10·t²/20 → t = 7.07 s).
        let t25 = times[25].0.as_secs_f64();
        assert!((t25 - 7.07).abs() < 0.01, "{t25}");
        // Hold is evenly spaced at 10/s; ramp-down thins out towards its end.
        assert_eq!(times[61].0 - times[60].0, Duration::from_millis(100));
        assert!(times[199].0 - times[198].0 > Duration::from_millis(500));
        assert!(times[199].0 <= Duration::from_secs(30));
    }
}
