//! The demo's first run (issue 13): it used to print about 1,300 log
//! lines, one per seeded message, around the URL and the sign-ins. Now it
//! seeds quietly, logs warnings only unless `YIZHAN_LOG` asks, ends with
//! one block (the URL and who signs in where), and no output line, at any
//! log level, holds a pickup code.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;

/// A pickup code in the demo's format, `{shelf}-{tier}-{code:6}`
/// (`A-3-480217`): letters, a dash, digits, a dash, six digits.
fn pickup_codes(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        let parts: Vec<&str> = word.split('-').collect();
        if let [shelf, tier, secret] = parts.as_slice() {
            let shelf_ok = !shelf.is_empty() && shelf.chars().all(|c| c.is_ascii_uppercase());
            let tier_ok = !tier.is_empty() && tier.chars().all(|c| c.is_ascii_digit());
            let secret_ok = secret.len() == 6 && secret.chars().all(|c| c.is_ascii_digit());
            if shelf_ok && tier_ok && secret_ok {
                found.push(word.to_string());
            }
        }
    }
    found
}

#[test]
fn the_finder_finds_codes() {
    assert_eq!(
        pickup_codes("sent A-3-480217 to 138****5678"),
        ["A-3-480217"]
    );
    assert!(pickup_codes("2026-12-07 09:00 station=3 n=480217").is_empty());
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_demo_seeds_quietly_logs_no_code_and_ends_with_the_url_block() {
    let bin = env!("CARGO_BIN_EXE_yizhan");
    let dir = tempfile::tempdir().unwrap();

    // Seeding with every info line on: still no pickup code in any of them.
    let seeded = Command::new(bin)
        .args(["demo", "--no-serve", "--no-devices", "--data-dir"])
        .arg(dir.path())
        .env("YIZHAN_LOG", "info")
        .output()
        .unwrap();
    let seed_out = format!(
        "{}{}",
        String::from_utf8_lossy(&seeded.stdout),
        String::from_utf8_lossy(&seeded.stderr)
    );
    assert!(seeded.status.success(), "{seed_out}");
    assert!(
        seed_out.contains("demo county created"),
        "the info level was on: {seed_out}"
    );
    assert_eq!(pickup_codes(&seed_out), Vec::<String>::new(), "{seed_out}");

    // Served as a keeper would start it: default logging.
    let mut child = Command::new(bin)
        .args([
            "demo",
            "--no-devices",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("YIZHAN_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = Killed(child);
    let (out_tx, out_rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if out_tx.send(line).is_err() {
                break;
            }
        }
    });
    let (err_tx, err_rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if err_tx.send(line).is_err() {
                break;
            }
        }
    });
    // Everything up to the block's closing rule (the block opens and closes
    // with one).
    let mut lines = Vec::new();
    let mut rules = 0;
    while rules < 2 {
        let line = out_rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no URL block within two minutes: {lines:#?}"));
        if line.starts_with("────") {
            rules += 1;
        }
        lines.push(line);
    }
    // The server answers at the URL the block names.
    let block_start = lines.iter().position(|l| l.starts_with("────")).unwrap();
    let block = lines[block_start..].join("\n");
    let url = block
        .lines()
        .find_map(|l| l.strip_prefix("yizhan demo county: "))
        .unwrap_or_else(|| panic!("the block names the URL: {block}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let landing = reqwest::blocking::get(&url).unwrap();
    assert!(landing.status().is_success());
    for (who, page) in [
        ("admin", "console"),
        ("operator", "centre"),
        ("keeper1", "console"),
        ("zto", "carrier"),
        ("officer, auditor", "compliance"),
    ] {
        assert!(
            block
                .lines()
                .any(|l| l.contains(who) && l.contains(&format!("{url}{page}"))),
            "{who} → {url}{page} in the block:\n{block}"
        );
    }
    assert!(block.contains("yizhan-demo-2026"), "the password: {block}");
    drop(child);
    // The server is gone, so its stderr is closed: every line is in.
    let logged: Vec<String> = err_rx.iter().collect();
    let all = format!("{}\n{}", lines.join("\n"), logged.join("\n"));
    assert_eq!(pickup_codes(&all), Vec::<String>::new(), "{all}");
    assert!(
        logged.len() < 20,
        "warnings only by default, not a line per message: {} lines\n{}",
        logged.len(),
        logged.join("\n")
    );
}
