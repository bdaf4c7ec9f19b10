//! CloudWatch alarms as the runbook documents them: metric, statistic, comparison, threshold,
//! period, the SNS topic they notify, and that none is firing.

use cucumber::{given, then};
use shakedown_core::runbook::Alarm;
use shakedown_smoke::aws::alarm_check;

use crate::result::{StepError, StepResult};
use crate::world::AcceptWorld;

/// The runbook's words for a comparison, as CloudWatch names it.
fn comparison(words: &str) -> Result<&'static str, StepError> {
    Ok(match words {
        ">" => "GreaterThanThreshold",
        ">=" => "GreaterThanOrEqualToThreshold",
        "<" => "LessThanThreshold",
        "<=" => "LessThanOrEqualToThreshold",
        other => return Err(StepError::Usage(format!("unknown comparison {other}"))),
    })
}

/// `Then the alarm "X" fires when AWS/Lambda Errors Sum > 5 over 300 s, 1 period, notifying "topic"`
#[then(
    regex = r#"^the alarm "([^"]+)" fires when (\S+) (\S+) (Sum|Average|Maximum|Minimum|SampleCount|p\d+(?:\.\d+)?) (>=|<=|>|<) (-?\d+(?:\.\d+)?) over (\d+) s(?: for (\d+) periods?)?, notifying "([^"]+)"$"#
)]
#[allow(clippy::too_many_arguments)]
async fn alarm_documented(
    world: &mut AcceptWorld,
    name: String,
    namespace: String,
    metric: String,
    statistic: String,
    op: String,
    threshold: f64,
    period: i32,
    periods: String,
    topic: String,
) -> StepResult {
    let alarm = Alarm {
        name: world.render(&name)?,
        section: String::new(),
        documented: String::new(),
        namespace,
        metric,
        statistic,
        comparison: comparison(&op)?.to_owned(),
        threshold,
        period_seconds: period,
        evaluation_periods: if periods.is_empty() {
            1
        } else {
            periods
                .parse()
                .map_err(|e| StepError::Usage(format!("periods {periods}: {e}")))?
        },
        severity: String::new(),
        name_assumed: false,
        dimensions: Default::default(),
    };
    let topic = world.render(&topic)?;
    let outcome = alarm_check(world.ctx()?, &alarm, Some(&topic)).await;
    AcceptWorld::outcome(outcome)
}

/// Every alarm of the system's runbook facts is as documented and quiet.
#[given(regex = r"^no documented alarm of the system is in ALARM$")]
#[then(regex = r"^no documented alarm of the system is in ALARM$")]
async fn none_firing(world: &mut AcceptWorld) -> StepResult {
    let facts = world.facts()?.clone();
    let topics = facts
        .sns
        .as_ref()
        .map(|s| s.topics.clone())
        .unwrap_or_default();
    let mut problems = Vec::new();
    for a in &facts.alarms {
        let topic = topics.get(&a.severity).map(String::as_str);
        if let Err(e) = AcceptWorld::outcome(alarm_check(world.ctx()?, a, topic).await) {
            if matches!(e, StepError::Infra(_)) {
                return Err(e);
            }
            problems.push(format!("{}: {e}", a.name));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StepError::mismatch(
            format!(
                "{} documented alarms configured and not in ALARM",
                facts.alarms.len()
            ),
            problems.join(" | "),
        ))
    }
}

/// One alarm as DescribeAlarms lists it: metric alarms carry `Namespace Metric`, composite
/// alarms none.
struct Listed {
    name: String,
    metric: Option<String>,
    actions: Vec<String>,
}

