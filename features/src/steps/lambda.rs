//! Lambda releases and the documented Lambda-only rollback: versions exist, the `live` alias
//! moves to the previous version, the alias and the API both report it, and the after-hook
//! moves it back.

use cucumber::{given, then, when};
use shakedown_core::event::Outcome;
use shakedown_core::target::aws_error_text;
use shakedown_smoke::site_builder::health_version_check;

use crate::result::{StepError, StepResult, ensure};
use crate::world::{AcceptWorld, Undo};

fn client(world: &AcceptWorld) -> Result<aws_sdk_lambda::Client, StepError> {
    Ok(aws_sdk_lambda::Client::new(world.sdk()?))
}

/// The version an alias points at.
pub async fn alias_version(
    world: &AcceptWorld,
    function: &str,
    alias: &str,
) -> Result<String, StepError> {
    let out = client(world)?
        .get_alias()
        .function_name(function)
        .name(alias)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(format!("alias {alias} of {function}"), aws_error_text(&e))
        })?;
    Ok(out.function_version().unwrap_or_default().to_owned())
}

/// Point `alias` of `function` at `version` (also the after-hook's undo).
pub async fn point_alias(
    world: &AcceptWorld,
    function: &str,
    alias: &str,
    version: &str,
) -> StepResult {
    client(world)?
        .update_alias()
        .function_name(function)
        .name(alias)
        .function_version(version)
        // Wholly this version: no weighted routing left from a blue/green step.
        .routing_config(aws_sdk_lambda::types::AliasRoutingConfiguration::builder().build())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            StepError::mismatch(
                format!("UpdateAlias {function}:{alias} → {version}"),
                aws_error_text(&e),
            )
        })
}

/// Published versions, numerically sorted (`$LATEST` left out).
async fn versions(world: &AcceptWorld, function: &str) -> Result<Vec<u64>, StepError> {
    let out = client(world)?
        .list_versions_by_function()
        .function_name(function)
        .send()
        .await
        .map_err(|e| StepError::mismatch(format!("versions of {function}"), aws_error_text(&e)))?;
    let mut v: Vec<u64> = out
        .versions()
        .iter()
        .filter_map(|c| c.version()?.parse().ok())
        .collect();
    v.sort_unstable();
    Ok(v)
}

/// The version `alias` of `function` serves and the published version before it.
async fn current_and_previous(
    world: &AcceptWorld,
    function: &str,
    alias: &str,
) -> Result<(String, u64), StepError> {
    let current = alias_version(world, function, alias).await?;
    let all = versions(world, function).await?;
    let current_n: u64 = current.parse().map_err(|_| {
        StepError::mismatch(
            format!("{function}:{alias} on a published version"),
            format!("{alias} → {current}"),
        )
    })?;
    let previous = all.iter().rev().find(|v| **v < current_n).copied();
    let Some(previous) = previous else {
        return Err(StepError::mismatch(
            format!("a version of {function} before {current_n} to roll back to"),
            format!("published versions {all:?}"),
        ));
    };
    Ok((current, previous))
}

#[given(
    regex = r#"^the function "([^"]+)" serves alias "([^"]+)" with a previous version to roll back to$"#
)]
async fn has_previous(world: &mut AcceptWorld, function: String, alias: String) -> StepResult {
    let function = world.render(&function)?;
    let (current, previous) = current_and_previous(world, &function, &alias).await?;
    world.saved.insert("function".into(), function);
    world.saved.insert("alias".into(), alias);
    world.saved.insert("current-version".into(), current);
    world
        .saved
        .insert("previous-version".into(), previous.to_string());
    Ok(())
}

#[when(regex = r"^I point the alias at the previous version$")]
async fn roll_back(world: &mut AcceptWorld) -> StepResult {
    let function = world.saved("function")?.to_owned();
    let alias = world.saved("alias")?.to_owned();
    let current = world.saved("current-version")?.to_owned();
    let previous = world.saved("previous-version")?.to_owned();
    world.undo.push(Undo::Alias {
        function: function.clone(),
        alias: alias.clone(),
        version: current,
    });
    point_alias(world, &function, &alias, &previous).await
}

