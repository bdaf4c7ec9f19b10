//! Redaction of secrets, applied in one place before anything is written: events pass
//! through [`redact_json`] on their way to every reporter, and log lines through
//! [`RedactingWriter`]. Known secret values (passwords, client secrets, tokens the run
//! obtained) are registered with [`register_secret`]; JWTs and bearer tokens are also caught
//! by pattern, whoever produced them.

use std::io::Write;
use std::sync::{OnceLock, RwLock};

use regex::Regex;

/// What a redacted value is replaced with.
pub const MASK: &str = "[REDACTED]";

fn secrets() -> &'static RwLock<Vec<String>> {
    static SECRETS: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| RwLock::new(Vec::new()))
}

fn patterns() -> &'static [Regex] {
    static PATTERNS: OnceLock<Vec<Regex>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        [
            // JWTs (header.payload.signature, base64url), signed or not.
            r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
            // Bearer tokens in headers or text.
            r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}",
            // password / secret / token fields in JSON, forms or key=value text.
            r#"(?i)("?(?:password|client_secret|client-secret|secret|access_token|refresh_token|id_token)"?\s*[:=]\s*"?)[^"&\s,}]{1,}"#,
        ]
        .iter()
        .filter_map(|p| Regex::new(p).ok())
        .collect()
    })
}

/// Remember a secret value so it is masked wherever it appears. Values shorter than 4
/// characters are ignored (masking them would mangle ordinary text).
pub fn register_secret(value: &str) {
    if value.len() < 4 {
        return;
    }
    if let Ok(mut list) = secrets().write()
        && !list.iter().any(|s| s == value)
    {
        list.push(value.to_owned());
        // Longest first, so a secret containing another is masked whole.
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// Mask every registered secret and every token-looking pattern in `text`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    if let Ok(list) = secrets().read() {
        for secret in list.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
    }
    for (i, re) in patterns().iter().enumerate() {
        out = if i == 0 {
            re.replace_all(&out, MASK).into_owned()
        } else {
            re.replace_all(&out, format!("${{1}}{MASK}")).into_owned()
        };
    }
    out
}

/// Redact every string inside a JSON value.
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => *s = redact(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_json),
        _ => {}
    }
}

/// A writer that redacts whatever passes through it (for tracing-subscriber's `with_writer`).
#[derive(Debug)]
pub struct RedactingWriter<W: Write> {
    inner: W,
}

impl<W: Write> RedactingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self { inner }
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.inner.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `MakeWriter`-compatible constructor for stderr logs.
pub fn stderr_writer() -> RedactingWriter<std::io::Stderr> {
    RedactingWriter::new(std::io::stderr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secret_is_masked() {
        register_secret("hunter2-very-secret");
        let out = redact("login with hunter2-very-secret failed");
        assert_eq!(out, format!("login with {MASK} failed"));
    }

    #[test]
    fn jwt_and_bearer_are_masked_by_pattern() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLWJ5dGVz";
        let out = redact(&format!(
            "token {jwt} and Authorization: Bearer abcdefgh12345"
        ));
        assert!(!out.contains("eyJhbGci"), "{out}");
        assert!(!out.contains("abcdefgh12345"), "{out}");
        assert!(out.contains("Bearer [REDACTED]"), "{out}");
    }

    #[test]
    fn password_fields_are_masked() {
        let out = redact(r#"{"email":"a@b.c","password":"s3cr3t!x"}"#);
        assert!(!out.contains("s3cr3t!x"), "{out}");
        let out = redact("grant_type=client_credentials&client_secret=abcd1234");
        assert!(!out.contains("abcd1234"), "{out}");
    }

    #[test]
    fn json_values_are_walked() {
        register_secret("json-walk-secret");
        let mut v =
            serde_json::json!({"a": ["x json-walk-secret y"], "b": {"c": "json-walk-secret"}});
        redact_json(&mut v);
        assert!(!v.to_string().contains("json-walk-secret"));
    }

    #[test]
    fn writer_redacts() {
        register_secret("writer-secret-value");
        let mut w = RedactingWriter::new(Vec::new());
        w.write_all(b"log: writer-secret-value\n").unwrap();
        assert_eq!(
            String::from_utf8(w.inner).unwrap(),
            format!("log: {MASK}\n")
        );
    }
}
