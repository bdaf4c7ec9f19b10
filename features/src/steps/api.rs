//! What the documented APIs promise beyond one request: JSON collections, server-sent event
//! streams, per-tenant rate limits, and links that must resolve.

use std::time::Duration;

use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use serde_json::Value;

use crate::result::{StepError, StepResult, ensure};
use crate::steps::http::{Caller, send};
use crate::world::AcceptWorld;

/// The longest a rate-limit scenario waits for the limiter to let a request through again.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(15);

fn items(world: &AcceptWorld, pointer: &str) -> Result<Vec<Value>, StepError> {
    let ex = world.response()?;
    let json = ex.json();
    match json.as_ref().and_then(|v| v.pointer(pointer)) {
        Some(Value::Array(a)) => Ok(a.clone()),
        other => Err(StepError::Mismatch {
            expected: format!("an array at {pointer} in the response of {}", ex.url),
            observed: format!("{other:?}"),
        }),
    }
}

#[then(regex = r#"^the response JSON at "([^"]*)" has (\d+) items?$"#)]
fn array_len(world: &mut AcceptWorld, pointer: String, n: usize) -> StepResult {
    let items = items(world, &pointer)?;
    ensure(
        items.len() == n,
        format!("{n} items at {pointer}"),
        format!("{} items", items.len()),
    )
}

#[then(regex = r#"^every item at "([^"]*)" has "([^"]*)"$"#)]
fn every_item_has(world: &mut AcceptWorld, pointer: String, fields: String) -> StepResult {
    let items = items(world, &pointer)?;
    let mut missing = Vec::new();
    for (i, item) in items.iter().enumerate() {
        for field in fields.split(',').map(str::trim) {
            let present = item
                .pointer(field)
                .is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
            if !present {
                missing.push(format!("item {i}: {field}"));
            }
        }
    }
    ensure(
        !items.is_empty() && missing.is_empty(),
        format!("every item at {pointer} has non-empty {fields}"),
        if items.is_empty() {
            "no items".to_owned()
        } else {
            format!("missing {}", missing.join(", "))
        },
    )
}

#[then(regex = r#"^every item at "([^"]*)" has "([^"]*)" (starting|ending) with "([^"]*)"$"#)]
fn every_item_affix(
    world: &mut AcceptWorld,
    pointer: String,
    field: String,
    how: String,
    affix: String,
) -> StepResult {
    let items = items(world, &pointer)?;
    let wrong: Vec<String> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let text = item.pointer(&field).and_then(Value::as_str).unwrap_or("");
            let ok = if how == "starting" {
                text.starts_with(&affix)
            } else {
                text.ends_with(&affix)
            };
            (!ok).then(|| format!("item {i}: {:?}", text.chars().take(60).collect::<String>()))
        })
        .collect();
    ensure(
        !items.is_empty() && wrong.is_empty(),
        format!("every {field} at {pointer} {how} with {affix:?}"),
        if items.is_empty() {
            "no items".to_owned()
        } else {
            wrong.join("; ")
        },
    )
}

#[then(regex = r#"^every item at "([^"]*)" has a "([^"]*)" linking to a "([^"]*)"$"#)]
fn every_item_links_to(
    world: &mut AcceptWorld,
    pointer: String,
    field: String,
    extension: String,
) -> StepResult {
    let items = items(world, &pointer)?;
    let wrong: Vec<String> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let text = item.pointer(&field).and_then(Value::as_str).unwrap_or("");
            let ok = reqwest::Url::parse(text).is_ok_and(|u| u.path().ends_with(&extension));
            let shown = text.split('?').next().unwrap_or_default();
            (!ok).then(|| {
                format!(
                    "item {i}: {:?}",
                    shown.chars().take(100).collect::<String>()
                )
            })
        })
        .collect();
    ensure(
        !items.is_empty() && wrong.is_empty(),
        format!("every {field} at {pointer} is a URL to a {extension} file"),
        if items.is_empty() {
            "no items".to_owned()
        } else {
            wrong.join("; ")
        },
    )
}