#[then(regex = r"^the alias points at the previous version$")]
async fn alias_is_previous(world: &mut AcceptWorld) -> StepResult {
    let function = world.saved("function")?.to_owned();
    let alias = world.saved("alias")?.to_owned();
    let previous = world.saved("previous-version")?.to_owned();
    let now = alias_version(world, &function, &alias).await?;
    ensure(
        now == previous,
        format!("{function}:{alias} → version {previous}"),
        format!("{function}:{alias} → version {now}"),
    )
}

/// `Given the functions "A, B" serve alias "live" with previous versions to roll back to`:
/// the rollback workflow's `all` target; every function must have one.
#[given(
    regex = r#"^the functions "([^"]+)" serve alias "([^"]+)" with previous versions to roll back to$"#
)]
async fn all_have_previous(world: &mut AcceptWorld, list: String, alias: String) -> StepResult {
    let mut plan = Vec::new();
    let mut missing = Vec::new();
    for function in list.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let function = world.render(function)?;
        match current_and_previous(world, &function, &alias).await {
            Ok((current, previous)) => plan.push((function, current, previous.to_string())),
            Err(StepError::Mismatch { observed, .. }) => {
                missing.push(format!("{function}: {observed}"));
            }
            Err(e) => return Err(e),
        }
    }
    ensure(
        missing.is_empty(),
        format!("every function's {alias} with a previous version to roll back to"),
        missing.join("; "),
    )?;
    world.saved.insert("alias".into(), alias);
    world.saved.insert(
        "rollback-plan".into(),
        serde_json::to_string(&plan).unwrap_or_default(),
    );
    Ok(())
}

fn rollback_plan(world: &AcceptWorld) -> Result<Vec<(String, String, String)>, StepError> {
    serde_json::from_str(world.saved("rollback-plan")?)
        .map_err(|e| StepError::Usage(format!("rollback plan: {e}")))
}

#[when(regex = r"^I point each alias at its previous version$")]
async fn roll_back_all(world: &mut AcceptWorld) -> StepResult {
    let alias = world.saved("alias")?.to_owned();
    for (function, current, previous) in rollback_plan(world)? {
        world.undo.push(Undo::Alias {
            function: function.clone(),
            alias: alias.clone(),
            version: current,
        });
        point_alias(world, &function, &alias, &previous).await?;
    }
    Ok(())
}

#[then(regex = r"^each alias points at its previous version$")]
async fn each_alias_is_previous(world: &mut AcceptWorld) -> StepResult {
    let alias = world.saved("alias")?.to_owned();
    let plan = rollback_plan(world)?;
    let mut wrong = Vec::new();
    for (function, _, previous) in &plan {
        let now = alias_version(world, function, &alias).await?;
        if &now != previous {
            wrong.push(format!("{function}:{alias} → {now}, not {previous}"));
        }
    }
    ensure(
        wrong.is_empty(),
        format!(
            "the {} functions' {alias} on their previous versions",
            plan.len()
        ),
        wrong.join("; "),
    )
}

