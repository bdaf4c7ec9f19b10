//! The streamer of an `sse` run: takes the pacer's next send time, opens one documented
//! event stream, reads it to its end (or its deadline), and records when the first and
//! the terminal event came and what arrived between — for [`crate::sse`] to judge.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use goose::prelude::*;

use super::Request;
use crate::pacing::Pacer;

pub const NAME: &str = "streamer";

/// One `data:` event, as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    /// From the stream's intended send time.
    pub at: Duration,
    pub kind: String,
    pub progress: Option<f64>,
    pub message: Option<String>,
    pub code: Option<String>,
}

/// One stream, from its request to its end.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// HTTP status; 0 when no answer came.
    pub status: u16,
    pub events: Vec<StreamEvent>,
    /// The stream was still open at its deadline.
    pub timed_out: bool,
    /// The connection failed mid-stream.
    pub broken: bool,
}

/// What the streamers of one run share.
pub struct Streamers {
    pub pacer: Pacer,
    /// The request of slot `k` (each may name its own tenant).
    pub request: Box<dyn Fn(u64) -> Request + Send + Sync>,
    /// How long a stream may stay open.
    pub deadline: Duration,
    streams: Mutex<Vec<Stream>>,
}

impl std::fmt::Debug for Streamers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streamers")
            .field("pacer", &self.pacer)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Streamers {
    pub fn new(
        pacer: Pacer,
        request: Box<dyn Fn(u64) -> Request + Send + Sync>,
        deadline: Duration,
    ) -> Self {
        Self {
            pacer,
            request,
            deadline,
            streams: Mutex::new(Vec::new()),
        }
    }

    pub fn streams(&self) -> Vec<Stream> {
        self.streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

pub fn scenario(shared: Arc<Streamers>) -> Scenario {
    let open: TransactionFunction = Arc::new(move |user| {
        let shared = Arc::clone(&shared);
        Box::pin(async move { open(user, &shared).await })
    });
    Scenario::new(NAME).register_transaction(Transaction::new(open).set_name("stream"))
}

/// Parse the complete `\n\n`-separated events at the front of `buf`, leaving the rest.
pub fn take_events(buf: &mut String, at: Duration, out: &mut Vec<StreamEvent>) {
    loop {
        let normalized = buf.replace("\r\n", "\n");
        if normalized.len() != buf.len() {
            *buf = normalized;
        }
        let Some(end) = buf.find("\n\n") else { return };
        let block: String = buf.drain(..end + 2).collect();
        let data: Vec<&str> = block
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim_start)
            .collect();
        if data.is_empty() {
            continue; // a comment (keep-alive) or an event without data
        }
        let json: serde_json::Value =
            serde_json::from_str(&data.join("\n")).unwrap_or(serde_json::Value::Null);
        let text = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        out.push(StreamEvent {
            at,
            kind: text("type").unwrap_or_else(|| "(not JSON with a type)".to_owned()),
            progress: json.get("progress").and_then(serde_json::Value::as_f64),
            message: text("message"),
            code: text("code"),
        });
    }
}

async fn open(user: &mut GooseUser, shared: &Streamers) -> TransactionResult {
    // No slot left: this iteration ends at once (the run is bounded by iterations).
    let Some(slot) = shared.pacer.slot().await else {
        return Ok(());
    };
    let req = (shared.request)(slot.index);
    let request = req.goose(user, "generation stream", |b| {
        b.header("accept", "text/event-stream")
            .timeout(shared.deadline)
    })?;
    let goose = user.request(request).await?;
    let mut stream = Stream {
        status: 0,
        events: Vec::new(),
        timed_out: false,
        broken: false,
    };
    let since = |p: &Pacer| p.elapsed().saturating_sub(slot.intended);
    if let Ok(mut response) = goose.response {
        stream.status = response.status().as_u16();
        let mut buf = String::new();
        let deadline =
            tokio::time::Instant::now() + shared.deadline.saturating_sub(since(&shared.pacer));
        loop {
            match tokio::time::timeout_at(deadline, response.chunk()).await {
                Err(_) => {
                    stream.timed_out = true;
                    break;
                }
                Ok(Ok(Some(bytes))) => {
                    buf.push_str(&String::from_utf8_lossy(&bytes));
                    take_events(&mut buf, since(&shared.pacer), &mut stream.events);
                }
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    stream.timed_out = e.is_timeout();
                    stream.broken = !e.is_timeout();
                    break;
                }
            }
        }
    }
    shared
        .streams
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(stream);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_parsed_as_they_complete() {
        let mut buf = String::from(
            "data: {\"type\":\"progress\",\"progress\":0,\"message\":\"Starting\"}\n\n: keep-alive\n\ndata: {\"type\":\"chunk\",",
        );
        let mut out = Vec::new();
        take_events(&mut buf, Duration::from_millis(5), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, "progress");
        assert_eq!(out[0].progress, Some(0.0));
        buf.push_str("\"content\":\"<html>\"}\r\n\r\ndata: not json\n\n");
        take_events(&mut buf, Duration::from_millis(9), &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out[1].kind, "chunk");
        assert_eq!(out[1].at, Duration::from_millis(9));
        assert!(out[2].kind.contains("not JSON"));
        assert!(buf.is_empty());
    }
}
