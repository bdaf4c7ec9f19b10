//! HTTP requests to the system under test and what their responses must be.

use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use reqwest::Method;

use std::time::Duration;

use tokio::time::Instant;

use crate::result::{StepError, StepResult, ensure};
use crate::world::{AcceptWorld, Undo};

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    /// The profile's test user (the run's token).
    TestUser,
    /// The user an earlier step of the scenario created and signed in (`user-token`).
    ThatUser,
    /// The profile's writer identity (`auth.writer-client-id`), for procedures that change
    /// data while the test user stays read-only.
    Writer,
}

impl Caller {
    /// `the test user`, `that user` or `the writer identity`, as the step text says.
    pub fn named(text: &str) -> Self {
        match text {
            "that user" => Self::ThatUser,
            "the writer identity" => Self::Writer,
            _ => Self::TestUser,
        }
    }
}

/// Build a request as `caller` sends it (token, the documented required headers);
/// `skip_header` drops one required header, `extra` adds/overrides headers.
pub async fn build(
    world: &AcceptWorld,
    method: &str,
    path: &str,
    caller: Caller,
    skip_header: Option<&str>,
    extra: &[(String, String)],
    body: Option<String>,
) -> Result<reqwest::RequestBuilder, StepError> {
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|e| StepError::Usage(format!("method {method}: {e}")))?;
    let path = world.render(path)?;
    let token = match caller {
        Caller::TestUser => Some(world.token().await?),
        Caller::ThatUser => Some(world.saved("user-token")?.to_owned()),
        Caller::Writer => Some(world.writer_token().await?),
        Caller::Anonymous => None,
    };
    let required = match caller {
        Caller::TestUser | Caller::ThatUser | Caller::Writer => world
            .facts()?
            .auth
            .as_ref()
            .map(|a| a.required_headers.clone())
            .unwrap_or_default(),
        Caller::Anonymous => Default::default(),
    };
    let target = world.target()?;
    let mut req = target.http().request(method, target.url(&path));
    if let Some(t) = &token {
        req = req.bearer_auth(t);
    }
    let tenant = world.tenant();
    for (name, value) in &required {
        let value = match tenant {
            Some(t) if name.to_ascii_lowercase().contains("tenant") => t,
            _ => value,
        };
        let overridden = extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        if overridden || skip_header.is_some_and(|h| h.eq_ignore_ascii_case(name)) {
            continue;
        }
        req = req.header(name, value);
    }
    for (name, value) in extra {
        req = req.header(name, value);
    }
    if let Some(b) = body {
        if !extra
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            req = req.header("Content-Type", "application/json");
        }
        req = req.body(b);
    }
    Ok(req)
}

/// Send a request (see [`build`]); the exchange becomes the world's last response.
pub async fn send(
    world: &mut AcceptWorld,
    method: &str,
    path: &str,
    caller: Caller,
    skip_header: Option<&str>,
    extra: &[(String, String)],
    body: Option<String>,
) -> StepResult {
    let req = build(world, method, path, caller, skip_header, extra, body).await?;
    let ex = world
        .target()?
        .send(req)
        .await
        .map_err(|e| StepError::Infra(e.to_string()))?;
    remember_request_id(world, &ex.headers);
    world.response = Some(ex);
    Ok(())
}

/// Save the answer's API Gateway / Lambda request id as `{request-id}`, so a later step can
/// find that request in the logs.
pub fn remember_request_id(world: &mut AcceptWorld, headers: &reqwest::header::HeaderMap) {
    if let Some(id) = headers
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
    {
        world.saved.insert("request-id".into(), id.to_owned());
    }
}

#[given(regex = r"^a fresh tenant$")]
fn fresh_tenant(world: &mut AcceptWorld) {
    let id = crate::steps::api::uuid_like();
    world
        .saved
        .insert("tenant".into(), format!("shakedown-{id}"));
}

