//! JUnit XML reporter (via quick-junit, as nextest does): one test suite per system, one
//! test case per check. Failures carry expected/observed/evidence and the runbook section;
//! infrastructure errors are `<error>`; refused and skipped checks are `<skipped>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Reporter, create_parent};
use crate::event::{CheckResult, Event, Outcome};

pub struct JunitReporter {
    path: PathBuf,
    name: String,
    results: Vec<CheckResult>,
}

impl JunitReporter {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            name: "shakedown".to_owned(),
            results: Vec::new(),
        }
    }

    /// Render the report as XML.
    pub fn render(&self) -> Result<String, quick_junit::SerializeError> {
        let mut report = Report::new(self.name.as_str());
        let mut by_system: BTreeMap<&str, Vec<&CheckResult>> = BTreeMap::new();
        for r in &self.results {
            by_system.entry(r.system.as_str()).or_default().push(r);
        }
        for (system, results) in by_system {
            let mut suite = TestSuite::new(system);
            for r in results {
                suite.add_test_case(case(r));
            }
            report.add_test_suite(suite);
        }
        report.to_string()
    }
}

fn case(r: &CheckResult) -> TestCase {
    let status = match &r.outcome {
        Outcome::Passed { .. } => TestCaseStatus::success(),
        Outcome::Failed(f) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!("expected {}; observed {}", f.expected, f.observed));
            s.set_type("check failed");
            let mut text = format!(
                "runbook: {}\nexpected: {}\nobserved: {}\n",
                r.runbook, f.expected, f.observed
            );
            for e in &f.evidence {
                text.push_str(&format!("{}: {}\n", e.label, e.detail));
            }
            s.set_description(text);
            s
        }
        Outcome::Error { message } => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(message.as_str());
            s.set_type("infrastructure error");
            s
        }
        Outcome::Refused { reason } => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!("refused by tier policy: {reason}"));
            s
        }
        Outcome::Skipped { reason } => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(reason.as_str());
            s
        }
    };
    let mut case = TestCase::new(r.id.as_str(), status);
    case.set_classname(r.system.as_str());
    case.set_time(Duration::from_millis(r.duration_ms));
    case
}

impl Reporter for JunitReporter {
    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        match event {
            Event::RunStarted(info) => {
                self.name = format!("shakedown {} ({})", info.suite, info.profile)
            }
            Event::CheckFinished(r) => self.results.push(r.clone()),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        let xml = self.render().map_err(std::io::Error::other)?;
        create_parent(&self.path)?;
        std::fs::write(&self.path, xml)
    }

    fn describe(&self) -> String {
        format!("JUnit report {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_escaping() {
        let mut r = JunitReporter::new(Path::new("unused.xml"));
        for ev in crate::report::fixtures::run() {
            r.event(&ev).unwrap();
        }
        let xml = r.render().unwrap();
        assert!(xml.contains(r#"tests="3""#), "{xml}");
        assert!(xml.contains(r#"failures="1""#), "{xml}");
        assert!(xml.contains(r#"disabled="1""#), "{xml}");
        assert_eq!(xml.matches("<skipped").count(), 1, "{xml}");
        assert!(
            xml.contains("&lt;&amp;&gt;"),
            "special characters are escaped: {xml}"
        );
        assert!(
            xml.contains("Task 4 §2 PITR on all tables"),
            "runbook section: {xml}"
        );
    }
}
