//! The throttled user: sends the limited request at the pacer's fixed rate, above the
//! documented limit, so its bucket empties and stays empty; its accepted requests after
//! the first refusal are the refill.

use std::sync::Arc;
use std::time::Duration;

use goose::prelude::*;

use super::{Shared, send};
use crate::measure::Who;

pub const NAME: &str = "throttled";

pub fn scenario(shared: Arc<Shared>) -> Scenario {
    let spend: TransactionFunction = Arc::new(move |user| {
        let shared = Arc::clone(&shared);
        Box::pin(async move { spend(user, &shared).await })
    });
    Scenario::new(NAME).register_transaction(Transaction::new(spend).set_name("spend"))
}

async fn spend(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    if shared.pacer.slot().await.is_none() {
        // The paced run is over; goose's run time ends it shortly.
        tokio::time::sleep(Duration::from_millis(50)).await;
        return Ok(());
    }
    send(user, shared, &shared.request, Who::Throttled, NAME).await
}