#[when(regex = r#"^I send (GET|POST|PUT|DELETE|PATCH|OPTIONS) "([^"]*)"$"#)]
async fn send_anonymous(world: &mut AcceptWorld, method: String, path: String) -> StepResult {
    send(world, &method, &path, Caller::Anonymous, None, &[], None).await
}

#[when(
    regex = r#"^I send (GET|POST|PUT|DELETE|PATCH|OPTIONS) "([^"]*)" as (the test user|that user|the writer identity)$"#
)]
async fn send_as_user(
    world: &mut AcceptWorld,
    method: String,
    path: String,
    who: String,
) -> StepResult {
    send(world, &method, &path, Caller::named(&who), None, &[], None).await
}

#[when(
    regex = r#"^I send (GET|POST|PUT|DELETE|PATCH) "([^"]*)" as the test user without the "([^"]*)" header$"#
)]
async fn send_without_header(
    world: &mut AcceptWorld,
    method: String,
    path: String,
    header: String,
) -> StepResult {
    send(
        world,
        &method,
        &path,
        Caller::TestUser,
        Some(&header),
        &[],
        None,
    )
    .await
}

#[when(
    regex = r#"^I send (GET|POST|PUT|DELETE|PATCH) "([^"]*)" as the test user with header "([^"]*)" set to "([^"]*)"$"#
)]
async fn send_with_header(
    world: &mut AcceptWorld,
    method: String,
    path: String,
    header: String,
    value: String,
) -> StepResult {
    let value = world.render(&value)?;
    send(
        world,
        &method,
        &path,
        Caller::TestUser,
        None,
        &[(header, value)],
        None,
    )
    .await
}

#[when(
    regex = r#"^I send (POST|PUT|PATCH) "([^"]*)" as (the test user|that user|the writer identity) with the JSON body:$"#
)]
async fn send_json(
    world: &mut AcceptWorld,
    step: &Step,
    method: String,
    path: String,
    who: String,
) -> StepResult {
    let body = json_docstring(world, step)?;
    send(
        world,
        &method,
        &path,
        Caller::named(&who),
        None,
        &[],
        Some(body),
    )
    .await
}

#[when(
    regex = r#"^I send (POST|PUT|PATCH) "([^"]*)" as (the test user|that user|the writer identity) with the ([a-z]+/[a-z0-9.+-]+) body:$"#
)]
async fn send_typed(
    world: &mut AcceptWorld,
    step: &Step,
    method: String,
    path: String,
    who: String,
    content_type: String,
) -> StepResult {
    let body = step
        .docstring()
        .ok_or_else(|| StepError::Usage("this step needs a docstring body".into()))?;
    // Gherkin docstrings keep the feature's indentation out; a CSV body ends with a newline.
    let body = format!("{}\n", world.render(body.trim())?);
    send(
        world,
        &method,
        &path,
        Caller::named(&who),
        None,
        &[("Content-Type".to_owned(), content_type)],
        Some(body),
    )
    .await
}

/// `When within 60 s, I send POST "/p" as the test user with the JSON body until it answers
/// a server error:` — for a fault that takes effect after a delay (an FIS action reaching a
/// Lambda function). Asks once a second; the last answer stays the world's response, so the
/// next step judges it (a 5xx other than the documented one, or no 5xx at all).
#[when(
    regex = r#"^within (\d+) s, I send (POST|PUT|PATCH) "([^"]*)" as (the test user|that user|the writer identity) with the JSON body until it answers a server error:$"#
)]
async fn send_json_until_5xx(
    world: &mut AcceptWorld,
    step: &Step,
    seconds: u64,
    method: String,
    path: String,
    who: String,
) -> StepResult {
    let body = json_docstring(world, step)?;
    until_5xx(world, seconds, &method, &path, &who, Some(body)).await
}

