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

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// Send times for a fixed arrival rate over a bounded time.
#[derive(Debug)]
pub struct Pacer {
    /// Set by the first slot: goose's own start-up is not counted against the schedule.
    start: OnceLock<Instant>,
    interval: Duration,
    until: Duration,
    next: AtomicU64,
    late: AtomicU64,
}

/// One send time handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub index: u64,
    /// When the request was meant to leave, from the start.
    pub intended: Duration,
}

impl Pacer {
    /// `rate_per_s` requests a second (at least one per hour) for `duration` from the first
    /// slot.
    pub fn new(rate_per_s: f64, duration: Duration) -> Self {
        let rate = rate_per_s.max(1.0 / 3600.0);
        Self {
            start: OnceLock::new(),
            interval: Duration::from_secs_f64(1.0 / rate),
            until: duration,
            next: AtomicU64::new(0),
            late: AtomicU64::new(0),
        }
    }

    /// The spacing of send times.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Time since the first slot (zero before it).
    pub fn elapsed(&self) -> Duration {
        self.start.get().map(Instant::elapsed).unwrap_or_default()
    }

    /// Wait for the next send time; `None` once the run's time is over (nothing more to send).
    pub async fn slot(&self) -> Option<Slot> {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        let intended = self.interval.checked_mul(u32::try_from(index).ok()?)?;
        if intended >= self.until {
            return None;
        }
        let when = *self.start.get_or_init(Instant::now) + intended;
        let now = Instant::now();
        if now > when + self.interval {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep_until(when).await;
        Some(Slot { index, intended })
    }

    /// Slots handed out later than one interval past their time.
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
}
