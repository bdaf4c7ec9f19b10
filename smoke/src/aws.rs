//! AWS checks, read-only: stacks complete with their outputs and nested stacks, alarms as
//! documented (threshold, period, comparison, SNS action) and not in ALARM, tables with PITR,
//! buckets encrypted/versioned/private, the WAF rate rule, the backup plan, CloudTrail, the
//! ECS cluster and its workers, Lambda `live` aliases, dashboards.

use std::sync::Arc;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use shakedown_core::check::{Check, fail, fail_with, infra, pass};
use shakedown_core::event::{Evidence, Outcome};
use shakedown_core::runbook::{
    Alarm, BackupPlan, Bucket, Dashboard, EcsCluster, Function, RunbookFacts, Stack, Table, Trail,
    Waf,
};
use shakedown_core::tier::Effect;

use crate::{Ctx, check, id};

pub(crate) fn checks(f: &RunbookFacts) -> Vec<Check<Ctx>> {
    let sys = f.system.clone();
    let mut out = Vec::new();
    for s in &f.stacks {
        out.push(check(
            id(&sys, &["stack", &s.name]),
            format!(
                "stack {} is complete with its outputs and nested stacks",
                s.name
            ),
            f,
            &s.section,
            Effect::Read,
            s.clone(),
            |ctx, s| async move { stack_check(&ctx, &s).await },
        ));
    }
    let topics = f.sns.as_ref().map(|s| s.topics.clone()).unwrap_or_default();
    for a in &f.alarms {
        out.push(check(
            id(&sys, &["alarm", &a.name]),
            format!("alarm {} is as documented and not in ALARM", a.name),
            f,
            &a.section,
            Effect::Read,
            (a.clone(), topics.get(&a.severity).cloned()),
            |ctx, (a, topic)| async move { alarm_check(&ctx, &a, topic.as_deref()).await },
        ));
    }
    for t in &f.tables {
        out.push(check(
            id(&sys, &["table", &t.name]),
            format!(
                "table {} is active{}",
                t.name,
                if t.pitr { " with PITR" } else { "" }
            ),
            f,
            &t.section,
            Effect::Read,
            t.clone(),
            |ctx, t| async move { table_check(&ctx, &t).await },
        ));
    }
    for b in &f.buckets {
        out.push(check(
            id(&sys, &["bucket", &b.name]),
            format!("bucket {} is as documented", b.name),
            f,
            &b.section,
            Effect::Read,
            b.clone(),
            |ctx, b| async move { bucket_check(&ctx, &b).await },
        ));
    }
    if let Some(w) = &f.waf {
        out.push(check(
            id(&sys, &["waf", &w.web_acl]),
            format!(
                "web ACL {} limits {} requests per {}s per IP",
                w.web_acl,
                w.rate_limit,
                w.window.as_secs()
            ),
            f,
            &w.section,
            Effect::Read,
            w.clone(),
            |ctx, w| async move { waf_check(&ctx, &w).await },
        ));
    }
    if let Some(b) = &f.backup {
        out.push(check(
            id(&sys, &["backup", &b.plan]),
            format!(
                "backup plan {} runs {} and keeps {} days",
                b.plan, b.schedule, b.retention_days
            ),
            f,
            &b.section,
            Effect::Read,
            b.clone(),
            |ctx, b| async move { backup_check(&ctx, &b).await },
        ));
    }
    if let Some(t) = &f.cloudtrail {
        out.push(check(
            id(&sys, &["cloudtrail", &t.name]),
            format!("CloudTrail trail {} is logging", t.name),
            f,
            &t.section,
            Effect::Read,
            t.clone(),
            |ctx, t| async move { trail_check(&ctx, &t).await },
        ));
    }
    if let Some(e) = &f.ecs {
        out.push(check(
            id(&sys, &["ecs", &e.cluster]),
            format!(
                "ECS cluster {} is active with {} workers",
                e.cluster, e.capacity_provider
            ),
            f,
            &e.section,
            Effect::Read,
            e.clone(),
            |ctx, e| async move { ecs_check(&ctx, &e).await },
        ));
    }
    for func in &f.functions {
        out.push(check(
            id(&sys, &["lambda", &func.name]),
            format!(
                "{}:{} points at a published version with a previous one to roll back to",
                func.name, func.alias
            ),
            f,
            &func.section,
            Effect::Read,
            func.clone(),
            |ctx, func| async move { lambda_check(&ctx, &func).await },
        ));
    }
    for d in f.dashboard.iter().chain(&f.dashboards) {
        out.push(check(
            id(&sys, &["dashboard", &d.name]),
            format!("dashboard {} has {} widgets", d.name, d.widgets),
            f,
            &d.section,
            Effect::Read,
            d.clone(),
            |ctx, d| async move { dashboard_check(&ctx, &d).await },
        ));
    }
    out
}

