//! Console reporter: a line per check as it finishes (stderr), then a table of every check,
//! the details of each failure (expected, observed, evidence, runbook section) and a summary
//! line (stdout). Colour on a terminal, plain text in CI or when `NO_COLOR` is set.

use std::io::Write;

use comfy_table::{ContentArrangement, Table, presets};
use owo_colors::OwoColorize;

use super::Reporter;
use crate::event::{CheckResult, Event, Outcome, RunInfo, Summary};

/// Whether to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleStyle {
    Colour,
    Plain,
}

impl ConsoleStyle {
    /// Colour only on an interactive terminal, never in CI or with `NO_COLOR`.
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        let ci = std::env::var_os("CI").is_some();
        let no_color = std::env::var_os("NO_COLOR").is_some();
        if !ci && !no_color && std::io::stdout().is_terminal() {
            ConsoleStyle::Colour
        } else {
            ConsoleStyle::Plain
        }
    }
}

pub struct ConsoleReporter {
    style: ConsoleStyle,
    out: Box<dyn Write + Send>,
    progress: Box<dyn Write + Send>,
    info: Option<RunInfo>,
    results: Vec<CheckResult>,
}

impl ConsoleReporter {
    /// Table and summary on stdout, progress on stderr.
    pub fn stdout(style: ConsoleStyle) -> Self {
        Self::to_writers(
            style,
            Box::new(std::io::stdout()),
            Box::new(std::io::stderr()),
        )
    }

    pub fn to_writers(
        style: ConsoleStyle,
        out: Box<dyn Write + Send>,
        progress: Box<dyn Write + Send>,
    ) -> Self {
        Self {
            style,
            out,
            progress,
            info: None,
            results: Vec::new(),
        }
    }

    fn label(&self, outcome: &Outcome) -> String {
        let label = outcome.label();
        if self.style == ConsoleStyle::Plain {
            return label.to_owned();
        }
        match outcome {
            Outcome::Passed { .. } => label.green().to_string(),
            Outcome::Failed(_) => label.red().bold().to_string(),
            Outcome::Error { .. } => label.magenta().bold().to_string(),
            Outcome::Refused { .. } | Outcome::Skipped { .. } => label.yellow().to_string(),
        }
    }

    fn write_report(&mut self, summary: &Summary) -> std::io::Result<()> {
        let mut results = self.results.clone();
        results.sort_by(|a, b| a.id.cmp(&b.id));

        let mut table = Table::new();
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(vec!["", "check", "observed", "runbook"]);
        if self.style == ConsoleStyle::Plain {
            table.load_preset(presets::ASCII_MARKDOWN);
        }
        for r in &results {
            table.add_row(vec![
                self.label(&r.outcome),
                r.id.clone(),
                truncate(&r.outcome.summary(), 60),
                format!(
                    "{} {}",
                    short_seed(&r.runbook.seed),
                    truncate(&r.runbook.section, 40)
                ),
            ]);
        }
        writeln!(self.out, "{table}")?;

        let problems: Vec<&CheckResult> = results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed(_) | Outcome::Error { .. }))
            .collect();
        for r in problems {
            writeln!(self.out)?;
            writeln!(
                self.out,
                "{} {} — {}",
                self.label(&r.outcome),
                r.id,
                r.title
            )?;
            writeln!(self.out, "  runbook:  {}", r.runbook)?;
            match &r.outcome {
                Outcome::Failed(f) => {
                    writeln!(self.out, "  expected: {}", f.expected)?;
                    writeln!(self.out, "  observed: {}", f.observed)?;
                    for e in &f.evidence {
                        writeln!(self.out, "  {}: {}", e.label, e.detail)?;
                    }
                }
                Outcome::Error { message } => {
                    writeln!(self.out, "  could not check: {message}")?;
                }
                _ => {}
            }
        }

        let not_run: Vec<&CheckResult> = results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Refused { .. } | Outcome::Skipped { .. }))
            .collect();
        if !not_run.is_empty() {
            writeln!(self.out)?;
            for r in not_run {
                writeln!(
                    self.out,
                    "{} {}: {}",
                    self.label(&r.outcome),
                    r.id,
                    r.outcome.summary()
                )?;
            }
        }

        let (suite, profile) = self
            .info
            .as_ref()
            .map(|i| (i.suite.as_str(), i.profile.as_str()))
            .unwrap_or(("run", "?"));
        writeln!(self.out)?;
        writeln!(
            self.out,
            "{suite} on {profile}: {} passed, {} failed, {} errors, {} refused, {} skipped in {:.1}s (exit {})",
            summary.passed,
            summary.failed,
            summary.errors,
            summary.refused,
            summary.skipped,
            summary.duration_ms as f64 / 1000.0,
            summary.exit_code,
        )?;
        self.out.flush()
    }
}

fn short_seed(seed: &str) -> &str {
    seed.get(..3).unwrap_or(seed)
}

fn truncate(text: &str, max: usize) -> String {
    let one_line = text.replace('\n', " ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

impl Reporter for ConsoleReporter {
    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        match event {
            Event::RunStarted(info) => {
                writeln!(
                    self.progress,
                    "{} on {} ({} tier): {} checks",
                    info.suite, info.profile, info.tier, info.selected
                )?;
                self.info = Some(info.clone());
            }
            Event::CheckStarted { .. } => {}
            Event::CheckFinished(r) => {
                writeln!(
                    self.progress,
                    "  {:<7} {} ({} ms)",
                    self.label(&r.outcome),
                    r.id,
                    r.duration_ms
                )?;
                self.results.push(r.clone());
            }
            Event::RunFinished(summary) => self.write_report(summary)?,
        }
        Ok(())
    }

    fn describe(&self) -> String {
        "console".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn plain_table_failure_details_and_summary() {
        let out = Shared::default();
        let mut r = ConsoleReporter::to_writers(
            ConsoleStyle::Plain,
            Box::new(out.clone()),
            Box::new(std::io::sink()),
        );
        for ev in crate::report::fixtures::run() {
            r.event(&ev).unwrap();
        }
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains('\u{1b}'), "no escape codes in plain mode");
        assert!(text.contains("| PASS"), "{text}");
        assert!(
            text.contains("FAIL plot-palette/table/JobsTable-local"),
            "{text}"
        );
        assert!(
            text.contains("expected: PointInTimeRecoveryStatus ENABLED"),
            "{text}"
        );
        assert!(
            text.contains("runbook:  000_4569d83243026c62.txt — Task 4 §2"),
            "{text}"
        );
        assert!(
            text.contains("smoke on local: 1 passed, 1 failed, 0 errors, 1 refused, 0 skipped"),
            "{text}"
        );
    }
}
