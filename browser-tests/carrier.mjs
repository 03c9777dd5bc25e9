// A carrier's staff in the portal, in real Chromium: `zto` signs in and
// lands on /carrier, sees its parcels, uploads a manifest with bad rows
// (the refused rows shown by line, the good ones kept), sees
// reconciliation and fees, creates a webhook to a small receiver the Rust
// test runs and sends it a test event, and creates an API token.
// Screenshots at 390 px and 1280 px.
//
// Run by crates/yizhan/tests/browser_carrier.rs, which passes:
//   BASE_URL, SCREENSHOT_DIR, PASSWORD, CHROMIUM, RECEIVER_URL (the test's
//   HTTP receiver), SECRET_FILE (where to write the webhook secret shown
//   once, so the test can check the signature), MANIFEST_FILE (a CSV).
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const base = process.env.BASE_URL;
const shots = process.env.SCREENSHOT_DIR;
const password = process.env.PASSWORD;
const receiver = process.env.RECEIVER_URL;
const secretFile = process.env.SECRET_FILE;
const manifestFile = process.env.MANIFEST_FILE;
fs.mkdirSync(shots, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error("check failed: " + message);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });
  console.log("screenshot", name);
}

// Nothing on the page is wider than the window (no sideways scrolling of
// the page itself; wide tables scroll inside their own box).
async function fits(page, what) {
  const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  check(scroll <= inner + 1, `${what} is ${scroll}px wide in a ${inner}px window`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  for (const width of [390, 1280]) {
    const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    const errors = [];
    // Console errors, and any failed load but the favicon (the product has
    // none yet; another part of issue 13 adds it).
    page.on("console", (message) => {
      if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) errors.push(message.text());
    });
    page.on("response", (response) => {
      if (response.status() >= 400 && !response.url().endsWith("/favicon.ico")) errors.push(`${response.status()} ${response.url()}`);
    });

    // Signing in leads straight to the portal.
    await page.goto(base + "/console/login");
    await page.fill("#username", "zto");
    await page.fill("#password", password);
    await Promise.all([page.waitForURL("**/carrier"), page.click("#login")]);
    check((await page.textContent("h2")).includes("我的包裹"), "the portal opens in Chinese");
    check((await page.locator("#parcels tbody tr").count()) > 0, "the demo's ZTO parcels are listed");
    const listed = await page.textContent("#parcels");
    check(!/\b1[3-9]\d\*{4}\d{4}\b|\b1[3-9]\d{9}\b/.test(listed), "no phone number, masked or not, in the list");
    await fits(page, "the parcel list");
    await shot(page, `carrier-parcels-${width}`);

    // A manifest with bad rows: the refused rows by line, the good kept.
    await page.click("text=预报上传");
    await page.setInputFiles("#file", manifestFile);
    await Promise.all([page.waitForSelector("#outcome"), page.click("#upload button")]);
    const refusedLines = await page.locator("#refused td.line").allTextContents();
    check(JSON.stringify(refusedLines) === JSON.stringify(["3", "5"]), "refused lines 3 and 5, got " + refusedLines);
    const announced = Number(await page.textContent("#n-announced")) + Number(await page.textContent("#n-known"));
    check(announced === 2, "the two good rows are kept, got " + announced);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#refused-download button")]);
    const refusedCsv = fs.readFileSync(await download.path(), "utf8");
    check(refusedCsv.includes("line,reason,waybill") && refusedCsv.includes("BAD#WAYBILL"), "the refused rows download: " + refusedCsv);
    await fits(page, "the upload result");
    await shot(page, `carrier-manifest-${width}`);

    // Reconciliation and fees over the last week.
    await page.click("text=对账与费用");
    await page.waitForSelector("#reconciliation");
    check(/\d/.test(await page.textContent("#n-missing")), "reconciliation shows its counts");
    check((await page.textContent("#fee-total")).includes("¥"), "fees in yuan");
    await fits(page, "reconciliation");
    await shot(page, `carrier-reports-${width}`);

    // A webhook to the test's receiver, then a test event through the relay.
    await page.click("text=推送订阅");
    await page.fill("#url", `${receiver}/hook-${width}`);
    await Promise.all([page.waitForSelector("#secret"), page.click("#new-webhook button")]);
    const secret = (await page.textContent("#secret")).trim();
    check(secret.startsWith("whsec_"), "the secret is shown once");
    fs.appendFileSync(secretFile, `${width} ${secret}\n`);
    const row = page.locator("#subscriptions tr", { hasText: `hook-${width}` });
    await Promise.all([page.waitForURL("**/carrier/webhooks/*?done=test"), row.locator("form.test button").click()]);
    check(await page.isVisible("#notice"), "the test event is queued");
    // The relay sends it within seconds; the log shows it delivered.
    const deadline = Date.now() + 30000;
    for (;;) {
      await page.click("#refresh");
      const statuses = await page.locator("#deliveries tr.delivery.good").count();
      if (statuses > 0) break;
      check(Date.now() < deadline, "the test event never showed as delivered in the log");
      await page.waitForTimeout(500);
    }
    check((await page.locator("#attempts td.result").first().textContent()).includes("200"), "the attempt shows the receiver's 200");
    await fits(page, "the delivery log");
    await shot(page, `carrier-webhook-log-${width}`);

    // An API token, shown once.
    await page.click("text=API 令牌");
    await page.fill("#token-name", `sorting-${width}`);
    await Promise.all([page.waitForSelector("#token"), page.click("#new-token button")]);
    check((await page.textContent("#token")).trim().startsWith("yz_"), "the token is shown once");
    await fits(page, "the token page");
    await shot(page, `carrier-tokens-${width}`);

    check(errors.length === 0, "no console errors: " + errors.join("; "));
    await context.close();
  }
} finally {
  await browser.close();
}
