//! Targets: one system of a profile, reachable over HTTP (reqwest, timeouts on everything)
//! with its authentication strategy — Cognito `USER_PASSWORD_AUTH` (real JWTs), OAuth2
//! client credentials, or a static bearer token — and the AWS SDK config of its profile.
//! Every token obtained is registered with the redactor before it can be printed.

use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use reqwest::{Method, StatusCode, header::HeaderMap};
use tokio::sync::OnceCell;

use crate::aws::{AwsSettings, sdk_config};
use crate::error::ConfigError;
use crate::event::Evidence;
use crate::profile::{AuthProfile, Profile, Secret, SystemProfile};
use crate::redact;

/// An HTTP exchange as evidence: what was asked, what came back, how long it took.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: Method,
    pub url: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    pub latency: Duration,
}

impl Exchange {
    /// Evidence lines: request, status with latency, trimmed body.
    pub fn evidence(&self) -> Vec<Evidence> {
        vec![
            Evidence::new("request", format!("{} {}", self.method, self.url)),
            Evidence::new(
                "status",
                format!(
                    "{} in {} ms",
                    self.status.as_u16(),
                    self.latency.as_millis()
                ),
            ),
            Evidence::body(&self.body, 400),
        ]
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why an HTTP call produced no exchange: the target could not be reached (infra), or
/// the request could not be built.
#[derive(Debug, thiserror::Error)]
#[error("{method} {url}: {message}")]
pub struct Unreachable {
    pub method: Method,
    pub url: String,
    pub message: String,
}

/// Failure to obtain a token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The identity provider answered and said no (a check failure).
    #[error("{0}")]
    Rejected(String),
    /// The identity provider could not be reached (infrastructure).
    #[error("{0}")]
    Unreachable(String),
    /// The profile configures no authentication for this system.
    #[error("{0}")]
    NotConfigured(String),
    /// The profile lacks what the strategy needs (usage).
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// One system of a profile.
#[derive(Debug)]
pub struct Target {
    pub system: String,
    pub base_url: String,
    pub profile: SystemProfile,
    http: reqwest::Client,
    sdk: SdkConfig,
    token: OnceCell<Result<String, TokenError>>,
    writer_token: OnceCell<Result<String, TokenError>>,
    neighbour_token: OnceCell<Result<String, TokenError>>,
}

/// A token fetched once per run into `cell` (registered with the redactor), or why not.
async fn once(
    cell: &OnceCell<Result<String, TokenError>>,
    fetch: impl std::future::Future<Output = Result<String, AuthError>>,
) -> Result<String, TokenError> {
    cell.get_or_init(|| async {
        let token = fetch.await?;
        redact::register_secret(&token);
        Ok(token)
    })
    .await
    .clone()
}

/// Why no token could be had, as cached for the run (cloneable, classified).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TokenError {
    pub kind: TokenErrorKind,
    pub message: String,
}

/// The class of a [`TokenError`]: what it means for a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenErrorKind {
    /// The identity provider said no: the auth claim fails.
    Rejected,
    /// The identity provider could not be reached: infrastructure.
    Unreachable,
    /// The profile configures no auth, or lacks a setting.
    NotConfigured,
}

impl From<AuthError> for TokenError {
    fn from(e: AuthError) -> Self {
        let kind = match &e {
            AuthError::Rejected(_) => TokenErrorKind::Rejected,
            AuthError::Unreachable(_) => TokenErrorKind::Unreachable,
            AuthError::NotConfigured(_) | AuthError::Config(_) => TokenErrorKind::NotConfigured,
        };
        TokenError {
            kind,
            message: e.to_string(),
        }
    }
}

impl Target {
    pub fn new(system: &str, sys: &SystemProfile, sdk: SdkConfig, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shakedown/", env!("CARGO_PKG_VERSION")))
            // The wire as the target sent it: a check of compression must see
            // Content-Encoding. (goose turns on reqwest's `gzip` feature for the whole
            // workspace build, which would otherwise decompress and drop the header.)
            .no_gzip()
            .build()
            .unwrap_or_default();
        Self {
            system: system.to_owned(),
            base_url: sys.base_url.trim_end_matches('/').to_owned(),
            profile: sys.clone(),
            http,
            sdk,
            token: OnceCell::new(),
            writer_token: OnceCell::new(),
            neighbour_token: OnceCell::new(),
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{}", self.base_url, path)
        }
    }