/// Classify an SDK error: the service answered no (the claim fails) or it could not be
/// reached (infrastructure).
fn sdk_outcome<E, R>(call: &str, expected: &str, err: &SdkError<E, R>) -> Outcome
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or("error");
            let message = e.err().message().unwrap_or_default();
            fail_with(
                expected.to_owned(),
                format!("{call}: {code} {message}"),
                vec![Evidence::new("call", call.to_owned())],
            )
        }
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            infra(format!("{call}: {text}"))
        }
    }
}

fn call(c: &str) -> Vec<Evidence> {
    vec![Evidence::new("call", c.to_owned())]
}

pub async fn stack_check(ctx: &Arc<Ctx>, s: &Stack) -> Outcome {
    let cfn = aws_sdk_cloudformation::Client::new(&ctx.targets.sdk);
    let expected = format!(
        "{} *_COMPLETE with outputs {:?}",
        s.name, s.required_outputs
    );
    let out = match cfn.describe_stacks().stack_name(&s.name).send().await {
        Ok(o) => o,
        Err(e) => {
            return sdk_outcome(
                &format!("cloudformation DescribeStacks {}", s.name),
                &expected,
                &e,
            );
        }
    };
    let Some(stack) = out.stacks().first() else {
        return fail(expected, "no such stack");
    };
    let status = stack
        .stack_status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    if !(status == "CREATE_COMPLETE" || status == "UPDATE_COMPLETE") {
        return fail_with(
            expected,
            format!("status {status}"),
            call("cloudformation DescribeStacks"),
        );
    }
    let outputs: Vec<&str> = stack
        .outputs()
        .iter()
        .filter_map(|o| o.output_key())
        .collect();
    let missing: Vec<&String> = s
        .required_outputs
        .iter()
        .filter(|k| !outputs.contains(&k.as_str()))
        .collect();
    if !missing.is_empty() {
        return fail_with(
            expected,
            format!("missing outputs {missing:?} (has {outputs:?})"),
            call("cloudformation DescribeStacks"),
        );
    }
    if !s.nested.is_empty() {
        let resources = match cfn.list_stack_resources().stack_name(&s.name).send().await {
            Ok(r) => r,
            Err(e) => return sdk_outcome("cloudformation ListStackResources", &expected, &e),
        };
        let summaries = resources.stack_resource_summaries();
        let mut problems = Vec::new();
        for logical in &s.nested {
            match summaries
                .iter()
                .find(|r| r.logical_resource_id() == Some(logical.as_str()))
            {
                None => problems.push(format!("{logical} missing")),
                Some(r) => {
                    let st = r.resource_status().map(|s| s.as_str()).unwrap_or("?");
                    if !st.ends_with("_COMPLETE")
                        || st.contains("ROLLBACK")
                        || st.contains("DELETE")
                    {
                        problems.push(format!("{logical} {st}"));
                    }
                }
            }
        }
        if !problems.is_empty() {
            return fail_with(
                format!("nested stacks {:?} complete", s.nested),
                problems.join(", "),
                call("cloudformation ListStackResources"),
            );
        }
    }
    pass(format!(
        "{status}, {} outputs, {} nested stacks",
        outputs.len(),
        s.nested.len()
    ))
}

