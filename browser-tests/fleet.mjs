// A safety operator handles an injected incident end to end in real
// Chromium (issue 20), on the demo with a real Mosquitto: `admin` registers
// an unmanned vehicle and draws a no-go zone with /fleet's forms; the Rust
// side (crates/yizhan/tests/browser_fleet.rs) meanwhile publishes the
// vehicle's telemetry inside that zone, so the rules raise `entered_no_go`
// and the page, polling itself, shows the incident without a reload. The
// operator takes the vehicle over with a reason, sends it a command
// (pull over), hands it back and closes the incident with its cause; the
// incident leaves the list. Screenshots in SCREENSHOT_DIR.
//
// Env: BASE_URL, SCREENSHOT_DIR, PASSWORD, CHROMIUM, VEHICLE (its code).
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const base = process.env.BASE_URL;
const shots = process.env.SCREENSHOT_DIR;
const password = process.env.PASSWORD;
const vehicle = process.env.VEHICLE;
fs.mkdirSync(shots, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error("check failed: " + message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  const page = await desk.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));

  await page.goto(base + "/console/login");
  await page.fill("#username", "admin");
  await page.fill("#password", password);
  await Promise.all([page.waitForURL((url) => !url.pathname.endsWith("/login")), page.click("#login")]);

  // The dispatcher's forms: a vehicle, then the no-go zone it will enter.
  await page.goto(base + "/fleet");
  const add = page.locator("form[action='/fleet/vehicles']");
  await add.locator("[name=code]").fill(vehicle);
  await add.locator("[name=name]").fill("浏览器测试无人车");
  await add.locator("[name=kind]").selectOption("unmanned");
  await add.locator("[name=depot]").fill("119.0,29.0");
  await Promise.all([page.waitForNavigation(), add.locator("button").click()]);
  check((await page.content()).includes(vehicle), "the vehicle is listed");
  const zone = page.locator("form[action='/fleet/zones']");
  await zone.locator("[name=name]").fill("临时施工路段");
  await zone.locator("[name=kind]").selectOption("no_go");
  await zone.locator("[name=vertices]").fill("119.10,29.10; 119.11,29.10; 119.11,29.11; 119.10,29.11");
  await Promise.all([page.waitForNavigation(), zone.locator("button").click()]);

  // The incident appears by itself (the page polls), with the take-over form.
  const row = page.locator("#incidents tr[id^='incident-']", { hasText: "驶入禁行区" }).filter({ hasText: vehicle });
  await row.first().waitFor({ timeout: 30000 });
  const incidentId = (await row.first().getAttribute("id")).replace("incident-", "");
  const takeOver = page.locator(`#incident-${incidentId} form[action$='/take_over']`);
  await page.screenshot({ path: path.join(shots, "fleet-incident.png"), fullPage: true });

  await takeOver.locator("[name=note]").fill("车辆驶入临时施工路段，远程接管");
  await Promise.all([page.waitForNavigation(), takeOver.locator("button").click()]);
  const command = page.locator(`#incident-${incidentId} form[action$='/command']`);
  await command.waitFor();
  await command.locator("[name=op]").selectOption("pull_over");
  await Promise.all([page.waitForNavigation(), command.locator("button").click()]);
  const handBack = page.locator(`#incident-${incidentId} form[action$='/hand_back']`);
  await handBack.locator("[name=note]").fill("已倒车驶出施工路段");
  await Promise.all([page.waitForNavigation(), handBack.locator("button").click()]);
  const close = page.locator(`#incident-${incidentId} form[action$='/close']`);
  await close.locator("[name=note]").fill("地图未标注临时施工，已补充禁行区");
  await Promise.all([page.waitForNavigation(), close.locator("button").click()]);
  check((await page.locator(`#incident-${incidentId}`).count()) === 0, "the closed incident left the list");
  await page.screenshot({ path: path.join(shots, "fleet-closed.png"), fullPage: true });
  check(errors.length === 0, "no script errors: " + errors.join("; "));
  console.log(`fleet: incident ${incidentId} taken over, commanded, handed back and closed`);
} finally {
  await browser.close();
}
