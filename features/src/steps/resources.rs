//! AWS resources the runbooks document: stacks and their outputs, tables with point-in-time
//! recovery, buckets encrypted/versioned/private, the WAF rate rule, the backup plan,
//! CloudTrail, ECS workers and dashboards. Each step states the documented values and runs
//! the same verification as the smoke suite.

use std::time::Duration;

use cucumber::{given, then};
use shakedown_core::runbook::{BackupPlan, Bucket, Dashboard, Stack, Table, Trail, Waf};
use shakedown_smoke::aws;

use crate::result::{StepError, StepResult};
use crate::world::AcceptWorld;

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[then(
    regex = r#"^the stack "([^"]+)" is complete with outputs "([^"]*)"(?: and nested stacks "([^"]*)")?$"#
)]
async fn stack_complete(
    world: &mut AcceptWorld,
    name: String,
    outputs: String,
    nested: String,
) -> StepResult {
    let stack = Stack {
        name: world.render(&name)?,
        section: String::new(),
        required_outputs: list(&outputs),
        nested: list(&nested),
    };
    AcceptWorld::outcome(aws::stack_check(world.ctx()?, &stack).await)
}

#[given(regex = r#"^the table "([^"]+)" has point-in-time recovery enabled$"#)]
#[then(regex = r#"^the table "([^"]+)" has point-in-time recovery enabled$"#)]
async fn table_pitr(world: &mut AcceptWorld, name: String) -> StepResult {
    let name = world.render(&name)?;
    let key = world
        .facts()?
        .tables
        .iter()
        .find(|t| t.name == name)
        .map(|t| t.key.clone())
        .unwrap_or_default();
    let table = Table {
        name,
        section: String::new(),
        pitr: true,
        key,
        ..Table::default()
    };
    AcceptWorld::outcome(aws::table_check(world.ctx()?, &table).await)
}

#[then(
    regex = r#"^the bucket "([^"]+)" is encrypted with (AES256|aws:kms), versioned and blocks public access$"#
)]
async fn bucket_hardened(world: &mut AcceptWorld, name: String, encryption: String) -> StepResult {
    let bucket = Bucket {
        name: world.render(&name)?,
        section: String::new(),
        encryption: Some(encryption),
        versioning: true,
        public_access_block: true,
        expire_days: None,
    };
    AcceptWorld::outcome(aws::bucket_check(world.ctx()?, &bucket).await)
}

#[then(
    regex = r#"^the web ACL "([^"]+)" has a rate-based rule "([^"]+)" blocking more than (\d+) requests per (\d+) minutes per IP$"#
)]
async fn waf_rate(
    world: &mut AcceptWorld,
    acl: String,
    rule: String,
    limit: i64,
    minutes: u64,
) -> StepResult {
    let scope = world
        .facts()?
        .waf
        .as_ref()
        .map(|w| w.scope.clone())
        .unwrap_or_else(|| "REGIONAL".into());
    let waf = Waf {
        web_acl: world.render(&acl)?,
        section: String::new(),
        scope,
        rate_rule: world.render(&rule)?,
        rate_limit: limit,
        window: Duration::from_secs(minutes * 60),
    };
    AcceptWorld::outcome(aws::waf_check(world.ctx()?, &waf).await)
}

#[then(
    regex = r#"^the backup plan "([^"]+)" rule "([^"]+)" runs "([^"]+)" into vault "([^"]+)" and keeps backups (\d+) days(?:, copied to "([^"]+)")?$"#
)]
async fn backup_plan(
    world: &mut AcceptWorld,
    plan: String,
    rule: String,
    schedule: String,
    vault: String,
    days: i64,
    copies: String,
) -> StepResult {
    let plan = BackupPlan {
        plan: world.render(&plan)?,
        section: String::new(),
        vault: world.render(&vault)?,
        rule: world.render(&rule)?,
        schedule,
        retention_days: days,
        copy_regions: list(&copies),
    };
    AcceptWorld::outcome(aws::backup_check(world.ctx()?, &plan).await)
}

#[then(regex = r#"^the (multi-region )?trail "([^"]+)" is logging to bucket "([^"]+)"$"#)]
async fn trail_logging(
    world: &mut AcceptWorld,
    multi: String,
    name: String,
    bucket: String,
) -> StepResult {
    let trail = Trail {
        name: world.render(&name)?,
        section: String::new(),
        bucket: world.render(&bucket)?,
        multi_region: !multi.is_empty(),
        data_event_tables: Vec::new(),
    };
    AcceptWorld::outcome(aws::trail_check(world.ctx()?, &trail).await)
}