pub async fn alarm_check(ctx: &Arc<Ctx>, a: &Alarm, topic: Option<&str>) -> Outcome {
    let cw = aws_sdk_cloudwatch::Client::new(&ctx.targets.sdk);
    let expected = format!(
        "{} {} {} over {}s, notifying {}",
        a.metric,
        a.comparison,
        a.threshold,
        a.period_seconds,
        topic.unwrap_or("(no topic documented)")
    );
    let out = match cw.describe_alarms().alarm_names(&a.name).send().await {
        Ok(o) => o,
        Err(e) => {
            return sdk_outcome(
                &format!("cloudwatch DescribeAlarms {}", a.name),
                &expected,
                &e,
            );
        }
    };
    let Some(alarm) = out.metric_alarms().first() else {
        return fail_with(
            expected,
            format!("no alarm named {}", a.name),
            call("cloudwatch DescribeAlarms"),
        );
    };
    let mut problems = Vec::new();
    if alarm
        .threshold()
        .is_none_or(|t| (t - a.threshold).abs() > 1e-9)
    {
        problems.push(format!("threshold {:?}", alarm.threshold()));
    }
    if alarm.comparison_operator().map(|c| c.as_str()) != Some(a.comparison.as_str()) {
        problems.push(format!(
            "comparison {:?}",
            alarm.comparison_operator().map(|c| c.as_str())
        ));
    }
    if alarm.period() != Some(a.period_seconds) {
        problems.push(format!("period {:?}", alarm.period()));
    }
    if alarm.evaluation_periods() != Some(a.evaluation_periods) {
        problems.push(format!(
            "evaluation periods {:?}",
            alarm.evaluation_periods()
        ));
    }
    if alarm.metric_name() != Some(a.metric.as_str())
        || alarm.namespace() != Some(a.namespace.as_str())
    {
        problems.push(format!(
            "metric {:?}/{:?}",
            alarm.namespace(),
            alarm.metric_name()
        ));
    }
    let statistic = alarm
        .statistic()
        .map(|s| s.as_str().to_owned())
        .or_else(|| alarm.extended_statistic().map(str::to_owned));
    if statistic.as_deref() != Some(a.statistic.as_str()) {
        problems.push(format!("statistic {statistic:?}"));
    }
    for (name, value) in &a.dimensions {
        let found = alarm
            .dimensions()
            .iter()
            .find(|d| d.name() == Some(name.as_str()))
            .and_then(|d| d.value());
        if found != Some(value.as_str()) {
            problems.push(format!("dimension {name} {found:?}"));
        }
    }
    if let Some(topic) = topic {
        let notifies = alarm
            .alarm_actions()
            .iter()
            .any(|arn| arn.rsplit(':').next() == Some(topic));
        if !notifies {
            problems.push(format!("actions {:?}", alarm.alarm_actions()));
        }
    }
    if !problems.is_empty() {
        return fail_with(
            expected,
            problems.join(", "),
            call(&format!("cloudwatch DescribeAlarms {}", a.name)),
        );
    }
    let state = alarm
        .state_value()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    if state == "ALARM" {
        return fail_with(
            format!("{} not in ALARM", a.name),
            format!("state ALARM: {}", alarm.state_reason().unwrap_or_default()),
            call("cloudwatch DescribeAlarms"),
        );
    }
    pass(format!(
        "{} {} {}, state {state}",
        a.metric, a.comparison, a.threshold
    ))
}

