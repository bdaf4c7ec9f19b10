//! Redis persistence as Sergas' Disaster Recovery section promises it ("backup-redis.sh:
//! Redis persistence"), read from the server itself (the profile's `redis = { url,
//! password-env }`): the append-only file on, RDB snapshots scheduled, the last snapshot
//! (the file a backup copies) written successfully and recently.

use cucumber::then;
use shakedown_core::profile::Secret;
use shakedown_core::redis::Connection;

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

async fn connect(world: &AcceptWorld) -> Result<Connection, StepError> {
    let target = world.target()?;
    let redis = target.profile.redis.as_ref().ok_or_else(|| {
        StepError::Usage(format!(
            "the profile's system {} has no `redis = {{ url, password-env }}`",
            world.system
        ))
    })?;
    let password = match &redis.password_env {
        Some(var) => Some(
            Secret::from_env(var, "redis.password-env")
                .map_err(|e| StepError::Usage(e.to_string()))?,
        ),
        None => None,
    };
    Connection::open(&redis.url, password.as_ref().map(Secret::expose))
        .await
        .map_err(|e| StepError::Infra(e.to_string()))
}

/// `Then Redis persists its data: the append-only file is on, RDB snapshots are scheduled,
/// and the last snapshot succeeded within 24 h`
#[then(
    regex = r"^Redis persists its data: the append-only file is on, RDB snapshots are scheduled, and the last snapshot succeeded within (\d+) h$"
)]
async fn persists(world: &mut AcceptWorld, hours: i64) -> StepResult {
    let mut conn = connect(world).await?;
    let infra = |e: shakedown_core::redis::RedisError| StepError::Infra(e.to_string());
    let appendonly = conn.config_get("appendonly").await.map_err(infra)?;
    ensure(
        appendonly == "yes",
        "CONFIG GET appendonly = yes (every write logged to the append-only file)",
        appendonly,
    )?;
    let save = conn.config_get("save").await.map_err(infra)?;
    ensure(
        !save.trim().is_empty(),
        "CONFIG GET save names at least one snapshot rule",
        "no rule: RDB snapshots are off",
    )?;
    let info = conn.info("persistence").await.map_err(infra)?;
    let field = |k: &str| info.get(k).cloned().unwrap_or_else(|| "absent".to_owned());
    ensure(
        field("rdb_last_bgsave_status") == "ok" && field("aof_last_write_status") == "ok",
        "INFO persistence: rdb_last_bgsave_status and aof_last_write_status ok",
        format!(
            "rdb_last_bgsave_status {}, aof_last_write_status {}",
            field("rdb_last_bgsave_status"),
            field("aof_last_write_status")
        ),
    )?;
    // rdb_last_save_time is the server start when no snapshot was ever written; rdb_saves
    // (Redis 7) counts snapshots since then.
    let last = field("rdb_last_save_time").parse::<i64>().unwrap_or(0);
    let age_h = (chrono::Utc::now().timestamp() - last) as f64 / 3600.0;
    let saves = field("rdb_saves").parse::<u64>().unwrap_or(1);
    ensure(
        saves > 0 && age_h <= hours as f64,
        format!("a snapshot written within the last {hours} h"),
        if saves == 0 {
            "no snapshot since the server started".to_owned()
        } else {
            format!("the last one {age_h:.1} h ago")
        },
    )
}
