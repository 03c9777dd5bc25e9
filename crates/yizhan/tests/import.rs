//! `yizhan import manifest`: a file with malformed, duplicate and oversized
//! rows reports each by its line and keeps every good row.

use std::process::Command;

#[test]
fn manifest_import_reports_bad_lines_and_keeps_good_rows() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("zto.csv");
    let long_name = "名".repeat(80);
    let rows = [
        "waybill,recipient_name,phone,address,station_id,size,consent".to_string(),
        "731000000001,张三,13812345678,石桥村3组,,small,true".to_string(),
        "731000000002,李四,+86 139-8765-4321,,,medium,".to_string(),
        "7310;DROP TABLE,王五,13812345678,,,,".to_string(),
        "731000000003,赵六,12345,,,,".to_string(),
        format!("731000000004,{long_name},13812345678,,,,"),
        "731000000001,张三,13812345678,石桥村3组,,small,true".to_string(),
        "731000000005,钱七,13812345678,,,huge,".to_string(),
        "731000000006,孙八".to_string(),
        "731000000007,周九,13700001111,,,,false".to_string(),
    ];
    std::fs::write(&csv, rows.join("\n")).unwrap();
    let url = format!("sqlite:{}", dir.path().join("import.db").display());
    let output = Command::new(env!("CARGO_BIN_EXE_yizhan"))
        .args([
            "import",
            "manifest",
            csv.to_str().unwrap(),
            "--carrier",
            "ZTO",
        ])
        .env("YIZHAN_DATABASE__URL", &url)
        .env("YIZHAN_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("3 announced, 1 already known, 5 refused"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    for (line, words) in [
        (4, "may hold only"),
        (5, "mobile"),
        (6, "at most 64"),
        (8, "size class"),
        (9, "unreadable row"),
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&format!("line {line}:")) && l.contains(words)),
            "line {line} ({words}) not reported in:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("13812345678"),
        "no whole phone number in the report"
    );
    // Importing again announces nothing twice.
    let again = Command::new(env!("CARGO_BIN_EXE_yizhan"))
        .args([
            "import",
            "manifest",
            csv.to_str().unwrap(),
            "--carrier",
            "ZTO",
        ])
        .env("YIZHAN_DATABASE__URL", &url)
        .env("YIZHAN_LOG", "warn")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 announced, 4 already known"));
}
