//! shakedown's load suite on goose 0.19: profiles that measure what the runbooks promise
//! under load, next to the documented numbers, with a verdict.
//!
//! - [`rate_limit`]: every documented request-rate limit — burst, refill, the refusal's
//!   status, code and `Retry-After`, one identity's exhaustion leaving another unthrottled,
//!   recovery;
//! - [`pacing`]: the open-model (arrival-rate) mode built on goose's users;
//! - [`users`]: the kinds of goose user, one file each; [`engine`] assembles them into a
//!   bounded goose attack; [`measure`] judges what came back.
//!
//! Results are core check results, so core's reporters (console, JSONL, JUnit, markdown)
//! format them and core's tier policy bounds every run.

pub mod engine;
pub mod launch;
pub mod measure;
pub mod metrics;
pub mod pacing;
pub mod rate_limit;
pub mod sse;
pub mod throughput;
pub mod users;

/// The load profiles this crate runs.
pub const PROFILES: [&str; 5] = ["rate-limit", "slo", "spike", "soak", "sse"];
