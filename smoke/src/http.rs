//! HTTP checks every system shares: health (status, schema, latency), authentication
//! (a token is obtained; no token, a forged token and an expired token are refused; the
//! token is accepted), security headers and CORS where the runbook documents them.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shakedown_core::check::{fail, fail_with, infra, pass};
use shakedown_core::event::{Evidence, Outcome};
use shakedown_core::runbook::{AuthFacts, Cors, Health, RunbookFacts, SecurityHeaders};
use shakedown_core::target::{Exchange, TokenErrorKind};
use shakedown_core::tier::Effect;

use crate::{Ctx, check, id};

pub(crate) fn checks(f: &RunbookFacts) -> Vec<shakedown_core::check::Check<Ctx>> {
    let sys = f.system.clone();
    let mut out = vec![check(
        id(&sys, &["health"]),
        format!(
            "{} health answers healthy in the documented schema",
            f.title
        ),
        f,
        &f.health.section,
        Effect::Read,
        (sys.clone(), f.health.clone()),
        |ctx, (sys, health)| async move { health_check(&ctx, &sys, &health).await },
    )];
    if let Some(auth) = &f.auth {
        let data = (sys.clone(), auth.clone());
        out.push(check(
            id(&sys, &["auth", "token"]),
            format!(
                "{}: a token is obtained with the profile's credentials",
                f.title
            ),
            f,
            &auth.section,
            Effect::Read,
            data.clone(),
            |ctx, (sys, _)| async move {
                let target = match ctx.target(&sys) {
                    Ok(t) => t,
                    Err(o) => return o,
                };
                match target.token().await {
                    Ok(token) => pass(format!("token obtained ({} characters)", token.len())),
                    Err(e) => match e.kind {
                        TokenErrorKind::Unreachable => infra(e),
                        TokenErrorKind::NotConfigured => Outcome::Skipped { reason: e.message },
                        TokenErrorKind::Rejected => {
                            fail("a token for the smoke identity", e.message)
                        }
                    },
                }
            },
        ));
        out.push(check(
            id(&sys, &["auth", "required"]),
            format!("{}: {} without a token is refused with 401", f.title, auth.protected_path),
            f,
            &auth.section,
            Effect::Read,
            data.clone(),
            |ctx, (sys, auth)| async move { refused_check(&ctx, &sys, &auth, Probe::NoToken).await },
        ));
        out.push(check(
            id(&sys, &["auth", "accepted"]),
            format!(
                "{}: {} with a valid token answers 2xx",
                f.title, auth.protected_path
            ),
            f,
            &auth.section,
            Effect::Read,
            data.clone(),
            |ctx, (sys, auth)| async move { accepted_check(&ctx, &sys, &auth).await },
        ));
        out.push(check(
            id(&sys, &["auth", "forged"]),
            format!(
                "{}: a forged token (bad signature, alg none) is refused",
                f.title
            ),
            f,
            &auth.section,
            Effect::Read,
            data.clone(),
            |ctx, (sys, auth)| async move { refused_check(&ctx, &sys, &auth, Probe::Forged).await },
        ));
        if auth.expired_token_probe {
            out.push(check(
            id(&sys, &["auth", "expired"]),
            format!("{}: an expired token is refused", f.title),
            f,
            &auth.section,
            Effect::Read,
            data,
            |ctx, (sys, auth)| async move { refused_check(&ctx, &sys, &auth, Probe::Expired).await },
        ));
        }
    }
    if let Some(headers) = &f.security_headers {
        out.push(check(
            id(&sys, &["security-headers"]),
            format!("{} sends the security headers", f.title),
            f,
            &headers.section,
            Effect::Read,
            (sys.clone(), headers.clone()),
            |ctx, (sys, h)| async move { security_headers_check(&ctx, &sys, &h).await },
        ));
    }
    if let Some(cors) = &f.cors {
        out.push(check(
            id(&sys, &["cors"]),
            format!("{} allows only its documented origin", f.title),
            f,
            &cors.section,
            Effect::Read,
            (sys.clone(), cors.clone()),
            |ctx, (sys, c)| async move { cors_check(&ctx, &sys, &c).await },
        ));
    }
    out
}

/// Render an HTTP exchange failure as a failed outcome with the exchange as evidence.
pub(crate) fn fail_exchange(
    expected: impl Into<String>,
    observed: impl Into<String>,
    ex: &Exchange,
) -> Outcome {
    fail_with(expected, observed, ex.evidence())
}

