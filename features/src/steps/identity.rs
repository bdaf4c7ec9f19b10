//! Identity and secrets as the runbooks document them: the Cognito admin group has a
//! confirmed, verified member with MFA; the user-management procedures (create, disable,
//! reset password) have the documented effect on sign-in; secrets live in Secrets Manager.
//!
//! The procedures work on a scenario-owned user `shakedown-<uuid>@<system>.example`, deleted
//! by the after-hook; its password is generated per run and never printed.

use aws_sdk_cognitoidentityprovider::Client as Cognito;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType, MessageActionType};
use cucumber::{then, when};
use shakedown_core::profile::AuthProfile;
use shakedown_core::redact;
use shakedown_core::target::aws_error_text;

use crate::result::{StepError, StepResult, ensure};
use crate::world::{AcceptWorld, Undo};

/// The profile's user pool and app client for the scenario's system.
fn pool(world: &AcceptWorld) -> Result<(String, String), StepError> {
    match &world.target()?.profile.auth {
        Some(AuthProfile::CognitoPassword {
            user_pool_id,
            client_id,
            ..
        }) => Ok((user_pool_id.clone(), client_id.clone())),
        _ => Err(StepError::Usage(format!(
            "{} is not configured with a Cognito user pool in this profile",
            world.system
        ))),
    }
}

fn cognito(world: &AcceptWorld) -> Result<Cognito, StepError> {
    Ok(Cognito::new(world.sdk()?))
}

fn infra(call: &str, e: impl std::fmt::Display) -> StepError {
    StepError::Infra(format!("cognito-idp {call}: {e}"))
}

#[then(
    regex = r#"^the Cognito group "([^"]+)" has a CONFIRMED member with a verified email(?: and MFA)?$"#
)]
async fn admin_group(
    world: &mut AcceptWorld,
    step: &cucumber::gherkin::Step,
    group: String,
) -> StepResult {
    let want_mfa = step.value.ends_with("and MFA");
    let (pool_id, _) = pool(world)?;
    let idp = cognito(world)?;
    let members = idp
        .list_users_in_group()
        .user_pool_id(&pool_id)
        .group_name(&group)
        .send()
        .await
        .map_err(|e| StepError::mismatch(format!("a Cognito group {group}"), aws_error_text(&e)))?;
    let mut seen = Vec::new();
    for user in members.users() {
        let name = user.username().unwrap_or_default().to_owned();
        let status = user
            .user_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        let verified = user
            .attributes()
            .iter()
            .any(|a| a.name() == "email_verified" && a.value() == Some("true"));
        let mut mfa = true;
        if want_mfa {
            let out = idp
                .admin_get_user()
                .user_pool_id(&pool_id)
                .username(&name)
                .send()
                .await
                .map_err(|e| infra("AdminGetUser", aws_error_text(&e)))?;
            mfa = !out.user_mfa_setting_list().is_empty();
        }
        if status == "CONFIRMED" && verified && mfa {
            return Ok(());
        }
        seen.push(format!(
            "{name}: {status}, email_verified {verified}, MFA {mfa}"
        ));
    }
    Err(StepError::mismatch(
        format!(
            "a CONFIRMED member of {group} with a verified email{}",
            if want_mfa { " and an MFA method" } else { "" }
        ),
        if seen.is_empty() {
            format!("the group {group} has no members")
        } else {
            seen.join("; ")
        },
    ))
}

#[then(regex = r"^the user pool's MFA setting is (ON|OPTIONAL)$")]
async fn pool_mfa(world: &mut AcceptWorld, want: String) -> StepResult {
    let (pool_id, _) = pool(world)?;
    let out = cognito(world)?
        .get_user_pool_mfa_config()
        .user_pool_id(&pool_id)
        .send()
        .await
        .map_err(|e| infra("GetUserPoolMfaConfig", aws_error_text(&e)))?;
    let got = out
        .mfa_configuration()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unset".into());
    ensure(got == want, format!("MFA {want}"), format!("MFA {got}"))
}

/// Most users an MFA-adoption measurement reads (AdminGetUser each: a bounded sample on a
/// large pool, said so in the evidence).
const MFA_SAMPLE: usize = 600;

