//! The database promises of Sergas' Deployment and Disaster Recovery sections, read from
//! PostgreSQL itself and from what its backups leave (the profile's `database = { url, user,
//! password-env, migrations, backups, backup-interval, restore-command }`):
//!
//! - the schema is at the release's newest migration (`schema_migrations`);
//! - WAL archiving works (`archive_mode`, `pg_stat_archiver`) and bounds the RPO
//!   (`archive_timeout`, the newest archived segment's age);
//! - the newest `backup-database.sh` dump is recent, not empty, and `pg_restore` reads it;
//! - `restore-database.sh` restores to a point in time, or the newest dump, into a scratch
//!   server the after-hook stops — never the live one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cucumber::{given, then, when};
use shakedown_core::postgres::{Client, ToSql};
use shakedown_core::profile::{DatabaseProfile, Secret};

use crate::result::{StepError, StepResult, ensure};
use crate::steps::http::Caller;
use crate::world::{AcceptWorld, Undo};

/// Longest one query may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a restore may take (the documented RTO is 15 minutes; a drill that needs more
/// fails on its own step).
const RESTORE_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest `pg_restore --list` or a data listing may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

fn profile(world: &AcceptWorld) -> Result<DatabaseProfile, StepError> {
    world.target()?.profile.database.clone().ok_or_else(|| {
        StepError::Usage(format!(
            "the profile's system {} has no `database = {{ url, user, ... }}`",
            world.system
        ))
    })
}

/// A setting of the profile's `database` the step needs, or a usage error naming it.
fn required<T: Clone>(value: &Option<T>, key: &str) -> Result<T, StepError> {
    value
        .clone()
        .ok_or_else(|| StepError::Usage(format!("the profile's database has no `{key}`")))
}

fn password(db: &DatabaseProfile) -> Result<Option<Secret>, StepError> {
    db.password_env
        .as_deref()
        .map(|var| {
            Secret::from_env(var, "database.password-env")
                .map_err(|e| StepError::Usage(e.to_string()))
        })
        .transpose()
}

async fn connect_to(db: &DatabaseProfile, url: &str) -> Result<Client, StepError> {
    let password = password(db)?;
    shakedown_core::postgres::connect(
        url,
        Some(&db.user),
        password.as_ref().map(Secret::expose),
        QUERY_TIMEOUT,
    )
    .await
    .map_err(|e| StepError::Infra(e.to_string()))
}

async fn connect(world: &AcceptWorld) -> Result<Client, StepError> {
    let db = profile(world)?;
    connect_to(&db, &db.url).await
}

