//! The kinds of goose user a load profile assembles, one file each, and what they share:
//! the plan of requests, the pacer, the samples.

pub mod neighbour;
pub mod streamer;
pub mod throttled;
pub mod visitor;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use goose::goose::{GooseMethod, GooseRequest, GooseUser, TransactionError};

use crate::measure::{Sample, Who};
use crate::pacing::Pacer;

/// One request as a user sends it: method, full URL, headers (the bearer among them), body.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: GooseMethod,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl Request {
    /// This request as `user` sends it through goose, recorded under `name`; `adjust`
    /// adds to reqwest's builder (an `Accept` header, a longer timeout).
    pub fn goose<'a>(
        &'a self,
        user: &GooseUser,
        name: &'a str,
        adjust: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<GooseRequest<'a>, Box<TransactionError>> {
        let mut builder = adjust(user.get_request_builder(&self.method, &self.url)?);
        for (k, v) in &self.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        if let Some(body) = &self.body {
            builder = builder
                .header("content-type", "application/json")
                .body(body.clone());
        }
        Ok(GooseRequest::builder()
            .method(self.method)
            .path(self.url.as_str())
            .name(name)
            .set_request_builder(builder)
            .build())
    }
}

/// Everything the users of one rate-limit run share.
#[derive(Debug)]
pub struct Shared {
    /// The throttled identity's request.
    pub request: Request,
    /// The neighbour's, when the limit's kind allows one (not per IP).
    pub neighbour: Option<Request>,
    /// The refusal status (`429`): an expected answer, not a goose failure.
    pub refusal: u16,
    pub pacer: Pacer,
    /// When the throttled identity was first refused, from the pacer's start.
    pub throttled_at: OnceLock<Duration>,
    /// Requests the neighbour has sent.
    pub neighbour_sent: AtomicUsize,
    samples: Mutex<Vec<Sample>>,
}

impl Shared {
    pub fn new(request: Request, neighbour: Option<Request>, refusal: u16, pacer: Pacer) -> Self {
        Self {
            request,
            neighbour,
            refusal,
            pacer,
            throttled_at: OnceLock::new(),
            neighbour_sent: AtomicUsize::new(0),
            samples: Mutex::new(Vec::new()),
        }
    }

    fn record(&self, sample: Sample) {
        if sample.who == Who::Throttled && sample.status == self.refusal {
            self.throttled_at.get_or_init(|| sample.at);
        }
        self.samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(sample);
    }

    /// Every sample so far.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn neighbour_sent(&self) -> usize {
        self.neighbour_sent.load(Ordering::Relaxed)
    }
}

/// The error code in a refusal's JSON body: `error.code`, `code`, or a string `error`.
pub fn error_code(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let s = v
        .pointer("/error/code")
        .or_else(|| v.get("code"))
        .or_else(|| v.get("error").filter(|e| e.is_string()))?;
    s.as_str().map(str::to_owned)
}

/// Send `req` as `user` (goose records it under `name`), and turn the answer into a sample.
/// The refusal status counts as a success for goose: it is what the run provokes.
async fn send(
    user: &mut GooseUser,
    shared: &Shared,
    req: &Request,
    who: Who,
    name: &str,
) -> Result<(), Box<TransactionError>> {
    let at = shared.pacer.elapsed();
    let request = req.goose(user, name, |b| b)?;
    let mut goose = user.request(request).await?;
    let mut sample = Sample {
        who,
        at,
        status: 0,
        retry_after: None,
        code: None,
    };
    if let Ok(response) = goose.response {
        sample.status = response.status().as_u16();
        sample.retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if sample.status == shared.refusal {
            let body = response.text().await.unwrap_or_default();
            sample.code = error_code(&body);
        }
    }
    let refused = sample.status == shared.refusal;
    shared.record(sample);
    if refused {
        user.set_success(&mut goose.request)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_read_from_the_usual_shapes() {
        assert_eq!(
            error_code(r#"{"error":{"code":"RATE_LIMITED","message":"x"}}"#).as_deref(),
            Some("RATE_LIMITED")
        );
        assert_eq!(
            error_code(r#"{"code":"RATE_LIMITED"}"#).as_deref(),
            Some("RATE_LIMITED")
        );
        assert_eq!(
            error_code(r#"{"error":"rate_limit_exceeded","error_description":"x"}"#).as_deref(),
            Some("rate_limit_exceeded")
        );
        assert_eq!(error_code("Too Many Requests"), None);
        assert_eq!(error_code(r#"{"error":{"message":"x"}}"#), None);
    }
}