    /// Send a request and read the whole body. A transport failure is [`Unreachable`].
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<Exchange, Unreachable> {
        let request = req.build().map_err(|e| Unreachable {
            method: Method::GET,
            url: String::new(),
            message: e.to_string(),
        })?;
        let (method, url) = (request.method().clone(), request.url().to_string());
        let started = Instant::now();
        let response = self.http.execute(request).await.map_err(|e| Unreachable {
            method: method.clone(),
            url: url.clone(),
            message: describe_reqwest(&e),
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|e| Unreachable {
            method: method.clone(),
            url: url.clone(),
            message: format!("reading the body: {}", describe_reqwest(&e)),
        })?;
        Ok(Exchange {
            method,
            url,
            status,
            headers,
            body,
            latency: started.elapsed(),
        })
    }

    /// `GET path`, optionally with the bearer token.
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Result<Exchange, Unreachable> {
        let mut req = self.http.get(self.url(path));
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        self.send(req).await
    }

    /// The bearer token for this system, obtained once per run and shared by every check.
    pub async fn token(&self) -> Result<String, TokenError> {
        once(&self.token, self.fetch_token()).await
    }

    /// The writer identity's bearer token (`auth.writer-client-id`), obtained once per run.
    pub async fn writer_token(&self) -> Result<String, TokenError> {
        once(&self.writer_token, self.fetch_writer_token()).await
    }

    /// A second identity of the same kind as the test user's, for isolation checks: the
    /// neighbour user (`auth.neighbour-username`) or the writer client
    /// (`auth.writer-client-id`). Obtained once per run.
    pub async fn neighbour_token(&self) -> Result<String, TokenError> {
        once(&self.neighbour_token, self.fetch_neighbour_token()).await
    }

    async fn fetch_neighbour_token(&self) -> Result<String, AuthError> {
        match &self.profile.auth {
            Some(AuthProfile::CognitoPassword {
                client_id,
                neighbour_username: Some(neighbour),
                password_env,
                ..
            }) => {
                let password = Secret::from_env(password_env, "auth.password-env")?;
                cognito_password(&self.sdk, client_id, neighbour, &password).await
            }
            Some(AuthProfile::Oauth2ClientCredentials {
                writer_client_id: Some(_),
                ..
            }) => self.fetch_writer_token().await,
            _ => Err(AuthError::NotConfigured(format!(
                "the profile configures no second identity for {} (auth.neighbour-username or auth.writer-client-id)",
                self.system
            ))),
        }
    }

    async fn fetch_writer_token(&self) -> Result<String, AuthError> {
        match &self.profile.auth {
            Some(AuthProfile::Oauth2ClientCredentials {
                token_url,
                client_secret_env,
                scope,
                writer_client_id: Some(writer),
                writer_client_secret_env,
                ..
            }) => {
                let var = writer_client_secret_env
                    .as_ref()
                    .unwrap_or(client_secret_env);
                let secret = Secret::from_env(var, "auth.writer-client-secret-env")?;
                self.client_credentials(token_url, writer, &secret, scope.as_deref())
                    .await
            }
            _ => Err(AuthError::NotConfigured(format!(
                "the profile configures no writer identity for {} (auth.writer-client-id)",
                self.system
            ))),
        }
    }

    /// Obtain a fresh token with the profile's strategy.
    pub async fn fetch_token(&self) -> Result<String, AuthError> {
        let Some(auth) = &self.profile.auth else {
            return Err(AuthError::NotConfigured(format!(
                "the profile configures no auth for {}",
                self.system
            )));
        };
        match auth {
            AuthProfile::CognitoPassword {
                client_id,
                username,
                password_env,
                ..
            } => {
                let password = Secret::from_env(password_env, "auth.password-env")?;
                cognito_password(&self.sdk, client_id, username, &password).await
            }
            AuthProfile::Oauth2ClientCredentials {
                token_url,
                client_id,
                client_secret_env,
                scope,
                ..
            } => {
                let secret = Secret::from_env(client_secret_env, "auth.client-secret-env")?;
                self.client_credentials(token_url, client_id, &secret, scope.as_deref())
                    .await
            }
            AuthProfile::StaticBearer { token_env } => {
                Ok(Secret::from_env(token_env, "auth.token-env")?
                    .expose()
                    .to_owned())
            }
        }
    }

    /// An expired but validly signed token, if the profile provides one.
    pub fn expired_token(&self) -> Result<Option<String>, ConfigError> {
        match &self.profile.auth {
            Some(AuthProfile::CognitoPassword {
                expired_token,
                expired_token_env,
                ..
            }) => {
                if let Some(token) = expired_token.as_ref().filter(|t| !t.is_empty()) {
                    redact::register_secret(token);
                    return Ok(Some(token.clone()));
                }
                match expired_token_env {
                    Some(var) => match std::env::var(var) {
                        Ok(token) if !token.is_empty() => {
                            redact::register_secret(&token);
                            Ok(Some(token))
                        }
                        _ => Ok(None),
                    },
                    None => Ok(None),
                }
            }
            _ => Ok(None),
        }
    }

    async fn client_credentials(
        &self,
        token_url: &str,
        client_id: &str,
        secret: &Secret,
        scope: Option<&str>,
    ) -> Result<String, AuthError> {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret.expose()),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        let exchange = self
            .send(self.http.post(self.url(token_url)).form(&form))
            .await
            .map_err(|e| AuthError::Unreachable(e.to_string()))?;
        if !exchange.status.is_success() {
            return Err(AuthError::Rejected(format!(
                "token endpoint answered {}: {}",
                exchange.status.as_u16(),
                redact::redact(&exchange.body)
            )));
        }
        exchange
            .json()
            .and_then(|v| v.get("access_token")?.as_str().map(str::to_owned))
            .ok_or_else(|| {
                AuthError::Rejected("token endpoint answered without access_token".to_owned())
            })
    }
}

