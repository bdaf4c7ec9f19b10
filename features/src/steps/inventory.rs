//! What an environment holds, as the runbooks list it: functions, tables and buckets by name
//! and count, how the tables bill, objects a request stored and items a request wrote.

use aws_sdk_dynamodb::types::AttributeValue;
use cucumber::then;
use shakedown_core::target::aws_error_text;

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

fn infra<E: std::error::Error + 'static, R: std::fmt::Debug>(
    call: &str,
    e: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> StepError {
    StepError::Infra(format!("{call}: {}", aws_error_text(e)))
}

#[then(regex = r#"^the Lambda functions "([^"]+)" exist and are Active$"#)]
async fn functions_active(world: &mut AcceptWorld, list: String) -> StepResult {
    let lambda = aws_sdk_lambda::Client::new(world.sdk()?);
    let mut wrong = Vec::new();
    let wanted = world.render_list(&list)?;
    for name in &wanted {
        match lambda.get_function().function_name(name).send().await {
            Ok(out) => {
                let state = out
                    .configuration()
                    .and_then(|c| c.state())
                    .map(|s| s.as_str().to_owned());
                if state.as_deref() != Some("Active") {
                    wrong.push(format!("{name}: state {state:?}"));
                }
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                wrong.push(format!("{name}: not found"));
            }
            Err(e) => {
                return Err(StepError::Infra(format!(
                    "lambda GetFunction {name}: {}",
                    aws_error_text(&e)
                )));
            }
        }
    }
    ensure(
        wrong.is_empty(),
        format!("{} functions, each Active", wanted.len()),
        wrong.join("; "),
    )
}

/// Every table whose name starts with `prefix` and ends with `suffix`.
async fn tables_like(
    world: &AcceptWorld,
    prefix: &str,
    suffix: &str,
) -> Result<Vec<String>, StepError> {
    let ddb = aws_sdk_dynamodb::Client::new(world.sdk()?);
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = ddb
            .list_tables()
            .set_exclusive_start_table_name(start)
            .send()
            .await
            .map_err(|e| infra("dynamodb ListTables", &e))?;
        out.extend(
            page.table_names()
                .iter()
                .filter(|t| t.starts_with(prefix) && t.ends_with(suffix))
                .cloned(),
        );
        start = page.last_evaluated_table_name().map(str::to_owned);
        if start.is_none() {
            return Ok(out);
        }
    }
}

#[then(
    regex = r#"^there (?:is|are) (\d+) tables? named "([^"]*)\*([^"]*)", including "([^"]+)", each ACTIVE and billed (PAY_PER_REQUEST|PROVISIONED)$"#
)]
async fn tables_counted(
    world: &mut AcceptWorld,
    count: usize,
    prefix: String,
    suffix: String,
    named: String,
    billing: String,
) -> StepResult {
    let (prefix, suffix, named) = (
        world.render(&prefix)?,
        world.render(&suffix)?,
        world.render(&named)?,
    );
    let tables = tables_like(world, &prefix, &suffix).await?;
    // Restore targets of a running scenario are not the environment's tables.
    let tables: Vec<String> = tables
        .into_iter()
        .filter(|t| !t.contains("-restore-"))
        .collect();
    ensure(
        tables.len() == count && tables.contains(&named),
        format!("{count} tables {prefix}*{suffix} including {named}"),
        format!("{tables:?}"),
    )?;
    let ddb = aws_sdk_dynamodb::Client::new(world.sdk()?);
    let mut wrong = Vec::new();
    for table in &tables {
        let out = ddb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| infra("dynamodb DescribeTable", &e))?;
        let t = out.table();
        let status = t
            .and_then(|t| t.table_status())
            .map(|s| s.as_str().to_owned());
        // A table created on demand may omit the summary only if it was never provisioned.
        let mode = t
            .and_then(|t| t.billing_mode_summary())
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str().to_owned())
            .unwrap_or_else(|| "PROVISIONED".to_owned());
        if status.as_deref() != Some("ACTIVE") || mode != billing {
            wrong.push(format!("{table}: {status:?}, {mode}"));
        }
    }
    ensure(
        wrong.is_empty(),
        format!("every table ACTIVE and {billing}"),
        wrong.join("; "),
    )
}

#[then(
    regex = r#"^there (?:is|are) (\d+) buckets? named "([^"]*)\*([^"]*)", including "([^"]+)"$"#
)]
async fn buckets_counted(
    world: &mut AcceptWorld,
    count: usize,
    prefix: String,
    suffix: String,
    named: String,
) -> StepResult {
    let (prefix, suffix, named) = (
        world.render(&prefix)?,
        world.render(&suffix)?,
        world.render(&named)?,
    );
    let buckets: Vec<String> = bucket_names(world)
        .await?
        .into_iter()
        .filter(|b| b.starts_with(&prefix) && b.ends_with(&suffix))
        .collect();
    ensure(
        buckets.len() == count && buckets.contains(&named),
        format!("{count} buckets {prefix}*{suffix} including {named}"),
        format!("{buckets:?}"),
    )
}

/// The account's bucket names (ListBuckets).
async fn bucket_names(world: &AcceptWorld) -> Result<Vec<String>, StepError> {
    let out = aws_sdk_s3::Client::new(world.sdk()?)
        .list_buckets()
        .send()
        .await
        .map_err(|e| StepError::Infra(format!("s3 ListBuckets: {}", aws_error_text(&e))))?;
    Ok(out
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect())
}

