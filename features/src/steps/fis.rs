//! Faults injected through AWS FIS, for the claims about how a system behaves when one of its
//! Lambda functions fails: an experiment template (tagged as the harness's), an experiment
//! started from it and awaited until `running`; the after-hook stops the experiment and
//! deletes the template.
//!
//! On AWS the target functions need the FIS Lambda extension (the `aws:lambda:*` actions'
//! prerequisite) and the profile a `fis-role-arn` FIS may assume; on the local stack the
//! reference services' fault plane applies the running experiment. The code path is the same.

use std::time::{Duration, Instant};

use aws_sdk_fis::types::{
    CreateExperimentTemplateActionInput, CreateExperimentTemplateStopConditionInput,
    CreateExperimentTemplateTargetInput, ExperimentStatus,
};
use cucumber::when;
use shakedown_core::target::aws_error_text;

use crate::result::{StepError, StepResult};
use crate::world::{AcceptWorld, Undo};

/// How long an experiment may take to reach `running`.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// How long a stopped experiment's fault may linger (the fault plane's or the Lambda
/// extension's next look).
const LIFT_SETTLE: Duration = Duration::from_secs(1);
/// Tag that marks what the harness created.
const TAG: (&str, &str) = ("shakedown", "acceptance");

fn client(world: &AcceptWorld) -> Result<aws_sdk_fis::Client, StepError> {
    Ok(aws_sdk_fis::Client::new(world.sdk()?))
}

/// ISO 8601 duration FIS takes (`PT90S`).
fn iso_duration(d: Duration) -> String {
    format!("PT{}S", d.as_secs().max(1))
}

/// `When an FIS experiment fails 100% of the invocations of "F" for 2 min`
#[when(
    regex = r#"^an FIS experiment fails (\d+)% of the invocations of "([^"]+)" for (\d+) (s|min)$"#
)]
async fn invocation_errors(
    world: &mut AcceptWorld,
    percent: u32,
    function: String,
    amount: u64,
    unit: String,
) -> StepResult {
    let function = world.render(&function)?;
    let duration = Duration::from_secs(if unit == "min" { amount * 60 } else { amount });
    let action = lambda_action(
        "aws:lambda:invocation-error",
        format!("fail {percent}% of {function}'s invocations"),
        &[
            ("duration", iso_duration(duration)),
            ("invocationPercentage", percent.to_string()),
            ("preventExecution", "true".to_owned()),
        ],
    )?;
    let target = function_target(world, &function).await?;
    run(
        world,
        &format!("shakedown acceptance: {percent}% invocation errors on {function}"),
        action,
        ("functions", target),
        duration,
    )
    .await
}

/// `When an FIS experiment delays 100% of the invocations of "F" by 3000 ms for 1 min`
#[when(
    regex = r#"^an FIS experiment delays (\d+)% of the invocations of "([^"]+)" by (\d+) ms for (\d+) (s|min)$"#
)]
async fn invocation_delays(
    world: &mut AcceptWorld,
    percent: u32,
    function: String,
    delay_ms: u64,
    amount: u64,
    unit: String,
) -> StepResult {
    let function = world.render(&function)?;
    let duration = Duration::from_secs(if unit == "min" { amount * 60 } else { amount });
    let action = lambda_action(
        "aws:lambda:invocation-add-delay",
        format!("delay {percent}% of {function}'s invocations by {delay_ms} ms"),
        &[
            ("duration", iso_duration(duration)),
            ("invocationPercentage", percent.to_string()),
            ("startupDelayMilliseconds", delay_ms.to_string()),
        ],
    )?;
    let target = function_target(world, &function).await?;
    run(
        world,
        &format!("shakedown acceptance: {delay_ms} ms delay on {percent}% of {function}"),
        action,
        ("functions", target),
        duration,
    )
    .await
}

/// `When an FIS experiment stops the task "{task}"`: `aws:ecs:stop-task` on that task (a
/// Spot interruption or a scale-in, as a game day injects it). On AWS the profile's
/// `fis-role-arn` must allow `ecs:StopTask`; locally the fault plane stops the task.
#[when(regex = r#"^an FIS experiment stops the task "([^"]+)"$"#)]
async fn stop_task(world: &mut AcceptWorld, task: String) -> StepResult {
    let task = world.render(&task)?;
    let action = CreateExperimentTemplateActionInput::builder()
        .action_id("aws:ecs:stop-task")
        .description(format!("stop {task}"))
        .targets("Tasks", "tasks")
        .build()
        .map_err(|e| StepError::Usage(format!("FIS action: {e}")))?;
    let target = CreateExperimentTemplateTargetInput::builder()
        .resource_type("aws:ecs:task")
        .resource_arns(&task)
        .selection_mode("ALL")
        .build()
        .map_err(|e| StepError::Usage(format!("FIS target: {e}")))?;
    run(
        world,
        &format!("shakedown acceptance: stop the task {task}"),
        action,
        ("tasks", target),
        Duration::ZERO,
    )
    .await
}

/// An `aws:lambda:*` action on the template's `functions` target.
fn lambda_action(
    id: &str,
    description: String,
    params: &[(&str, String)],
) -> Result<CreateExperimentTemplateActionInput, StepError> {
    let mut action = CreateExperimentTemplateActionInput::builder()
        .action_id(id)
        .description(description)
        .targets("Functions", "functions");
    for (k, v) in params {
        action = action.parameters(*k, v);
    }
    action
        .build()
        .map_err(|e| StepError::Usage(format!("FIS action: {e}")))
}