#[then(
    regex = r#"^every item at "([^"]*)" has a "([^"]*)" that answers 200 with Content-Type "([^"]*)"$"#
)]
async fn every_item_link(
    world: &mut AcceptWorld,
    pointer: String,
    field: String,
    content_type: String,
) -> StepResult {
    let items = items(world, &pointer)?;
    let target = world.target()?;
    let mut wrong = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(url) = item.pointer(&field).and_then(Value::as_str) else {
            wrong.push(format!("item {i}: no {field}"));
            continue;
        };
        let ex = target
            .send(target.http().get(url))
            .await
            .map_err(|e| StepError::Infra(e.to_string()))?;
        let ct = ex.header("content-type").unwrap_or_default().to_owned();
        if ex.status.as_u16() != 200 || !ct.starts_with(&content_type) {
            // Never print a link's query: presigned URLs carry a signature.
            let shown = url.split('?').next().unwrap_or_default();
            wrong.push(format!("{shown}: HTTP {} {ct}", ex.status.as_u16()));
        }
    }
    ensure(
        !items.is_empty() && wrong.is_empty(),
        format!("every {field} at {pointer} answers 200 {content_type}"),
        if items.is_empty() {
            "no items".to_owned()
        } else {
            wrong.join("; ")
        },
    )
}

#[then(regex = r#"^every item at "([^"]*)" has "([^"]*)" equal to "([^"]*)"$"#)]
fn every_item_equal(
    world: &mut AcceptWorld,
    pointer: String,
    field: String,
    value: String,
) -> StepResult {
    let value = world.render(&value)?;
    let items = items(world, &pointer)?;
    let wrong: Vec<String> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let got = item.pointer(&field).and_then(Value::as_str);
            (got != Some(value.as_str())).then(|| format!("item {i}: {got:?}"))
        })
        .collect();
    ensure(
        !items.is_empty() && wrong.is_empty(),
        format!("every item at {pointer} has {field} = {value:?}"),
        if items.is_empty() {
            "no items".to_owned()
        } else {
            wrong.join("; ")
        },
    )
}

#[then(regex = r#"^the response JSON at "([^"]*)" counts the items at "([^"]*)"$"#)]
fn total_counts_items(world: &mut AcceptWorld, total: String, pointer: String) -> StepResult {
    let items = items(world, &pointer)?;
    let ex = world.response()?;
    let observed = ex
        .json()
        .and_then(|v| v.pointer(&total).and_then(Value::as_u64));
    ensure(
        observed == Some(items.len() as u64),
        format!("{total} = {} (the items at {pointer})", items.len()),
        format!("{total} = {observed:?}"),
    )
}

/// `| /field | is | value |` or `| /field | contains | text |` rows: one item must match all.
#[then(regex = r#"^the response JSON at "([^"]*)" has an item where:$"#)]
fn has_item_where(world: &mut AcceptWorld, step: &Step, pointer: String) -> StepResult {
    let table = step.table().ok_or_else(|| {
        StepError::Usage("this step needs a | field | is/contains | value | table".into())
    })?;
    let mut rules = Vec::new();
    for row in &table.rows {
        match row.as_slice() {
            [field, op, value] if op == "is" || op == "contains" => {
                rules.push((field.clone(), op == "is", world.render(value)?));
            }
            other => {
                return Err(StepError::Usage(format!(
                    "row {other:?}: want | /field | is or contains | value |"
                )));
            }
        }
    }
    let items = items(world, &pointer)?;
    let matches = |item: &Value| {
        rules.iter().all(|(field, exact, value)| {
            let text = match item.pointer(field) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => return false,
            };
            if *exact {
                text == *value
            } else {
                text.contains(value.as_str())
            }
        })
    };
    ensure(
        items.iter().any(matches),
        format!(
            "an item at {pointer} with {}",
            rules
                .iter()
                .map(|(f, exact, v)| format!("{f} {} {v:?}", if *exact { "=" } else { "∋" }))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        serde_json::to_string(&items)
            .unwrap_or_default()
            .chars()
            .take(400)
            .collect::<String>(),
    )
}