/// `Then more than 50% of the user pool's users have an MFA method`: ListUsers, then each
/// user's UserMFASettingList (AdminGetUser).
#[then(regex = r"^more than (\d+)% of the user pool's users have an MFA method$")]
async fn mfa_adoption(world: &mut AcceptWorld, percent: u32) -> StepResult {
    let (pool_id, _) = pool(world)?;
    let idp = cognito(world)?;
    let mut users = Vec::new();
    let mut token = None;
    while users.len() < MFA_SAMPLE {
        let page = idp
            .list_users()
            .user_pool_id(&pool_id)
            .limit(60)
            .set_pagination_token(token)
            .send()
            .await
            .map_err(|e| infra("ListUsers", aws_error_text(&e)))?;
        users.extend(
            page.users()
                .iter()
                .filter_map(|u| u.username().map(str::to_owned)),
        );
        token = page.pagination_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    users.truncate(MFA_SAMPLE);
    let mut with_mfa = 0usize;
    for user in &users {
        let out = idp
            .admin_get_user()
            .user_pool_id(&pool_id)
            .username(user)
            .send()
            .await
            .map_err(|e| infra("AdminGetUser", aws_error_text(&e)))?;
        if !out.user_mfa_setting_list().is_empty() {
            with_mfa += 1;
        }
    }
    let share = if users.is_empty() {
        0.0
    } else {
        100.0 * with_mfa as f64 / users.len() as f64
    };
    let sample = if users.len() == MFA_SAMPLE {
        format!(" (the first {MFA_SAMPLE} users)")
    } else {
        String::new()
    };
    ensure(
        share > f64::from(percent),
        format!("more than {percent}% of the pool's users with an MFA method"),
        format!("{with_mfa} of {} users ({share:.0}%){sample}", users.len()),
    )
}

/// Try to sign `user` in: `Ok(id token)` when Cognito issues tokens, else why not. The
/// admin flow (`ADMIN_USER_PASSWORD_AUTH`) is what an operator runs; moto 5.2.5 still lets
/// `USER_PASSWORD_AUTH` through after a password reset, the admin flow does not.
async fn signs_in(
    world: &AcceptWorld,
    user: &str,
    password: &str,
    admin: bool,
) -> Result<Result<String, String>, StepError> {
    let (pool_id, client_id) = pool(world)?;
    let idp = cognito(world)?;
    let result = if admin {
        idp.admin_initiate_auth()
            .user_pool_id(&pool_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .client_id(&client_id)
            .auth_parameters("USERNAME", user)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map(|o| {
                (
                    o.authentication_result()
                        .and_then(|r| r.id_token())
                        .map(str::to_owned),
                    o.challenge_name().map(|c| c.as_str().to_owned()),
                )
            })
            .map_err(|e| aws_error_text(&e))
    } else {
        idp.initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(&client_id)
            .auth_parameters("USERNAME", user)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map(|o| {
                (
                    o.authentication_result()
                        .and_then(|r| r.id_token())
                        .map(str::to_owned),
                    o.challenge_name().map(|c| c.as_str().to_owned()),
                )
            })
            .map_err(|e| aws_error_text(&e))
    };
    Ok(match result {
        Ok((Some(token), _)) => {
            redact::register_secret(&token);
            Ok(token)
        }
        Ok((None, challenge)) => Err(format!("challenge {}", challenge.unwrap_or_default())),
        Err(e) => Err(e),
    })
}

#[when(regex = r"^I create a user with a permanent password as the runbook describes$")]
async fn create_user(world: &mut AcceptWorld) -> StepResult {
    let (pool_id, _) = pool(world)?;
    let idp = cognito(world)?;
    let user = format!(
        "shakedown-{}@{}.example",
        uuid::Uuid::new_v4().simple(),
        world.system
    );
    // Upper, lower, digit and symbol: satisfies the default Cognito password policy.
    let password = format!("Sd-{}-9a", uuid::Uuid::new_v4().simple());
    redact::register_secret(&password);
    let email = AttributeType::builder()
        .name("email")
        .value(&user)
        .build()
        .map_err(|e| StepError::Usage(e.to_string()))?;
    // A verified address: the reset procedure sends its code there.
    let verified = AttributeType::builder()
        .name("email_verified")
        .value("true")
        .build()
        .map_err(|e| StepError::Usage(e.to_string()))?;
    idp.admin_create_user()
        .user_pool_id(&pool_id)
        .username(&user)
        .message_action(MessageActionType::Suppress)
        .user_attributes(email)
        .user_attributes(verified)
        .send()
        .await
        .map_err(|e| StepError::mismatch("AdminCreateUser to succeed", aws_error_text(&e)))?;
    world.undo.push(Undo::DeleteUser {
        pool: pool_id.clone(),
        user: user.clone(),
    });
    idp.admin_set_user_password()
        .user_pool_id(&pool_id)
        .username(&user)
        .password(&password)
        .permanent(true)
        .send()
        .await
        .map_err(|e| StepError::mismatch("AdminSetUserPassword to succeed", aws_error_text(&e)))?;
    world.saved.insert("user".into(), user);
    world.saved.insert("user-password".into(), password);
    Ok(())
}

#[when(regex = r"^I (disable|enable) that user$")]
async fn toggle_user(world: &mut AcceptWorld, action: String) -> StepResult {
    let (pool_id, _) = pool(world)?;
    let user = world.saved("user")?.to_owned();
    let idp = cognito(world)?;
    let result = if action == "disable" {
        idp.admin_disable_user()
            .user_pool_id(&pool_id)
            .username(&user)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error_text(&e))
    } else {
        idp.admin_enable_user()
            .user_pool_id(&pool_id)
            .username(&user)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error_text(&e))
    };
    result.map_err(|e| StepError::mismatch(format!("Admin{action}User to succeed"), e))
}

