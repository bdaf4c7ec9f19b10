//! PostgreSQL glue shared by the Sergas reference service, the local stack and the DR steps:
//! a connection with a deadline (tokio-postgres, no TLS: loopback), errors that say what the
//! server said, and where the PostgreSQL programs (`pg_restore`, `initdb`, ...) are.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

pub use tokio_postgres::types::ToSql;
pub use tokio_postgres::{Client, Config, Row};

/// Variable naming the directory of the PostgreSQL programs, when they are not found by
/// themselves (newest `/usr/lib/postgresql/<major>/bin`, then `PATH`).
pub const BIN_DIR_ENV: &str = "SHAKEDOWN_PG_BINDIR";

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("PostgreSQL URL `{url}`: {message}")]
    Url { url: String, message: String },
    #[error("connect to PostgreSQL at {at}: {message}")]
    Connect { at: String, message: String },
    #[error("PostgreSQL at {at}: no answer within {} s", .timeout.as_secs())]
    Timeout { at: String, timeout: Duration },
    #[error("{what}: {message}")]
    Query { what: String, message: String },
}

/// What a tokio-postgres error says, with the server's message and detail when it sent one
/// (the bare `Display` is only "db error").
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(": {detail}"));
            }
            text
        }
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// `host:port` of a URL or key/value connection string, for messages (never the password).
fn place(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("(default database)");
    format!("{host}:{port}/{db}")
}

/// Connect to `url` (`postgres://host:port/db`, or `host=... port=...`) as `user` (when the
/// URL names none) with `password`; every step bounded by `timeout`. The connection is
/// driven on a spawned task that ends when the client is dropped.
pub async fn connect(
    url: &str,
    user: Option<&str>,
    password: Option<&str>,
    timeout: Duration,
) -> Result<Client, PgError> {
    let mut config = tokio_postgres::Config::from_str(url).map_err(|e| PgError::Url {
        url: crate::redact::redact(url),
        message: e.to_string(),
    })?;
    if let Some(user) = user
        && config.get_user().is_none()
    {
        config.user(user);
    }
    if let Some(password) = password {
        config.password(password);
    }
    config.connect_timeout(timeout);
    config.application_name("shakedown");
    let at = place(&config);
    let (client, connection) =
        match tokio::time::timeout(timeout, config.connect(tokio_postgres::NoTls)).await {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => {
                return Err(PgError::Connect {
                    at,
                    message: describe(&e),
                });
            }
            Err(_) => return Err(PgError::Timeout { at, timeout }),
        };
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %describe(&e), "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// The database a URL names, if any.
pub fn dbname(url: &str) -> Option<String> {
    tokio_postgres::Config::from_str(url)
        .ok()?
        .get_dbname()
        .map(str::to_owned)
}

/// Run `sql` (with `params`) and return its rows, bounded by `timeout`.
pub async fn query(
    client: &Client,
    what: &str,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    timeout: Duration,
) -> Result<Vec<Row>, PgError> {
    match tokio::time::timeout(timeout, client.query(sql, params)).await {
        Ok(Ok(rows)) => Ok(rows),
        Ok(Err(e)) => Err(PgError::Query {
            what: what.to_owned(),
            message: describe(&e),
        }),
        Err(_) => Err(PgError::Query {
            what: what.to_owned(),
            message: format!("no answer within {} s", timeout.as_secs()),
        }),
    }
}

/// One migration file: `NNN_name.sql`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub version: i32,
    pub name: String,
    pub path: PathBuf,
}

/// The migrations of `dir`, oldest first. A `.sql` file whose name does not start with a
/// version, or two files with one version, is an error naming the file.
pub fn migrations(dir: &Path) -> Result<Vec<Migration>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("read migrations {}: {e}", dir.display()))?;
    let mut found: Vec<Migration> = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        let Some(stem) = file.strip_suffix(".sql") else {
            continue;
        };
        let (version, name) = stem.split_once('_').unwrap_or((stem, ""));
        let version = version.parse::<i32>().map_err(|_| {
            format!(
                "migration {}: the name must start with its version (`NNN_name.sql`)",
                path.display()
            )
        })?;
        if let Some(other) = found.iter().find(|m| m.version == version) {
            return Err(format!(
                "migrations {} and {} share version {version}",
                other.path.display(),
                path.display()
            ));
        }
        found.push(Migration {
            version,
            name: name.to_owned(),
            path,
        });
    }
    found.sort_by_key(|m| m.version);
    Ok(found)
}

/// The bookkeeping table `migrate` keeps.
pub const MIGRATIONS_TABLE: &str = "schema_migrations";