// ---------------------------------------------------------------- server-sent events

/// The `data:` lines of an event stream, each parsed as JSON.
fn sse_events(body: &str) -> Result<Vec<Value>, StepError> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| {
            serde_json::from_str(d.trim()).map_err(|_| StepError::Mismatch {
                expected: "every SSE data line is JSON".into(),
                observed: format!("data line {:?}", d.trim()),
            })
        })
        .collect()
}

#[when(
    regex = r#"^I stream a generation from "([^"]+)" sending the body as (application/json|text/plain;charset=UTF-8):$"#
)]
async fn stream_generation(
    world: &mut AcceptWorld,
    step: &Step,
    path: String,
    content_type: String,
) -> StepResult {
    let body = step.docstring().ok_or_else(|| {
        StepError::Usage("this step needs the request body as a docstring".into())
    })?;
    let body = world.render(body.trim())?;
    stream_once(world, &path, &content_type, body).await
}

/// `When within 30 s, I stream generations from "/p" until one ends without a "complete"
/// event:` — for a fault that takes effect after a delay (an FIS action reaching the
/// function). Streams once a second (or as a 429 asks); the last stream stays the world's,
/// for the next steps to judge.
#[when(
    regex = r#"^within (\d+) s, I stream generations from "([^"]+)" until one ends without a "([^"]+)" event:$"#
)]
async fn stream_until_unfinished(
    world: &mut AcceptWorld,
    step: &Step,
    seconds: u64,
    path: String,
    kind: String,
) -> StepResult {
    let body = step.docstring().ok_or_else(|| {
        StepError::Usage("this step needs the request body as a docstring".into())
    })?;
    let body = world.render(body.trim())?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        let streamed = stream_once(world, &path, "application/json", body.clone()).await;
        let unfinished = streamed.is_ok() && !kinds(&world.events).contains(&kind);
        let now = std::time::Instant::now();
        if unfinished || now >= deadline {
            return streamed;
        }
        let pause = crate::steps::http::poll_pause(world.response()?);
        tokio::time::sleep(pause.min(deadline - now)).await;
    }
}

/// POST a generation and read its stream into the world's events.
async fn stream_once(
    world: &mut AcceptWorld,
    path: &str,
    content_type: &str,
    body: String,
) -> StepResult {
    let extra = [
        ("Accept".to_owned(), "text/event-stream".to_owned()),
        ("Content-Type".to_owned(), content_type.to_owned()),
    ];
    world.events.clear();
    send(
        world,
        "POST",
        path,
        Caller::TestUser,
        None,
        &extra,
        Some(body),
    )
    .await?;
    let ex = world.response()?;
    ensure(
        ex.status.as_u16() == 200,
        format!("200 text/event-stream from POST {}", ex.url),
        format!(
            "HTTP {}: {}",
            ex.status.as_u16(),
            ex.body.chars().take(300).collect::<String>()
        ),
    )?;
    world.events = sse_events(&ex.body)?;
    Ok(())
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            e.get("type")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        })
        .collect()
}

#[then(regex = r#"^the stream ends with a "([^"]+)" event carrying "([^"]*)"$"#)]
fn stream_ends_with(world: &mut AcceptWorld, kind: String, fields: String) -> StepResult {
    let kinds = kinds(&world.events);
    let last = world.events.last();
    let missing: Vec<&str> = fields
        .split(',')
        .map(str::trim)
        .filter(|f| last.and_then(|e| e.pointer(f)).is_none_or(Value::is_null))
        .collect();
    ensure(
        kinds.last().map(String::as_str) == Some(kind.as_str()) && missing.is_empty(),
        format!("the stream ends with {kind} carrying {fields}"),
        format!(
            "events {}; last {}",
            kinds.join(", "),
            last.map(Value::to_string).unwrap_or_default()
        ),
    )
}

