// A county centre operator's morning in real Chromium, on the demo county:
// sign in as `operator` (lands on /centre); arrival scans at the belt of
// the parcels a carrier announced (read from the page's "announced, not
// yet arrived" list, never hard-coded), each showing its route decision
// large; a malformed waybill refused; one manual-queue resolution; a bag
// closed, its label printed, handed over; its route's handover list
// (交接单) with barcodes printed to PDF; the same pages on a 390 px phone
// with nothing wider than the screen.
//
// Run by crates/yizhan/tests/browser_centre.rs, which starts `yizhan serve`
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

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });
  console.log("screenshot", name);
}

async function signIn(page) {
  await page.goto(base + "/console/login");
  await page.fill("#username", "operator");
  await page.fill("#password", password);
  await Promise.all([page.waitForURL("**/centre"), page.click("#login")]);
}

const pages = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  const page = await desk.newPage();
  pages.push(["desk", page]);
  await signIn(page);
  check(new URL(page.url()).pathname === "/centre", "the operator lands on /centre");
  const arrivalsBefore = Number(await page.textContent("#fig-arrivals b"));
  await shot(page, "centre-01-home-1280");

  // ---- Arrival scans: the carriers' announced parcels still on the truck.
  let scanned = 0;
  let onThisPage = 0;
  for (const carrier of ["ZTO", "YTO"]) {
    await page.goto(`${base}/centre/arrival?carrier=${carrier}`);
    const waybills = await page.$$eval("#expected li", (items) => items.map((li) => li.getAttribute("data-waybill")));
    check(waybills.length > 0, `the demo has announced ${carrier} parcels to scan`);
    onThisPage = 0;
    for (const waybill of waybills.slice(0, 3)) {
      // A keyboard-wedge scanner types into the focused input and presses Enter.
      check(await page.evaluate(() => document.activeElement.id === "waybill"), "the waybill input has the focus");
      await page.keyboard.type(waybill);
      await page.keyboard.press("Enter");
      await page.waitForSelector(`#result:is(.routed, .manual):has-text("${waybill}")`);
      const routed = await page.$eval("#result", (el) => el.classList.contains("routed"));
      if (routed) {
        check((await page.locator("#result .r-target").count()) > 0, "a routed parcel shows where it goes");
        check((await page.locator("#result .r-bag").count()) === 1, "and its bag");
        const bag = (await page.textContent("#result .r-bag")).replace(/[^0-9]/g, "");
        check((await page.locator(`#open-bags tr[data-bag="${bag}"]`).count()) === 1, "its bag is among the open bags, filled live");
      } else {
        check((await page.locator("#result .r-reason").count()) === 1, "a queued parcel says why");
      }
      check(await page.$eval(`#expected li[data-waybill="${waybill}"]`, (li) => li.className === "arrived"), "the scanned waybill is ticked off");
      scanned += 1;
      onThisPage += 1;
    }
  }
  // Scanning one again changes nothing and says so.
  const again = await page.$eval("#expected li", (li) => li.getAttribute("data-waybill"));
  await page.keyboard.type(again);
  await page.keyboard.press("Enter");
  await page.waitForSelector(`#result.duplicate:has-text("${again}")`);
  // A malformed label is refused, saying what is wrong.
  await page.keyboard.type("??");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#result.error .r-reason");
  check((await page.locator("#scans li").count()) === onThisPage + 2, "every scan is in this session's list");
  await shot(page, "centre-02-arrival-1280");

  // ---- The manual queue: one resolution, to a village the centre serves.
  await page.goto(base + "/centre/manual");
  const groups = await page.locator("form.manual-group").count();
  check(groups > 0, "the demo has parcels in the manual queue");
  const form = page.locator("form.manual-group").first();
  const ticked = await form.locator('input[name="parcel"]:checked').count();
  const village = await form.locator('select[name="division"] option').evaluateAll((options) =>
    options.map((o) => o.value).find((v) => v.startsWith("510182103") && v.length === 12));
  check(village, "a village of 丽春镇 is offered");
  await form.locator('select[name="division"]').selectOption(village);
  await Promise.all([page.waitForLoadState("load"), form.locator("button").click()]);
  await page.waitForSelector("#manual-notices");
  check((await page.locator("#manual-notices li.good").count()) === ticked, `all ${ticked} ticked parcels routed`);
  await shot(page, "centre-03-manual-1280");

  // ---- Bags: close one of the route's open bags, print its label, hand it over.
  await page.goto(base + "/centre/bags");
  const routeName = (await page.textContent(".handover-links li a")).trim();
  const row = page.locator("tr.bag-open", { hasText: routeName }).first();
  check((await row.count()) === 1, "an open bag on the route " + routeName);
  const bagId = await row.getAttribute("data-bag");
  await Promise.all([page.waitForLoadState("load"), row.locator("button.close-bag").click()]);
  await page.waitForSelector(`#bag-${bagId}.bag-closed`);
  const [label] = await Promise.all([desk.waitForEvent("page"), page.click(`#bag-${bagId} a.print`)]);
  await label.waitForLoadState();
  check((await label.locator("svg").count()) > 0 && (await label.textContent("body")).includes(`YZBAG:${bagId}`), "the label has its QR code and bag number");
  await label.screenshot({ path: path.join(shots, "centre-04-label.png") });
  await label.close();
  await Promise.all([page.waitForLoadState("load"), page.click(`#bag-${bagId} button.dispatch-bag`)]);
  await page.waitForSelector(`#bag-${bagId}.bag-dispatched`);
  await shot(page, "centre-05-bags-1280");

  // ---- The route's handover list: barcodes, signature lines, printed on A4.
  const href = await page.getAttribute(".handover-links li a", "href");
  await page.goto(base + href);
  check((await page.locator("#handover-empty").count()) === 0, "the handover list is not empty");
  check((await page.locator(`svg.barcode[aria-label="YZBAG:${bagId}"] rect`).count()) > 10, "the bag is a rendered barcode");
  check(!(await page.textContent(".sheet")).includes("YZBAG:" + bagId + "YZBAG"), "no raw label text in place of the barcode");
  await page.emulateMedia({ media: "print" });
  await shot(page, "centre-06-handover-print");
  await page.pdf({ path: path.join(shots, "centre-handover.pdf"), format: "A4", printBackground: true });
  await page.emulateMedia({ media: "screen" });

  await page.goto(base + "/centre");
  check(Number(await page.textContent("#fig-arrivals b")) >= arrivalsBefore + 1, "the day's figures count the scans");

  // ---- The same pages on a phone: nothing wider than the screen.
  const phoneContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: "zh-CN" });
  const phone = await phoneContext.newPage();
  pages.push(["phone", phone]);
  await signIn(phone);
  for (const [name, url] of [
    ["centre-11-phone-home", "/centre"],
    ["centre-12-phone-arrival", "/centre/arrival"],
    ["centre-13-phone-manual", "/centre/manual"],
    ["centre-14-phone-bags", "/centre/bags"],
  ]) {
    await phone.goto(base + url);
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 390, `${url} fits a phone screen (${width}px wide)`);
    await shot(phone, name);
  }
  await phone.goto(base + href);
  await shot(phone, "centre-15-phone-handover");
  console.log("centre browser test passed");
} catch (error) {
  for (const [name, page] of pages) {
    await page.screenshot({ path: path.join(shots, `failure-centre-${name}.png`), fullPage: true }).catch(() => {});
  }
  throw error;
} finally {
  await browser.close();
}
