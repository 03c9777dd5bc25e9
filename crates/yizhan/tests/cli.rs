//! The command line on files: routing and sort plans answer JSON, and bad
//! files are refused naming the line.

use std::process::Command;

fn yizhan(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_yizhan"))
        .args(args)
        .env("YIZHAN_LOG", "warn")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[test]
fn route_solve_answers_a_checked_plan_and_refuses_bad_files() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../route/examples/data/county.json"
    );
    let (ok, stdout, stderr) = yizhan(&[
        "route",
        "solve",
        example,
        "--time-limit-ms",
        "300",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let document: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(document["feasible"], true, "{stdout}");
    assert!(
        document["routes"]
            .as_array()
            .is_some_and(|routes| !routes.is_empty())
    );
    for unserved in document["unserved"].as_array().unwrap() {
        assert!(
            !unserved["explanation"].as_str().unwrap().is_empty(),
            "every unserved stop says why"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.vrp");
    std::fs::write(&bad, "NAME : bad\nTYPE : CVRP\nDIMENSION : x\n").unwrap();
    let (ok, _, stderr) = yizhan(&["route", "solve", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("line 3"), "{stderr}");
}

#[test]
fn sort_plan_writes_a_page_and_refuses_bad_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("hub.html");
    let (ok, stdout, stderr) = yizhan(&[
        "sort-plan",
        "--generate",
        "3",
        "--json",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let evaluation: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(evaluation.is_object());
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing is loaded from elsewhere (the SVG namespace is a name, not a load).
    let loads = ["src=\"http", "href=\"http", "url(http", "@import"];
    assert!(
        html.contains("<svg") && !loads.iter().any(|l| html.contains(l)),
        "a self-contained page"
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"name\": \"x\",\n  \"colour\": 1\n}").unwrap();
    let (ok, _, stderr) = yizhan(&["sort-plan", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("line 3"), "{stderr}");
}

#[test]
fn a_county_is_set_up_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("county.db").display());
    let keys =
        app::keys::KeyFile::generate(chrono::Utc::now(), app::keys::ImportedSecrets::default())
            .to_json();
    let run = |args: &[&str], password: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_yizhan"));
        command
            .args(args)
            .env("YIZHAN_DATABASE__URL", &url)
            .env("YIZHAN_KEYS_JSON", &keys)
            .env("YIZHAN_LOG", "warn");
        if let Some(password) = password {
            command.env("YIZHAN_NEW_PASSWORD", password);
        }
        let output = command.output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let (ok, stdout, stderr) = run(
        &[
            "station",
            "add",
            "--name",
            "石桥村驿站",
            "--township",
            "石桥镇",
            "--shelf",
            "A:4x10:small:2",
            "--shelf",
            "D:2x6:large:1",
        ],
        None,
    );
    assert!(ok && stdout.contains("52 slots"), "{stdout}{stderr}");
    let (ok, _, stderr) = run(
        &[
            "station",
            "add",
            "--name",
            "x",
            "--township",
            "y",
            "--shelf",
            "A:4:small",
        ],
        None,
    );
    assert!(!ok && stderr.contains("LABEL:TIERSxSLOTS"), "{stderr}");
    let (ok, _, stderr) = run(
        &[
            "user",
            "add",
            "keeper",
            "--role",
            "station_keeper",
            "--station",
            "1",
        ],
        Some("long-enough-1"),
    );
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = run(&["user", "add", "short", "--role", "admin"], Some("short"));
    assert!(!ok && stderr.contains("8 to 128"), "{stderr}");
    let (ok, token, stderr) = run(&["user", "token", "keeper", "--hours", "1"], None);
    assert!(
        ok && token.trim().starts_with("yz_") && token.trim().len() == 67,
        "{token}{stderr}"
    );
    // A forgotten password is set again; the account's tokens end with it.
    let (ok, stdout, stderr) = run(&["user", "password", "keeper"], Some("another-long-one"));
    assert!(
        ok && stdout.contains("password set; 1 token(s) revoked"),
        "{stdout}{stderr}"
    );
    let (ok, _, stderr) = run(&["user", "password", "keeper"], Some("short"));
    assert!(!ok && stderr.contains("8 to 128"), "{stderr}");
    let (ok, _, stderr) = run(&["user", "password", "nobody"], Some("another-long-one"));
    assert!(!ok, "{stderr}");
}

/// The demo county runs all three modes; reconciliation and handover lists
/// come from the command line.
#[test]
fn demo_county_reconciles_and_prints_handover_lists() {
    let demo = SeededDemo::new();
    let run = |args: &[&str]| demo.run(args);
    // Each carrier announced parcels that never came (the centre's day has
    // one per carrier, the stations' history more); SF also had one arrive
    // that it never announced.
    let (ok, stdout, stderr) = run(&["reconcile", "--carrier", "SF"]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let missing = report["missing"].as_array().unwrap();
    assert!(
        !missing.is_empty() && missing.iter().all(|p| p["state"] == "announced"),
        "{report}"
    );
    assert_eq!(
        report["unannounced"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    let (ok, _, stderr) = run(&["reconcile", "--carrier", "NOPE"]);
    assert!(!ok && stderr.contains("NOPE"), "{stderr}");
    let (ok, page, stderr) = run(&["handover", "--contractor", "1"]);
    assert!(ok, "{stderr}");
    assert!(
        page.contains("交接单") && page.contains("王建国") && page.contains("中通"),
        "{page}"
    );
    let (ok, page, _) = run(&["handover", "--route", "1"]);
    assert!(ok && page.contains("丽春—九尺共配线"));

    // Issue 12: the demo's trail verifies, and the checks find the breach
    // the demo planted for every rule.
    let (ok, stdout, stderr) = run(&["audit", "verify"]);
    assert!(
        ok && stdout.starts_with("audit trail intact: "),
        "{stdout}{stderr}"
    );
    let (ok, stdout, stderr) = run(&["compliance", "run"]);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rules = report["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 8, "{report}");
    for rule in rules {
        assert!(rule["new"].as_u64().unwrap() >= 1, "found nothing: {rule}");
    }
    let (ok, stdout, _) = run(&["compliance", "list", "--status", "open"]);
    assert!(ok && stdout.lines().count() >= 8, "{stdout}");
    let (ok, stdout, _) = run(&["audit", "head"]);
    assert!(ok && stdout.starts_with("audit head #"), "{stdout}");
}

/// Issue 11, finding 11: `serve` defaulted to the demo's database, whose
/// users have the password the README publishes, and served it as a county.
#[test]
fn serve_refuses_a_database_with_the_demo_password_unless_told_it_is_a_demo() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("demo");
    let (ok, _, stderr) = yizhan(&[
        "demo",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--no-serve",
        "--no-devices",
    ]);
    assert!(ok, "{stderr}");
    let url = format!("sqlite:{}", data_dir.join("yizhan.db").display());
    let serve = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_yizhan"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("YIZHAN_DATABASE__URL", &url)
            .env("YIZHAN_KEYS_FILE", data_dir.join("keys.json"))
            .env("YIZHAN_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Refused, saying why and what to do, before it listens.
    let output = serve(&[]).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "served the demo database: {stderr}"
    );
    for words in [
        "demo password",
        "admin",
        "YIZHAN_DATABASE__URL",
        "yizhan user password",
        "serve --demo",
    ] {
        assert!(stderr.contains(words), "{words:?} missing from: {stderr}");
    }
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("serving at"),
        "it listened anyway"
    );
    // With --demo it serves.
    let mut child = serve(&["--demo"]);
    let stdout = child.stdout.take().unwrap();
    let first = BufReader::new(stdout).lines().next();
    let _ = child.kill();
    let _ = child.wait();
    let first = first.expect("serve --demo printed nothing").unwrap();
    assert!(first.contains("serving at"), "{first}");
}

/// `yizhan send quote` (issue 14): the check command prices by the shipped
/// tariff, a heavier item never costs less, a bulky one is billed by volume,
/// and bad divisions, weights and sizes are refused with a reason.
#[test]
fn send_quote_prints_price_fen_by_the_shipped_tariff() {
    let quote = |extra: &[&str]| {
        let mut args = vec![
            "send",
            "quote",
            "--from",
            "510182",
            "--to",
            "330727",
            "--day",
            "2026-12-07",
            "--json",
        ];
        args.extend_from_slice(extra);
        let (ok, stdout, stderr) = yizhan(&args);
        assert!(ok, "{stderr}");
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap()
    };
    let light = quote(&["--weight-grams", "800"]);
    assert_eq!(light["zone"], "national", "{light}");
    let light_fen = light["price_fen"].as_i64().unwrap();
    assert!(light_fen > 0);
    let heavy = quote(&["--weight-grams", "3500"]);
    assert!(heavy["price_fen"].as_i64().unwrap() > light_fen, "{heavy}");
    let bulky = quote(&["--weight-grams", "800", "--size", "60x40x40"]);
    assert_eq!(bulky["billed_grams"], 12000, "{bulky}");
    let (ok, stdout, _) = yizhan(&[
        "send",
        "quote",
        "--from",
        "510182",
        "--to",
        "510182103",
        "--weight-grams",
        "1000",
    ]);
    assert!(ok && stdout.contains("同县"), "{stdout}");
    for (bad, says) in [
        (["--to", "999999", "--weight-grams", "800"], "province"),
        (["--to", "110199", "--weight-grams", "800"], "NBS"),
        (["--to", "330727", "--weight-grams", "0"], "weight"),
        (["--to", "330727", "--size", "0x1x1"], "side"),
    ] {
        let mut args = vec!["send", "quote", "--from", "510182"];
        args.extend_from_slice(&bad);
        if !bad.contains(&"--weight-grams") {
            args.extend_from_slice(&["--weight-grams", "800"]);
        }
        let (ok, _, stderr) = yizhan(&args);
        assert!(
            !ok && stderr.contains(says),
            "{bad:?} should be refused naming {says}: {stderr}"
        );
    }
}

/// Session 10: `sending.tariff_file` in the configuration is the tariff the
/// server charges and `send quote` prices by; a broken file is refused with
/// its name and reason.
#[test]
fn send_quote_prices_by_the_configured_tariff_file() {
    let folder = tempfile::tempdir().unwrap();
    let shipped = include_str!("../../domain/tariffs/default.toml");
    // The same tariff with every first weight 1 yuan dearer.
    let dearer = shipped
        .lines()
        .map(|line| match line.strip_prefix("first_fen = ") {
            Some(fen) => format!("first_fen = {}", fen.trim().parse::<i64>().unwrap() + 100),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = folder.path().join("tariff.toml");
    std::fs::write(&path, dearer).unwrap();
    let quote = |tariff: Option<&std::path::Path>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_yizhan"));
        command
            .args([
                "send",
                "quote",
                "--from",
                "510182",
                "--to",
                "330727",
                "--day",
                "2026-12-07",
                "--weight-grams",
                "800",
                "--json",
            ])
            .env("YIZHAN_LOG", "warn")
            .current_dir(folder.path());
        if let Some(tariff) = tariff {
            command.env("YIZHAN_SENDING__TARIFF_FILE", tariff);
        }
        command.output().unwrap()
    };
    let price = |output: std::process::Output| {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()["price_fen"]
            .as_i64()
            .unwrap()
    };
    let shipped_fen = price(quote(None));
    assert_eq!(price(quote(Some(&path))), shipped_fen + 100);
    std::fs::write(&path, "[[version]]\nversion = 1\n").unwrap();
    let broken = quote(Some(&path));
    assert!(!broken.status.success());
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(
        stderr.contains("sending.tariff_file") && stderr.contains("tariff.toml"),
        "{stderr}"
    );
}

/// Issue 15: the demo's fees are in the ledger and `yizhan ledger check`
/// says so; a transfer changed past the triggers makes it fail naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_check_passes_on_the_demo_and_fails_on_a_changed_transfer() {
    let demo = SeededDemo::new();
    let url = demo.url.clone();
    let run = |args: &[&str]| demo.run(args);
    let (ok, stdout, stderr) = run(&["ledger", "check"]);
    assert!(ok && stdout.contains("ledger whole"), "{stdout}{stderr}");
    let (ok, stdout, _) = run(&["ledger", "check", "--json"]);
    let check: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(ok && check["transfers"].as_u64().unwrap() > 0, "{check}");
    assert_eq!(check["debits"], check["credits"]);
    // Someone edits the database by hand, past the triggers.
    let db = store::Db::connect(&store::ConnectOptions::new(
        url.clone(),
        std::sync::Arc::new(store::Keys::ephemeral()),
    ))
    .await
    .unwrap();
    db.raw_execute("DROP TRIGGER ledger_transfers_no_update")
        .await
        .unwrap();
    db.raw_execute("UPDATE ledger_transfers SET amount_fen = amount_fen + 1 WHERE seq = 1")
        .await
        .unwrap();
    db.close().await;
    let (ok, stdout, stderr) = run(&["ledger", "check"]);
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains("BROKEN transfer_changed at transfer #1"),
        "{stdout}"
    );
    assert!(stderr.contains("the ledger is broken"), "{stderr}");
}

/// Issue 15: `yizhan arrears --json` ages each debtor's open invoices (the
/// statements' net) from their due days, in fen; a settled one is no debt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrears_json_ages_each_debtor_in_fen() {
    let demo = SeededDemo::new();
    let url = demo.url.clone();
    let run = |args: &[&str]| demo.run(args);
    let (ok, stdout, stderr) = run(&["arrears", "--json"]);
    assert!(ok, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["debtors"], serde_json::json!([]), "nothing issued yet");
    // Statements as finance issued them: ZTO owes one long overdue (less a
    // resolved dispute) and one not yet due; SF's was all credited back.
    let db = store::Db::connect(&store::ConnectOptions::new(
        url.clone(),
        std::sync::Arc::new(store::Keys::ephemeral()),
    ))
    .await
    .unwrap();
    for (carrier, month, issued, credited, due) in [
        ("ZTO", "2020-01", 12_345, 345, "2020-02-15"),
        ("ZTO", "2998-12", 500, 0, "2999-01-15"),
        ("SF", "2020-01", 800, 800, "2020-02-15"),
    ] {
        db.raw_execute(&format!(
            "INSERT INTO statements (carrier, month, status, n_lines, issued_fen, credited_fen, due_day, issued_at, issued_by, updated_at) \
             VALUES ('{carrier}', '{month}', 'issued', 1, {issued}, {credited}, '{due}', 0, 'finance', 0)"
        ))
        .await
        .unwrap();
    }
    // ZTO's debt is chased by the demo's county operator.
    db.raw_execute(
        "INSERT INTO debtor_terms (carrier, responsible_user_id, responsible_phone, payment_days, updated_at, updated_by) \
         SELECT 'ZTO', id, '13812345678', 20, 0, 'admin' FROM users WHERE username = 'operator'",
    )
    .await
    .unwrap();
    db.close().await;
    let (ok, stdout, stderr) = run(&["arrears", "--json"]);
    assert!(ok, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        doc["debtors"],
        serde_json::json!([{
            "carrier": "ZTO",
            "responsible": { "username": "operator", "name": "operator", "phone": "138****5678" },
            "payment_days": 20,
            "oldest_due": "2020-02-15",
            "total_fen": 12_500,
            "buckets_fen": {
                "not_due": 500,
                "days_1_30": 0,
                "days_31_60": 0,
                "days_61_90": 0,
                "over_90": 12_000,
            },
        }]),
        "{stdout}"
    );
    let (ok, stdout, _) = run(&["arrears"]);
    assert!(ok && stdout.contains("ZTO owes 12500 fen"), "{stdout}");
    assert!(
        stdout.contains("chased by operator (operator, 138****5678)"),
        "{stdout}"
    );
}

/// A demo county seeded (not served) into a temporary directory, and the
/// binary run on it with its database and key file.
struct SeededDemo {
    _dir: tempfile::TempDir,
    data_dir: std::path::PathBuf,
    url: String,
}

impl SeededDemo {
    fn new() -> SeededDemo {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("demo");
        let (ok, _, stderr) = yizhan(&[
            "demo",
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--no-serve",
        ]);
        assert!(ok, "{stderr}");
        let url = format!("sqlite:{}", data_dir.join("yizhan.db").display());
        SeededDemo {
            _dir: dir,
            data_dir,
            url,
        }
    }

    /// Success, stdout and stderr of `yizhan ARGS` on this county.
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_yizhan"))
            .args(args)
            .env("YIZHAN_DATABASE__URL", &self.url)
            .env("YIZHAN_KEYS_FILE", self.data_dir.join("keys.json"))
            .env("YIZHAN_LOG", "warn")
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    }
}

/// Branch claims (issue 15): the demo has money received over six weeks
/// waiting to be claimed, and its ledger is whole with ZTO's oldest payment
/// claimed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_has_money_received_to_claim() {
    let demo = SeededDemo::new();
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let day = (today - chrono::Duration::days(41)).to_string();
    let (ok, stdout, stderr) = demo.run(&["ledger", "receipts", "--day", &day]);
    assert!(
        ok && stdout.contains("中通快递彭州网点"),
        "{stdout}{stderr}"
    );
    let (ok, stdout, stderr) = demo.run(&["ledger", "check"]);
    assert!(ok && stdout.contains("ledger whole"), "{stdout}{stderr}");
}