#[given(regex = r#"^the API's "([^"]+)" reports the version the alias serves$"#)]
#[then(regex = r#"^the API's "([^"]+)" reports the version the alias serves$"#)]
async fn api_reports_alias(world: &mut AcceptWorld, path: String) -> StepResult {
    let function = world.saved("function")?.to_owned();
    let alias = world.saved("alias")?.to_owned();
    let field = world
        .facts()?
        .health
        .version_field
        .clone()
        .unwrap_or_else(|| "version".into());
    let path = world.render(&path)?;
    // An alias move reaches the API eventually (the service caches its alias lookup; real
    // API Gateway and Lambda caches too): poll for a bounded while, report the last answer.
    let deadline = std::time::Instant::now() + ALIAS_SETTLE;
    loop {
        let outcome = health_version_check(
            world.ctx()?,
            &world.system,
            &path,
            &field,
            &function,
            &alias,
        )
        .await;
        if !matches!(outcome, Outcome::Failed(_)) || std::time::Instant::now() >= deadline {
            return AcceptWorld::outcome(outcome);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// How long the API may take to report a moved alias.
const ALIAS_SETTLE: std::time::Duration = std::time::Duration::from_secs(5);

#[then(
    regex = r#"^the function "([^"]+)" has (\d+) MB of memory, (\d+) MB of ephemeral storage and a (\d+) s timeout$"#
)]
async fn function_config(
    world: &mut AcceptWorld,
    name: String,
    memory: i32,
    ephemeral: i32,
    timeout: i32,
) -> StepResult {
    let name = world.render(&name)?;
    let out = configuration(world, &name, None).await?;
    let got = (
        out.memory_size(),
        out.ephemeral_storage().map(|e| e.size()),
        out.timeout(),
    );
    ensure(
        got == (Some(memory), Some(ephemeral), Some(timeout)),
        format!("{name}: {memory} MB, {ephemeral} MB /tmp, {timeout} s"),
        format!(
            "{name}: memory {:?} MB, /tmp {:?} MB, timeout {:?} s",
            got.0, got.1, got.2
        ),
    )?;
    // "Concurrency limit: Auto-scale": no reserved-concurrency cap.
    let cap = client(world)?
        .get_function_concurrency()
        .function_name(&name)
        .send()
        .await
        .map_err(|e| {
            StepError::Infra(format!(
                "lambda GetFunctionConcurrency: {}",
                aws_error_text(&e)
            ))
        })?
        .reserved_concurrent_executions();
    ensure(
        cap.is_none(),
        format!("{name} without a reserved-concurrency cap"),
        format!("reserved concurrency {cap:?}"),
    )
}

/// GetFunctionConfiguration of `name` (or of its `qualifier`: a version or an alias).
pub async fn configuration(
    world: &AcceptWorld,
    name: &str,
    qualifier: Option<&str>,
) -> Result<
    aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput,
    StepError,
> {
    client(world)?
        .get_function_configuration()
        .function_name(name)
        .set_qualifier(qualifier.map(str::to_owned))
        .send()
        .await
        .map_err(|e| {
            let what = match qualifier {
                Some(q) => format!("{name}:{q}"),
                None => name.to_owned(),
            };
            StepError::mismatch(
                format!("GetFunctionConfiguration {what}"),
                aws_error_text(&e),
            )
        })
}

/// Names that say "credential"; a value that is an ARN or a secret's name is a reference.
fn looks_like_credential(name: &str, value: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["PASSWORD", "SECRET", "TOKEN", "PRIVATE_KEY", "API_KEY"]
        .iter()
        .any(|w| upper.contains(w))
        && !value.starts_with("arn:")
        && !value.is_empty()
}

#[then(
    regex = r#"^no environment variable of the function "([^"]+)" holds a plaintext credential$"#
)]
async fn no_plaintext_env(world: &mut AcceptWorld, name: String) -> StepResult {
    let name = world.render(&name)?;
    let out = configuration(world, &name, None).await?;
    let leaking: Vec<&String> = out
        .environment()
        .and_then(|e| e.variables())
        .into_iter()
        .flatten()
        .filter(|(k, v)| looks_like_credential(k, v))
        .map(|(k, _)| k)
        .collect();
    // Only the names are reported, never the values.
    ensure(
        leaking.is_empty(),
        format!("{name}'s environment referencing secrets, not holding them"),
        format!("plaintext credentials in {leaking:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::looks_like_credential;

    #[test]
    fn credential_names_with_literal_values_are_flagged() {
        assert!(looks_like_credential("DB_PASSWORD", "hunter2"));
        assert!(looks_like_credential("stripe_api_key", "sk_live_x"));
        assert!(!looks_like_credential(
            "DB_PASSWORD_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:1:secret:x"
        ));
        assert!(!looks_like_credential("TABLE_NAME", "Users"));
    }
}

/// `each of the functions "a, b" answers an invocation with the payload {...}` (or `the
/// function "a" answers ...`): RequestResponse Invoke, 200 without FunctionError. The last
/// invocation's request id is saved as `{request-id}`, for the log lines it leaves.
#[then(
    regex = r#"^(?:each of the functions|the function) "([^"]+)" answers an invocation with the payload (\{.*\})$"#
)]
async fn invoke_each(world: &mut AcceptWorld, list: String, payload: String) -> StepResult {
    serde_json::from_str::<serde_json::Value>(&payload)
        .map_err(|e| StepError::Usage(format!("payload {payload}: {e}")))?;
    let lambda = client(world)?;
    let mut wrong = Vec::new();
    let names = world.render_list(&list)?;
    for name in &names {
        match lambda
            .invoke()
            .function_name(name)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload.as_bytes()))
            .send()
            .await
        {
            Ok(out) if out.status_code() == 200 && out.function_error().is_none() => {
                use aws_sdk_lambda::operation::RequestId;
                if let Some(id) = out.request_id() {
                    world.saved.insert("request-id".into(), id.to_owned());
                }
            }
            Ok(out) => wrong.push(format!(
                "{name}: status {}, FunctionError {:?}",
                out.status_code(),
                out.function_error()
            )),
            Err(e) => wrong.push(format!("{name}: {}", aws_error_text(&e))),
        }
    }
    ensure(
        wrong.is_empty(),
        format!("{} functions answer 200 without FunctionError", names.len()),
        wrong.join("; "),
    )
}