async fn query(
    client: &Client,
    what: &str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<shakedown_core::postgres::Row>, StepError> {
    shakedown_core::postgres::query(client, what, sql, params, QUERY_TIMEOUT)
        .await
        .map_err(|e| StepError::Infra(e.to_string()))
}

/// A setting as text (`SHOW`).
async fn setting(client: &Client, name: &str) -> Result<String, StepError> {
    let rows = query(
        client,
        &format!("read setting {name}"),
        "SELECT setting FROM pg_settings WHERE name = $1",
        &[&name],
    )
    .await?;
    Ok(rows
        .first()
        .and_then(|r| r.get::<_, Option<String>>(0))
        .unwrap_or_default())
}

/// `pg_stat_archiver`: counts, and the ages (s) of the last archived and last failed segment.
#[derive(Debug)]
struct Archiver {
    archived: i64,
    failed: i64,
    last_archived_wal: Option<String>,
    archived_age_s: Option<f64>,
    failed_age_s: Option<f64>,
}

async fn archiver(client: &Client) -> Result<Archiver, StepError> {
    let rows = query(
        client,
        "read pg_stat_archiver",
        "SELECT archived_count, failed_count, last_archived_wal, \
         extract(epoch FROM now() - last_archived_time)::float8, \
         extract(epoch FROM now() - last_failed_time)::float8 FROM pg_stat_archiver",
        &[],
    )
    .await?;
    let row = rows
        .first()
        .ok_or_else(|| StepError::Infra("pg_stat_archiver returned no row".into()))?;
    Ok(Archiver {
        archived: row.get(0),
        failed: row.get(1),
        last_archived_wal: row.get(2),
        archived_age_s: row.get(3),
        failed_age_s: row.get(4),
    })
}

fn age(seconds: Option<f64>) -> String {
    seconds.map_or_else(
        || "never".to_owned(),
        |s| format!("{:.0} s ago", s.max(0.0)),
    )
}

/// `Then the database credentials stored in "sergas/{env}/database" log in to the database`
/// — the stored secret is the live one (its `username` and `password`, never shown).
#[then(regex = r#"^the database credentials stored in "([^"]+)" log in to the database$"#)]
async fn stored_credentials_live(world: &mut AcceptWorld, name: String) -> StepResult {
    let name = world.render(&name)?;
    let db = profile(world)?;
    let value = crate::steps::identity::stored_json(world, &name).await?;
    let field = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let (Some(user), Some(password)) = (field("username"), field("password")) else {
        return Err(StepError::mismatch(
            format!("{name} with username and password"),
            "one of them missing",
        ));
    };
    match shakedown_core::postgres::connect(&db.url, Some(&user), Some(&password), QUERY_TIMEOUT)
        .await
    {
        Ok(_) => Ok(()),
        Err(e @ shakedown_core::postgres::PgError::Connect { .. }) => Err(StepError::mismatch(
            format!("the credentials in {name} log in to the database as {user}"),
            e.to_string(),
        )),
        Err(e) => Err(StepError::Infra(e.to_string())),
    }
}

/// `Then the database schema is at the release's newest migration`
#[then(regex = r"^the database schema is at the release's newest migration$")]
async fn schema_at_head(world: &mut AcceptWorld) -> StepResult {
    let db = profile(world)?;
    let dir = required(&db.migrations, "migrations")?;
    let files = shakedown_core::postgres::migrations(Path::new(&dir)).map_err(StepError::Usage)?;
    let head = files
        .last()
        .ok_or_else(|| StepError::Usage(format!("no migration in {dir}")))?;
    let client = connect_to(&db, &db.url).await?;
    let rows = query(
        &client,
        "read schema_migrations",
        &format!(
            "SELECT version FROM {} ORDER BY version",
            shakedown_core::postgres::MIGRATIONS_TABLE
        ),
        &[],
    )
    .await
    .map_err(|e| {
        StepError::mismatch(
            "a schema_migrations table recording the applied migrations",
            e.to_string(),
        )
    })?;
    let applied: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    let missing: Vec<String> = files
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .map(|m| format!("{:03}_{}", m.version, m.name))
        .collect();
    ensure(
        missing.is_empty(),
        format!(
            "every migration of the release applied, up to {:03}_{} (head)",
            head.version, head.name
        ),
        format!(
            "database at version {}; not applied: {}",
            applied
                .last()
                .map_or_else(|| "none".to_owned(), ToString::to_string),
            missing.join(", ")
        ),
    )
}

/// `Then PostgreSQL archives its WAL: archive_mode is on, no archive attempt fails, and a
/// segment was archived within 15 minutes`
#[then(
    regex = r"^PostgreSQL archives its WAL: archive_mode is on, no archive attempt fails, and a segment was archived within (\d+) minutes$"
)]
async fn archives_wal(world: &mut AcceptWorld, minutes: u64) -> StepResult {
    let client = connect(world).await?;
    let mode = setting(&client, "archive_mode").await?;
    ensure(
        mode == "on" || mode == "always",
        "archive_mode = on",
        format!("archive_mode = {mode}"),
    )?;
    let first = archiver(&client).await?;
    // Failures show as a count that grows, or a last failure newer than the last success.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let second = archiver(&client).await?;
    let failing_now = match (second.failed_age_s, second.archived_age_s) {
        (Some(failed), Some(archived)) => failed < archived,
        (Some(_), None) => true,
        _ => false,
    };
    ensure(
        second.failed == first.failed && !failing_now,
        "no failed archive attempt (pg_stat_archiver.failed_count steady, the last attempt a success)",
        format!(
            "failed_count {} → {} in 2 s; last failure {}, last success {}",
            first.failed,
            second.failed,
            age(second.failed_age_s),
            age(second.archived_age_s)
        ),
    )?;
    ensure(
        second
            .archived_age_s
            .is_some_and(|a| a <= (minutes * 60) as f64),
        format!("a WAL segment archived within the last {minutes} minutes"),
        format!(
            "{} segment(s) archived, the last {}",
            second.archived,
            age(second.archived_age_s)
        ),
    )
}

