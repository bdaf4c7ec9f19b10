//! DynamoDB point-in-time restore as the rollback and DR runbooks describe it: restore to a
//! new table (latest restorable time, or a given time), compare its items with the source,
//! measure the duration against the documented RTO; the after-hook deletes the new table.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::primitives::DateTime;
use aws_sdk_dynamodb::types::AttributeValue;
use cucumber::{given, then, when};
use shakedown_core::target::aws_error_text;

use crate::result::{StepError, StepResult, ensure};
use crate::world::{AcceptWorld, Undo};

fn client(world: &AcceptWorld) -> Result<aws_sdk_dynamodb::Client, StepError> {
    Ok(aws_sdk_dynamodb::Client::new(world.sdk()?))
}

/// Delete a table (the after-hook's undo of a restore).
pub async fn delete_table(world: &AcceptWorld, name: &str) -> StepResult {
    client(world)?
        .delete_table()
        .table_name(name)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| StepError::mismatch(format!("DeleteTable {name}"), aws_error_text(&e)))
}

/// Delete one item by its string key (the after-hook's undo of a probe item).
pub async fn delete_item(world: &AcceptWorld, table: &str, key: &str, value: &str) -> StepResult {
    client(world)?
        .delete_item()
        .table_name(table)
        .key(key, AttributeValue::S(value.to_owned()))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            StepError::mismatch(
                format!("DeleteItem {table} {key}={value}"),
                aws_error_text(&e),
            )
        })
}

/// Write a probe item, so a restore has something to prove it kept; removed afterwards.
#[given(regex = r#"^a probe item is written to the table "([^"]+)"$"#)]
async fn probe_item(world: &mut AcceptWorld, table: String) -> StepResult {
    let table = world.render(&table)?;
    let key = world
        .facts()?
        .tables
        .iter()
        .find(|t| t.name == table)
        .map(|t| t.key.clone())
        .ok_or_else(|| {
            StepError::Usage(format!(
                "{table} is not a documented table of {}",
                world.system
            ))
        })?;
    let value = format!(
        "shakedown-probe-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%3f")
    );
    world.undo.push(Undo::DeleteItem {
        table: table.clone(),
        key: key.clone(),
        value: value.clone(),
    });
    client(world)?
        .put_item()
        .table_name(&table)
        .item(&key, AttributeValue::S(value))
        .item(
            "written_by",
            AttributeValue::S("shakedown acceptance".into()),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| StepError::mismatch(format!("PutItem {table}"), aws_error_text(&e)))?;
    // Point-in-time restores to "seconds ago" must see it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(())
}

/// Every item of a table as canonical JSON-ish strings (bounded: 10 pages).
async fn items(world: &AcceptWorld, table: &str) -> Result<BTreeSet<String>, StepError> {
    let db = client(world)?;
    let mut out = BTreeSet::new();
    let mut start = None;
    for _ in 0..10 {
        let page = db
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| StepError::mismatch(format!("Scan {table}"), aws_error_text(&e)))?;
        for item in page.items() {
            let sorted: std::collections::BTreeMap<_, _> = item.iter().collect();
            out.insert(format!("{sorted:?}"));
        }
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => break,
        }
    }
    Ok(out)
}