/// The step's docstring, rendered, as a JSON request body (refused if it is not JSON).
fn json_docstring(world: &AcceptWorld, step: &Step) -> Result<String, StepError> {
    let body = step
        .docstring()
        .ok_or_else(|| StepError::Usage("this step needs a JSON docstring".into()))?;
    let body = world.render(body.trim())?;
    serde_json::from_str::<serde_json::Value>(&body)
        .map_err(|e| StepError::Usage(format!("the docstring is not JSON: {e}")))?;
    Ok(body)
}

/// `When within 60 s, I send GET "/p" as the test user until it answers a server error`
#[when(
    regex = r#"^within (\d+) s, I send (GET|DELETE) "([^"]*)" as (the test user|that user|the writer identity) until it answers a server error$"#
)]
async fn send_until_5xx(
    world: &mut AcceptWorld,
    seconds: u64,
    method: String,
    path: String,
    who: String,
) -> StepResult {
    until_5xx(world, seconds, &method, &path, &who, None).await
}

async fn until_5xx(
    world: &mut AcceptWorld,
    seconds: u64,
    method: &str,
    path: &str,
    who: &str,
    body: Option<String>,
) -> StepResult {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        send(
            world,
            method,
            path,
            Caller::named(who),
            None,
            &[],
            body.clone(),
        )
        .await?;
        let now = Instant::now();
        if world.response()?.status.is_server_error() || now >= deadline {
            return Ok(());
        }
        tokio::time::sleep(poll_pause(world.response()?).min(deadline - now)).await;
    }
}

/// The JSON value at `pointer` of the last response as text (strings unquoted).
fn json_text(world: &AcceptWorld, pointer: &str) -> Result<Option<String>, StepError> {
    let ex = world.response()?;
    Ok(ex
        .json()
        .and_then(|v| v.pointer(pointer).cloned())
        .map(|v| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }))
}

#[then(regex = r#"^I save the response JSON at "([^"]*)" as "([a-z][a-z0-9-]*)"$"#)]
fn save_json(world: &mut AcceptWorld, pointer: String, key: String) -> StepResult {
    let value = json_text(world, &pointer)?.filter(|v| !v.is_empty());
    let ex = world.response()?;
    let value = value.ok_or_else(|| StepError::Mismatch {
        expected: format!("a value at {pointer} in the response of {}", ex.url),
        observed: format!("HTTP {}: {}", ex.status.as_u16(), trim(&ex.body)),
    })?;
    world.saved.insert(key, value);
    Ok(())
}

#[then(
    regex = r#"^the after-hook deletes "([^"]*)" as (the test user|that user|the writer identity)$"#
)]
fn delete_after(world: &mut AcceptWorld, path: String, who: String) -> StepResult {
    let path = world.render(&path)?;
    world.undo.push(Undo::DeleteResource {
        path,
        caller: Caller::named(&who),
    });
    Ok(())
}

/// `DELETE path` as `caller` until it answers 404 (at most three times).
pub async fn delete_resource(world: &mut AcceptWorld, path: &str, caller: Caller) -> StepResult {
    for _ in 0..3 {
        send(world, "DELETE", path, caller, None, &[], None).await?;
        let status = world.response()?.status.as_u16();
        match status {
            404 => return Ok(()),
            200..=299 | 409 => continue,
            other => {
                return Err(StepError::Mismatch {
                    expected: format!("DELETE {path} to succeed"),
                    observed: format!("HTTP {other}: {}", trim(&world.response()?.body)),
                });
            }
        }
    }
    Err(StepError::Mismatch {
        expected: format!("{path} gone (404) after DELETE"),
        observed: "it still exists after three DELETEs".into(),
    })
}

