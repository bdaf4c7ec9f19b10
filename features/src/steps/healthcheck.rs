//! Scheduled health checks as the runbooks describe them (Styling Adventures' Automated
//! Health Checks, every 30 seconds): a Route 53 health check on the health endpoint with the
//! documented interval and a string match on the healthy status, and its checkers' latest
//! observation a success no older than the interval.

use std::time::Duration;

use aws_sdk_route53::types::{HealthCheck, TagResourceType};
use cucumber::then;
use shakedown_core::target::aws_error_text;
use tokio::time::Instant;

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

/// Most ListHealthChecks pages read (100 each).
const MAX_PAGES: usize = 20;

fn client(world: &AcceptWorld) -> Result<aws_sdk_route53::Client, StepError> {
    Ok(aws_sdk_route53::Client::new(world.sdk()?))
}

fn infra(call: &str, e: impl std::fmt::Display) -> StepError {
    StepError::Infra(format!("route53 {call}: {e}"))
}

/// The health check whose `Name` tag is `name`.
async fn by_name(world: &AcceptWorld, name: &str) -> Result<HealthCheck, StepError> {
    let r53 = client(world)?;
    let mut marker = None;
    let mut seen = 0;
    for _ in 0..MAX_PAGES {
        let page = r53
            .list_health_checks()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| infra("ListHealthChecks", aws_error_text(&e)))?;
        let checks = page.health_checks();
        seen += checks.len();
        // ListTagsForResources takes at most 10 ids a call.
        for chunk in checks.chunks(10) {
            let tags = r53
                .list_tags_for_resources()
                .resource_type(TagResourceType::Healthcheck)
                .set_resource_ids(Some(chunk.iter().map(|c| c.id().to_owned()).collect()))
                .send()
                .await
                .map_err(|e| infra("ListTagsForResources", aws_error_text(&e)))?;
            for set in tags.resource_tag_sets() {
                let named = set
                    .tags()
                    .iter()
                    .any(|t| t.key() == Some("Name") && t.value() == Some(name));
                if let (true, Some(id)) = (named, set.resource_id())
                    && let Some(check) = chunk.iter().find(|c| c.id() == id)
                {
                    return Ok(check.clone());
                }
            }
        }
        match page.next_marker() {
            Some(m) if page.is_truncated() => marker = Some(m.to_owned()),
            _ => break,
        }
    }
    Err(StepError::mismatch(
        format!("a Route 53 health check tagged Name={name}"),
        format!("none among {seen} health checks"),
    ))
}

/// `Then the Route 53 health check "N" probes "/health" every 30 s for the text "..."`
#[then(
    regex = r#"^the Route 53 health check "([^"]+)" probes "([^"]+)" every (\d+) s for the text '([^']+)'$"#
)]
async fn configured(
    world: &mut AcceptWorld,
    name: String,
    path: String,
    interval: i32,
    text: String,
) -> StepResult {
    let name = world.render(&name)?;
    let check = by_name(world, &name).await?;
    let Some(config) = check.health_check_config() else {
        return Err(StepError::mismatch(
            format!("{name} has a configuration"),
            "none",
        ));
    };
    let kind = config.r#type().as_str().to_owned();
    let observed = format!(
        "{kind} {}{} every {:?} s for {:?}{}{}",
        config
            .ip_address()
            .or(config.fully_qualified_domain_name())
            .unwrap_or("?"),
        config.resource_path().unwrap_or(""),
        config.request_interval(),
        config.search_string().unwrap_or(""),
        if config.disabled() == Some(true) {
            ", disabled"
        } else {
            ""
        },
        if config.inverted() == Some(true) {
            ", inverted"
        } else {
            ""
        },
    );
    ensure(
        kind.ends_with("_STR_MATCH")
            && config.resource_path() == Some(path.as_str())
            && config.request_interval() == Some(interval)
            && config.search_string() == Some(text.as_str())
            && config.disabled() != Some(true)
            && config.inverted() != Some(true),
        format!("{name} probes {path} every {interval} s, matching {text:?}, enabled"),
        observed,
    )
}

/// `Then within N s, the health check "N" reports a success observed since the scenario
/// started`: a probe the checkers made after this scenario began found the system healthy
/// (an older success says nothing about now).
#[then(
    regex = r#"^within (\d+) s, the health check "([^"]+)" reports a success observed since the scenario started$"#
)]
async fn observed_success(world: &mut AcceptWorld, within: u64, name: String) -> StepResult {
    // Whole seconds: CheckedTime has no finer grain than the step needs.
    let since = world.started_ms.div_euclid(1000);
    let name = world.render(&name)?;
    let id = by_name(world, &name).await?.id().to_owned();
    let r53 = client(world)?;
    let deadline = Instant::now() + Duration::from_secs(within);
    loop {
        let out = r53
            .get_health_check_status()
            .health_check_id(&id)
            .send()
            .await
            .map_err(|e| infra("GetHealthCheckStatus", aws_error_text(&e)))?;
        let now = chrono::Utc::now().timestamp();
        let reports: Vec<(String, Option<i64>)> = out
            .health_check_observations()
            .iter()
            .filter_map(|o| o.status_report())
            .map(|r| {
                (
                    r.status().unwrap_or_default().to_owned(),
                    r.checked_time().map(|t| t.secs()),
                )
            })
            .collect();
        if reports
            .iter()
            .any(|(status, at)| status.starts_with("Success") && at.is_some_and(|t| t >= since))
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(StepError::mismatch(
                format!("a Success observation of {name} since the scenario started"),
                if reports.is_empty() {
                    "no observations".to_owned()
                } else {
                    reports
                        .iter()
                        .map(|(s, at)| format!("{s} ({} s ago)", at.map_or(-1, |t| now - t)))
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
