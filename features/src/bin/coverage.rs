//! `shakedown-coverage`: which runbook claims are checked by a scenario, which are not, and
//! which cannot be (with the reason). Exit 1 when a testable claim is uncovered, 2 when a
//! scenario names a claim that does not exist or is marked untestable.
#![allow(clippy::print_stdout, clippy::print_stderr)] // the binary is the user-facing edge

use std::path::PathBuf;
use std::process::ExitCode as ProcessExit;

use clap::Parser;
use shakedown_core::exit::ExitCode;
use shakedown_features::catalogue::{self, Catalogue};
use shakedown_features::claims::{Claims, Coverage, Status};

/// Runbook claims coverage of the acceptance scenarios.
#[derive(Debug, Parser)]
#[command(name = "shakedown-coverage", version)]
struct Args {
    /// The fixtures directory (claims inventory).
    #[arg(long, env = "SHAKEDOWN_FIXTURES")]
    fixtures: Option<PathBuf>,
    /// The features root (default: the workspace's `features/`).
    #[arg(long, value_name = "DIR")]
    features: Option<PathBuf>,
    /// Only these systems (repeatable).
    #[arg(long = "system")]
    systems: Vec<String>,
    /// List every claim, not only the uncovered ones.
    #[arg(long)]
    all: bool,
    /// Write the matrix as markdown too.
    #[arg(long, value_name = "PATH")]
    markdown: Option<PathBuf>,
}

fn main() -> ProcessExit {
    let args = Args::parse();
    let fixtures = args
        .fixtures
        .clone()
        .unwrap_or_else(shakedown_core::fixtures_dir);
    let claims = match Claims::load(&fixtures) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::Usage.into();
        }
    };
    let root = args
        .features
        .clone()
        .unwrap_or_else(catalogue::default_root);
    let catalogue = match Catalogue::load(&root, &claims) {
        Ok(c) => c,
        Err(problems) => {
            eprintln!(
                "error: the scenarios do not validate:\n  {}",
                problems.join("\n  ")
            );
            return ExitCode::Usage.into();
        }
    };
    let coverage = Coverage::new(&claims, &catalogue.references());
    let mut md = String::from("| system | covered | uncovered | untestable |\n|---|---|---|---|\n");
    let mut detail = String::new();
    for (system, rows) in &coverage.systems {
        if !args.systems.is_empty() && !args.systems.contains(system) {
            continue;
        }
        let (cov, unc, unt) = coverage.counts(system);
        println!(
            "{system}: {cov} covered, {unc} uncovered, {unt} untestable ({} claims)",
            rows.len()
        );
        md.push_str(&format!("| {system} | {cov} | {unc} | {unt} |\n"));
        for (id, status) in rows {
            let Some(c) = claims.get(id) else { continue };
            let line = match status {
                Status::Covered(s) if args.all => {
                    format!("  covered     {id:<40} {}", s.join(", "))
                }
                Status::Covered(_) => continue,
                Status::Uncovered => format!(
                    "  UNCOVERED   {id:<40} {} — check: {}",
                    c.claim.claim,
                    c.claim.check.as_deref().unwrap_or("")
                ),
                Status::Untestable(reason) if args.all => {
                    format!("  untestable  {id:<40} {reason}")
                }
                Status::Untestable(_) => continue,
            };
            println!("{line}");
            detail.push_str(&format!("- `{id}` {}\n", line.trim()));
        }
    }
    if let Some(path) = &args.markdown {
        md.push('\n');
        md.push_str(&detail);
        if let Err(e) = std::fs::write(path, md) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::Infra.into();
        }
    }
    for p in &coverage.problems {
        eprintln!("error: {p}");
    }
    let total_uncovered = coverage.uncovered();
    println!(
        "{} scenarios, {} claims: {} uncovered testable claims",
        catalogue.scenarios.len(),
        claims.by_id.len(),
        total_uncovered
    );
    if !coverage.problems.is_empty() {
        ExitCode::Usage.into()
    } else if total_uncovered > 0 {
        ExitCode::Failed.into()
    } else {
        ExitCode::Ok.into()
    }
}
