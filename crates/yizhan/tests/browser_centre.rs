//! The county centre operator's morning in real Chromium (issue 13):
//! `yizhan serve` on the demo county and `browser-tests/centre.mjs` —
//! sign-in to `/centre`, arrival scans of the carriers' announced parcels,
//! a manual-queue resolution, a bag closed, labelled and handed over, its
//! handover list printed; screenshots at 1280 and 390 px in
//! `target/playwright/`.
//!
//! Needs node, chromium and `browser-tests/node_modules`; under
//! `YIZHAN_REQUIRE_SERVICES=1` or `YIZHAN_REQUIRE_BROWSER=1` a missing part
//! is a failure instead of a skip.

mod support;

use support::Demo;

#[test]
fn an_operator_runs_the_centres_morning_in_the_browser() {
    if !support::browser_or_skip() {
        return;
    }
    let demo = Demo::start(&[]);
    demo.run_script("centre.mjs", &[]);
}