#[then(regex = r#"^the dashboard "([^"]+)" has (\d+) widgets$"#)]
async fn dashboard_widgets(world: &mut AcceptWorld, name: String, widgets: usize) -> StepResult {
    let d = Dashboard {
        name: world.render(&name)?,
        section: String::new(),
        widgets,
        metrics: Vec::new(),
        log_queries: Vec::new(),
    };
    AcceptWorld::outcome(aws::dashboard_check(world.ctx()?, &d).await)
}

/// `| namespace | metric |` rows; a `expression` namespace names a metric-math expression,
/// a `logs` namespace a Logs Insights query fragment.
#[then(regex = r#"^the dashboard "([^"]+)" has (\d+) widgets showing:$"#)]
async fn dashboard_shows(
    world: &mut AcceptWorld,
    step: &cucumber::gherkin::Step,
    name: String,
    widgets: usize,
) -> StepResult {
    let table = step
        .table
        .as_ref()
        .ok_or_else(|| StepError::Usage("the step needs a | namespace | metric | table".into()))?;
    let (mut metrics, mut log_queries) = (Vec::new(), Vec::new());
    for row in table.rows.iter().skip(1) {
        let [ns, metric] = row.as_slice() else {
            return Err(StepError::Usage(format!(
                "row {row:?}: want | namespace | metric |"
            )));
        };
        if ns == "logs" {
            log_queries.push(metric.clone());
        } else {
            metrics.push(format!("{ns} {metric}"));
        }
    }
    let d = Dashboard {
        name: world.render(&name)?,
        section: String::new(),
        widgets,
        metrics,
        log_queries,
    };
    AcceptWorld::outcome(aws::dashboard_check(world.ctx()?, &d).await)
}

#[then(regex = r"^the ECS workers run as documented on Fargate Spot$")]
async fn ecs_workers(world: &mut AcceptWorld) -> StepResult {
    let ecs =
        world.facts()?.ecs.clone().ok_or_else(|| {
            StepError::Usage(format!("{} documents no ECS cluster", world.system))
        })?;
    AcceptWorld::outcome(aws::ecs_check(world.ctx()?, &ecs).await)
}

/// The web ACL named `name` (regional or CloudFront scope, as the runbook's facts say).
async fn web_acl(
    world: &AcceptWorld,
    name: &str,
) -> Result<aws_sdk_wafv2::types::WebAcl, StepError> {
    let scope = world
        .facts()?
        .waf
        .as_ref()
        .map(|w| w.scope.clone())
        .unwrap_or_else(|| "REGIONAL".into());
    let waf = aws_sdk_wafv2::Client::new(world.sdk()?);
    let infra = |call: &str, e: String| StepError::Infra(format!("wafv2 {call}: {e}"));
    let list = waf
        .list_web_acls()
        .scope(aws_sdk_wafv2::types::Scope::from(scope.as_str()))
        .send()
        .await
        .map_err(|e| infra("ListWebACLs", shakedown_core::target::aws_error_text(&e)))?;
    let summary = list
        .web_acls()
        .iter()
        .find(|a| a.name() == Some(name))
        .ok_or_else(|| StepError::Mismatch {
            expected: format!("a {scope} web ACL {name}"),
            observed: format!(
                "web ACLs {:?}",
                list.web_acls()
                    .iter()
                    .filter_map(|a| a.name())
                    .collect::<Vec<_>>()
            ),
        })?;
    let out = waf
        .get_web_acl()
        .name(name)
        .scope(aws_sdk_wafv2::types::Scope::from(scope.as_str()))
        .id(summary.id().unwrap_or_default())
        .send()
        .await
        .map_err(|e| infra("GetWebACL", shakedown_core::target::aws_error_text(&e)))?;
    out.web_acl.ok_or_else(|| {
        StepError::Infra(format!("wafv2 GetWebACL {name}: no web ACL in the answer"))
    })
}

/// Does a statement (or one nested in And/Or/Not) match the attack?
fn statement_catches(s: &aws_sdk_wafv2::types::Statement, attack: &str) -> bool {
    let nested = s
        .or_statement()
        .map(|o| o.statements().to_vec())
        .into_iter()
        .chain(s.and_statement().map(|a| a.statements().to_vec()))
        .flatten()
        .any(|n| statement_catches(&n, attack));
    let managed = s.managed_rule_group_statement().map(|m| m.name());
    nested
        || match attack {
            "SQL injection" => {
                s.sqli_match_statement().is_some() || managed == Some("AWSManagedRulesSQLiRuleSet")
            }
            _ => {
                s.xss_match_statement().is_some() || managed == Some("AWSManagedRulesCommonRuleSet")
            }
        }
}

