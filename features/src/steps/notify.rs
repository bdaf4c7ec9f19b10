//! Alert delivery, end to end: a probe SQS queue subscribed to the SNS topics an alarm
//! notifies, the alarm forced into a state (the runbook's "trigger test alarm"), and the
//! notification read back from the queue. The after-hook puts the alarm back in its former
//! state, unsubscribes the probe and deletes the queue.
//!
//! The same calls work on AWS (the queue policy lets the topics send) and on the local
//! stack, whose moto launcher publishes alarm actions to SNS as CloudWatch does.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::AlarmType;
use cucumber::{given, then, when};
use shakedown_core::target::aws_error_text;

use crate::result::{StepError, StepResult};
use crate::world::{AcceptWorld, Undo};

/// How long a notification may take to reach the probe queue.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(30);

fn cloudwatch(world: &AcceptWorld) -> Result<aws_sdk_cloudwatch::Client, StepError> {
    Ok(aws_sdk_cloudwatch::Client::new(world.sdk()?))
}

fn sqs(world: &AcceptWorld) -> Result<aws_sdk_sqs::Client, StepError> {
    Ok(aws_sdk_sqs::Client::new(world.sdk()?))
}

fn sns(world: &AcceptWorld) -> Result<aws_sdk_sns::Client, StepError> {
    Ok(aws_sdk_sns::Client::new(world.sdk()?))
}

/// The alarm `name` (metric or composite): its state and the actions of its ALARM state.
async fn alarm(world: &AcceptWorld, name: &str) -> Result<(String, Vec<String>), StepError> {
    let out = cloudwatch(world)?
        .describe_alarms()
        .alarm_names(name)
        .alarm_types(AlarmType::MetricAlarm)
        .alarm_types(AlarmType::CompositeAlarm)
        .send()
        .await
        .map_err(|e| {
            StepError::Infra(format!(
                "cloudwatch DescribeAlarms {name}: {}",
                aws_error_text(&e)
            ))
        })?;
    let state = |s: Option<&aws_sdk_cloudwatch::types::StateValue>| {
        s.map(|s| s.as_str().to_owned()).unwrap_or_default()
    };
    if let Some(a) = out.metric_alarms().first() {
        return Ok((state(a.state_value()), a.alarm_actions().to_vec()));
    }
    if let Some(a) = out.composite_alarms().first() {
        return Ok((state(a.state_value()), a.alarm_actions().to_vec()));
    }
    Err(StepError::mismatch(format!("an alarm {name}"), "none"))
}

/// `Then within 10 s, the alarm "X" is in ALARM`
#[then(regex = r#"^within (\d+) s, the alarm "([^"]+)" is in (ALARM|OK|INSUFFICIENT_DATA)$"#)]
async fn eventually_in(
    world: &mut AcceptWorld,
    seconds: u64,
    name: String,
    want: String,
) -> StepResult {
    let name = world.render(&name)?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let (state, _) = alarm(world, &name).await?;
        if state == want {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(StepError::mismatch(
                format!("{name} in {want} within {seconds} s"),
                format!("{name} in {state}"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The SQS policy that lets `topics` send to the queue `queue_arn` (AWS requires it; moto
/// ignores it).
fn queue_policy(queue_arn: &str, topics: &[String]) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "shakedown-probe",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topics}},
        }],
    })
    .to_string()
}

/// `Given a probe queue subscribed to the topics the alarm "X" notifies in ALARM`
#[given(
    regex = r#"^a probe queue subscribed to the topics the alarm "([^"]+)" notifies in ALARM$"#
)]
async fn probe_queue(world: &mut AcceptWorld, name: String) -> StepResult {
    let name = world.render(&name)?;
    let (_, actions) = alarm(world, &name).await?;
    let topics: Vec<String> = actions
        .into_iter()
        .filter(|a| a.split(':').nth(2) == Some("sns"))
        .collect();
    if topics.is_empty() {
        return Err(StepError::mismatch(
            format!("{name} notifying an SNS topic in ALARM"),
            "no SNS alarm action",
        ));
    }
    let sqs = sqs(world)?;
    let queue = format!(
        "shakedown-probe-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let url = sqs
        .create_queue()
        .queue_name(&queue)
        .send()
        .await
        .map_err(|e| StepError::Infra(format!("sqs CreateQueue {queue}: {}", aws_error_text(&e))))?
        .queue_url()
        .unwrap_or_default()
        .to_owned();
    world.undo.push(Undo::DeleteQueue { url: url.clone() });
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| StepError::Infra(format!("sqs GetQueueAttributes: {}", aws_error_text(&e))))?;
    let queue_arn = attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| StepError::Infra(format!("sqs GetQueueAttributes {queue}: no QueueArn")))?;
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            queue_policy(&queue_arn, &topics),
        )
        .send()
        .await
        .map_err(|e| StepError::Infra(format!("sqs SetQueueAttributes: {}", aws_error_text(&e))))?;
    let sns = sns(world)?;
    for topic in &topics {
        let sub = sns
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(&queue_arn)
            .return_subscription_arn(true)
            .send()
            .await
            .map_err(|e| {
                StepError::mismatch(
                    format!("a probe subscription to {topic}"),
                    aws_error_text(&e),
                )
            })?;
        if let Some(arn) = sub.subscription_arn() {
            world.undo.push(Undo::Unsubscribe {
                arn: arn.to_owned(),
            });
        }
    }
    world.saved.insert("probe-queue".into(), url);
    world.saved.insert("probe-topics".into(), topics.join(", "));
    Ok(())
}