/// Every alarm (metric and composite), optionally by name prefix; bounded: 20 pages of 100.
async fn described_alarms(
    world: &AcceptWorld,
    prefix: Option<&str>,
) -> Result<Vec<Listed>, StepError> {
    let cw = aws_sdk_cloudwatch::Client::new(world.sdk()?);
    let mut out = Vec::new();
    let mut token = None;
    for _ in 0..20 {
        let page = cw
            .describe_alarms()
            .set_alarm_name_prefix(prefix.map(str::to_owned))
            .max_records(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                StepError::Infra(format!(
                    "cloudwatch DescribeAlarms: {}",
                    shakedown_core::target::aws_error_text(&e)
                ))
            })?;
        out.extend(page.metric_alarms().iter().map(|a| Listed {
            name: a.alarm_name().unwrap_or_default().to_owned(),
            metric: Some(format!(
                "{} {}",
                a.namespace().unwrap_or_default(),
                a.metric_name().unwrap_or_default()
            )),
            actions: a.alarm_actions().to_vec(),
        }));
        out.extend(page.composite_alarms().iter().map(|a| Listed {
            name: a.alarm_name().unwrap_or_default().to_owned(),
            metric: None,
            actions: a.alarm_actions().to_vec(),
        }));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

/// `Then an alarm on AWS/Lambda Throttles notifies "topic"`: the runbook promises the alarm
/// and its routing but no threshold, so only those are checked (any alarm name).
#[then(regex = r#"^an alarm on (\S+) (\S+) notifies "([^"]+)"$"#)]
async fn alarm_on_metric(
    world: &mut AcceptWorld,
    namespace: String,
    metric: String,
    topic: String,
) -> StepResult {
    let topic = world.render(&topic)?;
    let found: Vec<(String, Vec<String>)> = described_alarms(world, None)
        .await?
        .into_iter()
        .filter(|a| a.metric.as_deref() == Some(&format!("{namespace} {metric}")))
        .map(|a| (a.name, a.actions))
        .collect();
    let routed = found.iter().any(|(_, actions)| {
        actions
            .iter()
            .any(|arn| arn.rsplit(':').next() == Some(topic.as_str()))
    });
    crate::result::ensure(
        routed,
        format!("an alarm on {namespace} {metric} whose action is the SNS topic {topic}"),
        if found.is_empty() {
            format!("no alarm on {namespace} {metric}")
        } else {
            format!("alarms and their actions: {found:?}")
        },
    )
}

/// `Then the topic "X" delivers to confirmed "email, sms" subscriptions`
#[then(regex = r#"^the topic "([^"]+)" delivers to confirmed "([^"]+)" subscriptions$"#)]
async fn topic_subscriptions(
    world: &mut AcceptWorld,
    topic: String,
    protocols: String,
) -> StepResult {
    let topic = world.render(&topic)?;
    let sns = aws_sdk_sns::Client::new(world.sdk()?);
    let topics = sns.list_topics().send().await.map_err(|e| {
        StepError::Infra(format!(
            "sns ListTopics: {}",
            shakedown_core::target::aws_error_text(&e)
        ))
    })?;
    let Some(arn) = topics
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn())
        .find(|a| a.rsplit(':').next() == Some(topic.as_str()))
        .map(str::to_owned)
    else {
        return Err(StepError::mismatch(format!("an SNS topic {topic}"), "none"));
    };
    let subs = sns
        .list_subscriptions_by_topic()
        .topic_arn(&arn)
        .send()
        .await
        .map_err(|e| {
            StepError::Infra(format!(
                "sns ListSubscriptionsByTopic: {}",
                shakedown_core::target::aws_error_text(&e)
            ))
        })?;
    // A pending subscription's ARN is the literal "PendingConfirmation".
    let confirmed: Vec<&str> = subs
        .subscriptions()
        .iter()
        .filter(|s| s.subscription_arn().is_some_and(|a| a.starts_with("arn:")))
        .filter_map(|s| s.protocol())
        .collect();
    let missing: Vec<&str> = protocols
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && !confirmed.contains(p))
        .collect();
    crate::result::ensure(
        missing.is_empty(),
        format!("{topic} delivering by {protocols}"),
        format!("confirmed {confirmed:?}; no {missing:?}"),
    )
}

