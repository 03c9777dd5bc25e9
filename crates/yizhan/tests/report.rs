//! `yizhan report daily` on the demo county (issue 16): the markdown on
//! standard output, a valid .xlsx read back with calamine, and `--push`
//! through a configured group robot to a local receiver that answers like
//! WeCom.

use calamine::Reader;
use std::io::{Read, Write};
use std::process::Command;

/// A one-request robot on 127.0.0.1: answers `errcode` 0 and hands back
/// what it was sent (request line and body).
fn robot() -> (String, std::thread::JoinHandle<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/cgi-bin/webhook/send?key=test-key",
        listener.local_addr().unwrap()
    );
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut received = Vec::new();
        let mut buffer = [0u8; 65536];
        loop {
            let n = stream.read(&mut buffer).unwrap();
            received.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&received).to_string();
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length: usize = text[..head_end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if received.len() >= head_end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let body = r#"{"errcode":0,"errmsg":"ok"}"#;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        String::from_utf8_lossy(&received).to_string()
    });
    (url, handle)
}

#[test]
fn the_daily_report_prints_writes_a_valid_xlsx_and_pushes_to_the_group_robot() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("demo");
    let output = Command::new(env!("CARGO_BIN_EXE_yizhan"))
        .args([
            "demo",
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--no-serve",
        ])
        .env("YIZHAN_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let url = format!("sqlite:{}", data_dir.join("yizhan.db").display());
    let (robot_url, robot) = robot();
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_yizhan"))
            .args(args)
            .env("YIZHAN_DATABASE__URL", &url)
            .env("YIZHAN_KEYS_FILE", data_dir.join("keys.json"))
            .env("YIZHAN_LOG", "warn")
            // The local robot, allowed the way an on-premises relay would be.
            .env("YIZHAN_WEBHOOKS__ALLOW_HTTP", "true")
            .env("YIZHAN_WEBHOOKS__ALLOW", "[\"127.0.0.1\"]")
            .env("YIZHAN_BOTS__COUNTY__KIND", "wecom")
            .env("YIZHAN_BOTS__COUNTY__URL", &robot_url)
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let xlsx = dir.path().join("daily.xlsx");
    let (ok, stdout, stderr) = run(&[
        "report",
        "daily",
        "--day",
        &today.to_string(),
        "--xlsx",
        xlsx.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!("县域快递日报 {today}")) && stdout.contains("驿站排名"),
        "{stdout}"
    );
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    assert_eq!(book.sheet_names(), vec!["日报指标", "驿站", "快递公司"]);
    let headlines = book.worksheet_range("日报指标").unwrap();
    assert_eq!(
        headlines.get_value((0, 0)).map(|c| c.to_string()),
        Some("指标".to_string())
    );
    assert!(headlines.height() >= 12, "a row per headline");
    let stations = book.worksheet_range("驿站").unwrap();
    assert!(stations.height() >= 2, "the demo's stations are ranked");

    // --push without a robot says how to name one.
    let (ok, _, stderr) = Command::new(env!("CARGO_BIN_EXE_yizhan"))
        .args(["report", "daily", "--push"])
        .env("YIZHAN_DATABASE__URL", &url)
        .env("YIZHAN_KEYS_FILE", data_dir.join("keys.json"))
        .env("YIZHAN_LOG", "warn")
        .output()
        .map(|o| {
            (
                o.status.success(),
                String::new(),
                String::from_utf8_lossy(&o.stderr).to_string(),
            )
        })
        .unwrap();
    assert!(!ok && stderr.contains("--bot"), "{stderr}");

    // Pushed to the robot: queued once and sent at once.
    let (ok, _, stderr) = run(&[
        "report",
        "daily",
        "--day",
        &today.to_string(),
        "--push",
        "--bot",
        "county",
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("sent 1"), "{stderr}");
    let received = robot.join().unwrap();
    assert!(received.starts_with("POST /cgi-bin/webhook/send?key=test-key"));
    assert!(
        received.contains(r#""msgtype":"markdown""#) && received.contains("县域快递日报"),
        "{received}"
    );
    assert!(
        !stderr.contains("test-key"),
        "the robot's key is never printed"
    );
    // A second push of the same day and robot queues nothing.
    let (ok, _, stderr) = run(&[
        "report",
        "daily",
        "--day",
        &today.to_string(),
        "--push",
        "--bot",
        "county",
    ]);
    assert!(ok && stderr.contains("already queued"), "{stderr}");
}