/// `Then the stream ends without a "complete" event`: it was cut (a function past its
/// Timeout), so no event of that kind arrived at all (a stream cut before its first event
/// is empty).
#[then(regex = r#"^the stream ends without a "([^"]+)" event$"#)]
fn stream_ends_without(world: &mut AcceptWorld, kind: String) -> StepResult {
    let kinds = kinds(&world.events);
    ensure(
        !kinds.contains(&kind),
        format!("a stream that ended with no {kind} event"),
        format!("events {}", kinds.join(", ")),
    )
}

#[then(
    regex = r#"^the "([^"]+)" events' "([^"]+)" together start with "([^"]*)" and contain "([^"]*)"$"#
)]
fn stream_content(
    world: &mut AcceptWorld,
    kind: String,
    field: String,
    prefix: String,
    needle: String,
) -> StepResult {
    let text: String = world
        .events
        .iter()
        .filter(|e| e.get("type").and_then(Value::as_str) == Some(kind.as_str()))
        .filter_map(|e| e.get(&field).and_then(Value::as_str))
        .collect();
    ensure(
        text.trim_start().starts_with(&prefix) && text.contains(&needle),
        format!("{kind} {field}s starting with {prefix:?}, containing {needle:?}"),
        format!("{:?}", text.chars().take(120).collect::<String>()),
    )
}

// ---------------------------------------------------------------- rate limits

/// One request as a given tenant: the documented tenant header (and `{tenant}` in the path)
/// set to `tenant`.
async fn as_tenant(
    world: &mut AcceptWorld,
    method: &str,
    path: &str,
    body: Option<&str>,
    tenant: &str,
) -> Result<(u16, Option<String>, String), StepError> {
    let header = world
        .facts()?
        .auth
        .as_ref()
        .and_then(|a| {
            a.required_headers
                .keys()
                .find(|k| k.to_ascii_lowercase().contains("tenant"))
                .cloned()
        })
        .ok_or_else(|| StepError::Usage("the system documents no tenant header".into()))?;
    let path = path.replace("{tenant}", tenant);
    send(
        world,
        method,
        &path,
        Caller::TestUser,
        None,
        &[(header, tenant.to_owned())],
        body.map(str::to_owned),
    )
    .await?;
    let ex = world.response()?;
    Ok((
        ex.status.as_u16(),
        ex.header("retry-after").map(str::to_owned),
        ex.body.clone(),
    ))
}