#[when(regex = r"^I reset that user's password$")]
async fn reset_password(world: &mut AcceptWorld) -> StepResult {
    let (pool_id, _) = pool(world)?;
    let user = world.saved("user")?.to_owned();
    cognito(world)?
        .admin_reset_user_password()
        .user_pool_id(&pool_id)
        .username(&user)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| StepError::mismatch("AdminResetUserPassword to succeed", aws_error_text(&e)))
}

#[then(regex = r"^that user (can|cannot) sign in( through the admin flow)?$")]
async fn user_signs_in(world: &mut AcceptWorld, can: String, admin: String) -> StepResult {
    let user = world.saved("user")?.to_owned();
    let password = world.saved("user-password")?.to_owned();
    let result = signs_in(world, &user, &password, !admin.is_empty()).await?;
    match (can.as_str(), result) {
        ("can", Ok(token)) => {
            world.saved.insert("user-token".into(), token);
            Ok(())
        }
        ("cannot", Err(_)) => Ok(()),
        ("can", Err(why)) => Err(StepError::mismatch("the user signs in", why)),
        _ => Err(StepError::mismatch(
            "sign-in refused",
            "Cognito issued tokens",
        )),
    }
}

#[then(regex = r"^the protected API answers 200 to that user's token$")]
async fn api_accepts_user(world: &mut AcceptWorld) -> StepResult {
    let token = world.saved("user-token")?.to_owned();
    let auth = world
        .facts()?
        .auth
        .clone()
        .ok_or_else(|| StepError::Usage(format!("{} documents no auth", world.system)))?;
    let url = format!("{}{}", world.target()?.base_url, auth.protected_path);
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| StepError::Infra(e.to_string()))?;
    let mut req = http.get(&url).bearer_auth(&token);
    for (k, v) in &auth.required_headers {
        req = req.header(k, world.render(v)?);
    }
    let status = req
        .send()
        .await
        .map_err(|e| StepError::Infra(format!("GET {url}: {e}")))?
        .status()
        .as_u16();
    ensure(
        status == 200,
        format!("GET {} → 200", auth.protected_path),
        format!("{status}"),
    )
}

