//! `yizhan simulate vehicles` against the real Mosquitto (issue 20): a
//! simulated day of unmanned vehicles with every fault kind injected. Every
//! fault raises exactly one alert and nothing else raises any, every
//! incident is taken over, acted on, handed back and closed in its log, and
//! every parcel ends on its station's shelf or back at the centre. The
//! simulator steps on events (each message taken by the rules before the
//! next simulated second), never on sleeps. SKIP without a broker, a
//! failure under `YIZHAN_REQUIRE_SERVICES=1`.

use serde_json::Value;
use std::process::Command;

fn simulate(url: &str, seed: &str) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_yizhan"))
        .args([
            "simulate",
            "vehicles",
            "--vehicles",
            "8",
            "--minutes",
            "40",
            "--faults",
            "all",
            "--seed",
            seed,
            "--json",
            "--mqtt",
            url,
        ])
        .env("RUST_LOG", "error")
        .output()
        .expect("yizhan runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        stdout.trim().lines().count(),
        1,
        "one JSON object: {stdout}"
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

#[test]
fn a_simulated_day_with_every_fault_raises_one_alert_each_and_loses_no_parcel() {
    let Some(url) = testkit::mqtt_url() else {
        return;
    };
    let report = simulate(&url, "7");
    let faults = report["faults"].as_object().unwrap();
    for kind in [
        "speeding",
        "geofence_breach",
        "link_loss",
        "low_battery",
        "emergency_stop",
        "compartment_jam",
    ] {
        let injected = faults[kind]["injected"].as_u64().unwrap();
        assert!(injected >= 1, "{kind} injected: {report}");
        assert_eq!(
            faults[kind]["alerts"].as_u64().unwrap(),
            injected,
            "{kind}: one alert per fault: {report}"
        );
    }
    assert_eq!(report["every_fault_one_alert"], true, "{report}");
    assert_eq!(
        report["unexpected_alerts"],
        serde_json::json!([]),
        "{report}"
    );
    let incidents = report["incidents"].as_u64().unwrap();
    let injected: u64 = faults
        .values()
        .map(|f| f["injected"].as_u64().unwrap())
        .sum();
    assert_eq!(incidents, injected, "{report}");
    assert_eq!(report["takeovers"].as_u64().unwrap(), incidents);
    assert_eq!(
        report["takeovers_logged"].as_u64().unwrap(),
        incidents,
        "{report}"
    );
    assert_eq!(report["incidents_closed"].as_u64().unwrap(), incidents);
    let parcels = &report["parcels"];
    let n = |key: &str| parcels[key].as_u64().unwrap();
    assert_eq!(n("lost"), 0, "{report}");
    assert_eq!(
        n("handed_over") + n("returned_to_centre") + n("not_dispatched"),
        n("total"),
        "{report}"
    );
    assert!(n("handed_over") > 0, "{report}");
    // The low battery sends its vehicle home with what it carries, the jam
    // keeps its compartment's parcel aboard: both come back to the centre.
    assert!(n("returned_to_centre") >= 2, "{report}");
    assert!(
        report["messages_ingested"].as_u64().unwrap()
            >= report["messages_published"].as_u64().unwrap()
    );
    assert!(report["simulated_seconds"].as_i64().unwrap() >= 40 * 60);
    // Every mission's start, the automatic commands (slow down, pull over,
    // return to depot at least) and every hand-back under way reached the
    // vehicles over the bus, signed for each, and acted once; nothing
    // unsigned was on their topics.
    assert!(
        report["commands_acted"].as_u64().unwrap() >= report["missions"].as_u64().unwrap() + 3,
        "{report}"
    );
    assert_eq!(report["commands_refused"], 0, "{report}");
}