pub async fn table_check(ctx: &Arc<Ctx>, t: &Table) -> Outcome {
    let ddb = aws_sdk_dynamodb::Client::new(&ctx.targets.sdk);
    let mut expected = format!(
        "{} ACTIVE{}",
        t.name,
        if t.pitr { ", PITR ENABLED" } else { "" }
    );
    for gsi in &t.gsi {
        expected.push_str(&format!(
            ", index {} ACTIVE",
            gsi.split(':').next().unwrap_or(gsi)
        ));
    }
    if t.sse {
        expected.push_str(", SSE ENABLED");
    }
    if let Some(attr) = &t.ttl_attribute {
        expected.push_str(&format!(", TTL ENABLED on {attr}"));
    }
    let desc = match ddb.describe_table().table_name(&t.name).send().await {
        Ok(d) => d,
        Err(e) => return sdk_outcome(&format!("dynamodb DescribeTable {}", t.name), &expected, &e),
    };
    let status = desc
        .table()
        .and_then(|t| t.table_status())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    if status != "ACTIVE" {
        return fail_with(
            expected,
            format!("status {status}"),
            call("dynamodb DescribeTable"),
        );
    }
    let table = desc.table();
    let mut wrong = Vec::new();
    for gsi in &t.gsi {
        let name = gsi.split(':').next().unwrap_or(gsi);
        let status = table
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .find(|i| i.index_name() == Some(name))
            .map(|i| {
                i.index_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "no status".to_owned())
            });
        match status.as_deref() {
            Some("ACTIVE") => {}
            Some(other) => wrong.push(format!("index {name} {other}")),
            None => wrong.push(format!("no index {name}")),
        }
    }
    if t.sse {
        let sse = table
            .and_then(|t| t.sse_description())
            .and_then(|d| d.status())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|| "absent (AWS-owned key)".to_owned());
        if sse != "ENABLED" {
            wrong.push(format!("SSE {sse}"));
        }
    }
    if let Some(attr) = &t.ttl_attribute {
        match ddb.describe_time_to_live().table_name(&t.name).send().await {
            Ok(ttl) => {
                let d = ttl.time_to_live_description();
                let status = d
                    .and_then(|d| d.time_to_live_status())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default();
                let on = d.and_then(|d| d.attribute_name()).unwrap_or_default();
                if status != "ENABLED" || on != attr {
                    wrong.push(format!("TTL {status} on {on:?}"));
                }
            }
            Err(e) => return sdk_outcome("dynamodb DescribeTimeToLive", &expected, &e),
        }
    }
    if !wrong.is_empty() {
        return fail_with(
            expected,
            wrong.join("; "),
            call(&format!("dynamodb DescribeTable {}", t.name)),
        );
    }
    if !t.pitr {
        return pass("ACTIVE");
    }
    let backups = match ddb
        .describe_continuous_backups()
        .table_name(&t.name)
        .send()
        .await
    {
        Ok(b) => b,
        Err(e) => return sdk_outcome("dynamodb DescribeContinuousBackups", &expected, &e),
    };
    let pitr = backups
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|| "absent".to_owned());
    if pitr == "ENABLED" {
        pass("ACTIVE, PITR ENABLED")
    } else {
        fail_with(
            expected,
            format!("PITR {pitr}"),
            call(&format!("dynamodb DescribeContinuousBackups {}", t.name)),
        )
    }
}

