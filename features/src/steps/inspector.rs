//! Vulnerability scanning (Amazon Inspector): the documented resource types are scanned in
//! the account, and no active finding on the system's functions is more severe than the
//! runbook allows ("zero critical vulnerabilities").

use aws_sdk_inspector2::types::{FilterCriteria, Finding, StringComparison, StringFilter};
use cucumber::then;
use shakedown_core::target::aws_error_text;

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

/// Inspector's severities, least to most severe.
const SEVERITIES: [&str; 5] = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
/// At most this many pages of findings are read.
const MAX_PAGES: usize = 20;

/// Severities above `max` (`HIGH` → `["CRITICAL"]`).
fn above(max: &str) -> Result<Vec<&'static str>, StepError> {
    let at = SEVERITIES
        .iter()
        .position(|s| s.eq_ignore_ascii_case(max))
        .ok_or_else(|| StepError::Usage(format!("unknown Inspector severity {max}")))?;
    Ok(SEVERITIES[at + 1..].to_vec())
}

/// Whether a finding is on one of `functions` (its resource id is the function's ARN,
/// qualified or not).
fn on_functions(finding: &Finding, functions: &[String]) -> bool {
    finding.resources().iter().any(|r| {
        let id = r.id();
        functions.iter().any(|f| {
            id.ends_with(&format!(":function:{f}")) || id.contains(&format!(":function:{f}:"))
        })
    })
}

fn equals(value: &str) -> Result<StringFilter, StepError> {
    StringFilter::builder()
        .comparison(StringComparison::Equals)
        .value(value)
        .build()
        .map_err(|e| StepError::Usage(format!("Inspector filter: {e}")))
}

/// `Then Amazon Inspector scans the system's functions and reports no active finding above
/// the documented severity`
#[then(
    regex = r"^Amazon Inspector scans the system's functions and reports no active finding above the documented severity$"
)]
async fn no_severe_findings(world: &mut AcceptWorld) -> StepResult {
    let facts = world.facts()?.clone();
    let scanning = facts.vulnerability_scanning.as_ref().ok_or_else(|| {
        StepError::Usage(format!(
            "the runbook facts of {} document no vulnerability scanning",
            facts.system
        ))
    })?;
    let functions: Vec<String> = facts.functions.iter().map(|f| f.name.clone()).collect();
    let first = functions
        .first()
        .ok_or_else(|| StepError::Usage(format!("{} has no functions to scan", facts.system)))?;
    let arn = crate::steps::lambda::configuration(world, first, None)
        .await?
        .function_arn()
        .unwrap_or_default()
        .to_owned();
    let account = arn.split(':').nth(4).unwrap_or_default().to_owned();
    let inspector = aws_sdk_inspector2::Client::new(world.sdk()?);

    // Scanning is on for every documented resource type (otherwise "no findings" says nothing).
    let status = inspector
        .batch_get_account_status()
        .account_ids(&account)
        .send()
        .await
        .map_err(|e| StepError::mismatch("Inspector BatchGetAccountStatus", aws_error_text(&e)))?;
    let state = status.accounts().first().and_then(|a| a.resource_state());
    let enabled = |t: &str| {
        let s = match t {
            "LAMBDA" => state.and_then(|s| s.lambda()),
            "LAMBDA_CODE" => state.and_then(|s| s.lambda_code()),
            "ECR" => state.and_then(|s| s.ecr()),
            "EC2" => state.and_then(|s| s.ec2()),
            _ => None,
        };
        s.map(|s| s.status().as_str().to_owned())
    };
    let off: Vec<String> = scanning
        .resource_types
        .iter()
        .filter(|t| enabled(t).as_deref() != Some("ENABLED"))
        .map(|t| format!("{t}: {}", enabled(t).unwrap_or_else(|| "unknown".into())))
        .collect();
    ensure(
        off.is_empty(),
        format!(
            "Inspector scanning {} in account {account}",
            scanning.resource_types.join(", ")
        ),
        format!("not enabled: {}", off.join(", ")),
    )?;

    // No active finding above the allowed severity on the system's functions.
    let severe = above(&scanning.max_severity)?;
    let mut criteria = FilterCriteria::builder()
        .finding_status(equals("ACTIVE")?)
        .resource_type(equals("AWS_LAMBDA_FUNCTION")?);
    for s in &severe {
        criteria = criteria.severity(equals(s)?);
    }
    let criteria = criteria.build();
    let mut found = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let page = inspector
            .list_findings()
            .filter_criteria(criteria.clone())
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| StepError::mismatch("Inspector ListFindings", aws_error_text(&e)))?;
        // Filtered again here: the criteria are the server's business, the claim is ours.
        found.extend(
            page.findings()
                .iter()
                .filter(|f| severe.contains(&f.severity().as_str()))
                .filter(|f| f.status().as_str() == "ACTIVE")
                .filter(|f| on_functions(f, &functions))
                .map(|f| {
                    format!(
                        "{} {} on {}",
                        f.severity().as_str(),
                        f.title().unwrap_or_default(),
                        f.resources().first().map(|r| r.id()).unwrap_or_default()
                    )
                }),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    ensure(
        found.is_empty(),
        format!(
            "no active {} finding on {}",
            severe.join("/"),
            functions.join(", ")
        ),
        found.join("; "),
    )
}

#[cfg(test)]
mod tests {
    use super::above;

    #[test]
    fn severities_above_a_maximum() {
        assert_eq!(above("HIGH").unwrap(), ["CRITICAL"]);
        assert_eq!(above("medium").unwrap(), ["HIGH", "CRITICAL"]);
        assert!(above("CRITICAL").unwrap().is_empty());
        assert!(above("SEVERE").is_err());
    }
}