pub async fn health_check(ctx: &Arc<Ctx>, sys: &str, health: &Health) -> Outcome {
    let target = match ctx.target(sys) {
        Ok(t) => t,
        Err(o) => return o,
    };
    if health.max_latency.is_some() {
        // Warm the connection so the measured call is the service's latency, not the handshake.
        if let Err(e) = target.get(&health.path, None).await {
            return infra(e);
        }
    }
    let ex = match target.get(&health.path, None).await {
        Ok(ex) => ex,
        Err(e) => return infra(e),
    };
    let expected = format!(
        "200 with JSON {} in {:?}{}",
        health.status_field,
        health.healthy_values,
        health
            .max_latency
            .map(|d| format!(" within {} ms", d.as_millis()))
            .unwrap_or_default()
    );
    if !ex.status.is_success() {
        return fail_exchange(expected, format!("HTTP {}", ex.status.as_u16()), &ex);
    }
    let Some(json) = ex.json() else {
        return fail_exchange(expected, "the body is not JSON", &ex);
    };
    let status = json.get(&health.status_field).and_then(|v| v.as_str());
    if !status.is_some_and(|s| health.healthy_values.iter().any(|h| h == s)) {
        return fail_exchange(
            expected,
            format!("{} = {status:?}", health.status_field),
            &ex,
        );
    }
    let missing: Vec<&str> = health
        .required_fields
        .iter()
        .filter(|p| json.pointer(p).is_none())
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return fail_exchange(
            format!("fields {:?} present", health.required_fields),
            format!("missing {missing:?}"),
            &ex,
        );
    }
    let not_ok: Vec<String> = health
        .ok_fields
        .iter()
        .filter(|p| json.pointer(p).and_then(|v| v.as_str()) != Some("ok"))
        .map(|p| {
            format!(
                "{p} = {}",
                json.pointer(p).map_or("absent".into(), |v| v.to_string())
            )
        })
        .collect();
    if !not_ok.is_empty() {
        return fail_exchange("every dependency \"ok\"", not_ok.join(", "), &ex);
    }
    if let Some(max) = health.max_latency
        && ex.latency > max
    {
        return fail_exchange(
            format!("latency < {} ms", max.as_millis()),
            format!("{} ms", ex.latency.as_millis()),
            &ex,
        );
    }
    pass(format!(
        "200 {} in {} ms",
        status.unwrap_or_default(),
        ex.latency.as_millis()
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    NoToken,
    Forged,
    Expired,
}

/// Headers every call to this API needs (e.g. `X-Tenant-Id`).
pub(crate) fn with_required_headers(
    mut req: reqwest::RequestBuilder,
    auth: &AuthFacts,
) -> reqwest::RequestBuilder {
    for (name, value) in &auth.required_headers {
        req = req.header(name, value);
    }
    req
}

pub async fn refused_check(ctx: &Arc<Ctx>, sys: &str, auth: &AuthFacts, probe: Probe) -> Outcome {
    let target = match ctx.target(sys) {
        Ok(t) => t,
        Err(o) => return o,
    };
    let tokens: Vec<(String, Option<String>)> = match probe {
        Probe::NoToken => vec![("no token".to_owned(), None)],
        Probe::Forged => {
            let token = match target.token().await {
                Ok(t) => t,
                Err(e) => {
                    return Outcome::Skipped {
                        reason: format!("no valid token to forge from ({sys}/auth/token): {e}"),
                    };
                }
            };
            forgeries(&token)
                .into_iter()
                .map(|(label, t)| (label, Some(t)))
                .collect()
        }
        Probe::Expired => match target.expired_token() {
            Ok(Some(t)) => vec![("an expired token".to_owned(), Some(t))],
            Ok(None) => {
                return Outcome::Skipped {
                    reason: "the profile provides no expired token (auth.expired-token-env)"
                        .to_owned(),
                };
            }
            Err(e) => return infra(e),
        },
    };
    for (label, token) in tokens {
        let mut req =
            with_required_headers(target.http().get(target.url(&auth.protected_path)), auth);
        if let Some(token) = &token {
            shakedown_core::redact::register_secret(token);
            req = req.bearer_auth(token);
        }
        let ex = match target.send(req).await {
            Ok(ex) => ex,
            Err(e) => return infra(e),
        };
        let expected = match &auth.unauthorized_code {
            Some(code) => format!("401 with code {code} for {label}"),
            None => format!("401 for {label}"),
        };
        if ex.status.as_u16() != 401 {
            return fail_exchange(
                expected,
                format!("HTTP {} for {label}", ex.status.as_u16()),
                &ex,
            );
        }
        if let (Some(code), Some(field)) = (&auth.unauthorized_code, &auth.error_code_field) {
            let got = ex
                .json()
                .and_then(|j| j.get(field).and_then(|v| v.as_str()).map(str::to_owned));
            if got.as_deref() != Some(code.as_str()) {
                return fail_exchange(expected, format!("401 with {field} = {got:?}"), &ex);
            }
        }
    }
    pass(match probe {
        Probe::NoToken => "401 without a token".to_owned(),
        Probe::Forged => "401 for a bad signature and for alg none".to_owned(),
        Probe::Expired => "401 for an expired token".to_owned(),
    })
}

/// Two forgeries of a JWT: the signature altered, and the signature dropped with `alg: none`.
/// An opaque (non-JWT) token is forged by altering its last characters.
fn forgeries(token: &str) -> Vec<(String, String)> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        let mut altered = token.to_owned();
        altered.push_str("x0");
        return vec![("an altered token".to_owned(), altered)];
    }
    let sig = parts[2];
    let mut bytes = URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap_or_else(|_| sig.as_bytes().to_vec());
    if let Some(b) = bytes.first_mut() {
        *b ^= 0x5a;
    }
    let bad_sig = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(bytes)
    );
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{}.", parts[1]);
    vec![
        ("a token with an altered signature".to_owned(), bad_sig),
        ("an unsigned token (alg none)".to_owned(), alg_none),
    ]
}