/// How long a code update may stay `InProgress` (AWS: seconds).
const UPDATE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

/// `When I deploy new code to the function "F", publish it and point alias "live" at the new
/// version`: the runbook's update procedure (UpdateFunctionCode, PublishVersion,
/// UpdateAlias). The after-hook points the alias back where it was.
#[when(
    regex = r#"^I deploy new code to the function "([^"]+)", publish it and point alias "([^"]+)" at the new version$"#
)]
async fn deploy_new_code(world: &mut AcceptWorld, function: String, alias: String) -> StepResult {
    let function = world.render(&function)?;
    let current = alias_version(world, &function, &alias).await?;
    let (sha, version) = publish_new_code(world, &function).await?;
    world.undo.push(Undo::Alias {
        function: function.clone(),
        alias: alias.clone(),
        version: current.clone(),
    });
    point_alias(world, &function, &alias, &version).await?;
    world.saved.insert("function".into(), function);
    world.saved.insert("alias".into(), alias);
    world.saved.insert("previous-version".into(), current);
    world.saved.insert("new-version".into(), version);
    world.saved.insert("new-code-sha256".into(), sha);
    Ok(())
}

/// The runbook's update: UpdateFunctionCode with new code (a distinct handler each run, so
/// the new version's code differs from every earlier one), then PublishVersion. Returns the
/// code's CodeSha256 and the new version.
async fn publish_new_code(
    world: &AcceptWorld,
    function: &str,
) -> Result<(String, String), StepError> {
    let lambda = client(world)?;
    let marker = u32::try_from(chrono::Utc::now().timestamp() % i64::from(u32::MAX)).unwrap_or(0);
    let zip = shakedown_core::archive::handler_zip(function, marker);
    let updated = lambda
        .update_function_code()
        .function_name(function)
        .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(format!("UpdateFunctionCode {function}"), aws_error_text(&e))
        })?;
    let sha = updated.code_sha256().unwrap_or_default().to_owned();
    wait_updated(world, function, "code update").await?;
    let published = lambda
        .publish_version()
        .function_name(function)
        .description("shakedown acceptance: update procedure")
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(format!("PublishVersion {function}"), aws_error_text(&e))
        })?;
    Ok((sha, published.version().unwrap_or_default().to_owned()))
}

/// Route `percent` of the alias to `new` and the rest to `primary` (100: wholly `new`),
/// then wait [`CONFIG_SETTLE`].
async fn shift_alias(
    world: &AcceptWorld,
    function: &str,
    alias: &str,
    primary: &str,
    new: &str,
    percent: u32,
) -> StepResult {
    if percent >= 100 {
        point_alias(world, function, alias, new).await?;
        tokio::time::sleep(CONFIG_SETTLE).await;
        return Ok(());
    }
    let weights = aws_sdk_lambda::types::AliasRoutingConfiguration::builder()
        .additional_version_weights(new, f64::from(percent) / 100.0)
        .build();
    client(world)?
        .update_alias()
        .function_name(function)
        .name(alias)
        .function_version(primary)
        .routing_config(weights)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("UpdateAlias {function}:{alias} → {primary}, {percent}% to {new}"),
                aws_error_text(&e),
            )
        })?;
    // Callers see the new weights once Lambda (or a stand-in's alias cache) has them.
    tokio::time::sleep(CONFIG_SETTLE).await;
    Ok(())
}