/// `Then the newest recoverable point is at most 15 minutes old: archive_timeout is at most
/// 15 minutes and a segment was archived within 15 minutes`
#[then(
    regex = r"^the newest recoverable point is at most (\d+) minutes old: archive_timeout is at most that and a segment was archived within it$"
)]
async fn rpo(world: &mut AcceptWorld, minutes: u64) -> StepResult {
    let client = connect(world).await?;
    let timeout_s: u64 = setting(&client, "archive_timeout")
        .await?
        .parse()
        .unwrap_or(0);
    ensure(
        timeout_s > 0 && timeout_s <= minutes * 60,
        format!(
            "archive_timeout between 1 s and {minutes} min (a quiet database still closes a segment within the RPO)"
        ),
        if timeout_s == 0 {
            "archive_timeout = 0: a segment is archived only when full".to_owned()
        } else {
            format!("archive_timeout = {timeout_s} s")
        },
    )?;
    let now = archiver(&client).await?;
    ensure(
        now.archived_age_s
            .is_some_and(|a| a <= (minutes * 60) as f64),
        format!("the newest archived WAL segment at most {minutes} minutes old"),
        format!("the last archived {}", age(now.archived_age_s)),
    )
}

/// `Then the newest database backup is younger than the backup interval, not empty, and
/// pg_restore reads it`
#[then(
    regex = r"^the newest database backup is younger than the backup interval, not empty, and pg_restore reads it$"
)]
async fn newest_backup_readable(world: &mut AcceptWorld) -> StepResult {
    let db = profile(world)?;
    let dir = required(&db.backups, "backups")?;
    let interval = db.backup_interval.unwrap_or(Duration::from_secs(24 * 3600));
    let (path, modified, len) = newest_dump(Path::new(&dir))?;
    let age = modified.elapsed().unwrap_or_default();
    ensure(
        age <= interval,
        format!("a backup younger than {}", span(interval)),
        format!("the newest, {}, is {} old", path.display(), span(age)),
    )?;
    ensure(
        len > 0,
        "a non-empty backup",
        format!("{} is empty", path.display()),
    )?;
    let out = pg_restore(&["--list"], &path).await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure(
        out.status.success(),
        format!("pg_restore --list reads {}", path.display()),
        format!("{}: {}", out.status, stderr.trim()),
    )?;
    let listing = String::from_utf8_lossy(&out.stdout);
    ensure(
        listing.contains("TABLE DATA"),
        format!("{} holds table data", path.display()),
        "no TABLE DATA entry in its table of contents",
    )
}

