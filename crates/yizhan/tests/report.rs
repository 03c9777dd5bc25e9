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

/// `yizhan report presale` on the demo county (issue 14 point 4, branch
/// presale): the demo's campaign as JSON — its orders across the eight
/// stations, the home deliveries, some picked up already, the revenue in
/// fen — and as text.
#[test]
fn the_presale_report_shows_the_demo_campaign_as_json_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("demo");
    let output = Command::new(env!("CARGO_BIN_EXE_yizhan"))
        .args([
            "demo",
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--no-serve",
            "--no-devices",
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
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_yizhan"))
            .args(args)
            .env("YIZHAN_DATABASE__URL", &url)
            .env("YIZHAN_KEYS_FILE", data_dir.join("keys.json"))
            .env("YIZHAN_LOG", "warn")
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let (ok, stdout, stderr) = run(&["report", "presale", "--campaign", "1", "--json"]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["campaign"]["name"], "彭州冬季农特产预售", "{report}");
    assert_eq!(report["orders"], 320, "{report}");
    assert_eq!(report["home_delivery"], 27, "{report}");
    assert_eq!(report["stored"], 293, "{report}");
    let picked_up = report["picked_up"].as_u64().unwrap();
    let waiting = report["waiting"].as_u64().unwrap();
    assert!(picked_up > 80 && waiting > 80, "{report}");
    assert_eq!(picked_up + waiting, 293, "{report}");
    assert!(
        report["revenue_fen"].as_i64().unwrap() > 320 * 2_600,
        "{report}"
    );
    assert_eq!(report["stations"].as_array().unwrap().len(), 8, "{report}");
    for private in ["先生", "女士", "天府东路"] {
        assert!(!stdout.contains(private), "{private} in {stdout}");
    }
    let (ok, text, stderr) = run(&["report", "presale", "--campaign", "1"]);
    assert!(ok, "{stderr}");
    assert!(
        text.contains("orders 320") && text.contains("home delivery 27"),
        "{text}"
    );
    let (ok, _, stderr) = run(&["report", "presale", "--campaign", "99", "--json"]);
    assert!(!ok, "an unknown campaign is an error");
    assert!(
        stderr.contains("not found") || stderr.contains("99"),
        "{stderr}"
    );
}