#[then(regex = r"^that user's status is ([A-Z_]+)(?: and (enabled|disabled))?$")]
async fn user_status(world: &mut AcceptWorld, status: String, enabled: String) -> StepResult {
    let (pool_id, _) = pool(world)?;
    let user = world.saved("user")?.to_owned();
    let out = cognito(world)?
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username(&user)
        .send()
        .await
        .map_err(|e| StepError::mismatch(format!("user {user}"), aws_error_text(&e)))?;
    let got = out
        .user_status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    let on = out.enabled();
    let want_on = match enabled.as_str() {
        "" => on,
        e => e == "enabled",
    };
    ensure(
        got == status && on == want_on,
        format!(
            "status {status}{}",
            if enabled.is_empty() {
                String::new()
            } else {
                format!(", {enabled}")
            }
        ),
        format!("status {got}, {}", if on { "enabled" } else { "disabled" }),
    )
}

#[then(regex = r"^that user no longer exists in the user pool$")]
async fn user_gone(world: &mut AcceptWorld) -> StepResult {
    let (pool_id, _) = pool(world)?;
    let user = world.saved("user")?.to_owned();
    match cognito(world)?
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username(&user)
        .send()
        .await
    {
        Ok(out) => Err(StepError::mismatch(
            format!("AdminGetUser {user} → UserNotFoundException"),
            format!(
                "the user exists (status {})",
                out.user_status().map(|s| s.as_str()).unwrap_or("?")
            ),
        )),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_user_not_found_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(infra("AdminGetUser", aws_error_text(&e))),
    }
}

#[then(regex = r#"^the user pool's app clients call back only to "([^"]+)"$"#)]
async fn callbacks_only_to(world: &mut AcceptWorld, site: String) -> StepResult {
    let (pool_id, _) = pool(world)?;
    let idp = cognito(world)?;
    let clients = idp
        .list_user_pool_clients()
        .user_pool_id(&pool_id)
        .max_results(60)
        .send()
        .await
        .map_err(|e| infra("ListUserPoolClients", aws_error_text(&e)))?;
    let mut urls = Vec::new();
    for c in clients.user_pool_clients() {
        let Some(id) = c.client_id() else { continue };
        let out = idp
            .describe_user_pool_client()
            .user_pool_id(&pool_id)
            .client_id(id)
            .send()
            .await
            .map_err(|e| infra("DescribeUserPoolClient", aws_error_text(&e)))?;
        if let Some(client) = out.user_pool_client() {
            urls.extend(client.callback_urls().iter().cloned());
        }
    }
    let belongs = |u: &String| u == &site || u.starts_with(&format!("{site}/"));
    let foreign: Vec<&String> = urls.iter().filter(|u| !belongs(u)).collect();
    ensure(
        !urls.is_empty() && foreign.is_empty(),
        format!("every app client callback URL under {site}"),
        if urls.is_empty() {
            "no callback URLs".to_owned()
        } else {
            format!("callback URLs {urls:?}; not under {site}: {foreign:?}")
        },
    )
}

#[then(regex = r#"^the user pool has its log group "/aws/cognito/user-pool/<id>"$"#)]
async fn pool_log_group(world: &mut AcceptWorld) -> StepResult {
    let (pool_id, _) = pool(world)?;
    let name = format!("/aws/cognito/user-pool/{pool_id}");
    let logs = aws_sdk_cloudwatchlogs::Client::new(world.sdk()?);
    let out = logs
        .describe_log_groups()
        .log_group_name_prefix(&name)
        .send()
        .await
        .map_err(|e| StepError::Infra(format!("logs DescribeLogGroups: {}", aws_error_text(&e))))?;
    let found = out
        .log_groups()
        .iter()
        .any(|g| g.log_group_name() == Some(name.as_str()));
    ensure(found, format!("log group {name}"), "no such log group")
}

