//! The acceptance suite: Gherkin scenarios for every documented runbook procedure, run with
//! cucumber against a profile, gated by tier policy through their safety tags, and traced to
//! the runbooks' claims inventory (`@claim(id)`) for `cargo xtask coverage`.
//!
//! Layout: `<system>/<runbook>.feature` beside this crate's `src/`; steps grouped by domain in
//! [`steps`]; [`catalogue`] validates and plans; [`runner`] runs; [`writer`] reports through
//! the spine's reporters; [`claims`] holds the inventory and the coverage matrix.

pub mod catalogue;
pub mod claims;
pub mod result;
pub mod runner;
pub mod steps;
pub mod world;
pub mod writer;
