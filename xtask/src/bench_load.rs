//! `cargo xtask bench load`: the load engine's requests per second next to wrk's and
//! oha's against one static nginx endpoint on loopback, at equal connections, one run each,
//! as ratios; and the engine's peak RSS at 1,000 virtual users. A benchmark, not a test:
//! it prints figures for the docs and asserts nothing.
//!
//! The engine is built in release mode for this (a debug build measures the compiler's
//! debug code, not the engine). nginx runs one worker, so one core serves and the other
//! generates.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Connections (wrk, oha) = goose users (the engine).
const CONNECTIONS: u32 = 50;
const SECONDS: u32 = 10;
/// Virtual users for the memory figure.
const RSS_USERS: u32 = 1000;

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// `name` from PATH (or /usr/sbin), installing Debian's `package` when missing and root.
fn debian_tool(name: &str, package: &str) -> Option<PathBuf> {
    let find = || {
        on_path(name).or_else(|| Some(Path::new("/usr/sbin").join(name)).filter(|p| p.is_file()))
    };
    if let Some(p) = find() {
        return Some(p);
    }
    eprintln!("{name} not found: apt-get install {package}");
    let _ = Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", package])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status();
    find()
}

fn start_nginx(dir: &Path) -> Result<(Nginx, String)> {
    let nginx = debian_tool("nginx", "nginx").context("nginx is needed (Debian's package)")?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    std::fs::create_dir_all(dir)?;
    let d = dir.display();
    let conf = format!(
        "worker_processes 1;\nmaster_process off;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 4096; }}\nhttp {{\n access_log off;\n client_body_temp_path {d}/body;\n \
         proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n \
         server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"ok\\n\"; }} }}\n}}\n"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf)?;
    let child = Command::new(nginx)
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir)
        .stderr(Stdio::null())
        .spawn()
        .context("starting nginx")?;
    let guard = Nginx(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("nginx did not listen on {port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((guard, format!("http://127.0.0.1:{port}/")))
}

/// The number after `key` in `text` (`Requests/sec:   1234.5`, `"rps":1234.5`).
fn number_after(text: &str, key: &str) -> Option<f64> {
    let rest = &text[text.find(key)? + key.len()..];
    let rest = rest.trim_start_matches(|c: char| c == ':' || c == '"' || c.is_whitespace());
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-' || c == '+'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn run(workspace: &Path, cargo: impl Fn() -> Command) -> Result<std::process::ExitCode> {
    eprintln!("building shakedown-load in release mode (first time: several minutes)…");
    let status = cargo()
        .args(["build", "--release", "-q", "-p", "shakedown-load"])
        .status()?;
    if !status.success() {
        bail!("cargo build --release -p shakedown-load failed");
    }
    let engine = workspace
        .join("target")
        .join("release")
        .join("shakedown-load");
    let (_nginx, url) = start_nginx(&workspace.join("target").join("shakedown").join("bench"))?;
    let (c, s) = (CONNECTIONS.to_string(), format!("{SECONDS}s"));

    let wrk = debian_tool("wrk", "wrk").and_then(|wrk| {
        output(Command::new(wrk).args(["-t", "2", "-c", &c, "-d", &s, &url]))
            .and_then(|o| number_after(&o, "Requests/sec"))
    });
    let oha = on_path("oha").and_then(|oha| {
        output(Command::new(oha).args([
            "-c",
            &c,
            "-z",
            &s,
            "--no-tui",
            "--output-format",
            "json",
            &url,
        ]))
        .or_else(|| output(Command::new("oha").args(["-c", &c, "-z", &s, "--no-tui", "-j", &url])))
        .and_then(|o| number_after(&o, "requestsPerSec"))
    });
    let bench = |users: u32| {
        output(
            Command::new(&engine)
                .args([
                    "engine-bench",
                    "--url",
                    &url,
                    "--users",
                    &users.to_string(),
                    "--duration",
                    &s,
                ])
                .env("NO_COLOR", "1"),
        )
    };
    let ours = bench(CONNECTIONS).context("shakedown-load engine-bench failed")?;
    let rps = number_after(&ours, "\"rps\"").context("no rps in the engine's output")?;
    let big = bench(RSS_USERS).context("shakedown-load engine-bench at 1,000 users failed")?;
    let rss = number_after(&big, "\"peak_rss_kib\"").unwrap_or_default();
    let big_rps = number_after(&big, "\"rps\"").unwrap_or_default();

    let ratio = |other: Option<f64>| {
        other.map_or("not measured".to_owned(), |o| {
            format!("{o:.0} req/s; engine/it = {:.2}×", rps / o)
        })
    };
    println!(
        "static nginx on loopback (1 worker), {CONNECTIONS} connections, {SECONDS} s, one run each:"
    );
    println!("  shakedown-load (goose, release): {rps:.0} req/s");
    println!("  wrk -t2:                         {}", ratio(wrk));
    println!(
        "  oha:                             {}",
        if oha.is_some() {
            ratio(oha)
        } else {
            "not installed (cargo install oha)".to_owned()
        }
    );
    println!(
        "  {RSS_USERS} virtual users: peak RSS {:.0} MiB at {big_rps:.0} req/s",
        rss / 1024.0
    );
    Ok(std::process::ExitCode::SUCCESS)
}
