//! Encryption in transit (Sergas' "SSL/TLS configuration"), checked on the wire against the
//! profile's `tls = { url, http-url, ca-file }`:
//!
//! - a handshake of our own (rustls) with the host name of the URL: the certificate chains to
//!   a trusted root (the profile's CA file, else the system's) and is valid for that name and
//!   unexpired, and TLS 1.2 or newer is negotiated;
//! - an `openssl s_client` offering only TLS 1.1, then only TLS 1.0: the server must refuse
//!   both (rustls cannot offer them);
//! - plain HTTP: redirected to an `https://` URL, or refused.

use std::sync::Arc;
use std::time::Duration;

use cucumber::then;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject as _};
use shakedown_core::profile::TlsProfile;

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

const TIMEOUT: Duration = Duration::from_secs(10);

fn profile(world: &AcceptWorld) -> Result<TlsProfile, StepError> {
    world.target()?.profile.tls.clone().ok_or_else(|| {
        StepError::Usage(format!(
            "the profile's system {} has no `tls = {{ url, http-url, ca-file }}`",
            world.system
        ))
    })
}

/// `host` and `port` of an `https://` URL.
fn host_port(url: &str) -> Result<(String, u16), StepError> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| StepError::Usage(format!("tls.url `{url}`: {e}")))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| StepError::Usage(format!("tls.url `{url}` has no host")))?
        .trim_matches(['[', ']'])
        .to_owned();
    Ok((host, parsed.port_or_known_default().unwrap_or(443)))
}

fn roots(tls: &TlsProfile) -> Result<rustls::RootCertStore, StepError> {
    let mut store = rustls::RootCertStore::empty();
    match &tls.ca_file {
        Some(file) => {
            for cert in CertificateDer::pem_file_iter(file)
                .map_err(|e| StepError::Usage(format!("tls.ca-file {file}: {e}")))?
            {
                let cert =
                    cert.map_err(|e| StepError::Usage(format!("tls.ca-file {file}: {e}")))?;
                store
                    .add(cert)
                    .map_err(|e| StepError::Usage(format!("tls.ca-file {file}: {e}")))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = store.add(cert);
            }
        }
    }
    Ok(store)
}

/// `Then the API's TLS endpoint presents a certificate valid for its host and negotiates TLS
/// 1.2 or newer`
#[then(
    regex = r"^the API's TLS endpoint presents a certificate valid for its host and negotiates TLS 1\.2 or newer$"
)]
async fn handshake(world: &mut AcceptWorld) -> StepResult {
    let tls = profile(world)?;
    let (host, port) = host_port(&tls.url)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StepError::Infra(format!("TLS client: {e}")))?
        .with_root_certificates(roots(&tls)?)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from(host.clone())
        .map_err(|e| StepError::Usage(format!("tls.url host `{host}`: {e}")))?;
    let tcp = tokio::time::timeout(
        TIMEOUT,
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    .map_err(|_| StepError::Infra(format!("connect {host}:{port}: no answer in 10 s")))?
    .map_err(|e| StepError::Infra(format!("connect {host}:{port}: {e}")))?;
    let stream = tokio::time::timeout(TIMEOUT, connector.connect(name, tcp))
        .await
        .map_err(|_| StepError::Infra(format!("TLS handshake with {host}:{port}: no answer")))?
        .map_err(|e| {
            StepError::mismatch(
                format!("a certificate for {host}, unexpired and from a trusted CA"),
                format!("handshake refused: {e}"),
            )
        })?;
    let (_, session) = stream.get_ref();
    let version = session.protocol_version();
    ensure(
        matches!(
            version,
            Some(rustls::ProtocolVersion::TLSv1_2 | rustls::ProtocolVersion::TLSv1_3)
        ),
        "TLS 1.2 or 1.3 negotiated",
        format!("{version:?}"),
    )
}

/// `Then it refuses TLS 1.0 and TLS 1.1`
#[then(regex = r"^the API's TLS endpoint refuses TLS 1\.0 and TLS 1\.1$")]
async fn refuses_legacy(world: &mut AcceptWorld) -> StepResult {
    let tls = profile(world)?;
    let (host, port) = host_port(&tls.url)?;
    let mut accepted = Vec::new();
    for (flag, name) in [("-tls1", "TLS 1.0"), ("-tls1_1", "TLS 1.1")] {
        // SECLEVEL=0: OpenSSL 3's own client refuses these versions otherwise.
        let mut cmd = tokio::process::Command::new("openssl");
        cmd.args(["s_client", "-connect", &format!("{host}:{port}")])
            .args(["-servername", &host, flag, "-cipher", "DEFAULT:@SECLEVEL=0"])
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(20), cmd.output())
            .await
            .map_err(|_| StepError::Infra(format!("openssl s_client {flag} hung")))?
            .map_err(|e| StepError::Infra(format!("run openssl (is it installed?): {e}")))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let negotiated = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Protocol  :"))
            .map(str::trim)
            .filter(|p| p.starts_with("TLSv1"));
        if out.status.success()
            && let Some(p) = negotiated
        {
            accepted.push(format!("{name} ({p})"));
        }
    }
    ensure(
        accepted.is_empty(),
        format!("{host}:{port} refuses TLS 1.0 and 1.1 (TLS 1.2 or newer only)"),
        format!("accepted {}", accepted.join(", ")),
    )
}

/// `Then plain HTTP to the API is redirected to HTTPS or refused`
#[then(regex = r"^plain HTTP to the API is redirected to HTTPS or refused$")]
async fn plain_http(world: &mut AcceptWorld) -> StepResult {
    let tls = profile(world)?;
    let url = tls
        .http_url
        .clone()
        .ok_or_else(|| StepError::Usage("the profile's tls has no `http-url`".into()))?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| StepError::Infra(format!("HTTP client: {e}")))?;
    let probe = format!("{}/health", url.trim_end_matches('/'));
    let response = match client.get(&probe).send().await {
        Ok(r) => r,
        Err(e) if e.is_connect() => return Ok(()),
        Err(e) => return Err(StepError::Infra(format!("GET {probe}: {e}"))),
    };
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    ensure(
        status.is_redirection() && location.starts_with("https://"),
        format!("GET {probe} redirected to an https:// URL (or refused)"),
        format!(
            "{status}{}",
            if location.is_empty() {
                String::new()
            } else {
                format!(", Location: {location}")
            }
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports_of_urls() {
        assert_eq!(
            host_port("https://localhost:8443/x").unwrap(),
            ("localhost".to_owned(), 8443)
        );
        assert_eq!(
            host_port("https://api.example.com").unwrap(),
            ("api.example.com".to_owned(), 443)
        );
        assert!(host_port("not a url").is_err());
    }
}