/// `Then every table of the database was vacuumed within 7 days` (by VACUUM or autovacuum:
/// the weekly maintenance's vacuum, read from `pg_stat_user_tables`).
#[then(regex = r"^every table of the database was vacuumed within (\d+) days$")]
async fn vacuumed(world: &mut AcceptWorld, days: u64) -> StepResult {
    let client = connect(world).await?;
    let rows = query(
        &client,
        "read pg_stat_user_tables",
        "SELECT schemaname || '.' || relname, \
         extract(epoch FROM now() - greatest(last_vacuum, last_autovacuum))::float8 \
         FROM pg_stat_user_tables ORDER BY 1",
        &[],
    )
    .await?;
    ensure(
        !rows.is_empty(),
        "the database's tables in pg_stat_user_tables",
        "no user table",
    )?;
    let limit = (days * 86_400) as f64;
    let overdue: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            let table: String = r.get(0);
            let since: Option<f64> = r.get(1);
            match since {
                Some(s) if s <= limit => None,
                Some(s) => Some(format!("{table} {:.1} days ago", s / 86_400.0)),
                None => Some(format!("{table} never")),
            }
        })
        .collect();
    ensure(
        overdue.is_empty(),
        format!(
            "all {} tables vacuumed within {days} days (weekly maintenance)",
            rows.len()
        ),
        format!("last vacuumed: {}", overdue.join(", ")),
    )
}

/// `Then no database backup is older than the backup retention` (rotation deletes them).
#[then(regex = r"^no database backup is older than the backup retention$")]
async fn rotated(world: &mut AcceptWorld) -> StepResult {
    let db = profile(world)?;
    let dir = required(&db.backups, "backups")?;
    let retention = required(&db.backup_retention, "backup-retention")?;
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| StepError::Infra(format!("read backups {dir}: {e}")))?;
    let mut kept = 0;
    let mut stale = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "dump") {
            continue;
        }
        kept += 1;
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| m.elapsed().ok())
            .unwrap_or_default();
        if age > retention {
            stale.push(format!("{} ({} old)", path.display(), span(age)));
        }
    }
    ensure(
        stale.is_empty(),
        format!(
            "every backup younger than the {} retention ({kept} kept)",
            span(retention)
        ),
        format!("past retention: {}", stale.join(", ")),
    )
}

/// `Given the newest full backup is younger than 31 days` — the base backups' own record of
/// when they started (`backup_label`'s `START TIME`), not a file's time.
#[given(regex = r"^the newest full backup is younger than (\d+) days$")]
async fn full_backup_recent(world: &mut AcceptWorld, days: u64) -> StepResult {
    let db = profile(world)?;
    let dir = required(&db.full_backups, "full-backups")?;
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| StepError::Infra(format!("read full backups {dir}: {e}")))?;
    let newest = entries
        .flatten()
        .filter_map(|e| {
            let label = std::fs::read_to_string(e.path().join("backup_label")).ok()?;
            Some((label_start(&label)?, e.path()))
        })
        .max_by_key(|(start, _)| *start);
    let Some((start, path)) = newest else {
        return Err(StepError::mismatch(
            "at least one full backup (a directory with a backup_label)",
            format!("none in {dir}"),
        ));
    };
    let age = chrono::Utc::now() - start;
    ensure(
        age <= chrono::Duration::days(days as i64),
        format!("a full backup started within the last {days} days"),
        format!(
            "the newest, {}, started {}",
            path.display(),
            start.to_rfc3339()
        ),
    )
}

/// `START TIME: 2026-12-01 02:37:46 UTC` of a `backup_label`.
fn label_start(label: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let value = label
        .lines()
        .find_map(|l| l.strip_prefix("START TIME: "))?
        .trim()
        .trim_end_matches(" UTC");
    chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

/// `90 s`, `12.5 min`, `26.0 h`.
fn span(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else if s < 3.0 * 86_400.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86_400.0)
    }
}

/// The newest `*.dump` of `dir` (by modification time), its time and size.
fn newest_dump(dir: &Path) -> Result<(PathBuf, std::time::SystemTime, u64), StepError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| StepError::Infra(format!("read backups {}: {e}", dir.display())))?;
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "dump"))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((e.path(), meta.modified().ok()?, meta.len()))
        })
        .max_by_key(|(_, modified, _)| *modified)
        .ok_or_else(|| {
            StepError::mismatch(
                "at least one database backup (*.dump)",
                format!("none in {}", dir.display()),
            )
        })
}