/// Cognito `InitiateAuth` with `USER_PASSWORD_AUTH`; returns the ID token.
pub async fn cognito_password(
    sdk: &SdkConfig,
    client_id: &str,
    username: &str,
    password: &Secret,
) -> Result<String, AuthError> {
    use aws_sdk_cognitoidentityprovider::error::SdkError;
    use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
    let client = aws_sdk_cognitoidentityprovider::Client::new(sdk);
    let result = client
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", password.expose())
        .send()
        .await;
    match result {
        Ok(out) => out
            .authentication_result()
            .and_then(|r| r.id_token())
            .map(str::to_owned)
            .ok_or_else(|| {
                AuthError::Rejected(
                    "Cognito answered without an ID token (a challenge is pending?)".to_owned(),
                )
            }),
        Err(SdkError::ServiceError(e)) => Err(AuthError::Rejected(format!(
            "Cognito refused the login of {username}: {}",
            e.err()
        ))),
        Err(e) => Err(AuthError::Unreachable(format!(
            "Cognito InitiateAuth: {}",
            aws_error_text(&e)
        ))),
    }
}

/// A readable one-line description of an SDK error (the Display of SdkError is terse).
pub fn aws_error_text<E: std::error::Error + 'static, R: std::fmt::Debug>(
    e: &aws_sdk_cognitoidentityprovider::error::SdkError<E, R>,
) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Every system of a profile as a target, sharing one AWS config.
#[derive(Debug)]
pub struct Targets {
    pub profile: Profile,
    pub sdk: SdkConfig,
    pub systems: Vec<Target>,
}

impl Targets {
    pub async fn new(profile: Profile) -> Self {
        let sdk = sdk_config(&AwsSettings {
            region: profile.region.clone(),
            endpoint: profile.aws.endpoint.clone(),
            static_credentials: profile.aws.static_credentials,
            max_attempts: if profile.aws.endpoint.is_some() { 1 } else { 3 },
        })
        .await;
        let systems = profile
            .systems
            .iter()
            .map(|(name, sys)| Target::new(name, sys, sdk.clone(), profile.request_timeout))
            .collect();
        Self {
            profile,
            sdk,
            systems,
        }
    }

