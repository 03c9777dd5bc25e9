//! The key file and retention from the command line (issue 12): `serve`
//! refuses to start without keys and says what to do; `keys init` writes a
//! private file once and takes over an older database's keys; the demo's
//! SQLite file holds no mobile number or recipient's name in any byte;
//! `keys rotate` and `retention run` work on it.

use std::path::Path;
use std::process::Command;

fn yizhan(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_yizhan"));
    command
        .args(args)
        .env_remove("YIZHAN_KEYS_FILE")
        .env_remove("YIZHAN_KEYS_JSON")
        .env("YIZHAN_LOG", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn serve_without_a_key_file_refuses_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("county.db").display());
    let (ok, stdout, stderr) = yizhan(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("YIZHAN_DATABASE__URL", &url)],
    );
    assert!(!ok && !stdout.contains("serving at"), "{stdout}{stderr}");
    for words in [
        "no key file",
        "yizhan keys init",
        "YIZHAN_KEYS_FILE",
        "--import",
        "yizhan demo",
    ] {
        assert!(stderr.contains(words), "{words:?} missing from: {stderr}");
    }
    let missing = dir.path().join("nowhere.json");
    let (ok, _, stderr) = yizhan(
        &["serve"],
        &[
            ("YIZHAN_DATABASE__URL", &url),
            ("YIZHAN_KEYS_FILE", missing.to_str().unwrap()),
        ],
    );
    assert!(!ok && stderr.contains("does not exist"), "{stderr}");
}

#[tokio::test]
async fn keys_init_writes_a_private_file_once_and_takes_over_an_older_databases_keys() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("county.db").display());
    // An older deployment: its keys in `server_secrets`.
    let (qr, web, devices) = ("11".repeat(32), "22".repeat(32), "33".repeat(32));
    {
        let db = store::Db::connect(&store::ConnectOptions::new(
            url.clone(),
            std::sync::Arc::new(store::Keys::ephemeral()),
        ))
        .await
        .unwrap();
        db.raw_execute(&format!(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ('qr', '{qr}', 0), ('web', '{web}', 0), ('devices', '{devices}', 0)"
        ))
        .await
        .unwrap();
        db.close().await;
    }
    let file = dir.path().join("secret/keys.json");
    let path = file.to_str().unwrap();
    let (ok, stdout, stderr) = yizhan(
        &["keys", "init", "--import", "--file", path],
        &[("YIZHAN_DATABASE__URL", &url)],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("took over 3 keys"), "{stdout}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let written = app::keys::KeyFile::from_json(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        (written.qr_key.as_str(), written.web_key.as_str()),
        (qr.as_str(), web.as_str())
    );
    assert_eq!(written.device_key, devices);
    let db = store::Db::connect(&store::ConnectOptions::new(
        url.clone(),
        std::sync::Arc::new(store::Keys::ephemeral()),
    ))
    .await
    .unwrap();
    assert!(
        app::ports::UserStore::legacy_server_secrets(&db)
            .await
            .unwrap()
            .is_empty(),
        "removed from the database"
    );
    db.close().await;
    // Never overwritten.
    let before = std::fs::read(&file).unwrap();
    let (ok, _, stderr) = yizhan(
        &["keys", "init", "--file", path],
        &[("YIZHAN_DATABASE__URL", &url)],
    );
    assert!(!ok && stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    // A file others may read is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (ok, _, stderr) = yizhan(
            &["retention", "run"],
            &[("YIZHAN_DATABASE__URL", &url), ("YIZHAN_KEYS_FILE", path)],
        );
        assert!(!ok && stderr.contains("chmod 600"), "{stderr}");
    }
}

fn scan_file(path: &Path, names: &[String]) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    // Each number with the bytes around it, so a failure says which row
    // and column it came from (seen once, not reproduced: session 10).
    let mut found: Vec<String> = domain::phone::mobile_numbers_in(&bytes)
        .into_iter()
        .map(|number| {
            let at = bytes
                .windows(number.len())
                .position(|w| w == number.as_bytes())
                .unwrap_or(0);
            let around = &bytes[at.saturating_sub(80)..(at + 40).min(bytes.len())];
            format!("{number} in {:?}", String::from_utf8_lossy(around))
        })
        .collect();
    found.extend(
        names
            .iter()
            .filter(|name| contains(&bytes, name.as_bytes()))
            .cloned(),
    );
    found
}

#[test]
fn the_demo_file_holds_no_number_or_name_and_keys_rotate_and_retention_runs_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("demo");
    let (ok, _, stderr) = yizhan(
        &[
            "demo",
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--no-serve",
            "--no-devices",
        ],
        &[],
    );
    assert!(ok, "{stderr}");
    let mut names = Vec::new();
    for surname in ["张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴"] {
        for title in ["先生", "女士", "阿姨", "大爷"] {
            names.push(format!("{surname}{title}"));
        }
    }
    let database = data_dir.join("yizhan.db");
    let check = |when: &str| {
        for file in [database.clone(), data_dir.join("yizhan.db-wal")] {
            let found = scan_file(&file, &names);
            assert!(
                found.is_empty(),
                "{when}: {} holds {found:?}",
                file.display()
            );
        }
    };
    check("after the demo");
    let keys = data_dir.join("keys.json");
    let url = format!("sqlite:{}", database.display());
    let env = [
        ("YIZHAN_DATABASE__URL", url.as_str()),
        ("YIZHAN_KEYS_FILE", keys.to_str().unwrap()),
    ];
    let (ok, stdout, stderr) = yizhan(&["keys", "rotate"], &env);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("data key k2") && stdout.contains("rows sealed"),
        "{stdout}"
    );
    let file = app::keys::KeyFile::from_json(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    assert_eq!(file.current_data_key, "k2");
    assert_eq!(file.data_keys.len(), 2);
    check("after rotation");
    let (ok, stdout, stderr) = yizhan(&["retention", "run"], &env);
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(report["parcels_erased"].is_u64(), "{report}");
    // The demo still serves what it holds: a keeper's reconcile reads it.
    let (ok, _, stderr) = yizhan(&["reconcile", "--carrier", "SF"], &env);
    assert!(ok, "{stderr}");
}
