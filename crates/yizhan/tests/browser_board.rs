//! The county board on a phone in real Chromium (issue 16): `yizhan serve`
//! on the demo county and `browser-tests/board.mjs` — `admin` opens `/board`
//! at 390 px, every chart renders a canvas that fits, the chart library is
//! served by the product and nothing comes from another origin; then the
//! daily report page. Screenshots in `target/playwright/`.
//!
//! Needs node, chromium and `browser-tests/node_modules`; under
//! `YIZHAN_REQUIRE_SERVICES=1` or `YIZHAN_REQUIRE_BROWSER=1` a missing part
//! is a failure instead of a skip.

mod support;

use support::Demo;

#[test]
fn the_board_renders_its_charts_on_a_phone() {
    if !support::browser_or_skip() {
        return;
    }
    let demo = Demo::start(&[]);
    demo.run_script("board.mjs", &[]);
}
