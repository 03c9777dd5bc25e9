//! `cargo run --release -p devices --example devices_bench -- [MQTT_URL] [N_COMMANDS]`
//! (MQTT_URL defaults to YIZHAN_TEST_MQTT_URL, then mqtt://127.0.0.1:1883).
//! Uses a fresh SQLite store in a temporary folder.

use std::sync::Arc;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .or_else(|| std::env::var("YIZHAN_TEST_MQTT_URL").ok())
        .unwrap_or_else(|| "mqtt://127.0.0.1:1883".into());
    let n_commands: u32 = args
        .next()
        .map_or(500, |n| n.parse().expect("N_COMMANDS is a number"));
    let dir = tempfile::tempdir().expect("temporary folder");
    let db_url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let db = store::Db::connect(&store::ConnectOptions::new(
        db_url,
        std::sync::Arc::new(store::Keys::ephemeral()),
    ))
    .await
    .expect("SQLite store");
    let origin = std::time::Instant::now();
    let clock_s = move || origin.elapsed().as_secs_f64();
    let station_id = 900_000_000 + i64::from(std::process::id());
    let result = devices::bench::command_latency(
        Arc::new(db),
        &url,
        station_id,
        n_commands,
        &clock_s,
        &mut std::io::stdout(),
    )
    .await;
    if let Err(error) = result {
        eprintln!("bench failed: {error}");
        std::process::exit(1);
    }
}