/// `When I publish new code of the function "F" and route 10% of alias "live" to it`: the
/// first step of a blue/green release (the after-hook points the alias wholly back).
#[when(
    regex = r#"^I publish new code of the function "([^"]+)" and route (\d+)% of alias "([^"]+)" to it$"#
)]
async fn canary_release(
    world: &mut AcceptWorld,
    function: String,
    percent: u32,
    alias: String,
) -> StepResult {
    let function = world.render(&function)?;
    let current = alias_version(world, &function, &alias).await?;
    let (_, version) = publish_new_code(world, &function).await?;
    world.undo.push(Undo::Alias {
        function: function.clone(),
        alias: alias.clone(),
        version: current.clone(),
    });
    shift_alias(world, &function, &alias, &current, &version, percent).await?;
    world.saved.insert("function".into(), function);
    world.saved.insert("alias".into(), alias);
    world.saved.insert("previous-version".into(), current);
    world.saved.insert("new-version".into(), version);
    Ok(())
}

/// `When I route 50% of alias "live" to the new version`: the next step of the release.
#[when(regex = r#"^I route (\d+)% of alias "([^"]+)" to the new version$"#)]
async fn shift_release(world: &mut AcceptWorld, percent: u32, alias: String) -> StepResult {
    let function = world.saved("function")?.to_owned();
    let previous = world.saved("previous-version")?.to_owned();
    let new = world.saved("new-version")?.to_owned();
    shift_alias(world, &function, &alias, &previous, &new, percent).await
}

/// `Then of 200 "/health" answers, about 10% report the new version and the rest the
/// previous one`: each answer's `version` is one of the two, and the new version's share is
/// within four standard deviations of the weight (binomial; at least ±2 answers) — a
/// routing that ignores the weight fails, chance does not. At 100% every answer is new.
#[then(
    regex = r#"^of (\d+) "([^"]+)" answers, about (\d+)% report the new version and the rest the previous one$"#
)]
async fn version_shares(
    world: &mut AcceptWorld,
    count: u32,
    path: String,
    percent: u32,
) -> StepResult {
    if count == 0 || count > 2_000 || percent > 100 {
        return Err(StepError::Usage(format!(
            "{count} answers at {percent}%: 1..=2000 answers, 0..=100%"
        )));
    }
    let path = world.render(&path)?;
    let new = world.saved("new-version")?.to_owned();
    let previous = world.saved("previous-version")?.to_owned();
    let target = world.target()?;
    let (mut got_new, mut got_previous, mut other) = (0u32, 0u32, Vec::new());
    for _ in 0..count {
        let ex = target
            .get(&path, None)
            .await
            .map_err(|e| StepError::Infra(format!("GET {path}: {e}")))?;
        let version = ex
            .json()
            .and_then(|j| j.get("version").and_then(|v| v.as_str()).map(str::to_owned));
        match version.as_deref() {
            Some(v) if v == new => got_new += 1,
            Some(v) if v == previous => got_previous += 1,
            v => {
                if other.len() < 5 {
                    other.push(format!("{} {v:?}", ex.status.as_u16()));
                }
            }
        }
    }
    let p = f64::from(percent) / 100.0;
    let n = f64::from(count);
    let slack = (4.0 * (n * p * (1.0 - p)).sqrt()).max(2.0);
    let expected = n * p;
    let ok = other.is_empty()
        && (f64::from(got_new) - expected).abs() <= slack
        && got_new + got_previous == count;
    ensure(
        ok,
        format!(
            "about {percent}% of {count} answers (±{slack:.0}) report version {new}, the rest {previous}"
        ),
        format!(
            "{got_new} report {new}, {got_previous} report {previous}{}",
            if other.is_empty() {
                String::new()
            } else {
                format!(", others: {}", other.join("; "))
            }
        ),
    )
}

/// `Then the previous version is still published`: blue stays deployable while green serves.
#[then(regex = r"^the previous version is still published$")]
async fn previous_published(world: &mut AcceptWorld) -> StepResult {
    let function = world.saved("function")?.to_owned();
    let previous = world.saved("previous-version")?.to_owned();
    let published = versions(world, &function).await?;
    ensure(
        published.iter().any(|v| v.to_string() == previous),
        format!("version {previous} of {function} is still published"),
        format!("versions {published:?}"),
    )
}

/// Largest deployment package the emergency procedure downloads (Lambda's unzipped limit).
const MAX_PACKAGE_BYTES: usize = 250 * 1024 * 1024;

