//! The crash test: `yizhan serve` on SQLite is killed with SIGKILL at random
//! moments while clients stream inbound scans. After every restart, every
//! scan the server acknowledged must be there with the code it was given,
//! and the database invariants must hold.
//!
//! CI runs 10 kills; `YIZHAN_CRASH_KILLS=100` runs the full version (see
//! docs/crash-test.md). The seed is printed so a failure can be replayed
//! with `YIZHAN_CRASH_SEED`.

use app::App;
use app::auth::NewUser;
use app::ports::{NewStation, ParcelFilter, SystemClock};
use domain::station::{HoldingPolicy, ShelfSpec, SizeClass, lay_out};
use domain::{CodeFormat, ParcelState, Role};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{ConnectOptions, Db};

struct Server {
    child: Child,
    base: String,
}

fn start(url: &str, keys_json: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_yizhan"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("YIZHAN_DATABASE__URL", url)
        .env("YIZHAN_KEYS_JSON", keys_json)
        .env("YIZHAN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("yizhan starts");
    // The server prints its address once it is listening: that line is the
    // signal to go on, so no guessing how long start-up takes.
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split("serving at ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("address line")
        .trim_end_matches('/')
        .to_string();
    Server { child, base }
}

#[test]
fn acknowledged_scans_survive_sigkill() {
    let n_kills: u32 = std::env::var("YIZHAN_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("YIZHAN_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    println!("crash test: {n_kills} kills, seed {seed} (replay with YIZHAN_CRASH_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("crash.db").display());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // One key file for the test and every server it starts and kills.
    let key_file =
        app::keys::KeyFile::generate(chrono::Utc::now(), app::keys::ImportedSecrets::default());
    let keys = Arc::new(app::keys::Keys::from_file(&key_file).unwrap());
    let (station_id, token) = runtime.block_on(async {
        let db = Arc::new(
            Db::connect(&ConnectOptions::new(url.clone(), keys.clone()))
                .await
                .unwrap(),
        );
        let app = App::new(db.clone(), Arc::new(SystemClock));
        let shelves = [ShelfSpec {
            label: "A".into(),
            tiers: 40,
            slots_per_tier: 50,
            size: SizeClass::Small,
            slot_capacity: 2,
        }];
        let station = NewStation {
            location: None,
            name: "crash".into(),
            township: "t".into(),
            division_code: None,
            code_format: CodeFormat::parse("{shelf}-{tier}-{code:7}").unwrap(),
            holding: HoldingPolicy::default(),
            slots: lay_out(&shelves).unwrap(),
        };
        let station_id = app
            .store
            .create_station(&station, app.now())
            .await
            .unwrap()
            .id;
        let user_id = app
            .create_user(NewUser {
                username: "k".into(),
                display_name: "k".into(),
                password: "crash-test-pw".into(),
                role: Role::StationKeeper,
                carrier: None,
                station_ids: vec![station_id],
            })
            .await
            .unwrap();
        let token = app.issue_token(user_id, "crash", 24).await.unwrap();
        db.close().await;
        (station_id, token)
    });

    // waybill -> pickup code, for every scan the server answered 200 to.
    let acknowledged: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let mut next_waybill = 0u64;
    let n_clients = 4;
    for round in 0..=n_kills {
        let mut server = start(&url, &key_file.to_json());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clients: Vec<_> = (0..n_clients)
            .map(|client_idx| {
                let (base, token, acknowledged, stop) = (server.base.clone(), token.clone(), acknowledged.clone(), stop.clone());
                let first = next_waybill + client_idx * 1_000_000;
                std::thread::spawn(move || {
                    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
                    let mut waybill_no = first;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let waybill = format!("7{waybill_no:012}");
                        let body = serde_json::json!({"carrier": "ZTO", "waybill": waybill, "phone": "13812345678", "consent": true});
                        let Ok(response) = client.post(format!("{base}/api/stations/{station_id}/inbound")).bearer_auth(&token).json(&body).send() else { break };
                        if response.status() == 200 {
                            let Ok(outcome) = response.json::<serde_json::Value>() else { break };
                            acknowledged.lock().unwrap().insert(waybill, outcome["pickup_code"].as_str().unwrap().to_string());
                        }
                        waybill_no += 1;
                    }
                })
            })
            .collect();
        next_waybill += n_clients * 1_000_000 * 10;
        if round < n_kills {
            std::thread::sleep(Duration::from_millis(rng.gen_range(20..300))); // the fault's timing, not synchronisation
            server.child.kill().unwrap(); // SIGKILL
        } else {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        for client in clients {
            client.join().unwrap();
        }
        if round == n_kills {
            server.child.kill().unwrap();
        }
        server.child.wait().unwrap();
    }

    let acknowledged = acknowledged.lock().unwrap().clone();
    println!(
        "crash test: {} acknowledged scans across {n_kills} kills",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() > n_kills as usize,
        "the clients got scans through"
    );
    runtime.block_on(async {
        let db = Db::connect(&ConnectOptions::new(url.clone(), keys.clone()))
            .await
            .unwrap();
        let problems = db.check_invariants().await.unwrap();
        assert!(
            problems.is_empty(),
            "invariants broken after crashes: {problems:?}"
        );
        let app = App::new(Arc::new(db), Arc::new(SystemClock));
        let mut stored: HashMap<String, String> = HashMap::new();
        let mut after_id = None;
        loop {
            let filter = ParcelFilter {
                station_id: Some(station_id),
                after_id,
                limit: 1000,
                ..Default::default()
            };
            let page = app.store.parcels(&filter).await.unwrap();
            for parcel in &page {
                assert_eq!(parcel.state, ParcelState::Stored);
                stored.insert(
                    parcel.waybill.to_string(),
                    parcel.pickup_code.clone().unwrap(),
                );
            }
            match page.last() {
                Some(last) if page.len() == 1000 => after_id = Some(last.id),
                _ => break,
            }
        }
        for (waybill, code) in &acknowledged {
            assert_eq!(
                stored.get(waybill),
                Some(code),
                "acknowledged scan {waybill} lost or changed (seed {seed})"
            );
        }
    });
}
