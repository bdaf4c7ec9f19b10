//! What the runbooks' `aws logs filter-log-events` diagnoses read: events in a log group
//! matching a filter pattern since the scenario started, found (eventually) or absent, and
//! a generation stream dropped mid-way so the disconnect is logged.

use std::time::Duration;

use cucumber::gherkin::Step;
use cucumber::{then, when};
use tokio::time::Instant;

use shakedown_core::target::aws_error_text;

use crate::result::{StepError, StepResult};
use crate::steps::http::{Caller, build, remember_request_id};
use crate::world::AcceptWorld;

/// Most FilterLogEvents pages one search reads.
const MAX_PAGES: usize = 20;
/// Clock slack between this machine and the log service when choosing the start time.
const SLACK_MS: i64 = 5_000;

/// Messages of the events in `group` matching `pattern` since the scenario started.
async fn events(world: &AcceptWorld, group: &str, pattern: &str) -> Result<Vec<String>, StepError> {
    let logs = aws_sdk_cloudwatchlogs::Client::new(world.sdk()?);
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let call = logs
            .filter_log_events()
            .log_group_name(group)
            .filter_pattern(pattern)
            .start_time(world.started_ms - SLACK_MS)
            .set_next_token(token.clone())
            .send();
        let out = tokio::time::timeout(Duration::from_secs(15), call)
            .await
            .map_err(|_| StepError::Infra(format!("logs FilterLogEvents {group}: timed out")))?
            .map_err(|e| {
                StepError::Infra(format!(
                    "logs FilterLogEvents {group}: {}",
                    aws_error_text(&e)
                ))
            })?;
        found.extend(
            out.events()
                .iter()
                .filter_map(|e| e.message().map(str::to_owned)),
        );
        match out.next_token() {
            Some(t) if !t.is_empty() && Some(t) != token.as_deref() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(found)
}

fn sample(messages: &[String]) -> String {
    let shown: Vec<&str> = messages.iter().rev().take(3).map(String::as_str).collect();
    if shown.is_empty() {
        "no matching events".into()
    } else {
        format!(
            "{} matching events, latest: {}",
            messages.len(),
            shown.join(" | ")
        )
    }
}

#[then(
    regex = r#"^within (\d+) s, the log group "([^"]+)" has an event matching "([^"]*)" that carries "([^"]*)"(?: and "([^"]*)")?$"#
)]
async fn has_event(
    world: &mut AcceptWorld,
    seconds: u64,
    group: String,
    pattern: String,
    carries: String,
    also: String,
) -> StepResult {
    let group = world.render(&group)?;
    let carries = world.render(&carries)?;
    let also = world.render(&also)?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let messages = events(world, &group, &pattern).await?;
        if messages
            .iter()
            .any(|m| m.contains(&carries) && m.contains(&also))
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(StepError::Mismatch {
                expected: format!(
                    "an event in {group} matching {pattern:?} that carries {carries:?}{} within {seconds} s",
                    if also.is_empty() {
                        String::new()
                    } else {
                        format!(" and {also:?}")
                    }
                ),
                observed: sample(&messages),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[then(
    regex = r#"^the log group "([^"]+)" has no event matching "([^"]*)" since the scenario started$"#
)]
async fn no_event(world: &mut AcceptWorld, group: String, pattern: String) -> StepResult {
    let group = world.render(&group)?;
    // Lines are shipped in batches: give the last ones time to land before saying "none".
    tokio::time::sleep(Duration::from_secs(1)).await;
    let messages = events(world, &group, &pattern).await?;
    if messages.is_empty() {
        Ok(())
    } else {
        Err(StepError::Mismatch {
            expected: format!(
                "no event in {group} matching {pattern:?} since the scenario started"
            ),
            observed: sample(&messages),
        })
    }
}

#[when(regex = r#"^I open a generation stream from "([^"]+)" and drop it after the first event:$"#)]
async fn drop_stream(world: &mut AcceptWorld, step: &Step, path: String) -> StepResult {
    let body = step.docstring().ok_or_else(|| {
        StepError::Usage("this step needs the request body as a docstring".into())
    })?;
    let body = world.render(body.trim())?;
    let extra = [("Accept".to_owned(), "text/event-stream".to_owned())];
    let req = build(
        world,
        "POST",
        &path,
        Caller::TestUser,
        None,
        &extra,
        Some(body),
    )
    .await?;
    let mut response = tokio::time::timeout(Duration::from_secs(15), req.send())
        .await
        .map_err(|_| StepError::Infra(format!("POST {path}: no answer within 15 s")))?
        .map_err(|e| StepError::Infra(format!("POST {path}: {e}")))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(StepError::Mismatch {
            expected: format!("POST {path} to open an event stream (200)"),
            observed: format!("HTTP {status}"),
        });
    }
    remember_request_id(world, response.headers());
    let first = tokio::time::timeout(Duration::from_secs(15), response.chunk())
        .await
        .map_err(|_| StepError::Infra(format!("POST {path}: no event within 15 s")))?
        .map_err(|e| StepError::Infra(format!("POST {path}: {e}")))?;
    if first.is_none() {
        return Err(StepError::Mismatch {
            expected: format!("POST {path} to stream at least one event"),
            observed: "the stream ended at once".into(),
        });
    }
    drop(response);
    Ok(())
}

/// `Then the log group "G" has a metric filter on "ERROR" counting into "NS" "Metric"`: the
/// log-based metric filter exists on the group, matches the pattern, and adds to the metric.
#[then(
    regex = r#"^the log group "([^"]+)" has a metric filter on "([^"]+)" counting into "([^"]+)" "([^"]+)"$"#
)]
async fn metric_filter(
    world: &mut AcceptWorld,
    group: String,
    pattern: String,
    namespace: String,
    metric: String,
) -> StepResult {
    let group = world.render(&group)?;
    let logs = aws_sdk_cloudwatchlogs::Client::new(world.sdk()?);
    let out = logs
        .describe_metric_filters()
        .log_group_name(&group)
        .send()
        .await
        .map_err(|e| {
            StepError::Infra(format!(
                "logs DescribeMetricFilters {group}: {}",
                aws_error_text(&e)
            ))
        })?;
    let mut seen = Vec::new();
    for f in out.metric_filters() {
        let p = f.filter_pattern().unwrap_or_default();
        for t in f.metric_transformations() {
            seen.push(format!(
                "{} {p:?} → {} {} (+{})",
                f.filter_name().unwrap_or_default(),
                t.metric_namespace(),
                t.metric_name(),
                t.metric_value()
            ));
            let counts = t.metric_value().parse::<f64>().is_ok_and(|v| v > 0.0);
            if p.contains(pattern.as_str())
                && t.metric_namespace() == namespace
                && t.metric_name() == metric
                && counts
            {
                return Ok(());
            }
        }
    }
    Err(StepError::mismatch(
        format!(
            "a metric filter on {group} matching {pattern:?} that counts into {namespace} {metric}"
        ),
        if seen.is_empty() {
            "no metric filters".to_owned()
        } else {
            seen.join("; ")
        },
    ))
}
