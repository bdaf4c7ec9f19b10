//! The neighbour: another user, tenant or client of the same limit. It waits until the
//! throttled user is first refused, then sends a few requests of its own, which must all
//! be served: one identity's exhaustion must not throttle another.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use goose::prelude::*;

use super::{Shared, send};
use crate::measure::Who;

pub const NAME: &str = "neighbour";
/// Requests the neighbour sends while the other identity is throttled.
pub const REQUESTS: usize = 3;
/// Their spacing.
const SPACING: Duration = Duration::from_millis(200);

pub fn scenario(shared: Arc<Shared>) -> Scenario {
    let visit: TransactionFunction = Arc::new(move |user| {
        let shared = Arc::clone(&shared);
        Box::pin(async move { visit(user, &shared).await })
    });
    Scenario::new(NAME).register_transaction(Transaction::new(visit).set_name("visit"))
}

async fn visit(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    let Some(request) = &shared.neighbour else {
        tokio::time::sleep(Duration::from_millis(200)).await;
        return Ok(());
    };
    if shared.throttled_at.get().is_none() || shared.neighbour_sent() >= REQUESTS {
        tokio::time::sleep(Duration::from_millis(20)).await;
        return Ok(());
    }
    shared.neighbour_sent.fetch_add(1, Ordering::Relaxed);
    send(user, shared, request, Who::Neighbour, NAME).await?;
    tokio::time::sleep(SPACING).await;
    Ok(())
}