/// The function's current deployment package, from GetFunction's `Code.Location` (a
/// presigned URL on AWS), checked against its `CodeSha256`.
async fn current_package(world: &AcceptWorld, function: &str) -> Result<Vec<u8>, StepError> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let out = client(world)?
        .get_function()
        .function_name(function)
        .send()
        .await
        .map_err(|e| StepError::mismatch(format!("GetFunction {function}"), aws_error_text(&e)))?;
    let code = out.code();
    let Some(location) = code.and_then(|c| c.location()) else {
        return Err(StepError::mismatch(
            format!("{function} is a zip package (Code.Location)"),
            format!(
                "RepositoryType {}, image {}",
                code.and_then(|c| c.repository_type()).unwrap_or("?"),
                code.and_then(|c| c.image_uri()).unwrap_or("none")
            ),
        ));
    };
    let expected = out
        .configuration()
        .and_then(|c| c.code_sha256())
        .unwrap_or_default()
        .to_owned();
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| StepError::Infra(format!("HTTP client: {e}")))?;
    // The URL is a credential (presigned): errors name the function, never the URL.
    let mut response = http.get(location).send().await.map_err(|e| {
        StepError::Infra(format!(
            "downloading {function}'s package: {}",
            e.without_url()
        ))
    })?;
    if !response.status().is_success() {
        return Err(StepError::Infra(format!(
            "downloading {function}'s package: HTTP {}",
            response.status()
        )));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        StepError::Infra(format!(
            "downloading {function}'s package: {}",
            e.without_url()
        ))
    })? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_PACKAGE_BYTES {
            return Err(StepError::Usage(format!(
                "{function}'s package is over {MAX_PACKAGE_BYTES} bytes"
            )));
        }
    }
    let got = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&bytes));
    ensure(
        got == expected,
        format!("{function}'s downloaded package has its CodeSha256 {expected}"),
        format!("{} bytes with SHA-256 {got}", bytes.len()),
    )?;
    Ok(bytes)
}

/// `Then the emergency deploy of each function "a, b" from its zip package succeeds`: the
/// runbook's `aws lambda update-function-code --zip-file fileb://${fn}.zip` for each, with
/// the function's own current package (so the code is what it was): UpdateFunctionCode
/// answers the zip's CodeSha256, the update ends Successful, and $LATEST answers an
/// invocation.
#[then(
    regex = r#"^the emergency deploy of each function "([^"]+)" from its zip package succeeds$"#
)]
async fn emergency_deploy(world: &mut AcceptWorld, list: String) -> StepResult {
    use base64::Engine as _;
    use sha2::Digest as _;
    let names = world.render_list(&list)?;
    let lambda = client(world)?;
    for function in &names {
        let zip = current_package(world, function).await?;
        let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&zip));
        let updated = lambda
            .update_function_code()
            .function_name(function)
            .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
            .send()
            .await
            .map_err(|e| {
                StepError::mismatch(
                    format!("UpdateFunctionCode {function} --zip-file"),
                    aws_error_text(&e),
                )
            })?;
        ensure(
            updated.code_sha256() == Some(sha.as_str()),
            format!("{function}'s CodeSha256 is the zip's, {sha}"),
            format!("{:?}", updated.code_sha256()),
        )?;
        wait_updated(world, function, "emergency code update").await?;
        let out = lambda
            .invoke()
            .function_name(function)
            .payload(aws_sdk_lambda::primitives::Blob::new(
                br#"{"test": true}"#.to_vec(),
            ))
            .send()
            .await
            .map_err(|e| StepError::mismatch(format!("Invoke {function}"), aws_error_text(&e)))?;
        ensure(
            out.status_code() == 200 && out.function_error().is_none(),
            format!("{function} answers an invocation after the deploy"),
            format!(
                "status {}, FunctionError {:?}",
                out.status_code(),
                out.function_error()
            ),
        )?;
    }
    Ok(())
}

/// Wait until the function's last update is `Successful` (≤ [`UPDATE_DEADLINE`]).
async fn wait_updated(world: &AcceptWorld, function: &str, what: &str) -> StepResult {
    let deadline = std::time::Instant::now() + UPDATE_DEADLINE;
    loop {
        let config = configuration(world, function, None).await?;
        let status = config
            .last_update_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|| "Successful".to_owned());
        match status.as_str() {
            "Successful" => return Ok(()),
            "InProgress" if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            other => {
                return Err(StepError::mismatch(
                    format!("{function}'s {what} Successful"),
                    format!(
                        "LastUpdateStatus {other}: {}",
                        config.last_update_status_reason().unwrap_or_default()
                    ),
                ));
            }
        }
    }
}

