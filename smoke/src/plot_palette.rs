//! Plot Palette's post-deploy smoke flow (Task 6 §5): health → upload seed data → create a
//! job → it completes → the export downloads → its rows are valid — and the worker left its
//! S3 checkpoint (Task 3 checkpoint flow). The job is deleted afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shakedown_core::check::{Check, fail, fail_with, infra, pass};
use shakedown_core::event::{Evidence, Outcome};
use shakedown_core::runbook::RunbookFacts;
use shakedown_core::target::Target;
use shakedown_core::tier::Effect;

use crate::http::fail_exchange;
use crate::{Ctx, check, id};

/// The sample template the flow uses (Task 6 §3: sample templates loaded).
const TEMPLATE: &str = "customer-reviews";
const RECORDS: usize = 40;
const SEED_CSV: &str =
    "rating,product,customer_name\n5,kettle,Ana\n3,toaster,Ben\n4,blender,Chloe\n";

#[derive(Debug, Clone)]
pub struct Flow {
    pub data_bucket: String,
    pub checkpoint_prefix: String,
}

pub(crate) fn checks(f: &RunbookFacts) -> Vec<Check<Ctx>> {
    let Some(ecs) = &f.ecs else { return Vec::new() };
    let Some(bucket) = f.buckets.first() else {
        return Vec::new();
    };
    let flow = Flow {
        data_bucket: bucket.name.clone(),
        checkpoint_prefix: ecs.checkpoint_prefix.clone(),
    };
    vec![
        check(
            id(&f.system, &["flow"]),
            "post-deploy flow: job → seed upload → completion → export → valid rows, checkpointed".into(),
            f,
            "Task 6 §5 Run smoke tests: create test job, upload seed data, monitor completion, download export, verify data quality",
            Effect::Mutate,
            flow,
            |ctx, flow| async move { run_flow(&ctx, &flow).await },
        )
        .with_timeout(Duration::from_secs(120)),
    ]
}

/// A step that must answer with one of the `ok` statuses.
async fn step(
    target: &Target,
    req: reqwest::RequestBuilder,
    ok: &[u16],
    what: &str,
) -> Result<Value, Outcome> {
    let ex = target.send(req).await.map_err(infra)?;
    if !ok.contains(&ex.status.as_u16()) {
        return Err(fail_exchange(
            format!("{what}: HTTP {ok:?}"),
            format!("HTTP {}", ex.status.as_u16()),
            &ex,
        ));
    }
    ex.json()
        .ok_or_else(|| fail_exchange(format!("{what}: a JSON body"), "not JSON", &ex))
}

pub async fn run_flow(ctx: &Arc<Ctx>, flow: &Flow) -> Outcome {
    match flow_steps(ctx, flow).await {
        Ok(o) | Err(o) => o,
    }
}

async fn flow_steps(ctx: &Arc<Ctx>, flow: &Flow) -> Result<Outcome, Outcome> {
    let (target, token) = ctx.authed("plot-palette").await?;
    let http = target.http();

    let template = step(
        target,
        http.get(target.url(&format!("/templates/{TEMPLATE}")))
            .bearer_auth(&token),
        &[200],
        "sample template",
    )
    .await?;
    let fields: Vec<String> = template
        .get("fields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if fields.is_empty() {
        return Err(fail(
            "the sample template names its output fields",
            format!("{template}"),
        ));
    }

    let seed = step(
        target,
        http.post(target.url("/seed-data"))
            .bearer_auth(&token)
            .header("Content-Type", "text/csv")
            .body(SEED_CSV),
        &[200, 201],
        "seed upload",
    )
    .await?;
    let seed_key = seed
        .get("key")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();

    let job = step(
        target,
        http.post(target.url("/jobs"))
            .bearer_auth(&token)
            .json(&json!({
                "template_id": TEMPLATE,
                "seed_data_key": seed_key,
                "num_records": RECORDS,
                "budget_limit": 5.0,
            })),
        &[200, 201],
        "job creation",
    )
    .await?;
    let job_id = job
        .get("job_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if job_id.is_empty() {
        return Err(fail("job creation returns job_id", job.to_string()));
    }

    let result = finish_job(ctx, target, &token, &job_id, &fields, flow).await;
    // Clean up whatever happened (best effort; the job is ours).
    let _ = target
        .send(
            http.delete(target.url(&format!("/jobs/{job_id}")))
                .bearer_auth(&token),
        )
        .await;
    result
}