async fn restore(world: &mut AcceptWorld, source: String, at: Option<Duration>) -> StepResult {
    let source = world.render(&source)?;
    let stamp = chrono::Utc::now().format("%H%M%S%3f");
    let target = format!("{source}-restore-{stamp}");
    let before = items(world, &source).await?;
    let db = client(world)?;
    let mut req = db
        .restore_table_to_point_in_time()
        .source_table_name(&source)
        .target_table_name(&target);
    req = match at {
        None => req.use_latest_restorable_time(true),
        Some(ago) => {
            let when = std::time::SystemTime::now()
                .checked_sub(ago)
                .unwrap_or(std::time::UNIX_EPOCH);
            req.restore_date_time(DateTime::from(when))
        }
    };
    let started = Instant::now();
    // Registered before the call: a restore that half-happened is still cleaned up.
    world.undo.push(Undo::DeleteTable {
        name: target.clone(),
    });
    req.send().await.map_err(|e| {
        StepError::mismatch(
            format!("RestoreTableToPointInTime {source} → {target}"),
            aws_error_text(&e),
        )
    })?;
    // Wait until the new table is ACTIVE (bounded).
    let deadline = Instant::now() + Duration::from_secs(20 * 60);
    loop {
        let d = db
            .describe_table()
            .table_name(&target)
            .send()
            .await
            .map_err(|e| {
                StepError::mismatch(format!("DescribeTable {target}"), aws_error_text(&e))
            })?;
        let status = d
            .table()
            .and_then(|t| t.table_status())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        if status == "ACTIVE" {
            break;
        }
        if Instant::now() > deadline {
            return Err(StepError::mismatch(
                format!("{target} ACTIVE"),
                format!("still {status} after 20 minutes"),
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    world.saved.insert(
        "restore-seconds".into(),
        started.elapsed().as_secs_f64().to_string(),
    );
    world.saved.insert("restored-table".into(), target);
    world.saved.insert("source-table".into(), source);
    world
        .saved
        .insert("source-items".into(), before.len().to_string());
    world.saved.insert(
        "source-snapshot".into(),
        serde_json::to_string(&before).unwrap_or_default(),
    );
    Ok(())
}

#[when(regex = r#"^I restore the table "([^"]+)" to the latest restorable time as a new table$"#)]
async fn restore_latest(world: &mut AcceptWorld, source: String) -> StepResult {
    restore(world, source, None).await
}

#[when(regex = r#"^I restore the table "([^"]+)" to its state (\d+) seconds ago as a new table$"#)]
async fn restore_at(world: &mut AcceptWorld, source: String, seconds: u64) -> StepResult {
    restore(world, source, Some(Duration::from_secs(seconds))).await
}

#[then(regex = r"^the restored table holds every item of the source table$")]
async fn same_items(world: &mut AcceptWorld) -> StepResult {
    let restored = world.saved("restored-table")?.to_owned();
    let snapshot: BTreeSet<String> = serde_json::from_str(world.saved("source-snapshot")?)
        .map_err(|e| StepError::Usage(format!("snapshot: {e}")))?;
    let got = items(world, &restored).await?;
    let missing = snapshot.difference(&got).count();
    let extra = got.difference(&snapshot).count();
    ensure(
        missing == 0 && extra == 0 && !snapshot.is_empty(),
        format!(
            "the {} items of the source, no more, no fewer",
            snapshot.len()
        ),
        format!(
            "{} items in {restored}: {missing} missing, {extra} unexpected",
            got.len()
        ),
    )
}

#[then(regex = r"^the restore finished within the documented RTO of (\d+) (minutes|hours?)$")]
fn within_rto(world: &mut AcceptWorld, n: u64, unit: String) -> StepResult {
    let secs: f64 = world
        .saved("restore-seconds")?
        .parse()
        .map_err(|e| StepError::Usage(format!("restore-seconds: {e}")))?;
    let rto = if unit.starts_with("hour") {
        n * 3600
    } else {
        n * 60
    };
    ensure(
        secs <= rto as f64,
        format!("restore within the RTO of {n} {unit}"),
        format!("{secs:.1} s"),
    )
}

/// How long an export may take before the step gives up (AWS: minutes for small tables).
const EXPORT_DEADLINE: Duration = Duration::from_secs(20 * 60);

/// `When I export the table "T" to the bucket "B" under "P"`: ExportTableToPointInTime (which
/// needs point-in-time recovery on the table), polled until it leaves IN_PROGRESS. The
/// after-hook deletes what the export wrote.
#[when(regex = r#"^I export the table "([^"]+)" to the bucket "([^"]+)" under "([^"]+)"$"#)]
async fn export_table(
    world: &mut AcceptWorld,
    table: String,
    bucket: String,
    prefix: String,
) -> StepResult {
    let table = world.render(&table)?;
    let bucket = world.render(&bucket)?;
    let prefix = format!(
        "{}/{}",
        world.render(&prefix)?.trim_end_matches('/'),
        chrono::Utc::now().format("%Y%m%dT%H%M%S%3f")
    );
    let db = client(world)?;
    let backups = db
        .describe_continuous_backups()
        .table_name(&table)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("DescribeContinuousBackups {table}"),
                aws_error_text(&e),
            )
        })?;
    let pitr = backups
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    ensure(
        pitr == "ENABLED",
        format!("point-in-time recovery on {table} (an export needs it)"),
        format!("PointInTimeRecoveryStatus {pitr:?}"),
    )?;
    let arn = db
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .map_err(|e| StepError::mismatch(format!("DescribeTable {table}"), aws_error_text(&e)))?
        .table()
        .and_then(|t| t.table_arn())
        .map(str::to_owned)
        .ok_or_else(|| StepError::mismatch(format!("{table}'s ARN"), "DescribeTable gave none"))?;
    let before = items(world, &table).await?.len();
    world.undo.push(Undo::DeleteObjects {
        bucket: bucket.clone(),
        prefix: prefix.clone(),
    });
    let out = db
        .export_table_to_point_in_time()
        .table_arn(&arn)
        .s3_bucket(&bucket)
        .s3_prefix(&prefix)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("ExportTableToPointInTime {table} → s3://{bucket}/{prefix}"),
                aws_error_text(&e),
            )
        })?;
    let export_arn = out
        .export_description()
        .and_then(|d| d.export_arn())
        .map(str::to_owned)
        .ok_or_else(|| StepError::mismatch("an ExportArn", "ExportTableToPointInTime gave none"))?;
    let deadline = Instant::now() + EXPORT_DEADLINE;
    let mut wait = Duration::from_millis(250);
    let description = loop {
        let d = db
            .describe_export()
            .export_arn(&export_arn)
            .send()
            .await
            .map_err(|e| {
                StepError::mismatch(format!("DescribeExport {export_arn}"), aws_error_text(&e))
            })?;
        let Some(desc) = d.export_description().cloned() else {
            return Err(StepError::mismatch(
                "an export description",
                "DescribeExport gave none",
            ));
        };
        let status = desc
            .export_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        if status != "IN_PROGRESS" {
            break desc;
        }
        if Instant::now() > deadline {
            return Err(StepError::mismatch(
                "the export COMPLETED",
                "still IN_PROGRESS after 20 minutes",
            ));
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(15));
    };
    let status = description
        .export_status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    ensure(
        status == "COMPLETED",
        "the export COMPLETED",
        format!(
            "{status}: {} {}",
            description.failure_code().unwrap_or_default(),
            description.failure_message().unwrap_or_default()
        ),
    )?;
    world.saved.insert("export-bucket".into(), bucket);
    world.saved.insert("export-prefix".into(), prefix);
    world
        .saved
        .insert("export-table-items".into(), before.to_string());
    world.saved.insert(
        "export-item-count".into(),
        description.item_count().unwrap_or(-1).to_string(),
    );
    Ok(())
}