/// `When I set the alarm "X" to ALARM with the reason "Testing alert"`: SetAlarmState, as
/// the runbook's test does; the after-hook sets the former state back.
#[when(regex = r#"^I set the alarm "([^"]+)" to (ALARM|OK) with the reason "([^"]+)"$"#)]
async fn set_state(
    world: &mut AcceptWorld,
    name: String,
    state: String,
    reason: String,
) -> StepResult {
    let name = world.render(&name)?;
    let (former, _) = alarm(world, &name).await?;
    world.undo.push(Undo::AlarmState {
        alarm: name.clone(),
        state: if former.is_empty() {
            "OK".into()
        } else {
            former
        },
    });
    put_state(world, &name, &state, &reason).await
}

/// SetAlarmState `name` → `state`.
pub async fn put_state(world: &AcceptWorld, name: &str, state: &str, reason: &str) -> StepResult {
    cloudwatch(world)?
        .set_alarm_state()
        .alarm_name(name)
        .state_value(aws_sdk_cloudwatch::types::StateValue::from(state))
        .state_reason(reason)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            StepError::mismatch(format!("SetAlarmState {name} {state}"), aws_error_text(&e))
        })
}

/// The alarm notification inside an SQS message body: SNS's envelope (`Message` holds the
/// alarm's JSON) or, with raw delivery, the alarm's JSON itself.
fn alarm_notification(body: &str) -> Option<serde_json::Value> {
    let outer: serde_json::Value = serde_json::from_str(body).ok()?;
    match outer.get("Message").and_then(|m| m.as_str()) {
        Some(inner) => serde_json::from_str(inner).ok(),
        None => Some(outer),
    }
}

/// `Then the probe queue receives the ALARM notification of "X" within 30 s`
#[then(
    regex = r#"^the probe queue receives the (ALARM|OK) notification of "([^"]+)" within (\d+) s$"#
)]
async fn receives(
    world: &mut AcceptWorld,
    state: String,
    name: String,
    seconds: u64,
) -> StepResult {
    let name = world.render(&name)?;
    let url = world.saved("probe-queue")?.to_owned();
    let topics = world.saved("probe-topics")?.to_owned();
    let sqs = sqs(world)?;
    let limit = Duration::from_secs(seconds).min(DELIVERY_DEADLINE);
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .as_secs()
            .clamp(1, 5);
        let out = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(i32::try_from(wait).unwrap_or(5))
            .send()
            .await
            .map_err(|e| StepError::Infra(format!("sqs ReceiveMessage: {}", aws_error_text(&e))))?;
        for m in out.messages() {
            let Some(n) = alarm_notification(m.body().unwrap_or_default()) else {
                seen.push("a message that is not an alarm notification".to_owned());
                continue;
            };
            let alarm_name = n.get("AlarmName").and_then(|v| v.as_str()).unwrap_or("?");
            let new_state = n
                .get("NewStateValue")
                .and_then(|v| v.as_str())
                .unwrap_or("?");
            if alarm_name == name && new_state == state {
                return Ok(());
            }
            seen.push(format!("{alarm_name} → {new_state}"));
        }
    }
    Err(StepError::mismatch(
        format!("{name}'s {state} notification on {topics} within {seconds} s"),
        if seen.is_empty() {
            format!("nothing delivered in {} s", limit.as_secs())
        } else {
            format!("only {}", seen.join(", "))
        },
    ))
}

/// Unsubscribe a probe subscription (after-hook).
pub async fn unsubscribe(world: &AcceptWorld, arn: &str) -> StepResult {
    sns(world)?
        .unsubscribe()
        .subscription_arn(arn)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| StepError::Infra(format!("sns Unsubscribe {arn}: {}", aws_error_text(&e))))
}

/// Delete a probe queue (after-hook).
pub async fn delete_queue(world: &AcceptWorld, url: &str) -> StepResult {
    sqs(world)?
        .delete_queue()
        .queue_url(url)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| StepError::Infra(format!("sqs DeleteQueue {url}: {}", aws_error_text(&e))))
}

#[cfg(test)]
mod tests {
    use super::{alarm_notification, queue_policy};

    #[test]
    fn notifications_are_read_from_the_sns_envelope_or_raw() {
        let inner = r#"{"AlarmName":"HighAPIErrorRate","NewStateValue":"ALARM"}"#;
        let envelope = serde_json::json!({"Type": "Notification", "Message": inner}).to_string();
        let n = alarm_notification(&envelope).unwrap();
        assert_eq!(n["AlarmName"], "HighAPIErrorRate");
        assert_eq!(alarm_notification(inner).unwrap()["NewStateValue"], "ALARM");
        assert!(alarm_notification("not json").is_none());
    }

    #[test]
    fn the_queue_policy_admits_only_the_alarm_topics() {
        let p: serde_json::Value = serde_json::from_str(&queue_policy(
            "arn:aws:sqs:us-east-1:1:q",
            &["arn:aws:sns:us-east-1:1:t".to_owned()],
        ))
        .unwrap();
        let s = &p["Statement"][0];
        assert_eq!(s["Principal"]["Service"], "sns.amazonaws.com");
        assert_eq!(
            s["Condition"]["ArnEquals"]["aws:SourceArn"][0],
            "arn:aws:sns:us-east-1:1:t"
        );
    }
}
