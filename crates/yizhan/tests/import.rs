//! `yizhan import manifest`: a file with malformed, duplicate and oversized
//! rows reports each by its line and keeps every good row.

use std::path::Path;
use std::process::Command;

/// One key file for every run in this process, as a deployment has one.
fn keys_json() -> &'static str {
    static KEYS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        app::keys::KeyFile::generate(chrono::Utc::now(), app::keys::ImportedSecrets::default())
            .to_json()
    })
}

/// Runs `yizhan import manifest` (with `extra` arguments); its stdout,
/// stderr and exit status.
fn run_import(file: &Path, carrier: &str, url: &str, extra: &[&str]) -> (String, String, i32) {
    let output = Command::new(env!("CARGO_BIN_EXE_yizhan"))
        .args([
            "import",
            "manifest",
            file.to_str().unwrap(),
            "--carrier",
            carrier,
        ])
        .args(extra)
        .env("YIZHAN_DATABASE__URL", url)
        .env("YIZHAN_KEYS_JSON", keys_json())
        .env("YIZHAN_LOG", "warn")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
        output.status.code().unwrap_or(-1),
    )
}

/// Runs an import some of whose rows are refused: it keeps the good rows
/// and exits 1, so a script notices. Its stdout and stderr.
fn import(file: &Path, carrier: &str, url: &str) -> (String, String) {
    let (stdout, stderr, status) = run_import(file, carrier, url, &[]);
    assert_eq!(status, 1, "rows were refused: exit 1\n{stdout}\n{stderr}");
    (stdout, stderr)
}

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
    let (stdout, stderr) = import(&csv, "ZTO", &url);
    assert!(
        stdout.contains("3 announced, 0 already known, 6 refused"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    for (line, words) in [
        (4, "may hold only"),
        (5, "mobile"),
        (6, "at most 64"),
        (7, "the same waybill as line 2"),
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
    let (again, _) = import(&csv, "ZTO", &url);
    assert!(again.contains("0 announced, 3 already known"), "{again}");
}

#[test]
fn spreadsheet_manifests_read_numbers_as_typed_and_report_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jt.xlsx");
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, header) in [
        "waybill",
        "recipient_name",
        "phone",
        "station_id",
        "size",
        "consent",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    // Row 2: numbers typed as numbers; row 3: a bad phone; row 4: a bad size; row 5: good text cells.
    sheet.write_number(1, 0, 731_000_000_101.0).unwrap();
    sheet.write_string(1, 1, "张三").unwrap();
    sheet.write_number(1, 2, 13_812_345_678.0).unwrap();
    sheet.write_string(2, 0, "731000000102").unwrap();
    sheet.write_string(2, 2, "12345").unwrap();
    sheet.write_string(3, 0, "731000000103").unwrap();
    sheet.write_string(3, 4, "huge").unwrap();
    sheet.write_string(4, 0, "JT1234567890123").unwrap();
    sheet.write_string(4, 5, "是").unwrap();
    // A stray cell in the sheet's far corner (XFD1048576): read as one dense
    // range it would need a grid of 17 billion cells; it is ignored.
    sheet.write_string(1_048_575, 16_383, "stray").unwrap();
    workbook.save(&path).unwrap();
    let url = format!("sqlite:{}", dir.path().join("import.db").display());
    let (stdout, stderr) = import(&path, "JT", &url);
    assert!(
        stdout.contains("2 announced, 0 already known, 2 refused"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("line 3:") && l.contains("mobile")),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("line 4:") && l.contains("size class")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("7.31"),
        "whole numbers read as integers: {stderr}"
    );
}

/// Runs an import that must fail; its stderr.
fn import_refused(file: &Path, url: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_yizhan"))
        .args([
            "import",
            "manifest",
            file.to_str().unwrap(),
            "--carrier",
            "ZTO",
        ])
        .env("YIZHAN_DATABASE__URL", url)
        .env("YIZHAN_KEYS_JSON", keys_json())
        .env("YIZHAN_LOG", "warn")
        .output()
        .unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// Spreadsheets that are not what they claim: a workbook fuzzing found that
/// made the spreadsheet library overflow is refused with advice (not a
/// panic), and .xls/.ods files are refused with what to do instead.
#[test]
fn damaged_and_unsupported_spreadsheets_are_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("import.db").display());
    let damaged =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-calamine-overflow.xlsx");
    let stderr = import_refused(&damaged, &url);
    assert!(
        stderr.contains("save it again as .xlsx, or export CSV")
            || stderr.contains("reading the first sheet"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    for extension in ["ods", "xls"] {
        let path = dir.path().join(format!("manifest.{extension}"));
        std::fs::write(&path, b"not read").unwrap();
        let stderr = import_refused(&path, &url);
        assert!(
            stderr.contains("save it as .xlsx or export CSV"),
            "{stderr}"
        );
    }
}

/// A file of several chunks: refusals in a later chunk still name their
/// file line, a waybill repeated across chunks is announced once, and a
/// second import announces nothing.
#[test]
fn a_file_of_many_chunks_reports_real_lines_and_announces_each_waybill_once() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("big.csv");
    let mut text = String::from("waybill,recipient_name,phone,address,station_id,size,consent\n");
    for idx in 0..12_000usize {
        // The row at idx sits on line idx + 2 (after the header).
        let (waybill, phone) = match idx {
            8_998 => (format!("73{idx:010}"), "12345".to_string()),
            10_998 => ("730000000000".to_string(), "13812345678".to_string()),
            _ => (format!("73{idx:010}"), "13812345678".to_string()),
        };
        text.push_str(&format!("{waybill},张三,{phone},石桥村3组,,small,true\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let url = format!("sqlite:{}", dir.path().join("import.db").display());
    let (stdout, stderr) = import(&csv, "ZTO", &url);
    assert!(
        stdout.contains("11998 announced, 0 already known, 2 refused"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("line 11000:") && l.contains("the same waybill as line 2")),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("line 9000:") && l.contains("mobile")),
        "{stderr}"
    );
    let (again, _) = import(&csv, "ZTO", &url);
    assert!(
        again.contains("0 announced, 11998 already known, 2 refused"),
        "{again}"
    );
}

/// What Excel and Python write: CRLF line ends. Refusals name the file's
/// own lines all the same; `--json` prints one object; a file with no
/// refused row exits 0; consent and weight take the documented forms.
#[test]
fn crlf_files_report_their_own_lines_and_json_tells_a_script_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("import.db").display());
    let rows = [
        "waybill,recipient_name,phone,address,station_id,size,consent,weight_grams",
        "731000000201,张三,13812345678,,,小,是,1250",
        "731000000202,李四,12345,,,,,",
        "731000000203,王五,13812345678,,,medium,maybe,",
        "731000000204,赵六,13812345678,,,,1,1.25kg",
        "731000000201,张三,13812345678,,,小,是,1250",
        "731000000205,钱七,13812345678,,,LARGE,yes,900",
    ];
    let csv = dir.path().join("excel.csv");
    std::fs::write(&csv, rows.join("\r\n") + "\r\n").unwrap();
    let (stdout, stderr, status) = run_import(&csv, "ZTO", &url, &["--json"]);
    assert_eq!(status, 1, "{stdout}\n{stderr}");
    let outcome: serde_json::Value = serde_json::from_str(stdout.trim()).expect(&stdout);
    assert_eq!(outcome["n_announced"], 2, "{outcome}");
    let refused: Vec<(i64, String)> = outcome["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_i64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let lines: Vec<i64> = refused.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [3, 4, 5, 6], "{outcome}");
    assert!(refused[1].1.contains("是/否"), "{outcome}");
    assert!(refused[2].1.contains("whole grams"), "{outcome}");
    assert!(refused[3].1.contains("line 2"), "{outcome}");
    // A clean file exits 0.
    let clean = dir.path().join("clean.csv");
    std::fs::write(&clean, "waybill,consent\r\n731000000301,否\r\n").unwrap();
    let (stdout, stderr, status) = run_import(&clean, "ZTO", &url, &[]);
    assert_eq!(status, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 announced, 0 already known, 0 refused"),
        "{stdout}"
    );
}
