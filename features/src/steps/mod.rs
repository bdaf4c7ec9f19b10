//! Step definitions, grouped by domain so one step serves many features: HTTP requests and
//! responses (`http`), authentication (`auth`), AWS resources as documented (`resources`),
//! alarms (`alarms`), Lambda releases and rollback (`lambda`), DynamoDB point-in-time restore
//! (`restore`), identity and secrets (`identity`), IAM least privilege (`iam`), networks and
//! log groups (`network`),
//! log events (`logs`), CloudWatch metrics (`metrics`), SLOs met by a short measurement
//! (`slo`) and the documented end-to-end procedures (`procedures`).
//!
//! Every step returns [`crate::result::StepResult`]: a failure says what the runbook expects
//! and what was observed. Where the smoke suite already verifies a thing, the step builds the
//! documented values from its own text and runs that same verification.

pub mod alarms;
pub mod api;
pub mod apigateway;
pub mod auth;
pub mod cdn;
pub mod ecs;
pub mod examples;
pub mod fis;
pub mod frontend;
pub mod healthcheck;
pub mod http;
pub mod iam;
pub mod identity;
pub mod inspector;
pub mod inventory;
pub mod lambda;
pub mod logs;
pub mod metrics;
pub mod network;
pub mod notify;
pub mod ops;
pub mod postgres;
pub mod procedures;
pub mod prometheus;
pub mod redis;
pub mod resources;
pub mod restore;
pub mod slo;
pub mod tls;

use crate::world::{AcceptWorld, Undo};

/// Undo what the scenario changed, last change first. A failed undo fails the scenario
/// (through the after-hook) so a run never silently leaves the stack changed.
pub async fn undo_all(world: &mut AcceptWorld) {
    let mut problems = Vec::new();
    while let Some(undo) = world.undo.pop() {
        let result = match &undo {
            Undo::Alias {
                function,
                alias,
                version,
            } => lambda::point_alias(world, function, alias, version).await,
            Undo::DeleteTable { name } => restore::delete_table(world, name).await,
            Undo::DeleteItem { table, key, value } => {
                restore::delete_item(world, table, key, value).await
            }
            Undo::DeleteUser { pool, user } => identity::delete_user(world, pool, user).await,
            Undo::DeleteResource { path, caller } => {
                http::delete_resource(world, path, *caller).await
            }
            Undo::DeleteObjects { bucket, prefix } => {
                inventory::delete_objects(world, bucket, prefix).await
            }
            Undo::AlarmState { alarm, state } => {
                notify::put_state(world, alarm, state, "shakedown acceptance: test over").await
            }
            Undo::Unsubscribe { arn } => notify::unsubscribe(world, arn).await,
            Undo::DeleteQueue { url } => notify::delete_queue(world, url).await,
            Undo::StopExperiment { id } => fis::stop(world, id).await,
            Undo::DeleteExperimentTemplate { id } => fis::delete_template(world, id).await,
            Undo::FunctionTimeout { function, seconds } => {
                lambda::set_timeout(world, function, *seconds).await
            }
            Undo::StopScratchDatabase { dir, port } => {
                postgres::stop_scratch(world, dir, *port).await
            }
            Undo::RecoverDatabase => postgres::recover_live(world).await,
            Undo::Wait { seconds } => {
                tokio::time::sleep(std::time::Duration::from_secs(*seconds)).await;
                Ok(())
            }
        };
        if let Err(e) = result {
            problems.push(format!("{undo:?}: {e}"));
        }
    }
    if !problems.is_empty() {
        // The after-hook's only way to fail the scenario is to panic; cucumber reports it.
        #[allow(clippy::panic)]
        {
            panic!("cleanup failed: {}", problems.join("; "));
        }
    }
}
