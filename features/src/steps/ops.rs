//! The Operations Manual's scripts, run against the environment (Sergas:
//! `quick-diagnostic.sh`, `daily-health-check.sh`; the profile's `ops` names them). The
//! harness gives a script every component's address from the profile
//! (`SHAKEDOWN_{API,DATABASE,REDIS,PROMETHEUS,ALERTMANAGER}_URL`, `SHAKEDOWN_BACKUPS_DIR`)
//! and Redis's password (`SHAKEDOWN_REDIS_PASSWORD`, only in its environment); a scenario
//! may point one component at a closed loopback port to see the script notice. No shell,
//! bounded to 150 s, and the exit status, duration and per-component lines are judged.

use std::time::{Duration, Instant};

use cucumber::{then, when};
use shakedown_core::profile::Secret;

use crate::result::{StepError, StepResult, ensure};
use crate::world::AcceptWorld;

/// Longest a script may run (the quick diagnostic promises two minutes).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(150);
/// Output kept for the report.
const KEEP: usize = 4_000;
/// Components a scenario may make unreachable (those the profile gives an address for);
/// `backups` is the daily check's backup age.
const COMPONENTS: [&str; 6] = [
    "api",
    "database",
    "redis",
    "prometheus",
    "alertmanager",
    "backups",
];

/// Component → URL, from the profile.
fn addresses(world: &AcceptWorld) -> Result<Vec<(&'static str, String)>, StepError> {
    let profile = &world.target()?.profile;
    let mut out = vec![("api", world.target()?.base_url.clone())];
    if let Some(db) = &profile.database {
        out.push(("database", db.url.clone()));
    }
    if let Some(redis) = &profile.redis {
        out.push(("redis", redis.url.clone()));
    }
    if let Ok((prometheus, alertmanager)) = crate::steps::prometheus::urls(world) {
        out.push(("prometheus", prometheus));
        if let Some(am) = alertmanager {
            out.push(("alertmanager", am));
        }
    }
    Ok(out)
}

/// `url` with its host and port replaced by `127.0.0.1:port` (scheme and path kept).
fn at_port(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    format!("{scheme}://127.0.0.1:{port}{path}")
}

/// `When I run the operations script "quick-diagnostic"` /
/// `When I run the operations script "daily-health-check" with "redis" unreachable`
#[when(regex = r#"^I run the operations script "([a-z0-9-]+)"(?: with "([a-z]+)" unreachable)?$"#)]
async fn run_script(world: &mut AcceptWorld, name: String, down: String) -> StepResult {
    let profile = world.target()?.profile.clone();
    let argv = profile.ops.get(&name).ok_or_else(|| {
        StepError::Usage(format!(
            "the profile's system {} has no `ops.{name}` command",
            world.system
        ))
    })?;
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| StepError::Usage(format!("ops.{name} is empty")))?;
    let mut env = addresses(world)?;
    if !down.is_empty() {
        ensure_component(&down)?;
        // A loopback port nothing listens on: bound, then released.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| StepError::Infra(format!("find a free port: {e}")))?
            .port();
        let entry = env.iter_mut().find(|(c, _)| *c == down).ok_or_else(|| {
            StepError::Usage(format!("the profile gives no address for `{down}`"))
        })?;
        entry.1 = at_port(&entry.1, closed);
    }
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args);
    for (component, url) in &env {
        cmd.env(
            format!("SHAKEDOWN_{}_URL", component.to_ascii_uppercase()),
            url,
        );
    }
    if let Some(dir) = profile.database.as_ref().and_then(|d| d.backups.as_ref()) {
        cmd.env("SHAKEDOWN_BACKUPS_DIR", dir);
    }
    if let Some(var) = profile.redis.as_ref().and_then(|r| r.password_env.as_ref()) {
        let secret = Secret::from_env(var, "redis.password-env")
            .map_err(|e| StepError::Usage(e.to_string()))?;
        cmd.env("SHAKEDOWN_REDIS_PASSWORD", secret.expose());
    }
    cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
    let started = Instant::now();
    let out = tokio::time::timeout(SCRIPT_TIMEOUT, cmd.output())
        .await
        .map_err(|_| {
            StepError::mismatch(
                format!("{name} finishes within {} s", SCRIPT_TIMEOUT.as_secs()),
                "still running; stopped",
            )
        })?
        .map_err(|e| StepError::Infra(format!("run {name} ({program}): {e}")))?;
    let keep = |bytes: &[u8]| String::from_utf8_lossy(bytes).chars().take(KEEP).collect();
    world.saved.insert("ops-script".into(), name);
    world.saved.insert(
        "ops-status".into(),
        out.status
            .code()
            .map_or_else(|| out.status.to_string(), |c| c.to_string()),
    );
    world.saved.insert(
        "ops-seconds".into(),
        format!("{:.1}", started.elapsed().as_secs_f64()),
    );
    world.saved.insert("ops-stdout".into(), keep(&out.stdout));
    world.saved.insert("ops-stderr".into(), keep(&out.stderr));
    Ok(())
}