/// The function `name` as an FIS target (its ARN, as Lambda reports it).
async fn function_target(
    world: &AcceptWorld,
    name: &str,
) -> Result<CreateExperimentTemplateTargetInput, StepError> {
    let arn = crate::steps::lambda::configuration(world, name, None)
        .await?
        .function_arn()
        .unwrap_or_default()
        .to_owned();
    CreateExperimentTemplateTargetInput::builder()
        .resource_type("aws:lambda:function")
        .resource_arns(arn)
        .selection_mode("ALL")
        .build()
        .map_err(|e| StepError::Usage(format!("FIS target: {e}")))
}

/// Create the template, start the experiment, wait until it runs.
/// `duration` zero: a one-shot action (`aws:ecs:stop-task`), done once applied, so the
/// experiment may already be `completed` when first read.
async fn run(
    world: &mut AcceptWorld,
    description: &str,
    action: CreateExperimentTemplateActionInput,
    target: (&str, CreateExperimentTemplateTargetInput),
    duration: Duration,
) -> StepResult {
    let role = world.render("{fis-role-arn}")?;
    let fis = client(world)?;
    let template = fis
        .create_experiment_template()
        .client_token(uuid::Uuid::new_v4().to_string())
        .description(description)
        .role_arn(role)
        // The experiment is bounded by its actions' duration and stopped by the after-hook;
        // the scenario, not an alarm, decides when it ends.
        .stop_conditions(
            CreateExperimentTemplateStopConditionInput::builder()
                .source("none")
                .build()
                .map_err(|e| StepError::Usage(format!("FIS stop condition: {e}")))?,
        )
        .targets(target.0, target.1)
        .actions("inject", action)
        .tags(TAG.0, TAG.1)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                "an FIS experiment template accepted",
                format!("CreateExperimentTemplate: {}", aws_error_text(&e)),
            )
        })?;
    let template_id = template
        .experiment_template()
        .and_then(|t| t.id())
        .unwrap_or_default()
        .to_owned();
    world.undo.push(Undo::DeleteExperimentTemplate {
        id: template_id.clone(),
    });
    let started = fis
        .start_experiment()
        .client_token(uuid::Uuid::new_v4().to_string())
        .experiment_template_id(&template_id)
        .tags(TAG.0, TAG.1)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                "the FIS experiment started",
                format!("StartExperiment: {}", aws_error_text(&e)),
            )
        })?;
    let id = started
        .experiment()
        .and_then(|e| e.id())
        .unwrap_or_default()
        .to_owned();
    world.undo.push(Undo::StopExperiment { id: id.clone() });
    let one_shot = duration.is_zero();
    let deadline = Instant::now()
        + if one_shot {
            START_DEADLINE
        } else {
            START_DEADLINE.min(duration)
        };
    loop {
        let (status, reason) = state(world, &id).await?;
        match status {
            ExperimentStatus::Running => return Ok(()),
            ExperimentStatus::Completed if one_shot => return Ok(()),
            ExperimentStatus::Pending | ExperimentStatus::Initiating
                if Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            other => {
                return Err(StepError::mismatch(
                    format!("FIS experiment {id} running"),
                    format!("{}: {reason}", other.as_str()),
                ));
            }
        }
    }
}

/// The experiment's status and its reason.
async fn state(world: &AcceptWorld, id: &str) -> Result<(ExperimentStatus, String), StepError> {
    let out = client(world)?
        .get_experiment()
        .id(id)
        .send()
        .await
        .map_err(|e| StepError::Infra(format!("fis GetExperiment {id}: {}", aws_error_text(&e))))?;
    let state = out.experiment().and_then(|e| e.state());
    Ok((
        state
            .and_then(|s| s.status())
            .cloned()
            .unwrap_or(ExperimentStatus::Pending),
        state
            .and_then(|s| s.reason())
            .unwrap_or_default()
            .to_owned(),
    ))
}

/// Stop the experiment if it still runs and wait until it has ended (after-hook).
pub async fn stop(world: &AcceptWorld, id: &str) -> StepResult {
    let (status, _) = state(world, id).await?;
    let ended = |s: &ExperimentStatus| {
        matches!(
            s,
            ExperimentStatus::Completed
                | ExperimentStatus::Stopped
                | ExperimentStatus::Failed
                | ExperimentStatus::Cancelled
        )
    };
    if ended(&status) {
        return Ok(());
    }
    client(world)?
        .stop_experiment()
        .id(id)
        .send()
        .await
        .map_err(|e| {
            StepError::Infra(format!("fis StopExperiment {id}: {}", aws_error_text(&e)))
        })?;
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        let (status, reason) = state(world, id).await?;
        if ended(&status) {
            tokio::time::sleep(LIFT_SETTLE).await;
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(StepError::Infra(format!(
                "FIS experiment {id} still {} {} s after StopExperiment: {reason}",
                status.as_str(),
                START_DEADLINE.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Delete an experiment template the scenario made (after-hook).
pub async fn delete_template(world: &AcceptWorld, id: &str) -> StepResult {
    client(world)?
        .delete_experiment_template()
        .id(id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            StepError::Infra(format!(
                "fis DeleteExperimentTemplate {id}: {}",
                aws_error_text(&e)
            ))
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_are_iso_8601_seconds() {
        assert_eq!(
            super::iso_duration(std::time::Duration::from_secs(120)),
            "PT120S"
        );
        assert_eq!(super::iso_duration(std::time::Duration::ZERO), "PT1S");
    }
}