pub async fn bucket_check(ctx: &Arc<Ctx>, b: &Bucket) -> Outcome {
    let s3 =
        aws_sdk_s3::Client::from_conf(shakedown_core::aws::s3_config(&ctx.targets.sdk).build());
    let expected = format!(
        "{} exists{}{}{}",
        b.name,
        b.encryption
            .as_ref()
            .map(|e| format!(", {e} encryption"))
            .unwrap_or_default(),
        if b.versioning {
            ", versioning Enabled"
        } else {
            ""
        },
        if b.public_access_block {
            ", all public access blocked"
        } else {
            ""
        }
    );
    if let Err(e) = s3.head_bucket().bucket(&b.name).send().await {
        return sdk_outcome(&format!("s3 HeadBucket {}", b.name), &expected, &e);
    }
    let mut problems = Vec::new();
    if let Some(want) = &b.encryption {
        match s3.get_bucket_encryption().bucket(&b.name).send().await {
            Ok(enc) => {
                let algos: Vec<String> = enc
                    .server_side_encryption_configuration()
                    .map(|c| {
                        c.rules()
                            .iter()
                            .filter_map(|r| r.apply_server_side_encryption_by_default())
                            .map(|d| d.sse_algorithm().as_str().to_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                if !algos.iter().any(|a| a == want) {
                    problems.push(format!("encryption {algos:?}"));
                }
            }
            Err(SdkError::ServiceError(e)) => {
                problems.push(format!(
                    "no encryption ({})",
                    e.err().code().unwrap_or("error")
                ));
            }
            Err(e) => return sdk_outcome("s3 GetBucketEncryption", &expected, &e),
        }
    }
    if b.versioning {
        match versioning_status(ctx, &s3, &b.name).await {
            Ok(status) if status == "Enabled" => {}
            Ok(status) => problems.push(format!("versioning {status:?}")),
            Err(o) => return o,
        }
    }
    if b.public_access_block {
        match s3.get_public_access_block().bucket(&b.name).send().await {
            Ok(pab) => {
                let c = pab.public_access_block_configuration();
                let all = c.is_some_and(|c| {
                    c.block_public_acls() == Some(true)
                        && c.ignore_public_acls() == Some(true)
                        && c.block_public_policy() == Some(true)
                        && c.restrict_public_buckets() == Some(true)
                });
                if !all {
                    problems.push(format!("public access block {c:?}"));
                }
            }
            Err(SdkError::ServiceError(e)) => {
                problems.push(format!(
                    "no public access block ({})",
                    e.err().code().unwrap_or("error")
                ));
            }
            Err(e) => return sdk_outcome("s3 GetPublicAccessBlock", &expected, &e),
        }
    }
    if problems.is_empty() {
        pass(expected)
    } else {
        fail_with(
            expected,
            problems.join(", "),
            call(&format!("s3 Get*(bucket {})", b.name)),
        )
    }
}

/// Bucket versioning status. The Rust SDK cannot parse moto's GetBucketVersioning answer
/// (its XML root is `GetBucketVersioningResponse`, the SDK expects `VersioningConfiguration`),
/// so when the SDK cannot parse the answer and the profile overrides the endpoint (moto), the
/// same request is made raw (moto checks no signature) and `<Status>` is read from the body.
/// Against real AWS the SDK path is used.
async fn versioning_status(
    ctx: &Arc<Ctx>,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<String, Outcome> {
    match s3.get_bucket_versioning().bucket(bucket).send().await {
        Ok(v) => {
            return Ok(v
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|| "never enabled".into()));
        }
        // An answer the SDK could not parse carries no error code (moto's XML root).
        Err(SdkError::ServiceError(e)) if e.err().code().is_none() => {}
        Err(SdkError::ResponseError(_)) => {}
        Err(SdkError::ServiceError(e)) => {
            return Err(fail(
                "versioning Enabled",
                format!(
                    "s3 GetBucketVersioning: {}",
                    e.err().code().unwrap_or("error")
                ),
            ));
        }
        Err(e) => {
            return Err(sdk_outcome(
                "s3 GetBucketVersioning",
                "versioning Enabled",
                &e,
            ));
        }
    };
    let Some(endpoint) = ctx.targets.profile.aws.endpoint.clone() else {
        return Err(fail(
            "versioning Enabled",
            "s3 GetBucketVersioning: unreadable answer",
        ));
    };
    let url = format!("{}/{bucket}?versioning", endpoint.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(infra)?;
    let body = client
        .get(&url)
        .send()
        .await
        .map_err(|e| infra(format!("GET {url}: {e}")))?
        .text()
        .await
        .map_err(|e| infra(format!("GET {url}: {e}")))?;
    Ok(body
        .split("<Status>")
        .nth(1)
        .and_then(|rest| rest.split("</Status>").next())
        .unwrap_or("never enabled")
        .to_owned())
}

pub async fn waf_check(ctx: &Arc<Ctx>, w: &Waf) -> Outcome {
    use aws_sdk_wafv2::types::{RateBasedStatementAggregateKeyType, Scope};
    let waf = aws_sdk_wafv2::Client::new(&ctx.targets.sdk);
    let expected = format!(
        "rule {} rate-based, limit {} per {}s, aggregated by IP",
        w.rate_rule,
        w.rate_limit,
        w.window.as_secs()
    );
    let scope = Scope::from(w.scope.as_str());
    let list = match waf.list_web_acls().scope(scope.clone()).send().await {
        Ok(l) => l,
        Err(e) => return sdk_outcome("wafv2 ListWebACLs", &expected, &e),
    };
    let Some(summary) = list
        .web_acls()
        .iter()
        .find(|a| a.name() == Some(w.web_acl.as_str()))
    else {
        return fail_with(
            expected,
            format!("no web ACL named {}", w.web_acl),
            call("wafv2 ListWebACLs"),
        );
    };
    let acl = match waf
        .get_web_acl()
        .name(&w.web_acl)
        .scope(scope)
        .id(summary.id().unwrap_or_default())
        .send()
        .await
    {
        Ok(a) => a,
        Err(e) => return sdk_outcome("wafv2 GetWebACL", &expected, &e),
    };
    let rule = acl
        .web_acl()
        .and_then(|a| a.rules().iter().find(|r| r.name() == w.rate_rule));
    let Some(rate) = rule
        .and_then(|r| r.statement())
        .and_then(|s| s.rate_based_statement())
    else {
        return fail_with(
            expected,
            format!("no rate-based rule {}", w.rate_rule),
            call("wafv2 GetWebACL"),
        );
    };
    let mut problems = Vec::new();
    if rate.limit() != w.rate_limit {
        problems.push(format!("limit {}", rate.limit()));
    }
    if rate.aggregate_key_type() != &RateBasedStatementAggregateKeyType::Ip {
        problems.push(format!(
            "aggregated by {}",
            rate.aggregate_key_type().as_str()
        ));
    }
    let window = rate.evaluation_window_sec();
    if window != 0 && window != i64::try_from(w.window.as_secs()).unwrap_or(i64::MAX) {
        problems.push(format!("window {window}s"));
    }
    if problems.is_empty() {
        pass(format!("limit {} per IP", rate.limit()))
    } else {
        fail_with(expected, problems.join(", "), call("wafv2 GetWebACL"))
    }
}

pub async fn backup_check(ctx: &Arc<Ctx>, b: &BackupPlan) -> Outcome {
    let backup = aws_sdk_backup::Client::new(&ctx.targets.sdk);
    let expected = format!(
        "rule {}: {} keeping {} days",
        b.rule, b.schedule, b.retention_days
    );
    let plans = match backup.list_backup_plans().send().await {
        Ok(p) => p,
        Err(e) => return sdk_outcome("backup ListBackupPlans", &expected, &e),
    };
    let Some(id) = plans
        .backup_plans_list()
        .iter()
        .find(|p| p.backup_plan_name() == Some(b.plan.as_str()))
        .and_then(|p| p.backup_plan_id())
    else {
        return fail_with(
            expected,
            format!("no backup plan named {}", b.plan),
            call("backup ListBackupPlans"),
        );
    };
    let plan = match backup.get_backup_plan().backup_plan_id(id).send().await {
        Ok(p) => p,
        Err(e) => return sdk_outcome("backup GetBackupPlan", &expected, &e),
    };
    let rule = plan
        .backup_plan()
        .and_then(|p| p.rules().iter().find(|r| r.rule_name() == b.rule));
    let Some(rule) = rule else {
        return fail_with(
            expected,
            format!("no rule {}", b.rule),
            call("backup GetBackupPlan"),
        );
    };
    let schedule = rule.schedule_expression().unwrap_or_default();
    let retention = rule.lifecycle().and_then(|l| l.delete_after_days());
    // A copy action's destination vault ARN names its region: arn:aws:backup:REGION:...
    let copies: Vec<&str> = rule
        .copy_actions()
        .iter()
        .filter_map(|c| c.destination_backup_vault_arn().split(':').nth(3))
        .collect();
    let missing: Vec<&String> = b
        .copy_regions
        .iter()
        .filter(|r| !copies.contains(&r.as_str()))
        .collect();
    if !missing.is_empty() {
        return fail_with(
            format!("{expected}, copied to {}", b.copy_regions.join(", ")),
            format!("copies to {copies:?}; none to {missing:?}"),
            call("backup GetBackupPlan"),
        );
    }
    if schedule == b.schedule && retention == Some(b.retention_days) {
        pass(format!("{schedule}, {} days", b.retention_days))
    } else {
        fail_with(
            expected,
            format!("schedule {schedule:?}, retention {retention:?} days"),
            call("backup GetBackupPlan"),
        )
    }
}

pub async fn trail_check(ctx: &Arc<Ctx>, t: &Trail) -> Outcome {
    let ct = aws_sdk_cloudtrail::Client::new(&ctx.targets.sdk);
    let expected = format!(
        "trail {}{} logging",
        t.name,
        if t.multi_region {
            " (multi-region)"
        } else {
            ""
        }
    );
    if t.multi_region {
        let trails = match ct.describe_trails().trail_name_list(&t.name).send().await {
            Ok(d) => d,
            Err(e) => return sdk_outcome("cloudtrail DescribeTrails", &expected, &e),
        };
        let multi = trails
            .trail_list()
            .iter()
            .find(|tr| tr.name() == Some(t.name.as_str()))
            .map(|tr| tr.is_multi_region_trail());
        if multi != Some(Some(true)) {
            return fail_with(
                expected,
                match multi {
                    None => format!("no trail {}", t.name),
                    Some(m) => format!("IsMultiRegionTrail {m:?}"),
                },
                call("cloudtrail DescribeTrails"),
            );
        }
    }
    match ct.get_trail_status().name(&t.name).send().await {
        Ok(s) if s.is_logging() == Some(true) => pass("logging"),
        Ok(s) => fail_with(
            expected,
            format!("IsLogging {:?}", s.is_logging()),
            call("cloudtrail GetTrailStatus"),
        ),
        Err(e) => sdk_outcome(
            &format!("cloudtrail GetTrailStatus {}", t.name),
            &expected,
            &e,
        ),
    }
}

pub async fn ecs_check(ctx: &Arc<Ctx>, e: &EcsCluster) -> Outcome {
    let ecs = aws_sdk_ecs::Client::new(&ctx.targets.sdk);
    let expected = format!(
        "{} ACTIVE with {} and running worker tasks",
        e.cluster, e.capacity_provider
    );
    let out = match ecs.describe_clusters().clusters(&e.cluster).send().await {
        Ok(o) => o,
        Err(err) => {
            return sdk_outcome(
                &format!("ecs DescribeClusters {}", e.cluster),
                &expected,
                &err,
            );
        }
    };
    let Some(cluster) = out.clusters().first() else {
        return fail_with(expected, "no such cluster", call("ecs DescribeClusters"));
    };
    if cluster.status() != Some("ACTIVE") {
        return fail_with(
            expected,
            format!("status {:?}", cluster.status()),
            call("ecs DescribeClusters"),
        );
    }
    if !cluster
        .capacity_providers()
        .iter()
        .any(|c| c == &e.capacity_provider)
    {
        return fail_with(
            expected,
            format!("capacity providers {:?}", cluster.capacity_providers()),
            call("ecs DescribeClusters"),
        );
    }
    let tasks = match ecs.list_tasks().cluster(&e.cluster).send().await {
        Ok(t) => t,
        Err(err) => return sdk_outcome("ecs ListTasks", &expected, &err),
    };
    if tasks.task_arns().is_empty() {
        return fail_with(expected, "no running tasks", call("ecs ListTasks"));
    }
    pass(format!("ACTIVE, {} tasks", tasks.task_arns().len()))
}

pub async fn lambda_check(ctx: &Arc<Ctx>, f: &Function) -> Outcome {
    let lambda = aws_sdk_lambda::Client::new(&ctx.targets.sdk);
    let expected = format!(
        "{}:{} → a published version, with an earlier one",
        f.name, f.alias
    );
    let alias = match lambda
        .get_alias()
        .function_name(&f.name)
        .name(&f.alias)
        .send()
        .await
    {
        Ok(a) => a,
        Err(e) => {
            return sdk_outcome(
                &format!("lambda GetAlias {}:{}", f.name, f.alias),
                &expected,
                &e,
            );
        }
    };
    let live = alias.function_version().unwrap_or_default().to_owned();
    if live.is_empty() || live == "$LATEST" {
        return fail_with(
            expected,
            format!("alias points at {live:?}"),
            call("lambda GetAlias"),
        );
    }
    let versions = match lambda
        .list_versions_by_function()
        .function_name(&f.name)
        .send()
        .await
    {
        Ok(v) => v,
        Err(e) => return sdk_outcome("lambda ListVersionsByFunction", &expected, &e),
    };
    let published: Vec<&str> = versions
        .versions()
        .iter()
        .filter_map(|v| v.version())
        .filter(|v| *v != "$LATEST")
        .collect();
    if !published.contains(&live.as_str()) {
        return fail_with(
            expected,
            format!("{live} is not among {published:?}"),
            call("lambda ListVersionsByFunction"),
        );
    }
    let live_n: u64 = live.parse().unwrap_or(0);
    if !published
        .iter()
        .any(|v| v.parse::<u64>().is_ok_and(|n| n < live_n))
    {
        return fail_with(
            expected,
            format!("no version before {live} to roll back to ({published:?})"),
            call("lambda ListVersionsByFunction"),
        );
    }
    pass(format!("{} → version {live}", f.alias))
}

pub async fn dashboard_check(ctx: &Arc<Ctx>, d: &Dashboard) -> Outcome {
    let cw = aws_sdk_cloudwatch::Client::new(&ctx.targets.sdk);
    let expected = format!("{} with {} widgets", d.name, d.widgets);
    let out = match cw.get_dashboard().dashboard_name(&d.name).send().await {
        Ok(o) => o,
        Err(e) => {
            return sdk_outcome(
                &format!("cloudwatch GetDashboard {}", d.name),
                &expected,
                &e,
            );
        }
    };
    let body = out
        .dashboard_body()
        .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok());
    let list = body
        .as_ref()
        .and_then(|v| v.get("widgets").and_then(|w| w.as_array()).cloned())
        .unwrap_or_default();
    let missing = dashboard_missing(&list, d);
    if !missing.is_empty() {
        return fail_with(
            format!("{expected} showing {}", d.metrics.join(", ")),
            format!("no widget shows {}", missing.join(", ")),
            call("cloudwatch GetDashboard"),
        );
    }
    let widgets = body.map(|_| list.len());
    match widgets {
        Some(n) if n == d.widgets => pass(format!("{n} widgets")),
        other => fail_with(
            expected,
            format!("widgets {other:?}"),
            call("cloudwatch GetDashboard"),
        ),
    }
}

/// The documented metrics (`Namespace MetricName`) and log queries no widget shows.
pub fn dashboard_missing(widgets: &[serde_json::Value], d: &Dashboard) -> Vec<String> {
    let mut shown = std::collections::BTreeSet::new();
    let mut queries = Vec::new();
    for w in widgets {
        let props = w.get("properties");
        for m in props
            .and_then(|p| p.get("metrics"))
            .and_then(|m| m.as_array())
            .into_iter()
            .flatten()
        {
            let parts: Vec<&str> = m
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p.as_str())
                .collect();
            if let [ns, name, ..] = parts.as_slice() {
                shown.insert(format!("{ns} {name}"));
            }
            // Metric math: {"expression": "errors / requests * 100", ...}, shown with its
            // threshold as a horizontal annotation.
            let annotated = props
                .and_then(|p| p.pointer("/annotations/horizontal"))
                .and_then(|h| h.as_array())
                .is_some_and(|h| !h.is_empty());
            if let Some(expr) = m
                .as_array()
                .and_then(|a| a.iter().find_map(|p| p.get("expression")))
                .and_then(|e| e.as_str())
                && annotated
            {
                shown.insert(format!("expression {expr}"));
            }
        }
        if let Some(q) = props.and_then(|p| p.get("query")).and_then(|q| q.as_str()) {
            queries.push(q.to_owned());
        }
    }
    let mut missing: Vec<String> = d
        .metrics
        .iter()
        .filter(|m| !shown.contains(m.as_str()))
        .cloned()
        .collect();
    missing.extend(
        d.log_queries
            .iter()
            .filter(|q| !queries.iter().any(|have| have.contains(q.as_str())))
            .map(|q| format!("log query {q:?}")),
    );
    missing
}