/// `Then the buckets "a, b" exist`: each name is among the account's buckets.
#[then(regex = r#"^the buckets "([^"]+)" exist$"#)]
async fn buckets_exist(world: &mut AcceptWorld, list: String) -> StepResult {
    let names = world.render_list(&list)?;
    let have = bucket_names(world).await?;
    let missing: Vec<&String> = names.iter().filter(|n| !have.contains(n)).collect();
    ensure(
        missing.is_empty() && !names.is_empty(),
        format!("buckets {}", names.join(", ")),
        format!("missing {missing:?}"),
    )
}

#[then(regex = r#"^the after-hook deletes the objects under "([^"]+)" in the bucket "([^"]+)"$"#)]
fn undo_objects(world: &mut AcceptWorld, prefix: String, bucket: String) -> StepResult {
    let (bucket, prefix) = (world.render(&bucket)?, world.render(&prefix)?);
    if prefix.is_empty() {
        return Err(StepError::Usage(
            "refusing to delete a whole bucket: give a prefix".into(),
        ));
    }
    world
        .undo
        .push(crate::world::Undo::DeleteObjects { bucket, prefix });
    Ok(())
}

/// Most objects one undo deletes (a scenario makes a handful).
const MAX_UNDO_OBJECTS: usize = 1_000;

/// Delete the objects under `prefix` (the after-hook).
pub async fn delete_objects(world: &AcceptWorld, bucket: &str, prefix: &str) -> StepResult {
    let s3 = aws_sdk_s3::Client::new(world.sdk()?);
    let out = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .max_keys(MAX_UNDO_OBJECTS as i32)
        .send()
        .await
        .map_err(|e| {
            StepError::Infra(format!("s3 ListObjectsV2 {bucket}: {}", aws_error_text(&e)))
        })?;
    for key in out.contents().iter().filter_map(|o| o.key()) {
        s3.delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                StepError::Infra(format!(
                    "s3 DeleteObject {bucket}/{key}: {}",
                    aws_error_text(&e)
                ))
            })?;
    }
    Ok(())
}

#[then(regex = r#"^the bucket "([^"]+)" holds (\d+) objects? under "([^"]+)"$"#)]
async fn objects_under(
    world: &mut AcceptWorld,
    bucket: String,
    count: usize,
    prefix: String,
) -> StepResult {
    let (bucket, prefix) = (world.render(&bucket)?, world.render(&prefix)?);
    let s3 = aws_sdk_s3::Client::new(world.sdk()?);
    let out = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(&prefix)
        .send()
        .await
        .map_err(|e| {
            StepError::Infra(format!("s3 ListObjectsV2 {bucket}: {}", aws_error_text(&e)))
        })?;
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    ensure(
        keys.len() == count,
        format!("{count} objects under s3://{bucket}/{prefix}"),
        format!("{} objects: {keys:?}", keys.len()),
    )
}

#[then(regex = r#"^the after-hook deletes the "([^"]+)" item whose "([^"]+)" is "([^"]*)"$"#)]
fn undo_item(world: &mut AcceptWorld, table: String, key: String, value: String) -> StepResult {
    let table = world.render(&table)?;
    let value = world.render(&value)?;
    world
        .undo
        .push(crate::world::Undo::DeleteItem { table, key, value });
    Ok(())
}

#[then(regex = r#"^the table "([^"]+)" (has an|has no) item whose "([^"]+)" is "([^"]*)"$"#)]
async fn item_by_key(
    world: &mut AcceptWorld,
    table: String,
    has: String,
    key: String,
    value: String,
) -> StepResult {
    let table = world.render(&table)?;
    let value = world.render(&value)?;
    let ddb = aws_sdk_dynamodb::Client::new(world.sdk()?);
    let out = ddb
        .get_item()
        .table_name(&table)
        .key(&key, AttributeValue::S(value.clone()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| infra("dynamodb GetItem", &e))?;
    let want = has == "has an";
    ensure(
        out.item().is_some() == want,
        format!(
            "{table} {} item {key} = {value:?}",
            if want { "holds an" } else { "holds no" }
        ),
        match out.item() {
            None => "no such item".to_owned(),
            Some(item) => format!("the item is there with {} attributes", item.len()),
        },
    )
}

#[then(
    regex = r#"^the table "([^"]+)" has the item whose "([^"]+)" is the stream's ([a-zA-Z]+), with "([^"]+)" = "([^"]*)"$"#
)]
async fn item_of_stream(
    world: &mut AcceptWorld,
    table: String,
    key: String,
    field: String,
    attribute: String,
    value: String,
) -> StepResult {
    let table = world.render(&table)?;
    let id = world
        .events
        .last()
        .and_then(|e| e.get(&field))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| StepError::Usage(format!("the last stream event carries no {field}")))?;
    let ddb = aws_sdk_dynamodb::Client::new(world.sdk()?);
    let out = ddb
        .get_item()
        .table_name(&table)
        .key(&key, AttributeValue::S(id.clone()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| infra("dynamodb GetItem", &e))?;
    let observed = out.item().and_then(|i| i.get(&attribute)).map(|v| match v {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.clone(),
        other => format!("{other:?}"),
    });
    ensure(
        observed.as_deref() == Some(value.as_str()),
        format!("{table}[{key} = {id}].{attribute} = {value:?}"),
        match &out.item {
            None => "no such item".to_owned(),
            Some(_) => format!("{attribute} = {observed:?}"),
        },
    )
}