#[then(
    regex = r#"^the web ACL "([^"]+)" has a rule blocking (SQL injection|cross-site scripting)$"#
)]
async fn waf_blocks(world: &mut AcceptWorld, name: String, attack: String) -> StepResult {
    let name = world.render(&name)?;
    let acl = web_acl(world, &name).await?;
    let rules: Vec<String> = acl.rules().iter().map(|r| r.name().to_owned()).collect();
    let blocking = acl.rules().iter().find(|r| {
        let catches = r.statement().is_some_and(|s| statement_catches(s, &attack));
        // A rule group blocks with its own rules' actions unless overridden to count.
        let blocks = r.action().is_some_and(|a| a.block().is_some())
            || r.override_action().is_some_and(|o| o.none().is_some());
        catches && blocks
    });
    crate::result::ensure(
        blocking.is_some(),
        format!("a rule of {name} that blocks {attack}"),
        format!("rules {rules:?}"),
    )
}

#[then(regex = r#"^the web ACL "([^"]+)" and each of its rules publish CloudWatch metrics$"#)]
async fn waf_metrics(world: &mut AcceptWorld, name: String) -> StepResult {
    let name = world.render(&name)?;
    let acl = web_acl(world, &name).await?;
    let on = |v: Option<&aws_sdk_wafv2::types::VisibilityConfig>| {
        v.is_some_and(|v| v.cloud_watch_metrics_enabled())
    };
    let mut dark: Vec<String> = acl
        .rules()
        .iter()
        .filter(|r| !on(r.visibility_config()))
        .map(|r| r.name().to_owned())
        .collect();
    if !on(acl.visibility_config()) {
        dark.push(format!("the web ACL {name}"));
    }
    crate::result::ensure(
        dark.is_empty() && !acl.rules().is_empty(),
        format!("CloudWatch metrics on {name} and each of its rules"),
        if acl.rules().is_empty() {
            "no rules".to_owned()
        } else {
            format!("metrics off for {dark:?}")
        },
    )
}

/// The facts' entry for a table (its key), so a step checks one property at a time.
fn table_named(world: &AcceptWorld, name: &str) -> Table {
    let key = world
        .facts()
        .ok()
        .and_then(|f| f.tables.iter().find(|t| t.name == name))
        .map(|t| t.key.clone())
        .unwrap_or_default();
    Table {
        name: name.to_owned(),
        key,
        ..Table::default()
    }
}

#[then(regex = r#"^the table "([^"]+)" has an ACTIVE global secondary index "([^"]+)"$"#)]
async fn table_gsi(world: &mut AcceptWorld, name: String, index: String) -> StepResult {
    let table = Table {
        gsi: vec![index],
        ..table_named(world, &world.render(&name)?)
    };
    AcceptWorld::outcome(aws::table_check(world.ctx()?, &table).await)
}

#[then(regex = r#"^the table "([^"]+)" expires items by TTL on "([^"]+)"$"#)]
async fn table_ttl(world: &mut AcceptWorld, name: String, attribute: String) -> StepResult {
    let table = Table {
        ttl_attribute: Some(attribute),
        ..table_named(world, &world.render(&name)?)
    };
    AcceptWorld::outcome(aws::table_check(world.ctx()?, &table).await)
}

#[then(regex = r#"^the table "([^"]+)" is encrypted at rest with a KMS key$"#)]
async fn table_sse(world: &mut AcceptWorld, name: String) -> StepResult {
    let table = Table {
        sse: true,
        ..table_named(world, &world.render(&name)?)
    };
    AcceptWorld::outcome(aws::table_check(world.ctx()?, &table).await)
}

#[then(regex = r#"^the bucket "([^"]+)" expires objects after (\d+) days$"#)]
async fn bucket_expiry(world: &mut AcceptWorld, name: String, days: i32) -> StepResult {
    let name = world.render(&name)?;
    let s3 = aws_sdk_s3::Client::from_conf(shakedown_core::aws::s3_config(world.sdk()?).build());
    let out = s3
        .get_bucket_lifecycle_configuration()
        .bucket(&name)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("a lifecycle configuration on {name}"),
                shakedown_core::target::aws_error_text(&e),
            )
        })?;
    let rules: Vec<String> = out
        .rules()
        .iter()
        .map(|r| {
            format!(
                "{} {:?} days",
                r.status().as_str(),
                r.expiration().and_then(|e| e.days())
            )
        })
        .collect();
    let ok = out.rules().iter().any(|r| {
        r.status().as_str() == "Enabled" && r.expiration().and_then(|e| e.days()) == Some(days)
    });
    crate::result::ensure(
        ok,
        format!("an enabled rule expiring objects after {days} days"),
        format!("rules {rules:?}"),
    )
}

