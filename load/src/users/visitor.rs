//! The visitor of a throughput run: takes the pacer's next send time, sends the request
//! the mix gives that slot, reads the whole answer, and records its status and latency —
//! raw (from when it left) and corrected (from when the schedule meant it to leave) — in
//! the run's mergeable metrics. Many visitors share one pacer, so the arrival rate holds
//! whatever the target's latency (the open model, see [`crate::pacing`]).

use std::sync::{Arc, Mutex, PoisonError};

use goose::prelude::*;

use super::Request;
use crate::metrics::Metrics;
use crate::pacing::Pacer;

pub const NAME: &str = "visitor";

/// The requests of a throughput run and their shares.
#[derive(Debug, Clone)]
pub struct Mix {
    /// `(route name, request, cumulative share up to and including it)`.
    routes: Vec<(String, Request, f64)>,
}

impl Mix {
    /// `routes` as `(name, request, share)`; shares are normalised to their sum.
    pub fn new(routes: Vec<(String, Request, f64)>) -> Result<Self, String> {
        let sum: f64 = routes.iter().map(|r| r.2).sum();
        if routes.is_empty() || !(sum > 0.0 && sum.is_finite()) {
            return Err("the load mix has no request with a positive share".to_owned());
        }
        let mut acc = 0.0;
        let routes = routes
            .into_iter()
            .map(|(name, req, share)| {
                acc += share / sum;
                (name, req, acc)
            })
            .collect();
        Ok(Self { routes })
    }

    /// The request of slot `index`: a low-discrepancy sequence (golden-ratio steps) over
    /// the cumulative shares, so every stretch of the run mixes the routes in their shares.
    pub fn pick(&self, index: u64) -> (&str, &Request) {
        const PHI: f64 = 0.618_033_988_749_894_9;
        let x = (index as f64 * PHI).fract();
        let route = self
            .routes
            .iter()
            .find(|r| x < r.2)
            .or(self.routes.last())
            .map(|r| (r.0.as_str(), &r.1));
        // `routes` is never empty (checked in `new`).
        route.unwrap_or_else(|| unreachable!("an empty mix"))
    }

    /// `(route name, share)` of each route.
    pub fn shares(&self) -> Vec<(String, f64)> {
        let mut prev = 0.0;
        self.routes
            .iter()
            .map(|(name, _, acc)| {
                let share = acc - prev;
                prev = *acc;
                (name.clone(), share)
            })
            .collect()
    }
}

/// What the visitors of one run share.
#[derive(Debug)]
pub struct Visitors {
    pub mix: Mix,
    pub pacer: Pacer,
    metrics: Mutex<Metrics>,
}

impl Visitors {
    pub fn new(mix: Mix, pacer: Pacer) -> Self {
        Self {
            mix,
            pacer,
            metrics: Mutex::new(Metrics::default()),
        }
    }

    /// What was recorded, with the pacer's late count.
    pub fn metrics(&self) -> Metrics {
        let mut m = self
            .metrics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        m.late = self.pacer.late();
        m
    }
}

pub fn scenario(shared: Arc<Visitors>) -> Scenario {
    let visit: TransactionFunction = Arc::new(move |user| {
        let shared = Arc::clone(&shared);
        Box::pin(async move { visit(user, &shared).await })
    });
    Scenario::new(NAME).register_transaction(Transaction::new(visit).set_name("visit"))
}

async fn visit(user: &mut GooseUser, shared: &Visitors) -> TransactionResult {
    // No slot left: this iteration ends at once (the run is bounded by iterations).
    let Some(slot) = shared.pacer.slot().await else {
        return Ok(());
    };
    let (route, req) = shared.mix.pick(slot.index);
    let sent = shared.pacer.elapsed();
    let request = req.goose(user, route, |b| b)?;
    let goose = user.request(request).await?;
    // The latency runs to the answer's last byte.
    let status = match goose.response {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Ok(_) => status,
                Err(_) => 0,
            }
        }
        Err(_) => 0,
    };
    let done = shared.pacer.elapsed();
    let stage = shared
        .pacer
        .stages()
        .get(slot.stage)
        .map_or("run", |s| s.name.as_str());
    shared
        .metrics
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .record(
            route,
            stage,
            status,
            done.saturating_sub(sent),
            done.saturating_sub(slot.intended),
        );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> Request {
        Request {
            method: GooseMethod::Get,
            url: "http://127.0.0.1/".into(),
            headers: vec![],
            body: None,
        }
    }

    #[test]
    fn the_mix_keeps_its_shares_in_every_stretch() {
        let mix = Mix::new(vec![("a".into(), req(), 9.0), ("b".into(), req(), 1.0)]).unwrap();
        let b_in = |from: u64, n: u64| (from..from + n).filter(|&i| mix.pick(i).0 == "b").count();
        assert_eq!(b_in(0, 1000), 100);
        // Any 100 consecutive slots hold 10 ± 1 of the 10 % route.
        for start in [0, 137, 5000, 99_999] {
            let n = b_in(start, 100);
            assert!((9..=11).contains(&n), "{n} at {start}");
        }
        let shares = mix.shares();
        assert!((shares[0].1 - 0.9).abs() < 1e-9 && (shares[1].1 - 0.1).abs() < 1e-9);
        assert!(Mix::new(vec![]).is_err());
        assert!(Mix::new(vec![("a".into(), req(), 0.0)]).is_err());
    }
}