#[then(
    regex = r#"^(GET|POST) "([^"]+)" allows (\d+) requests a minute per tenant, then answers (\d{3}) "([A-Z_]+)"; other tenants are unaffected and the limit recovers$"#
)]
async fn per_tenant_limit(
    world: &mut AcceptWorld,
    step: &Step,
    method: String,
    path: String,
    limit: usize,
    status: u16,
    code: String,
) -> StepResult {
    let body = step.docstring().map(|b| b.trim().to_owned());
    let run = uuid_like();
    let tenant = format!("shakedown-rl-{run}");
    let started = std::time::Instant::now();
    for n in 1..=limit {
        let (got, _, text) = as_tenant(world, &method, &path, body.as_deref(), &tenant).await?;
        ensure(
            (200..300).contains(&got),
            format!("request {n} of {limit} within the minute is served"),
            format!("HTTP {got}: {}", text.chars().take(200).collect::<String>()),
        )?;
    }
    // A per-minute limit refills as time passes (limit/60 a second): a slow machine may earn
    // a few requests back while sending the first `limit`. Those, and no more, may still pass.
    let refilled = (started.elapsed().as_secs_f64() * limit as f64 / 60.0).floor() as usize;
    let mut sent = limit;
    let (got, retry_after, text) = loop {
        sent += 1;
        let (got, retry_after, text) =
            as_tenant(world, &method, &path, body.as_deref(), &tenant).await?;
        if !(200..300).contains(&got) || sent > limit + refilled {
            break (got, retry_after, text);
        }
    };
    let field = world
        .facts()?
        .auth
        .as_ref()
        .and_then(|a| a.error_code_field.clone())
        .unwrap_or_else(|| "code".into());
    let observed_code = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get(&field).and_then(Value::as_str).map(str::to_owned));
    ensure(
        got == status && observed_code.as_deref() == Some(code.as_str()),
        format!(
            "request {sent} (the limit {limit} plus {refilled} refilled while sending) → HTTP {status} with {field} {code}"
        ),
        format!("HTTP {got}: {}", text.chars().take(200).collect::<String>()),
    )?;
    let other = format!("shakedown-rl-{run}-other");
    let (got, _, text) = as_tenant(world, &method, &path, body.as_deref(), &other).await?;
    ensure(
        (200..300).contains(&got),
        "another tenant is served meanwhile",
        format!("HTTP {got}: {}", text.chars().take(200).collect::<String>()),
    )?;
    let wait = retry_after
        .as_deref()
        .and_then(|r| r.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .ok_or_else(|| StepError::Mismatch {
            expected: "the 429 says when to retry (Retry-After seconds)".into(),
            observed: format!("Retry-After {retry_after:?}"),
        })?;
    ensure(
        wait <= MAX_RETRY_WAIT,
        format!("Retry-After within {} s", MAX_RETRY_WAIT.as_secs()),
        format!("Retry-After {} s", wait.as_secs()),
    )?;
    tokio::time::sleep(wait).await;
    let (got, _, text) = as_tenant(world, &method, &path, body.as_deref(), &tenant).await?;
    ensure(
        (200..300).contains(&got),
        format!(
            "after Retry-After ({} s) the tenant is served again",
            wait.as_secs()
        ),
        format!("HTTP {got}: {}", text.chars().take(200).collect::<String>()),
    )
}

/// A short random id for what a scenario creates, so reruns and parallel runs never collide.
pub fn uuid_like() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// One request as `caller`: status and `Retry-After`.
async fn as_caller(
    world: &mut AcceptWorld,
    method: &str,
    path: &str,
    caller: Caller,
) -> Result<(u16, Option<String>), StepError> {
    send(world, method, path, caller, None, &[], None).await?;
    let ex = world.response()?;
    Ok((
        ex.status.as_u16(),
        ex.header("retry-after").map(str::to_owned),
    ))
}

/// Most requests the burst and sustained-rate steps send.
const MAX_LIMIT_REQUESTS: usize = 2_000;

#[then(
    regex = r#"^(GET|POST) "([^"]+)" as (the test user|that user|the writer identity) is served (\d+) times back to back at most, refilling (\d+) a minute, then answered 429 with Retry-After$"#
)]
async fn per_user_burst(
    world: &mut AcceptWorld,
    method: String,
    path: String,
    who: String,
    burst: usize,
    per_minute: usize,
) -> StepResult {
    let caller = Caller::named(&who);
    if burst >= MAX_LIMIT_REQUESTS {
        return Err(StepError::Usage(format!(
            "a burst of {burst} is more than this step sends ({MAX_LIMIT_REQUESTS})"
        )));
    }
    let started = std::time::Instant::now();
    for n in 1..=burst {
        let (got, _) = as_caller(world, &method, &path, caller).await?;
        ensure(
            (200..300).contains(&got),
            format!("request {n} of the burst of {burst} is served"),
            format!("HTTP {got}"),
        )?;
    }
    // The bucket refills while the burst is sent: those requests, and no more, may pass.
    let refilled = (started.elapsed().as_secs_f64() * per_minute as f64 / 60.0).ceil() as usize;
    let mut sent = burst;
    let (got, retry_after) = loop {
        sent += 1;
        let (got, retry_after) = as_caller(world, &method, &path, caller).await?;
        if !(200..300).contains(&got) || sent > burst + refilled {
            break (got, retry_after);
        }
    };
    ensure(
        got == 429 && retry_after.is_some(),
        format!(
            "request {sent} (the burst of {burst} plus {refilled} refilled while sending) → 429 with Retry-After"
        ),
        format!("HTTP {got}, Retry-After {retry_after:?}"),
    )
}