/// `Then the export holds every item of the table`: the export's ItemCount and the records
/// in its gzipped data files (`AWSDynamoDB/<id>/data/*.json.gz`, one item a line) both equal
/// the table's item count when the export started.
#[then(regex = r"^the export holds every item of the table$")]
async fn export_complete(world: &mut AcceptWorld) -> StepResult {
    use std::io::Read as _;
    let bucket = world.saved("export-bucket")?.to_owned();
    let prefix = world.saved("export-prefix")?.to_owned();
    let want: i64 = world.saved("export-table-items")?.parse().unwrap_or(-1);
    let counted: i64 = world.saved("export-item-count")?.parse().unwrap_or(-1);
    let s3 = aws_sdk_s3::Client::new(world.sdk()?);
    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(&prefix)
        .max_keys(1000)
        .send()
        .await
        .map_err(|e| {
            StepError::mismatch(
                format!("ListObjectsV2 s3://{bucket}/{prefix}"),
                aws_error_text(&e),
            )
        })?;
    let mut records = 0i64;
    let mut files = 0;
    for object in listed.contents() {
        let Some(key) = object.key() else { continue };
        if !key.contains("/data/") || !key.ends_with(".gz") {
            continue;
        }
        files += 1;
        let body = s3
            .get_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| StepError::mismatch(format!("GetObject {key}"), aws_error_text(&e)))?
            .body
            .collect()
            .await
            .map_err(|e| StepError::mismatch(format!("reading {key}"), e.to_string()))?
            .into_bytes();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .take(64 * 1024 * 1024)
            .read_to_string(&mut text)
            .map_err(|e| {
                StepError::mismatch(format!("{key} is gzipped JSON lines"), e.to_string())
            })?;
        records += text.lines().filter(|l| !l.trim().is_empty()).count() as i64;
    }
    ensure(
        counted == want && records == want && files > 0,
        format!("{want} items: the export's ItemCount and its data files' records"),
        format!("ItemCount {counted}, {records} records in {files} data files"),
    )
}