#[then(
    regex = r"^a sign-in as the test user with a wrong password is refused with NotAuthorizedException$"
)]
async fn wrong_password(world: &mut AcceptWorld) -> StepResult {
    let user = match &world.target()?.profile.auth {
        Some(AuthProfile::CognitoPassword { username, .. }) => username.clone(),
        _ => {
            return Err(StepError::Usage(format!(
                "{} is not configured with a Cognito user in this profile",
                world.system
            )));
        }
    };
    let wrong = format!("Wrong-{}-9a", uuid::Uuid::new_v4().simple());
    match signs_in(world, &user, &wrong, false).await? {
        Ok(_) => Err(StepError::mismatch(
            "NotAuthorizedException for a wrong password",
            "the sign-in succeeded",
        )),
        Err(e) if e.contains("NotAuthorized") => Ok(()),
        Err(e) => Err(StepError::mismatch(
            "NotAuthorizedException for a wrong password",
            e,
        )),
    }
}

/// Delete the scenario's user (the after-hook).
pub async fn delete_user(world: &AcceptWorld, pool: &str, user: &str) -> StepResult {
    match cognito(world)?
        .admin_delete_user()
        .user_pool_id(pool)
        .username(user)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_user_not_found_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(infra("AdminDeleteUser", aws_error_text(&e))),
    }
}

/// A secret's JSON object, its secret values (keys naming a password, secret, token or key)
/// registered for redaction first. Identifiers (`username`, `client_id`) are not: a user
/// named like the system would otherwise redact the system's name from every report.
pub async fn stored_json(world: &AcceptWorld, name: &str) -> Result<serde_json::Value, StepError> {
    let sm = aws_sdk_secretsmanager::Client::new(world.sdk()?);
    let out = sm
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .map_err(|e| StepError::mismatch(format!("a secret {name}"), aws_error_text(&e)))?;
    let text = out.secret_string().unwrap_or_default();
    redact::register_secret(text);
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| {
        StepError::mismatch(
            format!("{name} holding a JSON object"),
            "a non-JSON secret string",
        )
    })?;
    for (k, v) in value.as_object().into_iter().flatten() {
        let k = k.to_ascii_lowercase();
        let secret = ["password", "secret", "token", "key"]
            .iter()
            .any(|w| k.contains(w));
        if let (true, Some(s)) = (secret, v.as_str()) {
            redact::register_secret(s);
        }
    }
    Ok(value)
}

#[then(regex = r#"^Secrets Manager holds "([^"]+)" with the keys "([^"]+)"$"#)]
async fn secret_held(world: &mut AcceptWorld, name: String, keys: String) -> StepResult {
    let name = world.render(&name)?;
    // The value is never shown: only its keys are compared.
    let value = stored_json(world, &name).await?;
    let have: Vec<&str> = value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let missing: Vec<&str> = keys
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty() && !have.contains(k))
        .collect();
    ensure(
        missing.is_empty(),
        format!("{name} with keys {keys}"),
        format!("keys {have:?}; missing {missing:?}"),
    )
}

#[then(
    regex = r#"^the OAuth2 client secret stored in "([^"]+)" is the one the token endpoint accepts$"#
)]
async fn stored_secret_live(world: &mut AcceptWorld, name: String) -> StepResult {
    let name = world.render(&name)?;
    let value = stored_json(world, &name).await?;
    let (Some(id), Some(secret)) = (
        value.get("client_id").and_then(|v| v.as_str()),
        value.get("client_secret").and_then(|v| v.as_str()),
    ) else {
        return Err(StepError::mismatch(
            format!("{name} with client_id and client_secret"),
            "one of them missing",
        ));
    };
    redact::register_secret(secret);
    let token_url = match &world.target()?.profile.auth {
        Some(AuthProfile::Oauth2ClientCredentials { token_url, .. }) => token_url.clone(),
        _ => {
            return Err(StepError::Usage(format!(
                "{} has no OAuth2 client-credentials auth in this profile",
                world.system
            )));
        }
    };
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| StepError::Infra(e.to_string()))?;
    let resp = http
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .map_err(|e| StepError::Infra(format!("POST {token_url}: {e}")))?;
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    if let Some(t) = body.get("access_token").and_then(|t| t.as_str()) {
        redact::register_secret(t);
    }
    ensure(
        status == 200 && body.get("access_token").is_some(),
        format!("the token endpoint issues a token for {id} with the stored secret"),
        format!(
            "{status} {}",
            body.get("error").cloned().unwrap_or_default()
        ),
    )
}