/// Apply the migrations of `dir` newer than the database's newest recorded one, each in its
/// own transaction with its `schema_migrations` row; `upto` stops before a version. Returns
/// the versions applied.
pub async fn migrate(
    client: &mut Client,
    dir: &Path,
    upto: Option<i32>,
) -> Result<Vec<i32>, PgError> {
    let all = migrations(dir).map_err(|message| PgError::Query {
        what: "migrations".to_owned(),
        message,
    })?;
    let step = |what: &str, e: tokio_postgres::Error| PgError::Query {
        what: what.to_owned(),
        message: describe(&e),
    };
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (             version integer PRIMARY KEY, name text NOT NULL,              applied_at timestamptz NOT NULL DEFAULT now())"
        ))
        .await
        .map_err(|e| step("create schema_migrations", e))?;
    let current: Option<i32> = client
        .query_one(&format!("SELECT max(version) FROM {MIGRATIONS_TABLE}"), &[])
        .await
        .map_err(|e| step("read schema_migrations", e))?
        .get(0);
    let mut applied = Vec::new();
    for m in all
        .iter()
        .filter(|m| current.is_none_or(|c| m.version > c))
        .filter(|m| upto.is_none_or(|u| m.version < u))
    {
        let sql = std::fs::read_to_string(&m.path).map_err(|e| PgError::Query {
            what: format!("migration {}", m.path.display()),
            message: e.to_string(),
        })?;
        let what = format!("migration {}", m.path.display());
        let tx = client.transaction().await.map_err(|e| step(&what, e))?;
        tx.batch_execute(&sql).await.map_err(|e| step(&what, e))?;
        tx.execute(
            &format!("INSERT INTO {MIGRATIONS_TABLE} (version, name) VALUES ($1, $2)"),
            &[&m.version, &m.name],
        )
        .await
        .map_err(|e| step(&what, e))?;
        tx.commit().await.map_err(|e| step(&what, e))?;
        applied.push(m.version);
    }
    Ok(applied)
}

/// The directory holding the PostgreSQL server programs (`initdb`, `postgres`, `pg_ctl`)
/// and the client ones of the same version (`pg_dump`, `pg_restore`, `pg_basebackup`):
/// `$SHAKEDOWN_PG_BINDIR`, else the newest `/usr/lib/postgresql/<major>/bin` (Debian keeps
/// them off `PATH`), else the directory of `initdb` on `PATH`.
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(BIN_DIR_ENV) {
        return Some(PathBuf::from(dir));
    }
    newest_debian_bin_dir(Path::new("/usr/lib/postgresql")).or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths).find(|dir| dir.join("initdb").is_file())
        })
    })
}

fn newest_debian_bin_dir(root: &Path) -> Option<PathBuf> {
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((major, bin))
        })
        .collect();
    majors.sort();
    majors.pop().map(|(_, bin)| bin)
}

/// One PostgreSQL program (`pg_restore`, ...), or a message naming where it was looked for.
pub fn program(name: &str) -> Result<PathBuf, String> {
    let dir = bin_dir().ok_or_else(|| {
        format!(
            "PostgreSQL's programs are not installed (no /usr/lib/postgresql/<major>/bin, no initdb on PATH; set {BIN_DIR_ENV}, or install Debian's `postgresql` package)"
        )
    })?;
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} does not exist", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_major_wins() {
        let root = tempfile::tempdir().unwrap();
        for major in ["9", "15", "13", "notes"] {
            let bin = root.path().join(major).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::write(bin.join("postgres"), "").unwrap();
        }
        // A newer major without the server is skipped.
        std::fs::create_dir_all(root.path().join("16").join("bin")).unwrap();
        assert_eq!(
            newest_debian_bin_dir(root.path()),
            Some(root.path().join("15").join("bin"))
        );
        assert_eq!(newest_debian_bin_dir(&root.path().join("absent")), None);
    }

    #[test]
    fn migrations_sort_by_version_and_refuse_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["010_later.sql", "002_first.sql", "notes.md"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let found = migrations(dir.path()).unwrap();
        let versions: Vec<(i32, &str)> =
            found.iter().map(|m| (m.version, m.name.as_str())).collect();
        assert_eq!(versions, [(2, "first"), (10, "later")]);
        std::fs::write(dir.path().join("10_again.sql"), "").unwrap();
        let err = migrations(dir.path()).unwrap_err();
        assert!(err.contains("share version 10"), "{err}");
        std::fs::remove_file(dir.path().join("10_again.sql")).unwrap();
        std::fs::write(dir.path().join("latest.sql"), "").unwrap();
        let err = migrations(dir.path()).unwrap_err();
        assert!(
            err.contains("latest.sql") && err.contains("NNN_name.sql"),
            "{err}"
        );
    }

    #[test]
    fn the_reference_migrations_are_well_formed() {
        let found = migrations(&crate::fixtures_dir().join("migrations").join("sergas")).unwrap();
        assert!(found.len() >= 2, "{found:?}");
    }

    #[tokio::test]
    async fn bad_urls_and_dead_ports_are_errors_not_panics() {
        let err = connect("postgres://[::1", None, None, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(err, PgError::Url { .. }), "{err}");
        // A port nobody listens on: refused, named by place.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = connect(
            &format!("postgres://127.0.0.1:{port}/sergas"),
            Some("sergas"),
            Some("not-shown"),
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}/sergas")), "{text}");
        assert!(!text.contains("not-shown"), "{text}");
    }
}
