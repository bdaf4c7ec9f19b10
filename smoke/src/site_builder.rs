//! Site Builder checks beyond the shared ones: the generation SSE stream runs
//! progress → chunk → complete with a generationId within the TTLT bound, and `/health`
//! reports the version the `live` alias serves (so a rollback is observable).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use shakedown_core::check::{Check, fail, fail_with, infra, pass};
use shakedown_core::event::{Evidence, Outcome};
use shakedown_core::runbook::{AuthFacts, RunbookFacts};
use shakedown_core::tier::Effect;

use crate::http::{fail_exchange, with_required_headers};
use crate::{Ctx, check, id};

#[derive(Debug, Clone)]
pub struct Generation {
    pub path: String,
    pub auth: AuthFacts,
    pub ttlt: Duration,
}

pub(crate) fn checks(f: &RunbookFacts) -> Vec<Check<Ctx>> {
    let mut out = Vec::new();
    if let (Some(auth), Some(limit)) = (
        &f.auth,
        f.rate_limits.iter().find(|r| r.name == "generation"),
    ) {
        let ttlt = f
            .slos
            .iter()
            .find(|s| s.kind == "ttlt")
            .map(|s| Duration::from_millis(s.value as u64))
            .unwrap_or(Duration::from_secs(60));
        let path = limit.paths.first().cloned().unwrap_or_default();
        out.push(
            check(
                id(&f.system, &["generation"]),
                "generation stream: progress → chunk → complete with generationId, within TTLT".into(),
                f,
                "API Documentation §Page Generation: Response (SSE Stream); Troubleshooting §2.1 TTLT > 60s",
                Effect::Mutate,
                Generation { path, auth: auth.clone(), ttlt },
                |ctx, g| async move { generation_check(&ctx, &g).await },
            )
            .with_timeout(ttlt + Duration::from_secs(15)),
        );
    }
    if let (Some(func), Some(field)) = (f.functions.first(), f.health.version_field.clone()) {
        out.push(check(
            id(&f.system, &["health-version"]),
            format!("/health reports the version {}:{} serves", func.name, func.alias),
            f,
            "Rollback Runbook §6 Post-Rollback Verification: test API health (after moving alias live)",
            Effect::Read,
            (f.health.path.clone(), field, func.name.clone(), func.alias.clone()),
            |ctx, (path, field, name, alias)| async move {
                health_version_check(&ctx, "site-builder", &path, &field, &name, &alias).await
            },
        ));
    }
    out
}