/// `Then every documented table scales with demand`: on-demand billing (PAY_PER_REQUEST), or
/// provisioned capacity with Application Auto Scaling targets and policies for both read and
/// write capacity.
#[then(regex = r"^every documented table scales with demand$")]
async fn tables_scale(world: &mut AcceptWorld) -> StepResult {
    let tables: Vec<String> = world
        .facts()?
        .tables
        .iter()
        .map(|t| t.name.clone())
        .collect();
    if tables.is_empty() {
        return Err(StepError::Usage(format!(
            "{} documents no tables",
            world.system
        )));
    }
    let db = aws_sdk_dynamodb::Client::new(world.sdk()?);
    let scaling = aws_sdk_applicationautoscaling::Client::new(world.sdk()?);
    let mut problems = Vec::new();
    for table in &tables {
        let d = db
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| {
                StepError::mismatch(
                    format!("DescribeTable {table}"),
                    shakedown_core::target::aws_error_text(&e),
                )
            })?;
        // No BillingModeSummary means the table was created PROVISIONED.
        let mode = d
            .table()
            .and_then(|t| t.billing_mode_summary())
            .and_then(|b| b.billing_mode())
            .map_or("PROVISIONED", |m| m.as_str());
        if mode == "PAY_PER_REQUEST" {
            continue;
        }
        let resource = format!("table/{table}");
        let targets = scaling
            .describe_scalable_targets()
            .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Dynamodb)
            .resource_ids(&resource)
            .send()
            .await
            .map_err(|e| {
                StepError::Infra(format!(
                    "application-autoscaling DescribeScalableTargets {resource}: {}",
                    shakedown_core::target::aws_error_text(&e)
                ))
            })?;
        let policies = scaling
            .describe_scaling_policies()
            .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Dynamodb)
            .resource_id(&resource)
            .send()
            .await
            .map_err(|e| {
                StepError::Infra(format!(
                    "application-autoscaling DescribeScalingPolicies {resource}: {}",
                    shakedown_core::target::aws_error_text(&e)
                ))
            })?;
        for dimension in [
            "dynamodb:table:ReadCapacityUnits",
            "dynamodb:table:WriteCapacityUnits",
        ] {
            let target = targets
                .scalable_targets()
                .iter()
                .any(|t| t.scalable_dimension().as_str() == dimension);
            let policy = policies
                .scaling_policies()
                .iter()
                .any(|p| p.scalable_dimension().as_str() == dimension);
            if !(target && policy) {
                problems.push(format!(
                    "{table}: {mode} without auto scaling of {dimension} (target {target}, policy {policy})"
                ));
            }
        }
    }
    crate::result::ensure(
        problems.is_empty(),
        format!(
            "{} tables on demand or auto scaled for read and write capacity",
            tables.len()
        ),
        problems.join("; "),
    )
}

/// `Then the trail "T" records the data events of the table "Users-{env}"`: an event
/// selector (basic or advanced) covers DynamoDB data events of that table.
#[then(regex = r#"^the trail "([^"]+)" records the data events of the table "([^"]+)"$"#)]
async fn trail_data_events(world: &mut AcceptWorld, name: String, table: String) -> StepResult {
    let name = world.render(&name)?;
    let table = world.render(&table)?;
    let arn = aws_sdk_dynamodb::Client::new(world.sdk()?)
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("the table {table}"),
                shakedown_core::target::aws_error_text(&e),
            )
        })?
        .table()
        .and_then(|t| t.table_arn())
        .unwrap_or_default()
        .to_owned();
    let out = aws_sdk_cloudtrail::Client::new(world.sdk()?)
        .get_event_selectors()
        .trail_name(&name)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("event selectors of the trail {name}"),
                shakedown_core::target::aws_error_text(&e),
            )
        })?;
    // Basic selectors: a DynamoDB data resource naming the table (or every table).
    let basic = out.event_selectors().iter().any(|s| {
        s.data_resources().iter().any(|r| {
            r.r#type() == Some("AWS::DynamoDB::Table")
                && r.values()
                    .iter()
                    .any(|v| v == &arn || v == "arn:aws:dynamodb")
        })
    });
    // Advanced selectors: resources.type = AWS::DynamoDB::Table, for this ARN or any.
    let advanced = out.advanced_event_selectors().iter().any(|s| {
        let fields = s.field_selectors();
        let typed = fields.iter().any(|f| {
            f.field() == "resources.type" && f.equals().iter().any(|v| v == "AWS::DynamoDB::Table")
        });
        let arn_fields: Vec<_> = fields
            .iter()
            .filter(|f| f.field() == "resources.ARN")
            .collect();
        typed
            && (arn_fields.is_empty()
                || arn_fields.iter().any(|f| {
                    f.equals().iter().any(|v| v == &arn)
                        || f.starts_with().iter().any(|p| arn.starts_with(p.as_str()))
                }))
    });
    crate::result::ensure(
        basic || advanced,
        format!("{name} records the data events of {table}"),
        format!(
            "{} event selectors, {} advanced; none covers {arn}",
            out.event_selectors().len(),
            out.advanced_event_selectors().len()
        ),
    )
}