async fn finish_job(
    ctx: &Arc<Ctx>,
    target: &Target,
    token: &str,
    job_id: &str,
    fields: &[String],
    flow: &Flow,
) -> Result<Outcome, Outcome> {
    let http = target.http();
    let started = Instant::now();
    let deadline = Duration::from_secs(90);
    let status = loop {
        let job = step(
            target,
            http.get(target.url(&format!("/jobs/{job_id}")))
                .bearer_auth(token),
            &[200],
            "job status",
        )
        .await?;
        let status = job
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if matches!(
            status.as_str(),
            "COMPLETED" | "FAILED" | "CANCELLED" | "BUDGET_EXCEEDED"
        ) {
            break status;
        }
        if started.elapsed() > deadline {
            return Err(fail(
                format!("job {job_id} COMPLETED within {}s", deadline.as_secs()),
                format!("still {status} ({job})"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    if status != "COMPLETED" {
        return Err(fail(
            format!("job {job_id} COMPLETED"),
            format!("job ended {status}"),
        ));
    }
    let took = started.elapsed();

    let ex = target
        .send(
            http.get(target.url(&format!("/jobs/{job_id}/export")))
                .bearer_auth(token),
        )
        .await
        .map_err(infra)?;
    if ex.status.as_u16() != 200 {
        return Err(fail_exchange(
            "export downloads with 200",
            format!("HTTP {}", ex.status.as_u16()),
            &ex,
        ));
    }
    if let Err(problem) = validate_rows(&ex.body, RECORDS, fields) {
        return Err(fail_with(
            format!("{RECORDS} rows, each once, each with fields {fields:?}"),
            problem,
            vec![
                Evidence::new("export", format!("GET /jobs/{job_id}/export")),
                Evidence::body(&ex.body, 300),
            ],
        ));
    }

    let key = format!("{}{job_id}.json", flow.checkpoint_prefix);
    let s3 =
        aws_sdk_s3::Client::from_conf(shakedown_core::aws::s3_config(&ctx.targets.sdk).build());
    match s3
        .head_object()
        .bucket(&flow.data_bucket)
        .key(&key)
        .send()
        .await
    {
        Ok(head) => Ok(pass(format!(
            "job completed in {:.1}s, {RECORDS} valid rows, checkpoint s3://{}/{key} (ETag {})",
            took.as_secs_f64(),
            flow.data_bucket,
            head.e_tag().unwrap_or("?")
        ))),
        Err(aws_sdk_s3::error::SdkError::ServiceError(_)) => Err(fail_with(
            "the worker checkpoints the job to S3 (Worker → S3 (ETag) → Resume)",
            format!("no checkpoint at s3://{}/{key}", flow.data_bucket),
            vec![Evidence::new(
                "call",
                format!("s3 HeadObject {}/{key}", flow.data_bucket),
            )],
        )),
        Err(e) => Err(infra(format!(
            "s3 HeadObject {}/{key}: {e}",
            flow.data_bucket
        ))),
    }
}

/// Data quality: exactly `expected` JSON rows, indices 0..expected each once, every field
/// present and non-empty.
fn validate_rows(body: &str, expected: usize, fields: &[String]) -> Result<(), String> {
    let mut seen = vec![false; expected];
    let mut count = 0usize;
    for (n, line) in body.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        count += 1;
        let row: Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: not JSON ({e})", n + 1))?;
        let index = row
            .get("row")
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok())
            .ok_or_else(|| format!("line {}: no row index", n + 1))?;
        match seen.get_mut(index) {
            Some(s) if !*s => *s = true,
            Some(_) => return Err(format!("row {index} appears twice")),
            None => return Err(format!("row {index} is out of range 0..{expected}")),
        }
        for field in fields {
            let ok = row
                .get(field)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.trim().is_empty());
            if !ok {
                return Err(format!("row {index}: field {field} missing or empty"));
            }
        }
    }
    if count != expected {
        return Err(format!("{count} rows"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<String> {
        vec!["review".into()]
    }

    #[test]
    fn valid_export_passes() {
        let body = "{\"row\":0,\"review\":\"a\"}\n{\"row\":1,\"review\":\"b\"}\n";
        assert_eq!(validate_rows(body, 2, &fields()), Ok(()));
    }

    #[test]
    fn duplicates_losses_and_missing_fields_fail() {
        let dup = "{\"row\":0,\"review\":\"a\"}\n{\"row\":0,\"review\":\"a\"}\n";
        assert!(
            validate_rows(dup, 2, &fields())
                .unwrap_err()
                .contains("twice")
        );
        let lost = "{\"row\":0,\"review\":\"a\"}\n";
        assert!(
            validate_rows(lost, 2, &fields())
                .unwrap_err()
                .contains("1 rows")
        );
        let empty = "{\"row\":0,\"review\":\"\"}\n";
        assert!(
            validate_rows(empty, 1, &fields())
                .unwrap_err()
                .contains("review")
        );
        assert!(
            validate_rows("nope", 1, &fields())
                .unwrap_err()
                .contains("not JSON")
        );
    }
}
