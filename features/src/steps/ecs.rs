//! ECS task interruptions as the Plot Palette architecture describes them (Task 3 §4, spot
//! interruption handling): a worker's task is stopped the way a Spot reclaim stops it —
//! `StopTask`, after which the ECS agent sends the container SIGTERM — and the service
//! replaces the task. On AWS the step stops a real Fargate Spot task; locally the worker's
//! agent loop and the stack's service stand-in do what ECS does.

use std::time::Duration;

use cucumber::{then, when};
use shakedown_core::target::aws_error_text;
use tokio::time::Instant;

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

/// The cluster of a task ARN, or a usage error.
fn cluster_of(task: &str) -> Result<String, StepError> {
    shakedown_core::aws::task_cluster(task)
        .map(str::to_owned)
        .ok_or_else(|| StepError::Usage(format!("{task:?} is not an ECS task ARN with a cluster")))
}

fn client(world: &AcceptWorld) -> Result<aws_sdk_ecs::Client, StepError> {
    Ok(aws_sdk_ecs::Client::new(world.sdk()?))
}

/// `When ECS stops the task "{task}" as a Spot interruption does`
#[when(regex = r#"^ECS stops the task "([^"]+)" as a Spot interruption does$"#)]
async fn stop_task(world: &mut AcceptWorld, task: String) -> StepResult {
    let task = world.render(&task)?;
    let cluster = cluster_of(&task)?;
    client(world)?
        .stop_task()
        .cluster(&cluster)
        .task(&task)
        .reason("Spot interruption (shakedown acceptance)")
        .send()
        .await
        .map_err(|e| StepError::Infra(format!("ecs StopTask {task}: {}", aws_error_text(&e))))?;
    Ok(())
}

/// `Then within N s, the task "{task}" is STOPPED and its cluster runs the documented number
/// of worker tasks again`
#[then(
    regex = r#"^within (\d+) s, the task "([^"]+)" is STOPPED and its cluster runs the documented number of worker tasks again$"#
)]
async fn replaced(world: &mut AcceptWorld, seconds: u64, task: String) -> StepResult {
    let task = world.render(&task)?;
    let cluster = cluster_of(&task)?;
    let wanted = world
        .facts()?
        .ecs
        .as_ref()
        .map(|e| e.workers as usize)
        .ok_or_else(|| {
            StepError::Usage(format!(
                "the runbook of {} documents no ECS workers",
                world.system
            ))
        })?;
    let ecs = client(world)?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let described = ecs
            .describe_tasks()
            .cluster(&cluster)
            .tasks(&task)
            .send()
            .await
            .map_err(|e| StepError::Infra(format!("ecs DescribeTasks: {}", aws_error_text(&e))))?;
        let status = described
            .tasks()
            .first()
            .and_then(|t| t.last_status())
            .unwrap_or("absent")
            .to_owned();
        let running = ecs
            .list_tasks()
            .cluster(&cluster)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
            .send()
            .await
            .map_err(|e| StepError::Infra(format!("ecs ListTasks: {}", aws_error_text(&e))))?;
        let others = running.task_arns().iter().filter(|a| **a != task).count();
        if (status == "STOPPED" && others >= wanted) || Instant::now() > deadline {
            ensure(
                status == "STOPPED",
                format!("the task {task} STOPPED"),
                status,
            )?;
            return ensure(
                others >= wanted,
                format!("{wanted} other RUNNING worker tasks in {cluster} within {seconds} s"),
                others.to_string(),
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