/// `pg_restore ARGS FILE`, bounded by [`TOOL_TIMEOUT`].
async fn pg_restore(args: &[&str], file: &Path) -> Result<std::process::Output, StepError> {
    let program = pg_program("pg_restore")?;
    let mut cmd = tokio::process::Command::new(&program);
    cmd.args(args)
        .arg(file)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    tokio::time::timeout(TOOL_TIMEOUT, cmd.output())
        .await
        .map_err(|_| {
            StepError::Infra(format!(
                "pg_restore {} {} hung",
                args.join(" "),
                file.display()
            ))
        })?
        .map_err(|e| StepError::Infra(format!("run {}: {e}", program.display())))
}

fn pg_program(name: &str) -> Result<PathBuf, StepError> {
    shakedown_core::postgres::program(name)
        .or_else(|e| which(name).ok_or(e))
        .map_err(StepError::Infra)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `When the restore point is taken` — a moment strictly between what was written before
/// and what is written after (commit times have microseconds; a second either side).
#[when(regex = r"^the restore point is taken$")]
async fn restore_point(world: &mut AcceptWorld) -> StepResult {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    world.saved.insert("restore-point".into(), at);
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(())
}

/// `When the database's newest changes are archived` — close the current WAL segment
/// (`pg_switch_wal`, archive-wal.sh's duty) and wait until the archiver has it.
#[when(regex = r"^the database's newest changes are archived$")]
async fn archive_now(world: &mut AcceptWorld) -> StepResult {
    archive_current(world).await
}

async fn archive_current(world: &AcceptWorld) -> StepResult {
    let client = connect(world).await?;
    let before = archiver(&client).await?;
    let rows = query(
        &client,
        "pg_switch_wal",
        "SELECT pg_walfile_name(pg_switch_wal())",
        &[],
    )
    .await?;
    let segment: String = rows
        .first()
        .map(|r| r.get(0))
        .ok_or_else(|| StepError::Infra("pg_switch_wal returned no row".into()))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = archiver(&client).await?;
        // Segment names sort in WAL order (timeline first).
        if now
            .last_archived_wal
            .as_deref()
            .is_some_and(|last| last >= segment.as_str())
        {
            return Ok(());
        }
        // A failure after the switch, newer than the last success: the archiver is failing
        // (it retries, but a drill need not wait for that to be clear).
        let failing = now.failed > before.failed
            && match (now.failed_age_s, now.archived_age_s) {
                (Some(failed), Some(archived)) => failed < archived,
                (Some(_), None) => true,
                _ => false,
            };
        if failing || tokio::time::Instant::now() > deadline {
            return Err(StepError::mismatch(
                format!("WAL segment {segment} archived within 30 s"),
                format!(
                    "the last archived is {}; {} failed attempt(s), the last {}",
                    now.last_archived_wal.as_deref().unwrap_or("none"),
                    now.failed,
                    age(now.failed_age_s)
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Run one of the profile's drill commands (`loss-command`, `recover-command`).
async fn drill(command: &[String], what: &str, timeout: Duration) -> Result<String, StepError> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| StepError::Usage(format!("an empty {what}")))?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(timeout, cmd.output())
        .await
        .map_err(|_| {
            StepError::mismatch(
                format!("the {what} finishes within {} s", timeout.as_secs()),
                "still running; stopped",
            )
        })?
        .map_err(|e| StepError::Infra(format!("run the {what} `{}`: {e}", command.join(" "))))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(StepError::mismatch(
            format!("the {what} `{}` succeeds", command.join(" ")),
            format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ))
    }
}

/// `When the live database is lost` — a DR drill's outage: the newest changes archived
/// first (what a 15-minute RPO allows to lose is not the point here), then the profile's
/// loss command; the outage starts now, and the API must say its database is down.
#[when(regex = r"^the live database is lost$")]
async fn lose(world: &mut AcceptWorld) -> StepResult {
    let db = profile(world)?;
    let command = required(&db.loss_command, "loss-command")?;
    archive_current(world).await?;
    world.saved.insert(
        "outage-start-ms".into(),
        chrono::Utc::now().timestamp_millis().to_string(),
    );
    // From here on the after-hook recovers the database if the scenario stops early.
    world.undo.push(Undo::RecoverDatabase);
    drill(&command, "loss-command", Duration::from_secs(120)).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        get(world, "/health", Caller::Anonymous).await?;
        let ex = world.response()?;
        let database = serde_json::from_str::<serde_json::Value>(&ex.body)
            .ok()
            .and_then(|v| {
                v.pointer("/checks/database")
                    .and_then(|d| d.as_str())
                    .map(str::to_owned)
            });
        if database.as_deref() != Some("ok") {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(StepError::mismatch(
                "GET /health reports the lost database (checks.database not ok)",
                format!("{} {}", ex.status, trim_body(&ex.body)),
            ));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// `GET path` as `caller`; the exchange becomes the world's last response.
async fn get(world: &mut AcceptWorld, path: &str, caller: Caller) -> StepResult {
    crate::steps::http::send(world, "GET", path, caller, None, &[], None).await
}

fn trim_body(body: &str) -> String {
    body.chars().take(300).collect()
}

/// `When the live database is recovered from backup` — the profile's recover command
/// (restore-from-backup.sh), bounded by the RTO.
#[when(regex = r"^the live database is recovered from backup$")]
async fn recover(world: &mut AcceptWorld) -> StepResult {
    recover_live(world).await?;
    world.undo.retain(|u| !matches!(u, Undo::RecoverDatabase));
    Ok(())
}

/// Run the profile's recover command (the step, and the after-hook of a drill cut short).
pub async fn recover_live(world: &AcceptWorld) -> StepResult {
    let db = profile(world)?;
    let command = required(&db.recover_command, "recover-command")?;
    drill(&command, "recover-command", Duration::from_secs(15 * 60))
        .await
        .map(|said| tracing::info!(%said, "database recovered"))
}

/// `Then the API is healthy and serves accounts within 15 minutes of the outage's start`
#[then(
    regex = r"^the API is healthy and serves accounts within (\d+) minutes of the outage's start$"
)]
async fn back_within(world: &mut AcceptWorld, minutes: i64) -> StepResult {
    let start: i64 = world
        .saved("outage-start-ms")?
        .parse()
        .map_err(|_| StepError::Usage("no outage started".into()))?;
    let budget_ms = minutes * 60_000;
    loop {
        get(world, "/health", Caller::Anonymous).await?;
        let healthy = world.response()?.status.is_success();
        let serving = if healthy {
            get(world, "/api/v1/accounts", Caller::TestUser).await?;
            world.response()?.status.is_success()
        } else {
            false
        };
        let elapsed = chrono::Utc::now().timestamp_millis() - start;
        if healthy && serving {
            world.saved.insert(
                "rto-seconds".into(),
                format!("{:.1}", elapsed as f64 / 1000.0),
            );
            return ensure(
                elapsed <= budget_ms,
                format!("healthy and serving within {minutes} minutes of the outage"),
                format!("after {:.1} s", elapsed as f64 / 1000.0),
            );
        }
        if elapsed > budget_ms {
            let ex = world.response()?;
            return Err(StepError::mismatch(
                format!("healthy and serving within {minutes} minutes of the outage"),
                format!(
                    "still not after {:.0} s: {} {}",
                    elapsed as f64 / 1000.0,
                    ex.status,
                    trim_body(&ex.body)
                ),
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `When the database is restored to the restore point into a scratch server` /
/// `When the newest database backup is restored into a scratch server`
#[when(
    regex = r"^the (database is restored to the restore point|newest database backup is restored) into a scratch server$"
)]
async fn restore(world: &mut AcceptWorld, what: String) -> StepResult {
    let db = profile(world)?;
    let target = if what.starts_with("database") {
        Some(world.saved("restore-point")?.to_owned())
    } else {
        None
    };
    let command = required(&db.restore_command, "restore-command")?;
    // Below the ephemeral range: an outgoing connection cannot take it before the
    // scratch server binds it.
    let port = shakedown_core::ports::pick_free_ports(1)
        .map_err(|e| StepError::Infra(format!("find a free port: {e}")))?[0];
    let dir = std::env::temp_dir().join(format!("shakedown-restore-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| StepError::Infra(format!("create {}: {e}", dir.display())))?;
    // Stopped and removed after the scenario, whatever happens next.
    world.undo.push(Undo::StopScratchDatabase {
        dir: dir.clone(),
        port,
    });
    let started = std::time::Instant::now();
    let out = run_restore(&command, "restore", &dir, port, target.as_deref()).await?;
    let took = started.elapsed();
    world.saved.insert(
        "restore-seconds".into(),
        format!("{:.1}", took.as_secs_f64()),
    );
    ensure(
        out.status.success(),
        match &target {
            Some(t) => format!("`{}` restores to {t}", command.join(" ")),
            None => format!("`{}` restores the newest backup", command.join(" ")),
        },
        format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    )?;
    let dbname = shakedown_core::postgres::dbname(&db.url).unwrap_or_else(|| db.user.clone());
    world.saved.insert(
        "scratch-url".into(),
        format!("postgres://127.0.0.1:{port}/{dbname}"),
    );
    Ok(())
}

/// Run the profile's restore command with the harness's contract in its environment.
async fn run_restore(
    command: &[String],
    action: &str,
    dir: &Path,
    port: u16,
    target: Option<&str>,
) -> Result<std::process::Output, StepError> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| StepError::Usage("an empty restore-command".into()))?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env("SHAKEDOWN_RESTORE_ACTION", action)
        .env("SHAKEDOWN_RESTORE_DIR", dir)
        .env("SHAKEDOWN_RESTORE_PORT", port.to_string())
        .env("SHAKEDOWN_RESTORE_TARGET_TIME", target.unwrap_or_default())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    tokio::time::timeout(RESTORE_TIMEOUT, cmd.output())
        .await
        .map_err(|_| {
            StepError::mismatch(
                format!(
                    "`{}` ({action}) finishes within {} s",
                    command.join(" "),
                    RESTORE_TIMEOUT.as_secs()
                ),
                "still running; stopped",
            )
        })?
        .map_err(|e| StepError::Infra(format!("run `{}`: {e}", command.join(" "))))
}

/// The after-hook's half: stop the scratch server and remove its directory.
pub async fn stop_scratch(world: &AcceptWorld, dir: &Path, port: u16) -> StepResult {
    let db = profile(world)?;
    if let Some(command) = &db.restore_command {
        let out = run_restore(command, "stop", dir, port, None).await?;
        if !out.status.success() {
            return Err(StepError::Infra(format!(
                "stop the scratch server: {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    std::fs::remove_dir_all(dir)
        .map_err(|e| StepError::Infra(format!("remove {}: {e}", dir.display())))
}

async fn scratch(world: &AcceptWorld) -> Result<Client, StepError> {
    let db = profile(world)?;
    let url = world.saved("scratch-url")?.to_owned();
    connect_to(&db, &url).await.map_err(|e| {
        StepError::mismatch(
            "the restored server accepts the application's role",
            e.to_string(),
        )
    })
}

/// `Then the restored database has the account "{before}" and not the account "{after}"`
#[then(
    regex = r#"^the restored database has the account "([^"]+)" and not the account "([^"]+)"$"#
)]
async fn restored_marks(world: &mut AcceptWorld, present: String, absent: String) -> StepResult {
    let present = world.render(&present)?;
    let absent = world.render(&absent)?;
    let client = scratch(world).await?;
    let rows = query(
        &client,
        "read restored accounts",
        "SELECT id FROM accounts WHERE id = $1 OR id = $2",
        &[&present, &absent],
    )
    .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let at = world.saved("restore-point")?;
    ensure(
        ids.contains(&present),
        format!("{present}, written before {at}, in the restored database"),
        format!("missing (found: {ids:?})"),
    )?;
    ensure(
        !ids.contains(&absent),
        format!("{absent}, written after {at}, not in the restored database"),
        "present: the restore went past its target",
    )
}

/// `Then every table of the restored database holds as many rows as the backup`
#[then(regex = r"^every table of the restored database holds as many rows as the backup$")]
async fn restored_counts(world: &mut AcceptWorld) -> StepResult {
    let db = profile(world)?;
    let dir = required(&db.backups, "backups")?;
    let (path, _, _) = newest_dump(Path::new(&dir))?;
    // The backup's rows, from its data as plain COPY blocks.
    let out = pg_restore(&["--data-only", "-f", "-"], &path).await?;
    ensure(
        out.status.success(),
        format!("pg_restore reads the data of {}", path.display()),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )?;
    let expected = copy_counts(&String::from_utf8_lossy(&out.stdout));
    ensure(
        !expected.is_empty(),
        format!("{} holds table data", path.display()),
        "no COPY block",
    )?;
    let client = scratch(world).await?;
    let mut wrong = Vec::new();
    for (table, rows) in &expected {
        let sql = format!("SELECT count(*) FROM {table}");
        let got: i64 = query(&client, &format!("count {table}"), &sql, &[])
            .await?
            .first()
            .map_or(-1, |r| r.get(0));
        if got != *rows as i64 {
            wrong.push(format!("{table}: {got} restored, {rows} backed up"));
        }
    }
    ensure(
        wrong.is_empty(),
        format!(
            "the backup's row counts in the restored database ({})",
            expected
                .iter()
                .map(|(t, n)| format!("{t} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        wrong.join("; "),
    )
}

/// Table → rows of the `COPY table (...) FROM stdin;` blocks of a plain dump.
fn copy_counts(sql: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut lines = sql.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("COPY ") else {
            continue;
        };
        if !line.ends_with("FROM stdin;") {
            continue;
        }
        let table = rest.split([' ', '(']).next().unwrap_or_default().to_owned();
        let rows = lines.by_ref().take_while(|l| *l != "\\.").count();
        out.push((table, rows));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_labels_give_their_start() {
        let label = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n\
                     START TIME: 2026-12-01 02:37:46 UTC\nLABEL: pg_basebackup base backup\n";
        assert_eq!(
            label_start(label).map(|t| t.to_rfc3339()),
            Some("2026-12-01T02:37:46+00:00".to_owned())
        );
        assert_eq!(label_start("LABEL: x\n"), None);
    }

    #[test]
    fn copy_blocks_are_counted() {
        let dump = "SET x = 1;\n\
                    COPY public.accounts (id, name) FROM stdin;\nacc-1\ta\nacc-2\tb\n\\.\n\n\
                    COPY public.schema_migrations (version, name) FROM stdin;\n\\.\n\
                    SELECT pg_catalog.setval('public.account_ids', 50, true);\n";
        assert_eq!(
            copy_counts(dump),
            [
                ("public.accounts".to_owned(), 2),
                ("public.schema_migrations".to_owned(), 0)
            ]
        );
    }

    #[test]
    fn newest_dump_is_by_time() {
        let dir = tempfile::tempdir().unwrap();
        assert!(newest_dump(dir.path()).is_err());
        std::fs::write(dir.path().join("old.dump"), "x").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.path().join("new.dump"), "xy").unwrap();
        std::fs::write(dir.path().join("globals.sql"), "xyz").unwrap();
        let (path, _, len) = newest_dump(dir.path()).unwrap();
        assert_eq!(path.file_name().unwrap(), "new.dump");
        assert_eq!(len, 2);
    }
}
