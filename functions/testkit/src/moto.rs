//! moto server for the tests that talk to S3, SES, CloudFormation or API Gateway.
//!
//! `scripts/test.sh` starts one and exports `EWORK_MOTO_URL`; a plain `cargo test`
//! starts its own from `moto_server` on PATH or in the project's venv (once per test
//! process, stopped when the process ends), and where there is none, a moto test says
//! that it was skipped and why instead of failing.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// moto's URL for this test process, or why there is none.
fn find_or_start() -> Result<String, String> {
    if let Ok(url) = std::env::var("EWORK_MOTO_URL") {
        if !url.trim().is_empty() {
            return Ok(url);
        }
    }
    let server = moto_server().ok_or(
        "EWORK_MOTO_URL is not set and no moto_server was found (on PATH, in $EWORK_VENV \
         or .venv); run scripts/test.sh, which installs and starts it",
    )?;
    let port = free_port().map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
    // A watchdog owns moto and stops it when this test process is gone: the kernel
    // does not stop children with their parent, and a test binary has no exit hook.
    let watchdog = "import os, subprocess, sys, time\n\
        parent = int(sys.argv[1]); moto = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n\
        while moto.poll() is None:\n\
        \x20   time.sleep(0.5)\n\
        \x20   try: os.kill(parent, 0)\n\
        \x20   except OSError: moto.terminate(); break\n";
    Command::new("python3")
        .args(["-c", watchdog, &std::process::id().to_string()])
        .arg(&server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", server.display()))?;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if TcpStream::connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "{} did not answer on port {port} within 30 s",
        server.display()
    ))
}

fn moto_server() -> Option<PathBuf> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("moto_server"))
                .collect()
        })
        .unwrap_or_default();
    if let Some(venv) = std::env::var_os("EWORK_VENV") {
        candidates.push(PathBuf::from(venv).join("bin/moto_server"));
    }
    candidates.push(workspace.join(".venv/bin/moto_server"));
    candidates.into_iter().find(|p| p.is_file())
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// moto's URL, or why there is none: found or started once per test process.
fn cached() -> &'static Result<String, String> {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    URL.get_or_init(find_or_start)
}

/// moto's URL; `None` when there is none.
pub fn url() -> Option<String> {
    cached().as_ref().ok().cloned()
}

/// moto's URL, or `None` after saying on the test output that the calling test is
/// skipped and why (written past the test harness's capture, so it is seen; the
/// harness names each test's thread after the test).
pub fn url_or_skip() -> Option<String> {
    match cached() {
        Ok(url) => Some(url.clone()),
        Err(why) => {
            let current = std::thread::current();
            let test = current.name().unwrap_or("a moto test");
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
            None
        }
    }
}

/// moto's state dump (`/moto-api/data.json`). It fails now and then ("FakeKey is
/// not JSON serializable") when another test writes while it serialises, so a
/// failed read is retried.
pub async fn state(url: &str) -> serde_json::Value {
    let url = format!("{url}/moto-api/data.json");
    let mut last_error = String::new();
    for _ in 0..20 {
        match reqwest::get(&url).await {
            Ok(resp) if resp.status().is_success() => match resp.json().await {
                Ok(value) => return value,
                Err(e) => last_error = e.to_string(),
            },
            Ok(resp) => last_error = format!("status {}", resp.status()),
            Err(e) => last_error = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("moto's /moto-api/data.json kept failing: {last_error}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moto_url_in_the_environment_is_used_as_it_is() {
        // The variable is what scripts/test.sh exports; nothing is started for it.
        if std::env::var("EWORK_MOTO_URL").is_ok() {
            assert_eq!(url(), std::env::var("EWORK_MOTO_URL").ok());
        }
        assert!(free_port().unwrap() > 0);
    }
}