pub async fn accepted_check(ctx: &Arc<Ctx>, sys: &str, auth: &AuthFacts) -> Outcome {
    let (target, token) = match ctx.authed(sys).await {
        Ok(t) => t,
        Err(o) => return o,
    };
    let req = with_required_headers(target.http().get(target.url(&auth.protected_path)), auth)
        .bearer_auth(&token);
    match target.send(req).await {
        Ok(ex) if ex.status.is_success() => {
            pass(format!("HTTP {} with the token", ex.status.as_u16()))
        }
        Ok(ex) => fail_exchange(
            "2xx with a valid token",
            format!("HTTP {}", ex.status.as_u16()),
            &ex,
        ),
        Err(e) => infra(e),
    }
}

pub async fn security_headers_check(ctx: &Arc<Ctx>, sys: &str, h: &SecurityHeaders) -> Outcome {
    let target = match ctx.target(sys) {
        Ok(t) => t,
        Err(o) => return o,
    };
    let ex = match target.get(&h.path, None).await {
        Ok(ex) => ex,
        Err(e) => return infra(e),
    };
    let mut problems = Vec::new();
    for (name, want) in &h.headers {
        match ex.header(name) {
            None => problems.push(format!("{name} missing")),
            Some(got) if !want.is_empty() && !got.eq_ignore_ascii_case(want) => {
                problems.push(format!("{name}: {got:?} (want {want:?})"));
            }
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        pass(format!("{} headers present", h.headers.len()))
    } else {
        let mut evidence = ex.evidence();
        evidence.push(Evidence::new(
            "headers",
            ex.headers
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join("; "),
        ));
        fail_with(
            format!("headers {:?}", h.headers.keys().collect::<Vec<_>>()),
            problems.join(", "),
            evidence,
        )
    }
}

pub async fn cors_check(ctx: &Arc<Ctx>, sys: &str, c: &Cors) -> Outcome {
    let target = match ctx.target(sys) {
        Ok(t) => t,
        Err(o) => return o,
    };
    let allowed = target
        .send(
            target
                .http()
                .get(target.url(&c.path))
                .header("Origin", &c.allowed_origin),
        )
        .await;
    let denied = target
        .send(
            target
                .http()
                .get(target.url(&c.path))
                .header("Origin", &c.denied_origin),
        )
        .await;
    let (allowed, denied) = match (allowed, denied) {
        (Ok(a), Ok(d)) => (a, d),
        (Err(e), _) | (_, Err(e)) => return infra(e),
    };
    let acao = |ex: &Exchange| ex.header("access-control-allow-origin").map(str::to_owned);
    if acao(&allowed).as_deref() != Some(c.allowed_origin.as_str()) {
        return fail_exchange(
            format!(
                "Access-Control-Allow-Origin: {} for that origin",
                c.allowed_origin
            ),
            format!("{:?}", acao(&allowed)),
            &allowed,
        );
    }
    match acao(&denied) {
        Some(v) if v == "*" || v == c.denied_origin => fail_exchange(
            format!("no Access-Control-Allow-Origin for {}", c.denied_origin),
            format!("Access-Control-Allow-Origin: {v}"),
            &denied,
        ),
        _ => pass(format!("only {} is allowed", c.allowed_origin)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgeries_keep_the_payload_and_break_the_signature() {
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let f = forgeries(token);
        assert_eq!(f.len(), 2);
        assert!(f[0].1.starts_with("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0."));
        assert_ne!(f[0].1, token);
        assert!(f[1].1.ends_with("eyJzdWIiOiJ4In0."));
        assert_eq!(forgeries("opaque").len(), 1);
    }
}