/// `Then there are at least 15 alarms named "energy-insights-*-{env}", each notifying an SNS
/// topic`: the size of a documented alarm catalogue, counted in CloudWatch (metric and
/// composite alarms alike), and none of them silent.
#[then(
    regex = r#"^there are at least (\d+) alarms named "([^"*]*)\*([^"*]*)", each notifying an SNS topic$"#
)]
async fn alarm_catalogue(
    world: &mut AcceptWorld,
    at_least: usize,
    prefix: String,
    suffix: String,
) -> StepResult {
    let prefix = world.render(&prefix)?;
    let suffix = world.render(&suffix)?;
    let alarms: Vec<(String, Vec<String>)> = described_alarms(world, Some(&prefix))
        .await?
        .into_iter()
        .filter(|a| a.name.ends_with(suffix.as_str()))
        .map(|a| (a.name, a.actions))
        .collect();
    let silent: Vec<&str> = alarms
        .iter()
        .filter(|(_, actions)| !actions.iter().any(|a| a.starts_with("arn:aws:sns:")))
        .map(|(name, _)| name.as_str())
        .collect();
    crate::result::ensure(
        alarms.len() >= at_least && silent.is_empty(),
        format!("at least {at_least} alarms named {prefix}*{suffix}, each notifying an SNS topic"),
        format!(
            "{} alarms{}",
            alarms.len(),
            if silent.is_empty() {
                String::new()
            } else {
                format!("; without an SNS action: {}", silent.join(", "))
            }
        ),
    )
}

/// `Then the composite alarm "X" watches its documented components and notifies its topic`:
/// its rule names each component of the facts' composite alarm in `ALARM(…)`, and its
/// ALARM action is the severity's SNS topic.
#[then(
    regex = r#"^the composite alarm "([^"]+)" watches its documented components and notifies its topic$"#
)]
async fn composite_watches(world: &mut AcceptWorld, name: String) -> StepResult {
    let name = world.render(&name)?;
    let facts = world.facts()?.clone();
    let documented = facts
        .composite_alarms
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| {
            StepError::Usage(format!(
                "the runbook facts document no composite alarm {name}"
            ))
        })?;
    let topic = facts
        .sns
        .as_ref()
        .and_then(|s| s.topics.get(&documented.severity))
        .cloned()
        .unwrap_or_default();
    let cw = aws_sdk_cloudwatch::Client::new(world.sdk()?);
    let out = cw
        .describe_alarms()
        .alarm_names(&name)
        .alarm_types(aws_sdk_cloudwatch::types::AlarmType::CompositeAlarm)
        .send()
        .await
        .map_err(|e| {
            StepError::Infra(format!(
                "cloudwatch DescribeAlarms {name}: {}",
                shakedown_core::target::aws_error_text(&e)
            ))
        })?;
    let Some(composite) = out.composite_alarms().first() else {
        return Err(StepError::mismatch(
            format!("a composite alarm {name}"),
            "none",
        ));
    };
    let rule = composite.alarm_rule().unwrap_or_default();
    let missing: Vec<&String> = documented
        .components
        .iter()
        .filter(|c| {
            !rule.contains(&format!("ALARM(\"{c}\")")) && !rule.contains(&format!("ALARM({c})"))
        })
        .collect();
    let notifies = composite
        .alarm_actions()
        .iter()
        .any(|arn| arn.rsplit(':').next() == Some(topic.as_str()));
    crate::result::ensure(
        missing.is_empty() && notifies,
        format!(
            "{name}: a rule on ALARM of {} and an action on {topic}",
            documented.components.join(", ")
        ),
        format!(
            "rule {rule:?}{}; actions {:?}",
            if missing.is_empty() {
                String::new()
            } else {
                format!(" (missing {missing:?})")
            },
            composite.alarm_actions()
        ),
    )
}