/// `each of "GET /a, PUT /a, DELETE /a" as that user is answered 429 with Retry-After within
/// N requests sent back to back`: every route is rate limited — whether by one bucket the
/// routes share or one each. Requests carry no body: a write the limiter lets through is
/// refused by validation (or, for DELETE, acts on the scenario's own user).
#[then(
    regex = r#"^each of "([^"]+)" as (the test user|that user|the writer identity) is answered 429 with Retry-After within (\d+) requests sent back to back$"#
)]
async fn every_route_limited(
    world: &mut AcceptWorld,
    routes: String,
    who: String,
    within: usize,
) -> StepResult {
    let caller = Caller::named(&who);
    if within == 0 || within > MAX_LIMIT_REQUESTS {
        return Err(StepError::Usage(format!(
            "within {within} requests: between 1 and {MAX_LIMIT_REQUESTS}"
        )));
    }
    let mut unlimited = Vec::new();
    let mut checked = 0;
    for route in routes.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let (method, path) = route
            .split_once(' ')
            .ok_or_else(|| StepError::Usage(format!("route {route:?}: want \"METHOD /path\"")))?;
        checked += 1;
        let mut answers = std::collections::BTreeMap::<u16, usize>::new();
        let mut limited = false;
        for _ in 0..within {
            let (got, retry_after) = as_caller(world, method, path, caller).await?;
            if got == 429 && retry_after.is_some() {
                limited = true;
                break;
            }
            *answers.entry(got).or_default() += 1;
        }
        if !limited {
            let seen: Vec<String> = answers.iter().map(|(s, n)| format!("{n}× {s}")).collect();
            unlimited.push(format!("{route}: {}", seen.join(", ")));
        }
    }
    ensure(
        unlimited.is_empty(),
        format!("each of {checked} routes answers 429 with Retry-After within {within} requests"),
        format!("never limited — {}", unlimited.join("; ")),
    )
}