    pub fn get(&self, system: &str) -> Option<&Target> {
        self.systems.iter().find(|t| t.system == system)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn system(base: &str, auth: Option<AuthProfile>) -> SystemProfile {
        SystemProfile {
            runbook: "sergas".into(),
            base_url: base.into(),
            vars: Default::default(),
            auth,
            metrics: Default::default(),
            redis: None,
            database: None,
            ops: Default::default(),
            tls: None,
        }
    }

    async fn sdk() -> SdkConfig {
        sdk_config(&AwsSettings::local("http://127.0.0.1:9", "us-east-1")).await
    }

    /// A target of `base` without auth, with a request timeout of `secs`.
    async fn plain(base: &str, secs: u64) -> Target {
        Target::new(
            "x",
            &system(base, None),
            sdk().await,
            Duration::from_secs(secs),
        )
    }

    #[tokio::test]
    async fn compressed_answers_reach_checks_as_sent() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/app/a.css"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-encoding", "gzip")
                    // An empty gzip member: decompressing it would succeed and hide the header.
                    .set_body_bytes(vec![
                        0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    ]),
            )
            .mount(&server)
            .await;
        let target = plain(&server.uri(), 5).await;
        let got = target.get("/app/a.css", None).await.unwrap();
        assert_eq!(got.header("content-encoding"), Some("gzip"));
    }

    #[tokio::test]
    async fn client_credentials_grant_on_the_wire() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .and(body_string_contains("grant_type=client_credentials"))
            .and(body_string_contains("client_secret=wire-secret-1234"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"access_token": "opaque-token-5678", "token_type": "Bearer"}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(
                ResponseTemplate::new(401)
                    .set_body_json(serde_json::json!({"error": "invalid_client"})),
            )
            .mount(&server)
            .await;
        let target = plain(&server.uri(), 5).await;
        let token = target
            .client_credentials(
                "/oauth/token",
                "c",
                &Secret::literal("wire-secret-1234"),
                None,
            )
            .await
            .unwrap();
        assert_eq!(token, "opaque-token-5678");
        match target
            .client_credentials(
                "/oauth/token",
                "c",
                &Secret::literal("wrong-secret-9"),
                None,
            )
            .await
        {
            Err(AuthError::Rejected(msg)) => assert!(msg.contains("401"), "{msg}"),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn missing_secret_variable_is_named() {
        let auth = AuthProfile::Oauth2ClientCredentials {
            token_url: "/oauth/token".into(),
            client_id: "c".into(),
            client_secret_env: "SHAKEDOWN_TEST_UNSET_SECRET".into(),
            scope: None,
            writer_client_id: None,
            writer_client_secret_env: None,
        };
        let target = Target::new(
            "sergas",
            &system("http://127.0.0.1:9", Some(auth)),
            sdk().await,
            Duration::from_secs(2),
        );
        match target.fetch_token().await {
            Err(AuthError::Config(e)) => {
                assert!(e.to_string().contains("SHAKEDOWN_TEST_UNSET_SECRET"))
            }
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn unreachable_target_is_not_a_response() {
        let target = plain("http://127.0.0.1:9", 2).await;
        let err = target.get("/health", None).await.unwrap_err();
        assert!(err.message.contains("could not connect"), "{err}");
    }

    #[tokio::test]
    async fn exchange_evidence_is_trimmed() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/health"))
            .respond_with(ResponseTemplate::new(503).set_body_string("x".repeat(1000)))
            .mount(&server)
            .await;
        let target = plain(&server.uri(), 2).await;
        let ex = target.get("/health", None).await.unwrap();
        assert_eq!(ex.status.as_u16(), 503);
        let ev = ex.evidence();
        assert!(ev[1].detail.starts_with("503"));
        assert!(ev[2].detail.len() < 500);
    }
}
