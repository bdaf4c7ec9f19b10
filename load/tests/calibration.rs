//! Calibration against a limiter that is not ours: nginx's `limit_req` (Debian's nginx,
//! which the local stack installs) in front of the local Plot Palette service, keyed on
//! the caller's bearer token. The rate-limit profile, pointed at nginx through a copy of
//! the fixtures whose Plot Palette limit says what nginx is configured with, must measure
//! nginx's burst and rate within the tolerance — so the measurement is not only
//! consistent with the reference services' own token buckets.
//!
//! nginx's `burst=B nodelay` admits `B + 1` requests at once (the request itself and `B`
//! in excess), then one per `1/rate`: in the facts' terms a burst (bucket) of `B + 1` and a
//! refill of `rate`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use shakedown_testkit::{lock, stack_file, stack_with, with_env};

/// nginx's configuration: `rate` per minute, `burst` in excess.
const RATE_PER_MIN: u32 = 120;
const BURST: u32 = 20;

/// The nginx binary the stack installed.
fn nginx() -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("nginx"))
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|p| p.is_file())
        .expect("nginx (the local stack installs Debian's package when it starts)")
}

/// An nginx master that is stopped when dropped.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_nginx(dir: &Path, port: u16, upstream: &str) -> Nginx {
    let upstream = upstream.trim_end_matches('/');
    let conf = format!(
        r#"worker_processes 1;
master_process off;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    limit_req_zone $http_authorization zone=per_user:1m rate={RATE_PER_MIN}r/m;
    limit_req_status 429;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            limit_req zone=per_user burst={BURST} nodelay;
            add_header Retry-After 1 always;
            proxy_pass {upstream};
        }}
    }}
}}
"#,
        dir = dir.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(nginx())
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir)
        .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
        .spawn()
        .expect("starting nginx");
    let nginx = Nginx(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not listen on {port}: {}",
            std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    nginx
}

/// A copy of the fixtures where Plot Palette is reached through nginx and its per-user
/// limit is nginx's configuration.
fn fixtures_through(dir: &Path, nginx_url: &str) -> PathBuf {
    let fixtures = shakedown_testkit::copy_fixtures(dir);
    let runbook = fixtures.join("runbooks").join("plot-palette.toml");
    let text = std::fs::read_to_string(&runbook).unwrap();
    let documented = "limit = 100\nwindow = \"1m\"\nburst = 200\n";
    assert!(text.contains(documented), "the Plot Palette limit moved");
    let text = text.replace(
        documented,
        &format!(
            "limit = {RATE_PER_MIN}\nwindow = \"1m\"\nburst = {}\n",
            BURST + 1
        ),
    );
    std::fs::write(&runbook, text).unwrap();
    let profile = fixtures.join("environments").join("local.toml");
    let text = std::fs::read_to_string(&profile).unwrap();
    let base = "base-url = \"${stack.services.plot-palette}\"";
    assert!(text.contains(base), "the Plot Palette base URL moved");
    std::fs::write(
        &profile,
        text.replace(base, &format!("base-url = \"{nginx_url}\"")),
    )
    .unwrap();
    fixtures
}

#[test]
fn the_rate_limit_profile_measures_nginx_limit_req_as_configured() {
    let _guard = lock();
    // Plot Palette's own bucket behind nginx full (a service-layer switch refills it), so
    // every refusal measured is nginx's.
    stack_with(&["retry-after-missing"]);
    stack_with(&[]);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stack_file()).unwrap()).unwrap();
    let upstream = manifest["services"]["plot-palette"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = shakedown_core::ports::pick_free_ports(1).unwrap()[0];
    let _nginx = start_nginx(dir.path(), port, upstream);
    let fixtures = fixtures_through(dir.path(), &format!("http://127.0.0.1:{port}"));
    let json = dir.path().join("calibration.jsonl");
    let out = with_env(Command::new(env!("CARGO_BIN_EXE_shakedown-load")))
        .args(["rate-limit", "--limit", "plot-palette/per-user"])
        .arg("--fixtures")
        .arg(&fixtures)
        .arg("--stack-file")
        .arg(stack_file())
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let report = std::fs::read_to_string(&json).unwrap_or_default();
    let finished = report
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "check-finished")
        .unwrap_or_else(|| panic!("no result: {out:?}"));
    let evidence = |what: &str| {
        finished["outcome"]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["label"] == what)
            .and_then(|e| e["detail"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    // Burst and refill are what this calibrates: both within the tolerance.
    for what in ["throttles", "burst", "refill", "isolation", "recovery"] {
        let line = evidence(what);
        println!("{what}: {line}");
        assert!(line.starts_with("ok"), "{what}: {line}\n{finished}");
    }
    // nginx's refusal carries no documented error code: only that verdict may differ,
    // and the code is not documented in this copy, so the whole check passes.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{finished}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
