//! Markdown summary, suitable for a pull-request comment: counts, every failure with its
//! runbook section, then the full table folded in a `<details>`.

use std::path::{Path, PathBuf};

use super::{Reporter, create_parent};
use crate::event::{CheckResult, Event, Outcome, RunInfo, Summary};

pub struct MarkdownReporter {
    path: PathBuf,
    info: Option<RunInfo>,
    results: Vec<CheckResult>,
    summary: Option<Summary>,
}

impl MarkdownReporter {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            info: None,
            results: Vec::new(),
            summary: None,
        }
    }

    pub fn render(&self) -> String {
        let mut md = String::new();
        let (suite, profile) = self
            .info
            .as_ref()
            .map(|i| (i.suite.as_str(), i.profile.as_str()))
            .unwrap_or(("run", "?"));
        let s = self.summary.clone().unwrap_or_default();
        let icon = if s.exit_code == 0 { "✅" } else { "❌" };
        md.push_str(&format!("### {icon} shakedown {suite} on `{profile}`\n\n"));
        md.push_str(&format!(
            "**{} passed, {} failed, {} errors, {} refused, {} skipped** in {:.1}s — exit {}\n\n",
            s.passed,
            s.failed,
            s.errors,
            s.refused,
            s.skipped,
            s.duration_ms as f64 / 1000.0,
            s.exit_code
        ));
        let mut results = self.results.clone();
        results.sort_by(|a, b| a.id.cmp(&b.id));
        let problems: Vec<&CheckResult> = results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed(_) | Outcome::Error { .. }))
            .collect();
        if !problems.is_empty() {
            md.push_str("| | check | expected | observed | runbook |\n|---|---|---|---|---|\n");
            for r in problems {
                let expected = match &r.outcome {
                    Outcome::Failed(f) => f.expected.clone(),
                    _ => "reachable target".to_owned(),
                };
                md.push_str(&format!(
                    "| {} | `{}` | {} | {} | {} |\n",
                    r.outcome.label(),
                    r.id,
                    cell(&expected),
                    cell(&r.outcome.summary()),
                    cell(&r.runbook.to_string())
                ));
            }
            md.push('\n');
        }
        md.push_str(
            "<details><summary>All checks</summary>\n\n| | check | observed |\n|---|---|---|\n",
        );
        for r in &results {
            md.push_str(&format!(
                "| {} | `{}` | {} |\n",
                r.outcome.label(),
                r.id,
                cell(&r.outcome.summary())
            ));
        }
        md.push_str("\n</details>\n");
        md
    }
}

/// Escape a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

impl Reporter for MarkdownReporter {
    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        match event {
            Event::RunStarted(info) => self.info = Some(info.clone()),
            Event::CheckFinished(r) => self.results.push(r.clone()),
            Event::RunFinished(s) => self.summary = Some(s.clone()),
            Event::CheckStarted { .. } => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        create_parent(&self.path)?;
        std::fs::write(&self.path, self.render())
    }

    fn describe(&self) -> String {
        format!("markdown report {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_first_with_runbook() {
        let mut r = MarkdownReporter::new(Path::new("unused.md"));
        for ev in crate::report::fixtures::run() {
            r.event(&ev).unwrap();
        }
        let md = r.render();
        assert!(md.starts_with("### ❌ shakedown smoke on `local`"), "{md}");
        assert!(md.contains("| FAIL | `plot-palette/table/JobsTable-local` | PointInTimeRecoveryStatus ENABLED |"), "{md}");
        assert!(md.contains("Task 4 §2 PITR on all tables"), "{md}");
        assert!(md.contains("| REFUSED | `plot-palette/flow` |"), "{md}");
    }
}
