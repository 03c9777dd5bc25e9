//! How long a device command takes from the commit that enqueues it to the
//! simulated door acting, and to its ack being recorded — the device part of
//! "valid code at the terminal to door open" — through a real broker.

use crate::bridge::{Bridge, BridgeConfig, BridgeEvent};
use crate::sim::{SimConfig, Simulator};
use app::device_commands::{NewDeviceCommand, enqueue_device_command};
use app::ports::{Clock, Store, SystemClock};
use std::sync::Arc;
use std::time::Duration;

/// Longest the bench waits for any one command before calling it lost.
const WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub struct LatencyReport {
    pub n_commands: u32,
    /// Commit to the door acting at the simulator, milliseconds.
    pub act_p50_ms: f64,
    pub act_p99_ms: f64,
    /// Commit to the ack recorded in the store, milliseconds.
    pub ack_p50_ms: f64,
    pub ack_p99_ms: f64,
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Sends `n_commands` door openings one after another through the outbox,
/// the bridge, the broker and the simulator. `clock_s` is seconds since any
/// fixed origin (the caller's `Instant`); figures are written to `out`.
pub async fn command_latency(
    store: Arc<dyn Store>,
    mqtt_url: &str,
    station_id: i64,
    n_commands: u32,
    clock_s: &(dyn Fn() -> f64 + Send + Sync),
    out: &mut (dyn std::io::Write + Send),
) -> Result<LatencyReport, String> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let device_key = crate::auth::ServerDeviceKey::random();
    let simulator = Simulator::start(
        SimConfig::new(mqtt_url, station_id, &device_key),
        clock.clone(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let bridge = Bridge::start(
        store.clone(),
        clock.clone(),
        BridgeConfig::new(
            crate::mqtt::BrokerConfig::open(mqtt_url),
            device_key,
            &format!("yizhan-bench-bridge-{station_id}"),
        ),
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut events = bridge.subscribe();
    let mut state = simulator.state();
    let mut acted = Vec::new();
    let mut acked = Vec::new();
    for n in 0..n_commands {
        let command_id = format!("bench-{station_id}-{n}");
        let started = clock_s();
        let now = clock.now();
        let mut tx = store.begin().await.map_err(|e| e.to_string())?;
        let command = NewDeviceCommand {
            station_id,
            device_kind: "door".into(),
            device_id: "front".into(),
            command_id: command_id.clone(),
            not_after: now + chrono::Duration::seconds(30),
            operation: serde_json::json!({"op": "open", "hold_ms": 1000}),
        };
        enqueue_device_command(&mut *tx, &command, now)
            .await
            .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        bridge.wake();
        tokio::time::timeout(WAIT, state.wait_for(|s| s.door_openings > n))
            .await
            .map_err(|_| format!("{command_id} never reached the door"))?
            .map_err(|e| e.to_string())?;
        acted.push((clock_s() - started) * 1000.0);
        tokio::time::timeout(WAIT, async {
            loop {
                match events.recv().await {
                    Ok(BridgeEvent::Ended { command_id: id, .. }) if id == command_id => {
                        return Ok(());
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(error) => return Err(error.to_string()),
                }
            }
        })
        .await
        .map_err(|_| format!("{command_id} was never acknowledged"))??;
        acked.push((clock_s() - started) * 1000.0);
    }
    simulator.stop().await;
    bridge.stop();
    if acted.is_empty() {
        return Err("no commands were sent".into());
    }
    acted.sort_by(f64::total_cmp);
    acked.sort_by(f64::total_cmp);
    let report = LatencyReport {
        n_commands,
        act_p50_ms: percentile(&acted, 0.50),
        act_p99_ms: percentile(&acted, 0.99),
        ack_p50_ms: percentile(&acked, 0.50),
        ack_p99_ms: percentile(&acked, 0.99),
    };
    writeln!(
        out,
        "device commands via {} store, {n_commands} door openings in sequence\n  commit -> door acts:    p50 {:.2} ms  p99 {:.2} ms\n  commit -> ack recorded: p50 {:.2} ms  p99 {:.2} ms",
        store.backend(),
        report.act_p50_ms,
        report.act_p99_ms,
        report.ack_p50_ms,
        report.ack_p99_ms
    )
    .map_err(|e| e.to_string())?;
    Ok(report)
}