/// How long after a configuration change the next step waits: Lambda applies it to new
/// invocations; the local stand-ins re-read a function's configuration within a second.
const CONFIG_SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

/// `Given the timeout of the function "F" is lowered to 2 s`: to force an invocation past
/// its Timeout without waiting out the real one; the after-hook sets it back.
#[given(regex = r#"^the timeout of the function "([^"]+)" is lowered to (\d+) s$"#)]
async fn lower_timeout(world: &mut AcceptWorld, function: String, seconds: i32) -> StepResult {
    let function = world.render(&function)?;
    let before = configuration(world, &function, None)
        .await?
        .timeout()
        .unwrap_or(3);
    world.undo.push(Undo::FunctionTimeout {
        function: function.clone(),
        seconds: before,
    });
    set_timeout(world, &function, seconds).await
}

/// UpdateFunctionConfiguration Timeout, then wait until it has applied.
pub async fn set_timeout(world: &AcceptWorld, function: &str, seconds: i32) -> StepResult {
    client(world)?
        .update_function_configuration()
        .function_name(function)
        .timeout(seconds)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("UpdateFunctionConfiguration {function} Timeout {seconds}"),
                aws_error_text(&e),
            )
        })?;
    wait_updated(world, function, "configuration update").await?;
    tokio::time::sleep(CONFIG_SETTLE).await;
    Ok(())
}

/// `Then the function "F" has provisioned concurrency READY on its alias "live"`: a READY
/// configuration with concurrency allocated (at least what the facts document, if they do).
#[then(
    regex = r#"^the function "([^"]+)" has provisioned concurrency READY on its alias "([^"]+)"$"#
)]
async fn provisioned_ready(world: &mut AcceptWorld, function: String, alias: String) -> StepResult {
    let function = world.render(&function)?;
    let documented = world
        .facts()?
        .functions
        .iter()
        .find(|f| f.name == function)
        .and_then(|f| f.provisioned_concurrency)
        .unwrap_or(1);
    let out = client(world)?
        .list_provisioned_concurrency_configs()
        .function_name(&function)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("ListProvisionedConcurrencyConfigs {function}"),
                aws_error_text(&e),
            )
        })?;
    let configs: Vec<String> = out
        .provisioned_concurrency_configs()
        .iter()
        .map(|c| {
            format!(
                "{} {} allocated {}",
                c.function_arn().unwrap_or_default(),
                c.status().map(|s| s.as_str()).unwrap_or("?"),
                c.allocated_provisioned_concurrent_executions().unwrap_or(0)
            )
        })
        .collect();
    let ready = out.provisioned_concurrency_configs().iter().any(|c| {
        c.function_arn()
            .is_some_and(|a| a.ends_with(&format!(":{alias}")))
            && c.status().is_some_and(|s| {
                *s == aws_sdk_lambda::types::ProvisionedConcurrencyStatusEnum::Ready
            })
            && c.allocated_provisioned_concurrent_executions().unwrap_or(0) >= documented
    });
    ensure(
        ready,
        format!(
            "{function}:{alias} with provisioned concurrency READY, at least {documented} allocated"
        ),
        if configs.is_empty() {
            "no provisioned concurrency configuration".to_owned()
        } else {
            configs.join("; ")
        },
    )
}

/// `Then the alias serves the new code`: the alias's configuration is the new version with
/// the uploaded code's CodeSha256.
#[then(regex = r"^the alias serves the new code$")]
async fn alias_serves_new_code(world: &mut AcceptWorld) -> StepResult {
    let function = world.saved("function")?.to_owned();
    let alias = world.saved("alias")?.to_owned();
    let version = world.saved("new-version")?.to_owned();
    let sha = world.saved("new-code-sha256")?.to_owned();
    let config = configuration(world, &function, Some(&alias)).await?;
    let got_version = config.version().unwrap_or_default();
    let got_sha = config.code_sha256().unwrap_or_default();
    ensure(
        got_version == version && got_sha == sha && !sha.is_empty(),
        format!("{function}:{alias} → version {version} with CodeSha256 {sha}"),
        format!("version {got_version} with CodeSha256 {got_sha}"),
    )
}