fn ensure_component(name: &str) -> StepResult {
    if COMPONENTS.contains(&name) {
        Ok(())
    } else {
        Err(StepError::Usage(format!(
            "unknown component `{name}`; known: {}",
            COMPONENTS.join(", ")
        )))
    }
}

/// The status word a script printed for `component` (`api  ok  ...` → `ok`).
fn status_of<'a>(stdout: &'a str, component: &str) -> Option<&'a str> {
    stdout.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some(component))
            .then(|| words.next())
            .flatten()
    })
}

/// `Then the script exits 0 within 2 minutes, reporting "api, database, redis" ok`
#[then(regex = r#"^the script exits 0 within (\d+) minutes?, reporting "([^"]+)" ok$"#)]
fn script_healthy(world: &mut AcceptWorld, minutes: u64, components: String) -> StepResult {
    let name = world.saved("ops-script")?.to_owned();
    let status = world.saved("ops-status")?.to_owned();
    let stdout = world.saved("ops-stdout")?.to_owned();
    let stderr = world.saved("ops-stderr")?.to_owned();
    let seconds: f64 = world.saved("ops-seconds")?.parse().unwrap_or(f64::MAX);
    let listed = world.render_list(&components)?;
    let not_ok: Vec<String> = listed
        .iter()
        .filter(|c| status_of(&stdout, c) != Some("ok"))
        .map(|c| format!("{c}: {}", status_of(&stdout, c).unwrap_or("not reported")))
        .collect();
    ensure(
        not_ok.is_empty(),
        format!("{name} reports {} ok", listed.join(", ")),
        format!("{}; its output: {}", not_ok.join(", "), stdout.trim()),
    )?;
    ensure(
        status == "0",
        format!("{name} exits 0 on a healthy system"),
        format!("exit {status}: {} {}", stdout.trim(), stderr.trim()),
    )?;
    ensure(
        seconds <= (minutes * 60) as f64,
        format!("{name} finishes within {minutes} minute(s)"),
        format!("{seconds:.1} s"),
    )
}

/// `Then the script exits non-zero, reporting "redis" down`
#[then(regex = r#"^the script exits non-zero, reporting "([a-z]+)" down$"#)]
fn script_unhealthy(world: &mut AcceptWorld, component: String) -> StepResult {
    ensure_component(&component)?;
    let name = world.saved("ops-script")?.to_owned();
    let status = world.saved("ops-status")?.to_owned();
    let stdout = world.saved("ops-stdout")?.to_owned();
    ensure(
        status != "0",
        format!("{name} exits non-zero with {component} unreachable"),
        format!("exit 0: {}", stdout.trim()),
    )?;
    let said = status_of(&stdout, &component);
    ensure(
        said.is_some_and(|s| s != "ok" && s != "skipped"),
        format!("{name} reports {component} as down"),
        format!(
            "{component}: {}; its output: {}",
            said.unwrap_or("not reported"),
            stdout.trim()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_swapped_keeping_scheme_and_path() {
        assert_eq!(
            at_port("postgres://10.0.0.5:5432/sergas", 9),
            "postgres://127.0.0.1:9/sergas"
        );
        assert_eq!(at_port("redis://r:6379", 9), "redis://127.0.0.1:9");
        assert_eq!(at_port("http://h:1", 9), "http://127.0.0.1:9");
    }

    #[test]
    fn status_words_are_read_per_component() {
        let out = "api           ok      GET /health: healthy\nredis         down    x\n";
        assert_eq!(status_of(out, "api"), Some("ok"));
        assert_eq!(status_of(out, "redis"), Some("down"));
        assert_eq!(status_of(out, "database"), None);
    }
}
