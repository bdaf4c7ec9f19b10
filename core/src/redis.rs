//! A minimal Redis client (RESP2 over TCP) for the few read-only commands the checks and the
//! local Sergas service need — `AUTH`, `PING`, `CONFIG GET`, `INFO` — with a timeout on
//! every read and write. A full client crate would cost more compile time than these
//! hundred lines; nothing here pipelines, subscribes or writes data.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Longest a connection, a command or a reply may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Largest bulk reply read (an `INFO` answer is a few KB).
const MAX_BULK: usize = 1 << 20;
/// Most elements of an array reply.
const MAX_ARRAY: usize = 10_000;

/// A reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The reply as text (simple string or bulk), if it is one.
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Simple(s) => Some(s.clone()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("{what}: {message}")]
    Io { what: String, message: String },
    #[error("Redis answered an error to {command}: {message}")]
    Server { command: String, message: String },
    #[error("unexpected reply to {command}: {message}")]
    Protocol { command: String, message: String },
}

/// One connection.
pub struct Connection {
    stream: BufReader<TcpStream>,
    addr: String,
}

fn io(what: impl Into<String>, e: impl std::fmt::Display) -> RedisError {
    RedisError::Io {
        what: what.into(),
        message: e.to_string(),
    }
}

/// `host:port` from `redis://[user:pass@]host:port[/db]` or a bare `host:port`.
pub fn address(url: &str) -> String {
    let rest = url
        .strip_prefix("redis://")
        .or_else(|| url.strip_prefix("rediss://"))
        .unwrap_or(url);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// Encode a command as a RESP array of bulk strings.
pub fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl Connection {
    /// Connect to `url` and, with a password, `AUTH`.
    pub async fn open(url: &str, password: Option<&str>) -> Result<Self, RedisError> {
        let addr = address(url);
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(&addr))
            .await
            .map_err(|_| io(format!("connect to Redis at {addr}"), "timed out"))?
            .map_err(|e| io(format!("connect to Redis at {addr}"), e))?;
        let mut conn = Self {
            stream: BufReader::new(stream),
            addr,
        };
        if let Some(password) = password {
            conn.command(&["AUTH", password]).await?;
        }
        Ok(conn)
    }

    /// Send one command and read its reply; an error reply is [`RedisError::Server`]. The
    /// command's arguments past its name are never put in an error (they may be secrets).
    pub async fn command(&mut self, args: &[&str]) -> Result<Reply, RedisError> {
        let name = args.first().copied().unwrap_or_default().to_owned();
        let what = format!("{name} to Redis at {}", self.addr);
        tokio::time::timeout(TIMEOUT, self.stream.get_mut().write_all(&encode(args)))
            .await
            .map_err(|_| io(&what, "timed out"))?
            .map_err(|e| io(&what, e))?;
        let reply = tokio::time::timeout(TIMEOUT, read_reply(&mut self.stream, 0))
            .await
            .map_err(|_| io(&what, "no reply in time"))??;
        match reply {
            Reply::Error(message) => Err(RedisError::Server {
                command: name,
                message,
            }),
            other => Ok(other),
        }
    }

    /// `CONFIG GET name` → the value.
    pub async fn config_get(&mut self, name: &str) -> Result<String, RedisError> {
        match self.command(&["CONFIG", "GET", name]).await? {
            Reply::Array(Some(items)) if items.len() == 2 => {
                items[1].text().ok_or_else(|| RedisError::Protocol {
                    command: format!("CONFIG GET {name}"),
                    message: "the value is not a string".into(),
                })
            }
            other => Err(RedisError::Protocol {
                command: format!("CONFIG GET {name}"),
                message: format!("{other:?}"),
            }),
        }
    }

    /// `INFO section` as `field → value`.
    pub async fn info(
        &mut self,
        section: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, RedisError> {
        let text = self
            .command(&["INFO", section])
            .await?
            .text()
            .ok_or_else(|| RedisError::Protocol {
                command: format!("INFO {section}"),
                message: "not a string".into(),
            })?;
        Ok(parse_info(&text))
    }
}

/// `field:value` lines of an `INFO` answer (comments and blank lines skipped).
pub fn parse_info(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> Result<String, RedisError> {
    let mut line = Vec::new();
    let n = (&mut *r)
        .take(MAX_BULK as u64)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| io("read a Redis reply", e))?;
    if n == 0 {
        return Err(io("read a Redis reply", "the connection closed"));
    }
    if !line.ends_with(b"\r\n") {
        return Err(RedisError::Protocol {
            command: "reply".into(),
            message: "a line without CRLF".into(),
        });
    }
    line.truncate(line.len() - 2);
    Ok(String::from_utf8_lossy(&line).into_owned())
}

fn length(text: &str, max: usize) -> Result<Option<usize>, RedisError> {
    let n: i64 = text.parse().map_err(|_| RedisError::Protocol {
        command: "reply".into(),
        message: format!("bad length {text:?}"),
    })?;
    if n < 0 {
        return Ok(None);
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if n > max {
        return Err(RedisError::Protocol {
            command: "reply".into(),
            message: format!("length {n} over the limit {max}"),
        });
    }
    Ok(Some(n))
}

/// Read one reply (arrays nest at most 8 deep).
pub async fn read_reply<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    depth: usize,
) -> Result<Reply, RedisError> {
    let line = read_line(r).await?;
    let (kind, rest) = line.split_at(line.len().min(1));
    Ok(match kind {
        "+" => Reply::Simple(rest.to_owned()),
        "-" => Reply::Error(rest.to_owned()),
        ":" => Reply::Integer(rest.parse().map_err(|_| RedisError::Protocol {
            command: "reply".into(),
            message: format!("bad integer {rest:?}"),
        })?),
        "$" => match length(rest, MAX_BULK)? {
            None => Reply::Bulk(None),
            Some(n) => {
                let mut buf = vec![0u8; n + 2];
                r.read_exact(&mut buf)
                    .await
                    .map_err(|e| io("read a Redis bulk reply", e))?;
                buf.truncate(n);
                Reply::Bulk(Some(buf))
            }
        },
        "*" if depth < 8 => match length(rest, MAX_ARRAY)? {
            None => Reply::Array(None),
            Some(n) => {
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(Box::pin(read_reply(r, depth + 1)).await?);
                }
                Reply::Array(Some(items))
            }
        },
        _ => {
            return Err(RedisError::Protocol {
                command: "reply".into(),
                message: format!("unknown reply type {line:?}"),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(bytes: &[u8]) -> Result<Reply, RedisError> {
        let mut r = BufReader::new(bytes);
        read_reply(&mut r, 0).await
    }

    #[tokio::test]
    async fn replies_of_every_kind() {
        assert_eq!(
            parse(b"+PONG\r\n").await.unwrap(),
            Reply::Simple("PONG".into())
        );
        assert_eq!(
            parse(b"-ERR no\r\n").await.unwrap(),
            Reply::Error("ERR no".into())
        );
        assert_eq!(parse(b":42\r\n").await.unwrap(), Reply::Integer(42));
        assert_eq!(parse(b"$-1\r\n").await.unwrap(), Reply::Bulk(None));
        assert_eq!(
            parse(b"*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n")
                .await
                .unwrap(),
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"appendonly".to_vec())),
                Reply::Bulk(Some(b"yes".to_vec()))
            ]))
        );
    }

    #[tokio::test]
    async fn bad_replies_are_errors_not_panics() {
        for bytes in [
            &b""[..],
            b"?x\r\n",
            b"$5\r\nab",
            b":x\r\n",
            b"*99999999\r\n",
            b"+no crlf",
            b"$99999999999\r\n",
        ] {
            assert!(parse(bytes).await.is_err(), "{bytes:?}");
        }
    }

    #[test]
    fn encode_and_address_and_info() {
        assert_eq!(encode(&["PING"]), b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(address("redis://:pw@127.0.0.1:6380/0"), "127.0.0.1:6380");
        assert_eq!(address("127.0.0.1:6379"), "127.0.0.1:6379");
        let info = parse_info("# Persistence\r\nrdb_last_bgsave_status:ok\r\naof_enabled:1\r\n");
        assert_eq!(info["rdb_last_bgsave_status"], "ok");
        assert_eq!(info["aof_enabled"], "1");
    }
}