pub async fn generation_check(ctx: &Arc<Ctx>, g: &Generation) -> Outcome {
    let (target, token) = match ctx.authed("site-builder").await {
        Ok(t) => t,
        Err(o) => return o,
    };
    let req = with_required_headers(target.http().post(target.url(&g.path)), &g.auth)
        .bearer_auth(&token)
        .header("Accept", "text/event-stream")
        .timeout(g.ttlt + Duration::from_secs(10))
        .json(&json!({"prompt": "shakedown smoke test: a one-section landing page"}));
    let started = Instant::now();
    let response = match req.send().await {
        Ok(r) => r,
        Err(e) => return infra(format!("POST {}: {e}", g.path)),
    };
    let status = response.status().as_u16();
    if status != 200 {
        let body = response.text().await.unwrap_or_default();
        return fail_with(
            "200 text/event-stream",
            format!("HTTP {status}"),
            vec![
                Evidence::new("request", format!("POST {}", g.path)),
                Evidence::body(&body, 300),
            ],
        );
    }
    let mut events: Vec<Value> = Vec::new();
    let mut first_event = None;
    let mut buffer = String::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                return fail(
                    "the stream ends with a complete event",
                    format!("the stream broke after {} events: {e}", events.len()),
                );
            }
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(pos) = buffer.find('\n') {
            let line: String = buffer.drain(..=pos).collect();
            if let Some(data) = line.trim_end().strip_prefix("data:") {
                first_event.get_or_insert_with(|| started.elapsed());
                match serde_json::from_str::<Value>(data.trim()) {
                    Ok(v) => events.push(v),
                    Err(_) => {
                        return fail(
                            "every SSE data line is JSON",
                            format!("data line {:?}", data.trim()),
                        );
                    }
                }
            }
        }
    }
    let took = started.elapsed();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e.get("type").and_then(Value::as_str).unwrap_or("?"))
        .collect();
    let evidence = vec![
        Evidence::new("request", format!("POST {}", g.path)),
        Evidence::new("events", summarise(&kinds)),
    ];
    if kinds.first() != Some(&"progress") {
        return fail_with("the first event is progress", summarise(&kinds), evidence);
    }
    if !kinds.contains(&"chunk") {
        return fail_with("at least one chunk event", summarise(&kinds), evidence);
    }
    let Some(last) = events
        .last()
        .filter(|e| e.get("type").and_then(Value::as_str) == Some("complete"))
    else {
        return fail_with(
            "the stream ends with a complete event",
            summarise(&kinds),
            evidence,
        );
    };
    let generation_id = last
        .get("generationId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if generation_id.is_empty() {
        return fail_with(
            "complete carries a generationId",
            last.to_string(),
            evidence,
        );
    }
    if took > g.ttlt {
        return fail_with(
            format!("complete within {} s (TTLT)", g.ttlt.as_secs()),
            format!("{:.1} s", took.as_secs_f64()),
            evidence,
        );
    }
    pass(format!(
        "{} events, first after {} ms, complete {generation_id} after {} ms",
        events.len(),
        first_event.unwrap_or_default().as_millis(),
        took.as_millis()
    ))
}

/// `progress, chunk ×5, complete` style summary.
fn summarise(kinds: &[&str]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < kinds.len() {
        let mut j = i;
        while j < kinds.len() && kinds[j] == kinds[i] {
            j += 1;
        }
        out.push(if j - i > 1 {
            format!("{} ×{}", kinds[i], j - i)
        } else {
            kinds[i].to_owned()
        });
        i = j;
    }
    if out.is_empty() {
        "no events".to_owned()
    } else {
        out.join(", ")
    }
}

pub async fn health_version_check(
    ctx: &Arc<Ctx>,
    system: &str,
    path: &str,
    field: &str,
    function: &str,
    alias: &str,
) -> Outcome {
    let target = match ctx.target(system) {
        Ok(t) => t,
        Err(o) => return o,
    };
    let lambda = aws_sdk_lambda::Client::new(&ctx.targets.sdk);
    let live = match lambda
        .get_alias()
        .function_name(function)
        .name(alias)
        .send()
        .await
    {
        Ok(a) => a.function_version().unwrap_or_default().to_owned(),
        Err(aws_sdk_lambda::error::SdkError::ServiceError(e)) => {
            return fail(
                format!("alias {function}:{alias} exists"),
                format!("lambda GetAlias: {}", e.err()),
            );
        }
        Err(e) => return infra(format!("lambda GetAlias {function}:{alias}: {e}")),
    };
    let ex = match target.get(path, None).await {
        Ok(ex) => ex,
        Err(e) => return infra(e),
    };
    let reported = ex.json().and_then(|j| {
        j.get(field)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
    });
    if reported.as_deref() == Some(live.as_str()) {
        pass(format!("{field} {live} = {function}:{alias}"))
    } else {
        fail_exchange(
            format!("{field} = {live} (what {function}:{alias} serves)"),
            format!("{field} = {reported:?}"),
            &ex,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::summarise;

    #[test]
    fn event_summary_groups_runs() {
        assert_eq!(
            summarise(&["progress", "chunk", "chunk", "complete"]),
            "progress, chunk ×2, complete"
        );
        assert_eq!(summarise(&[]), "no events");
    }
}
