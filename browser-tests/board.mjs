// The county board on a phone in real Chromium (issue 16), on the demo
// county: sign in as `admin`, open /board on a 390 px viewport, wait until
// board.js has drawn the figures it polled from /board/data, and check every
// chart rendered a canvas no wider than the screen, the chart library came
// from the product itself (and nothing from another origin), then the daily
// report page with its message and download link.
//
// Run by crates/yizhan/tests/browser_board.rs, which starts `yizhan serve`
// on the demo and passes BASE_URL, SCREENSHOT_DIR, PASSWORD, CHROMIUM.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const base = process.env.BASE_URL;
const shots = process.env.SCREENSHOT_DIR;
const password = process.env.PASSWORD;
fs.mkdirSync(shots, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error("check failed: " + message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "zh-CN", isMobile: true, hasTouch: true });
  const page = await phone.newPage();
  const requested = [];
  const library = [];
  page.on("request", (request) => requested.push(request.url()));
  page.on("response", (response) => {
    if (response.url().includes("echarts")) library.push([response.url(), response.status()]);
  });
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));

  await page.goto(base + "/console/login");
  await page.fill("#username", "admin");
  await page.fill("#password", password);
  await Promise.all([page.waitForURL((url) => !url.pathname.endsWith("/login")), page.click("#login")]);

  await page.goto(base + "/board");
  await page.waitForSelector("#board[data-drawn]", { timeout: 30000 });
  for (const id of ["chart-flow", "chart-dwell", "chart-stations", "chart-carriers", "chart-map"]) {
    const box = await page.$eval(`#${id}`, (el) => {
      const canvas = el.querySelector("canvas");
      const rect = el.getBoundingClientRect();
      return { canvas: !!canvas, width: canvas ? canvas.getBoundingClientRect().width : 0, right: rect.right };
    });
    check(box.canvas, `${id} rendered a canvas`);
    check(box.width > 100, `${id}'s canvas has a width (${box.width})`);
    check(box.right <= 391, `${id} fits the phone's width (right edge ${box.right})`);
  }
  check(
    library.some(([url, status]) => url === base + "/static/vendor/echarts/echarts.min.js" && status === 200),
    "echarts.min.js served by the product: " + JSON.stringify(library),
  );
  const outside = requested.filter((url) => !url.startsWith(base) && !url.startsWith("data:") && !url.startsWith("blob:"));
  check(outside.length === 0, "nothing requested from another origin: " + outside.join(", "));
  check(errors.length === 0, "no script errors: " + errors.join("; "));
  const stations = await page.$$eval("table[data-table] tbody tr", (rows) => rows.length);
  check(stations > 0, "the board's tables have rows");
  await page.screenshot({ path: path.join(shots, "board-01-phone.png"), fullPage: true });
  console.log("screenshot board-01-phone");

  await page.goto(base + "/board/daily");
  const message = await page.textContent("#daily-message");
  check(message.includes("县域快递日报"), "the daily report's message is on the page: " + message.slice(0, 80));
  const download = await page.getAttribute("#daily-download", "href");
  check(download.startsWith("/board/daily.xlsx?day="), "the report downloads as .xlsx: " + download);
  await page.screenshot({ path: path.join(shots, "board-02-daily-phone.png"), fullPage: true });
  console.log("screenshot board-02-daily-phone");
  check(errors.length === 0, "no script errors: " + errors.join("; "));
} finally {
  await browser.close();
}