#[then(
    regex = r#"^within (\d+) s, GET "([^"]*)" as (the test user|that user|the writer identity) has "([^"]*)" (equal to|other than) "([^"]*)"$"#
)]
async fn eventually(
    world: &mut AcceptWorld,
    seconds: u64,
    path: String,
    who: String,
    pointer: String,
    relation: String,
    value: String,
) -> StepResult {
    let value = world.render(&value)?;
    let want_equal = relation == "equal to";
    let caller = Caller::named(&who);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        send(world, "GET", &path, caller, None, &[], None).await?;
        let seen = json_text(world, &pointer)?;
        let matched = seen.as_ref().is_some_and(|s| (s == &value) == want_equal);
        if matched {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            let ex = world.response()?;
            return Err(StepError::Mismatch {
                expected: format!(
                    "{pointer} {relation} {value:?} in GET {path} within {seconds} s"
                ),
                observed: format!(
                    "{pointer} = {seen:?} (HTTP {}: {})",
                    ex.status.as_u16(),
                    trim(&ex.body)
                ),
            });
        }
        tokio::time::sleep(poll_pause(world.response()?).min(deadline - now)).await;
    }
}

/// How long a polling step waits before asking again: a second, or what a 429's
/// `Retry-After` asks for (at most 10 s) — polling must not spend the caller's rate limit.
pub fn poll_pause(ex: &shakedown_core::target::Exchange) -> Duration {
    if ex.status.as_u16() == 429 {
        let asked = ex
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(1);
        Duration::from_secs(asked.clamp(1, 10))
    } else {
        Duration::from_secs(1)
    }
}

#[then(
    regex = r#"^"([^"]*)" of GET "([^"]*)" as (the test user|that user|the writer identity) stays the same for (\d+) s$"#
)]
async fn stays_the_same(
    world: &mut AcceptWorld,
    pointer: String,
    path: String,
    who: String,
    seconds: u64,
) -> StepResult {
    let caller = Caller::named(&who);
    send(world, "GET", &path, caller, None, &[], None).await?;
    let first = json_text(world, &pointer)?;
    if first.is_none() {
        let ex = world.response()?;
        return Err(StepError::Mismatch {
            expected: format!("{pointer} in GET {path}"),
            observed: format!("HTTP {}: {}", ex.status.as_u16(), trim(&ex.body)),
        });
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        send(world, "GET", &path, caller, None, &[], None).await?;
        if world.response()?.status.as_u16() == 429 {
            continue; // rate-limited: no reading this time
        }
        let now = json_text(world, &pointer)?;
        if now != first {
            return Err(StepError::Mismatch {
                expected: format!("{pointer} of GET {path} to stay {first:?} for {seconds} s"),
                observed: format!("it changed to {now:?}"),
            });
        }
    }
    Ok(())
}

#[given(regex = r#"^the API answers (GET|POST) "([^"]*)" with (\d{3})$"#)]
async fn api_answers(
    world: &mut AcceptWorld,
    method: String,
    path: String,
    status: u16,
) -> StepResult {
    send(world, &method, &path, Caller::Anonymous, None, &[], None).await?;
    status_is(world, status)
}

#[then(regex = r"^the response status is (\d{3})$")]
fn status_is(world: &mut AcceptWorld, status: u16) -> StepResult {
    let ex = world.response()?;
    ensure(
        ex.status.as_u16() == status,
        format!("HTTP {status} from {} {}", ex.method, ex.url),
        format!("HTTP {}: {}", ex.status.as_u16(), trim(&ex.body)),
    )
}

#[then(regex = r#"^the response is (\d{3}) with error code "([^"]*)"$"#)]
fn error_code_is(world: &mut AcceptWorld, status: u16, code: String) -> StepResult {
    let field = world
        .facts()?
        .auth
        .as_ref()
        .and_then(|a| a.error_code_field.clone())
        .unwrap_or_else(|| "code".into());
    let ex = world.response()?;
    let observed_code = ex
        .json()
        .and_then(|v| v.get(&field).and_then(|c| c.as_str()).map(str::to_owned));
    ensure(
        ex.status.as_u16() == status && observed_code.as_deref() == Some(code.as_str()),
        format!(
            "HTTP {status} with {field} {code:?} from {} {}",
            ex.method, ex.url
        ),
        format!("HTTP {} with body {}", ex.status.as_u16(), trim(&ex.body)),
    )
}

