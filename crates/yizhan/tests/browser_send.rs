//! Sending end to end in real Chromium (issue 14): `yizhan serve` on the
//! demo county and `browser-tests/send.mjs` — the post office's carrier
//! system subscribes to its events in the carrier portal, a sender on a
//! phone opens `/send` from a kiosk's QR code, pastes two addresses, passes
//! the real-name check and inspection (a prohibited item refused with its
//! rule named), pays through the simulated provider's signed callback and
//! opens the label; a courier collects it at `/centre/collect`; the
//! carrier's delivery log shows it accepted and collected. Screenshots in
//! `target/playwright/`.
//!
//! Needs node, chromium and `browser-tests/node_modules`; under
//! `YIZHAN_REQUIRE_SERVICES=1` or `YIZHAN_REQUIRE_BROWSER=1` a missing part
//! is a failure instead of a skip.

mod support;

use std::process::Command;
use support::{DEMO_PASSWORD, Demo};

#[test]
fn a_sender_pays_a_courier_collects_and_the_carrier_hears_it() {
    if !support::browser_or_skip() {
        return;
    }
    let demo = Demo::start(&[]);
    // The demo's carrier users are ZTO's; sending goes by EMS.
    let added = Command::new(env!("CARGO_BIN_EXE_yizhan"))
        .args([
            "user",
            "add",
            "ems",
            "--role",
            "carrier_integrator",
            "--carrier",
            "EMS",
        ])
        .env("YIZHAN_DATABASE__URL", &demo.database)
        .env("YIZHAN_KEYS_FILE", demo.dir.path().join("keys.json"))
        .env("YIZHAN_NEW_PASSWORD", DEMO_PASSWORD)
        .env("YIZHAN_LOG", "warn")
        .output()
        .unwrap();
    assert!(added.status.success(), "adding the EMS user: {added:?}");
    demo.run_script("send.mjs", &[]);
}
