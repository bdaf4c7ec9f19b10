//! HTTP requests to the system under test and what their responses must be.

use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use reqwest::Method;

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    TestUser,
}

/// Send a request; `skip_header` drops one required header, `extra` adds/overrides headers.
pub async fn send(
    world: &mut AcceptWorld,
    method: &str,
    path: &str,
    caller: Caller,
    skip_header: Option<&str>,
    extra: &[(String, String)],
    body: Option<String>,
) -> StepResult {
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|e| StepError::Usage(format!("method {method}: {e}")))?;
    let path = world.render(path)?;
    let token = match caller {
        Caller::TestUser => Some(world.token().await?),
        Caller::Anonymous => None,
    };
    let required = match caller {
        Caller::TestUser => world
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
    let tenant = world.tenant().map(str::to_owned);
    for (name, value) in &required {
        let value = match &tenant {
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
    let ex = target
        .send(req)
        .await
        .map_err(|e| StepError::Infra(e.to_string()))?;
    world.response = Some(ex);
    Ok(())
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

#[when(regex = r#"^I send (GET|POST|PUT|DELETE|PATCH|OPTIONS) "([^"]*)" as the test user$"#)]
async fn send_as_user(world: &mut AcceptWorld, method: String, path: String) -> StepResult {
    send(world, &method, &path, Caller::TestUser, None, &[], None).await
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

#[when(regex = r#"^I send (POST|PUT|PATCH) "([^"]*)" as the test user with the JSON body:$"#)]
async fn send_json(
    world: &mut AcceptWorld,
    step: &Step,
    method: String,
    path: String,
) -> StepResult {
    let body = step
        .docstring()
        .ok_or_else(|| StepError::Usage("this step needs a JSON docstring".into()))?;
    let body = world.render(body.trim())?;
    serde_json::from_str::<serde_json::Value>(&body)
        .map_err(|e| StepError::Usage(format!("the docstring is not JSON: {e}")))?;
    send(
        world,
        &method,
        &path,
        Caller::TestUser,
        None,
        &[],
        Some(body),
    )
    .await
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
