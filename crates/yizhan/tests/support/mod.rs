//! What the browser tests share: the demo county served by `yizhan serve`
//! on SQLite, the parts the browser needs, and running one script from
//! `browser-tests/` against it. Each browser test file says `mod support;`.
//! Not every test file uses every helper, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const DEMO_PASSWORD: &str = "yizhan-demo-2026";

pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn chromium() -> Option<PathBuf> {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/usr/bin/chromium")))
        .filter(|path| path.exists())
}

/// Which part of the browser tooling is missing, if one is.
pub fn missing_browser() -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed".into());
    }
    if chromium().is_none() {
        return Some("chromium is not installed (apt-get install chromium)".into());
    }
    if !repo_root()
        .join("browser-tests/node_modules/playwright-core")
        .exists()
    {
        return Some("playwright-core is not installed (npm ci in browser-tests/)".into());
    }
    None
}

/// Reads a child's output lines on a thread, so waiting for one line can
/// time out instead of hanging the test.
pub fn lines(reader: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { return };
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

pub fn wait_for(lines: &mpsc::Receiver<String>, needle: &str, what: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(_) => panic!("{what} never said {needle:?}"),
        }
    }
}

/// Skips (or, under `YIZHAN_REQUIRE_SERVICES=1`, fails) when the browser
/// tooling is missing; true when the test can go on.
pub fn browser_or_skip() -> bool {
    match missing_browser() {
        None => true,
        Some(reason) => {
            if std::env::var("YIZHAN_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("the browser test cannot run: {reason}");
            }
            testkit::skip_or_fail("the browser and node", &reason);
            false
        }
    }
}

/// The demo county seeded into a temporary folder and served on a free
/// port; stopped when dropped.
pub struct Demo {
    pub dir: tempfile::TempDir,
    pub base: String,
    pub database: String,
    _server: Killed,
}

impl Demo {
    /// Seeds the demo and serves it, with `env` added to the server's
    /// environment (an MQTT URL, say).
    pub fn start(env: &[(&str, &str)]) -> Demo {
        let bin = env!("CARGO_BIN_EXE_yizhan");
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite:{}", dir.path().join("yizhan.db").display());
        let seeded = Command::new(bin)
            .args(["demo", "--no-serve", "--no-devices", "--data-dir"])
            .arg(dir.path())
            .env("YIZHAN_LOG", "warn")
            .output()
            .unwrap();
        assert!(seeded.status.success(), "demo seeding failed: {seeded:?}");
        let mut command = Command::new(bin);
        command
            .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
            .env("YIZHAN_DATABASE__URL", &database)
            .env("YIZHAN_KEYS_FILE", dir.path().join("keys.json"))
            .env("YIZHAN_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut server = command.spawn().unwrap();
        let server_out = lines(server.stdout.take().unwrap());
        let server = Killed(server);
        let serving = wait_for(&server_out, "serving at ", "yizhan serve");
        let base = serving
            .split("serving at ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .trim_end_matches('/')
            .to_string();
        Demo {
            dir,
            base,
            database,
            _server: server,
        }
    }

    /// Runs `browser-tests/{script}` against this server with `env`; fails
    /// the test when the script fails. Screenshots go to `target/playwright/`.
    pub fn run_script(&self, script: &str, env: &[(&str, &str)]) {
        let shots = repo_root().join("target/playwright");
        let mut command = Command::new("node");
        command
            .arg(repo_root().join("browser-tests").join(script))
            .env("BASE_URL", &self.base)
            .env("SCREENSHOT_DIR", &shots)
            .env("PASSWORD", DEMO_PASSWORD)
            .env("CHROMIUM", chromium().unwrap());
        for (key, value) in env {
            command.env(key, value);
        }
        let status = command.status().unwrap();
        assert!(
            status.success(),
            "{script} failed (screenshots in {})",
            shots.display()
        );
    }
}