#[then(regex = r#"^the response JSON at "([^"]*)" is "([^"]*)"$"#)]
fn json_at_is(world: &mut AcceptWorld, pointer: String, value: String) -> StepResult {
    let value = world.render(&value)?;
    let ex = world.response()?;
    let found = ex.json().and_then(|v| v.pointer(&pointer).cloned());
    let text = found.as_ref().map(|v| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    ensure(
        text.as_deref() == Some(value.as_str()),
        format!("{pointer} = {value:?} in the response of {}", ex.url),
        format!("{pointer} = {text:?} in {}", trim(&ex.body)),
    )
}

#[then(regex = r#"^the response JSON at "([^"]*)" is at most the one at "([^"]*)"$"#)]
fn json_at_most(world: &mut AcceptWorld, left: String, right: String) -> StepResult {
    let ex = world.response()?;
    let json = ex.json();
    let number = |p: &str| {
        json.as_ref()
            .and_then(|v| v.pointer(p))
            .and_then(|v| v.as_f64())
    };
    match (number(&left), number(&right)) {
        (Some(l), Some(r)) => ensure(
            l <= r,
            format!("{left} ≤ {right} in the response of {}", ex.url),
            format!("{left} = {l}, {right} = {r}"),
        ),
        (l, r) => Err(StepError::Mismatch {
            expected: format!(
                "numbers at {left} and {right} in the response of {}",
                ex.url
            ),
            observed: format!("{left} = {l:?}, {right} = {r:?}: {}", trim(&ex.body)),
        }),
    }
}

/// `Then the response JSON at "/n" is at least "{saved}"`: numbers compared as numbers.
#[then(regex = r#"^the response JSON at "([^"]*)" is at least "([^"]*)"$"#)]
async fn json_at_least(world: &mut AcceptWorld, pointer: String, bound: String) -> StepResult {
    let bound_text = world.render(&bound)?;
    let bound: f64 = bound_text
        .trim()
        .parse()
        .map_err(|_| StepError::Usage(format!("{bound_text:?} is not a number")))?;
    let seen = json_text(world, &pointer)?;
    let value = seen.as_deref().and_then(|s| s.trim().parse::<f64>().ok());
    ensure(
        value.is_some_and(|v| v >= bound),
        format!("{pointer} at least {bound}"),
        format!("{seen:?}"),
    )
}

#[then(regex = r#"^the response JSON has no "([^"]*)"$"#)]
fn json_has_no(world: &mut AcceptWorld, pointers: String) -> StepResult {
    let ex = world.response()?;
    let json = ex.json();
    let present: Vec<&str> = pointers
        .split(',')
        .map(str::trim)
        .filter(|p| json.as_ref().and_then(|v| v.pointer(p)).is_some())
        .collect();
    ensure(
        json.is_some() && present.is_empty(),
        format!("a JSON response of {} without {pointers}", ex.url),
        format!("present: {}: {}", present.join(", "), trim(&ex.body)),
    )
}

#[then(regex = r#"^the response JSON has "([^"]*)"$"#)]
fn json_has(world: &mut AcceptWorld, pointers: String) -> StepResult {
    let ex = world.response()?;
    let json = ex.json();
    let missing: Vec<&str> = pointers
        .split(',')
        .map(str::trim)
        .filter(|p| json.as_ref().and_then(|v| v.pointer(p)).is_none())
        .collect();
    ensure(
        missing.is_empty(),
        format!("fields {pointers} in the response of {}", ex.url),
        format!("missing {}: {}", missing.join(", "), trim(&ex.body)),
    )
}

#[then(regex = r#"^the response header "([^"]*)" is present$"#)]
fn header_present(world: &mut AcceptWorld, name: String) -> StepResult {
    let ex = world.response()?;
    ensure(
        ex.header(&name).is_some_and(|v| !v.is_empty()),
        format!("header {name} on {}", ex.url),
        format!("headers {:?}", ex.headers.keys().collect::<Vec<_>>()),
    )
}

#[then(regex = r#"^the response header "([^"]*)" is "([^"]*)"$"#)]
fn header_is(world: &mut AcceptWorld, name: String, value: String) -> StepResult {
    let ex = world.response()?;
    ensure(
        ex.header(&name) == Some(value.as_str()),
        format!("{name}: {value}"),
        format!("{name}: {:?}", ex.header(&name)),
    )
}

#[then(regex = r#"^the response header "([^"]*)" is absent$"#)]
fn header_absent(world: &mut AcceptWorld, name: String) -> StepResult {
    let ex = world.response()?;
    ensure(
        ex.header(&name).is_none(),
        format!("no {name} header"),
        format!("{name}: {:?}", ex.header(&name)),
    )
}

#[then(regex = r"^the response arrives within (\d+) ms$")]
fn within(world: &mut AcceptWorld, ms: u64) -> StepResult {
    let ex = world.response()?;
    ensure(
        ex.latency.as_millis() <= u128::from(ms),
        format!("an answer within {ms} ms"),
        format!("{} ms", ex.latency.as_millis()),
    )
}

fn trim(body: &str) -> String {
    let t: String = body.chars().take(300).collect();
    if body.chars().count() > 300 {
        format!("{t}…")
    } else {
        t
    }
}

/// What gives away a server's insides in an error body: stack frames of the usual runtimes.
const STACK_TRACE_MARKS: [&str; 8] = [
    "Traceback (most recent call last)",
    "stackTrace",
    "\tat ",
    "    at ",
    "panicked at",
    "File \"/",
    ".java:",
    "Exception in thread",
];

/// `Then the response body carries no stack trace`
#[then(regex = r"^the response body carries no stack trace$")]
fn no_stack_trace(world: &mut AcceptWorld) -> StepResult {
    let ex = world.response()?;
    let found: Vec<&str> = STACK_TRACE_MARKS
        .iter()
        .copied()
        .filter(|m| ex.body.contains(m))
        .collect();
    ensure(
        found.is_empty(),
        format!("an error body from {} without a stack trace", ex.url),
        format!("{found:?} in {}", trim(&ex.body)),
    )
}

#[then(regex = r#"^the response body contains "([^"]*)"$"#)]
fn body_contains(world: &mut AcceptWorld, text: String) -> StepResult {
    let text = world.render(&text)?;
    let ex = world.response()?;
    ensure(
        ex.body.contains(&text),
        format!("the body of {} {} contains {text:?}", ex.method, ex.url),
        trim(&ex.body),
    )
}

#[then(
    regex = r#"^the OpenAPI document documents the operations "([^"]+)", each with the responses "([^"]+)"$"#
)]
fn openapi_operations(
    world: &mut AcceptWorld,
    operations: String,
    responses: String,
) -> StepResult {
    let ex = world.response()?;
    let spec = ex.json().ok_or_else(|| {
        StepError::mismatch(
            format!("an OpenAPI document (JSON) from {}", ex.url),
            trim(&ex.body),
        )
    })?;
    let mut missing = Vec::new();
    for op in operations.split(',').map(str::trim) {
        let Some((method, path)) = op.split_once(' ') else {
            return Err(StepError::Usage(format!("`{op}` is not `METHOD /path`")));
        };
        let pointer = format!(
            "/paths/{}/{}",
            path.replace('~', "~0").replace('/', "~1"),
            method.to_ascii_lowercase()
        );
        match spec.pointer(&pointer) {
            None => missing.push(format!("{op} (undocumented)")),
            Some(operation) => {
                for code in responses.split(',').map(str::trim) {
                    if operation.pointer(&format!("/responses/{code}")).is_none() {
                        missing.push(format!("{op} response {code}"));
                    }
                }
            }
        }
    }
    ensure(
        missing.is_empty(),
        format!("{operations} documented with responses {responses}"),
        format!("missing: {}", missing.join("; ")),
    )
}