#[then(
    regex = r#"^(GET|POST) "([^"]+)" as (the test user|that user|the writer identity), sent (\d+) times a second for (\d+) s once its burst is spent, is served (\d+) times a minute and otherwise answered 429$"#
)]
async fn per_user_sustained(
    world: &mut AcceptWorld,
    method: String,
    path: String,
    who: String,
    per_second: u64,
    seconds: u64,
    per_minute: u64,
) -> StepResult {
    let caller = Caller::named(&who);
    let total = per_second * seconds;
    if per_second == 0 || total as usize > MAX_LIMIT_REQUESTS {
        return Err(StepError::Usage(format!(
            "{per_second} a second for {seconds} s: between 1 and {MAX_LIMIT_REQUESTS} requests"
        )));
    }
    // Spend the burst: send until the first refusal (bounded).
    let mut spent = 0;
    loop {
        let (got, _) = as_caller(world, &method, &path, caller).await?;
        if got == 429 {
            break;
        }
        spent += 1;
        ensure(
            (200..300).contains(&got) && spent < MAX_LIMIT_REQUESTS,
            format!("the burst is spent within {MAX_LIMIT_REQUESTS} requests, then 429"),
            format!("HTTP {got} after {spent} served"),
        )?;
    }
    let gap = Duration::from_secs_f64(1.0 / per_second as f64);
    let started = tokio::time::Instant::now();
    let (mut served, mut refused, mut other) = (0u64, 0u64, Vec::new());
    for n in 0..total {
        tokio::time::sleep_until(started + gap * n as u32).await;
        match as_caller(world, &method, &path, caller).await?.0 {
            200..=299 => served += 1,
            429 => refused += 1,
            s => other.push(s),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // A token bucket empty at the start serves the rate over the time elapsed, give or take
    // the token partly refilled when the burst was spent and the last one due.
    let expected = per_minute as f64 * elapsed / 60.0;
    let (low, high) = (
        (expected - 2.0).max(0.0).ceil() as u64,
        expected.floor() as u64 + 1,
    );
    ensure(
        (low..=high).contains(&served) && refused > 0 && other.is_empty(),
        format!(
            "{total} requests in {elapsed:.1} s at {per_second}/s: {low}–{high} served ({per_minute} a minute), the rest 429"
        ),
        format!(
            "{served} served, {refused} answered 429{}",
            if other.is_empty() {
                String::new()
            } else {
                format!(", other statuses {other:?}")
            }
        ),
    )
}

#[then(
    regex = r#"^the response body is (JSON lines|CSV|a JSON array) of (\d+) records, each with "([^"]+)"$"#
)]
fn body_records(
    world: &mut AcceptWorld,
    format: String,
    count: usize,
    fields: String,
) -> StepResult {
    let ex = world.response()?;
    let fields: Vec<&str> = fields.split(',').map(str::trim).collect();
    let parsed: Result<Vec<serde_json::Map<String, Value>>, String> = match format.as_str() {
        "JSON lines" => ex
            .body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
            .collect(),
        "a JSON array" => serde_json::from_str(&ex.body).map_err(|e| e.to_string()),
        _ => {
            let mut reader = csv::Reader::from_reader(ex.body.as_bytes());
            match reader.headers().cloned() {
                Err(e) => Err(format!("header: {e}")),
                Ok(header) => reader
                    .records()
                    .enumerate()
                    .map(|(i, r)| {
                        r.map_err(|e| format!("record {}: {e}", i + 1)).map(|r| {
                            header
                                .iter()
                                .zip(r.iter())
                                .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
                                .collect()
                        })
                    })
                    .collect(),
            }
        }
    };
    let records = parsed.map_err(|e| {
        StepError::mismatch(
            format!("{format} from {}", ex.url),
            format!("unparseable: {e}"),
        )
    })?;
    let incomplete: Vec<usize> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            fields.iter().any(|f| match r.get(*f) {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.is_empty(),
                Some(_) => false,
            })
        })
        .map(|(i, _)| i + 1)
        .collect();
    ensure(
        records.len() == count && incomplete.is_empty(),
        format!(
            "{count} {format} records from {}, each with {}",
            ex.url,
            fields.join(", ")
        ),
        format!(
            "{} records{}",
            records.len(),
            if incomplete.is_empty() {
                String::new()
            } else {
                format!(
                    "; records missing a field: {:?}",
                    &incomplete[..incomplete.len().min(5)]
                )
            }
        ),
    )
}

/// Longest explicit wait a scenario may ask for.
const MAX_WAIT: Duration = Duration::from_secs(120);

fn bounded_wait(seconds: u64) -> Result<Duration, StepError> {
    let wait = Duration::from_secs(seconds);
    if wait > MAX_WAIT {
        return Err(StepError::Usage(format!(
            "a wait of {seconds} s is over the {} s this step allows",
            MAX_WAIT.as_secs()
        )));
    }
    Ok(wait)
}

/// A scenario measuring a shared rate limit (`@serial`, so it runs alone) starts from a full
/// bucket: whatever earlier scenarios or runs spent has refilled.
#[given(regex = r"^I wait (\d+) s for the rate limit to refill$")]
async fn wait_for_refill(_world: &mut AcceptWorld, seconds: u64) -> StepResult {
    tokio::time::sleep(bounded_wait(seconds)?).await;
    Ok(())
}

/// ... and gives it back before the next scenario, even when it fails half-way.
#[given(regex = r"^the after-hook waits (\d+) s for the rate limit to refill$")]
async fn refill_after(world: &mut AcceptWorld, seconds: u64) -> StepResult {
    bounded_wait(seconds)?;
    world.undo.push(crate::world::Undo::Wait { seconds });
    Ok(())
}
