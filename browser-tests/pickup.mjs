// The 24-hour station end to end in real Chromium: a keeper scans three
// parcels in through the scanner input; the door terminal is paired; a
// customer picks up their two parcels (the simulated door opens, their
// slots light in their colour); a wrong parcel is refused; the console shows
// the result; a code needs the phone tail; guessing codes gets throttled
// (a growing wait) and alerts the keeper. At a second station whose door
// says it is online but never acknowledges, the terminal says "opening",
// never "open", and then plainly that the door did not open, whom to call,
// and that nothing was handed out (issue 19).
//
// Run by crates/yizhan/tests/browser.rs, which starts `yizhan serve` and
// `yizhan simulate devices` and passes:
//   BASE_URL, SIM_STATE_FILE (the simulator's JSON lines), SCREENSHOT_DIR,
//   PASSWORD, STATION_ID, SILENT_STATION_ID (the station whose door never
//   acknowledges), CHROMIUM (optional).
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const base = process.env.BASE_URL;
const simFile = process.env.SIM_STATE_FILE;
const shots = process.env.SCREENSHOT_DIR;
const password = process.env.PASSWORD;
const stationId = process.env.STATION_ID;
const silentId = process.env.SILENT_STATION_ID;
fs.mkdirSync(shots, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error("check failed: " + message);
}

// The simulator's latest state line.
function simNow() {
  const lines = fs.readFileSync(simFile, "utf8").trim().split("\n").filter(Boolean);
  return lines.length ? JSON.parse(lines[lines.length - 1]) : { door_openings: 0, lit: {} };
}

// Waits until the simulated station shows what `predicate` asks for.
async function simShows(predicate, what) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const state = simNow();
    if (predicate(state)) return state;
    if (Date.now() > deadline) throw new Error(`the simulator never showed ${what}; last state ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });
  console.log("screenshot", name);
}

async function signIn(page, username = "keeper1", station = stationId) {
  await page.goto(base + "/console/login");
  await page.fill("#username", username);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(`**/console/s/${station}`), page.click("#login")]);
}

// The carrier announces parcels with the recipients' consent, as its
// system does through the API.
async function announce(parcels, station) {
  const carrierLogin = await fetch(base + "/api/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "zto", password }),
  }).then((r) => r.json());
  return fetch(base + "/api/carriers/ZTO/manifest", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer " + carrierLogin.token },
    body: JSON.stringify({ parcels: parcels.map((p) => ({ waybill: p.waybill, recipient_name: "测试", phone: p.phone, station_id: Number(station), consent: true })) }),
  }).then((r) => r.json());
}

let pages = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  // ---- The keeper's console on a 1366×768 PC.
  const keeperContext = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "zh-CN" });
  const keeper = await keeperContext.newPage();
  pages.push(["keeper", keeper]);
  await signIn(keeper);
  await shot(keeper, "01-dashboard");

  await keeper.click(`a[href="/console/s/${stationId}/inbound"]`);
  await keeper.selectOption("#carrier", "ZTO");
  const stamp = String(Date.now()).slice(-10);
  const parcels = [
    { waybill: "73" + stamp + "01", phone: "13700001234" },
    { waybill: "73" + stamp + "02", phone: "13700001234" },
    { waybill: "73" + stamp + "03", phone: "13700005678" },
  ];
  const announced = await announce(parcels, stationId);
  check(announced.n_announced === 3, "three parcels announced: " + JSON.stringify(announced));
  for (const parcel of parcels) {
    // A keyboard-wedge scanner types into the focused input and presses Enter.
    await keeper.focus("#waybill");
    await keeper.keyboard.type(parcel.waybill);
    await keeper.keyboard.press("Enter");
    await keeper.waitForSelector(`#result.stored:has-text("${parcel.waybill}")`);
    parcel.code = (await keeper.textContent("#result-code")).trim();
    check(/^[A-Z]-\d-\d{6}$/.test(parcel.code), "a pickup code like A-1-480217: " + parcel.code);
    check(await keeper.evaluate(() => document.activeElement.id === "waybill"), "the scanner input keeps focus");
  }
  // The same label scanned again is told apart at a glance.
  await keeper.keyboard.type(parcels[0].waybill);
  await keeper.keyboard.press("Enter");
  await keeper.waitForSelector(`#result.duplicate:has-text("${parcels[0].waybill}")`);
  check((await keeper.textContent("#result-code")).trim() === parcels[0].code, "a rescan shows the same code");
  check((await keeper.locator("#batch li").count()) === 4, "four scans in this batch: " + (await keeper.locator("#batch").innerText()));
  await shot(keeper, "02-inbound");

  // ---- The door terminal: a tablet the keeper pairs once.
  const terminalContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "zh-CN" });
  const terminal = await terminalContext.newPage();
  pages.push(["terminal", terminal]);
  await signIn(terminal);
  await terminal.goto(`${base}/console/s/${stationId}/terminal`);
  await Promise.all([terminal.waitForURL("**/terminal"), terminal.click("#pair")]);
  await terminal.waitForSelector("#code");
  await shot(terminal, "03-terminal-home");
  // The paired tablet has left the console.
  const consoleAgain = await terminalContext.newPage();
  await consoleAgain.goto(base + "/console");
  check(consoleAgain.url().endsWith("/console/login"), "a paired terminal cannot open the console");
  await consoleAgain.close();

  const before = simNow();
  // The code alone opens nothing: the phone's last four digits go with it.
  await terminal.fill("#code", parcels[0].code);
  await terminal.fill("#tail", "");
  await terminal.click("#go");
  await terminal.waitForSelector("#home-error:not([hidden])");
  check(await terminal.getAttribute("#home-error", "data-code") === "pickup_entry_invalid", "a code without the phone tail is refused");
  await terminal.evaluate(() => { document.getElementById("home-error").hidden = true; });
  await terminal.fill("#tail", parcels[0].phone.slice(-4));
  await terminal.click("#go");
  await terminal.waitForSelector("#session:not([hidden])");
  // "Open" only once the simulated door acknowledged.
  await terminal.waitForSelector('#door[data-state="open"]');
  check((await terminal.textContent("#door")).includes("门已打开"), "the door reads open once acknowledged");
  const items = terminal.locator("#items li");
  check((await items.count()) === 2, "both of the customer's parcels are listed");
  const segments = (await items.evaluateAll((nodes) => nodes.map((n) => n.dataset.segment))).map(String).sort();
  const colour = await terminal.evaluate(() => getComputedStyle(document.getElementById("swatch")).backgroundColor);
  const lit = await simShows(
    (s) => s.door_openings > before.door_openings && segments.every((seg) => s.lit[seg]),
    `the door opened and segments ${segments} lit`,
  );
  const litColours = new Set(segments.map((seg) => lit.lit[seg].colour.toLowerCase()));
  check(litColours.size === 1, "one colour for one customer");
  const [hex] = litColours;
  const rgb = `rgb(${parseInt(hex.slice(1, 3), 16)}, ${parseInt(hex.slice(3, 5), 16)}, ${parseInt(hex.slice(5, 7), 16)})`;
  check(rgb === colour, `the terminal shows the lit colour ${rgb}, not ${colour}`);
  // Two parcels may share a slot: compare the sets of segments.
  const wanted = [...new Set(segments)].sort().join(",");
  const shown = Object.keys(lit.lit).sort().join(",");
  check(shown === wanted, `only this customer's slots are lit: ${shown}, not ${wanted}`);
  await shot(terminal, "04-terminal-session");

  // Someone else's parcel at the checkout: a clear alert, nothing recorded.
  await terminal.fill("#scan", parcels[2].waybill);
  await terminal.press("#scan", "Enter");
  await terminal.waitForSelector("#scan-alert.bad:not([hidden])");
  await shot(terminal, "05-wrong-parcel");

  await terminal.fill("#scan", parcels[0].waybill);
  await terminal.press("#scan", "Enter");
  await terminal.waitForSelector("#items li.taken");
  check((await terminal.locator("#items li.taken").count()) === 1, "one parcel taken");
  await terminal.fill("#scan", parcels[1].waybill);
  await terminal.press("#scan", "Enter");
  await terminal.waitForSelector("#bye:not([hidden])");
  check((await terminal.textContent("#bye-text")).includes("全部取完"), "all taken");
  await shot(terminal, "06-terminal-done");
  await simShows((s) => segments.every((seg) => !s.lit[seg]), "the customer's lights out");

  // ---- The console shows what happened.
  await keeper.goto(`${base}/console/s/${stationId}/search?q=1234`);
  const taken = keeper.locator("table.parcels tbody tr");
  check((await taken.count()) >= 2, "the customer's parcels are found by phone tail");
  for (const parcel of parcels.slice(0, 2)) {
    const row = keeper.locator(`tr[data-waybill="${parcel.waybill}"]`);
    check((await row.textContent()).includes("已取件"), `${parcel.waybill} is picked up`);
  }
  await shot(keeper, "07-console-picked-up");
  await keeper.goto(`${base}/console/s/${stationId}/search?q=${parcels[2].waybill}`);
  check((await keeper.locator(`tr[data-waybill="${parcels[2].waybill}"]`).textContent()).includes("待取件"), "the wrong parcel is still on the shelf");

  // ---- Guessing codes: throttled after the configured failures, and the keeper is told.
  await terminal.waitForSelector("#home:not([hidden])", { timeout: 10000 });
  for (let i = 0; i < 5; i++) {
    await terminal.fill("#code", `Z-9-${String(900000 + i)}`);
    await terminal.fill("#tail", "0000");
    await terminal.click("#go");
    await terminal.waitForSelector("#home-error:not([hidden])");
    if (i === 0) {
      const wrong = await terminal.textContent("#home-error");
      check(wrong.includes("取件码或手机尾号不正确"), "a wrong code reads as a wrong code: " + wrong);
    }
    await terminal.evaluate(() => { document.getElementById("home-error").hidden = true; });
  }
  await terminal.fill("#code", parcels[2].code);
  await terminal.fill("#tail", parcels[2].phone.slice(-4));
  await terminal.click("#go");
  await terminal.waitForSelector("#home-error:not([hidden])");
  const throttled = await terminal.textContent("#home-error");
  check(throttled.includes("输错取件码次数过多"), "the terminal waits after five wrong codes: " + throttled);
  check(await terminal.getAttribute("#home-error", "data-code") === "rate_limited", "the throttle's own code");
  await shot(terminal, "08-terminal-throttled");

  await keeper.goto(`${base}/console/s/${stationId}`);
  check((await keeper.locator("#alerts li.open").count()) >= 1, "the keeper sees the alert");
  check(Number(await keeper.textContent("#n-out")) >= 2, "the day summary counts the pickups");
  check((await keeper.locator("#devices li.online").count()) >= 2, "the station's devices show online");
  await shot(keeper, "09-dashboard-after");

  // ---- A door that never acknowledges: "opening", then plainly "did not open".
  const keeper2Context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "zh-CN" });
  const keeper2 = await keeper2Context.newPage();
  pages.push(["keeper2", keeper2]);
  await signIn(keeper2, "keeper" + silentId, silentId);
  const silentParcel = { waybill: "73" + stamp + "09", phone: "13700009999" };
  check((await announce([silentParcel], silentId)).n_announced === 1, "the silent station's parcel announced");
  await keeper2.goto(`${base}/console/s/${silentId}/inbound`);
  await keeper2.selectOption("#carrier", "ZTO");
  await keeper2.focus("#waybill");
  await keeper2.keyboard.type(silentParcel.waybill);
  await keeper2.keyboard.press("Enter");
  await keeper2.waitForSelector(`#result.stored:has-text("${silentParcel.waybill}")`);
  silentParcel.code = (await keeper2.textContent("#result-code")).trim();
  const silentContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: "zh-CN" });
  const silent = await silentContext.newPage();
  pages.push(["silent-terminal", silent]);
  await signIn(silent, "keeper" + silentId, silentId);
  await silent.goto(`${base}/console/s/${silentId}/terminal`);
  await Promise.all([silent.waitForURL("**/terminal"), silent.click("#pair")]);
  await silent.fill("#code", silentParcel.code);
  await silent.fill("#tail", silentParcel.phone.slice(-4));
  await silent.click("#go");
  await silent.waitForSelector("#session:not([hidden])");
  check(await silent.getAttribute("#door", "data-state") === "opening", "the door reads opening, not open, before any ack");
  check(!(await silent.textContent("#door")).includes("门已打开"), "never 'open' before the door says so");
  await shot(silent, "14-terminal-door-opening");
  // The command runs out unacknowledged after 20 s; the terminal polls.
  await silent.waitForSelector('#bye-text[data-state="door_failed"]', { timeout: 45000 });
  const failed = await silent.textContent("#bye-text");
  check(failed.includes("门没能打开"), "the customer is told the door did not open: " + failed);
  check(failed.includes("没有记为已取"), "and that nothing was handed out: " + failed);
  check(/0571-8800 \d{4}/.test(failed), "and the station's number to call: " + failed);
  const width = await silent.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 390, `the failure fits a phone-sized screen (${width}px)`);
  await shot(silent, "15-terminal-door-failed");
  await keeper2.goto(`${base}/console/s/${silentId}`);
  check((await keeper2.locator("#alerts li.open", { hasText: "没有开门" }).count()) >= 1, "the keeper is alerted that the door did not open");
  await keeper2.goto(`${base}/console/s/${silentId}/search?q=${silentParcel.waybill}`);
  check((await keeper2.locator(`tr[data-waybill="${silentParcel.waybill}"]`).textContent()).includes("待取件"), "the parcel is still on the shelf");
  await keeper2.goto(`${base}/console/s/${silentId}/devices`);
  check((await keeper2.locator('#registry tr[data-device="front"]').count()) === 1, "the console lists the station's door");
  await shot(keeper2, "16-console-devices");

  // ---- English is one click away.
  await keeper.click("a.lang");
  await keeper.waitForSelector("text=Overview");
  await shot(keeper, "10-dashboard-en");
  // ---- The console on a phone: nothing wider than the screen.
  const phoneContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: "zh-CN" });
  const phone = await phoneContext.newPage();
  pages.push(["phone", phone]);
  await signIn(phone);
  for (const [name, url] of [
    ["11-phone-dashboard", `/console/s/${stationId}`],
    ["12-phone-inbound", `/console/s/${stationId}/inbound`],
    ["13-phone-search", `/console/s/${stationId}/search?q=1234`],
    ["13b-phone-devices", `/console/s/${stationId}/devices`],
  ]) {
    await phone.goto(base + url);
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 390, `${url} fits a phone screen (${width}px wide)`);
    await shot(phone, name);
  }
  // ---- Branch `station` (issue 13): the new pages at 390, 768 and 1280 px.
  for (const [name, url] of [
    ["17-phone-shelves", `/console/s/${stationId}/shelves`],
    ["18-phone-pending", `/console/s/${stationId}/pending`],
    ["19-phone-problems", `/console/s/${stationId}/problems`],
    ["20-phone-returns", `/console/s/${stationId}/returns`],
    ["21-phone-landing", `/`],
  ]) {
    await phone.goto(base + url);
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 390, `${url} fits a phone screen (${width}px wide)`);
    await shot(phone, name);
  }
  // The hand-out button keeps its words on one line on a phone.
  await phone.goto(`${base}/console/s/${stationId}/search?q=${parcels[2].waybill}`);
  const handout = phone.locator("form.handout button").first();
  const box = await handout.boundingBox();
  check(box && box.height < 60 && box.width > 60, "the hand-out button is not squeezed: " + JSON.stringify(box));
  await shot(phone, "22-phone-handout");
  const tabletContext = await browser.newContext({ viewport: { width: 768, height: 1024 }, hasTouch: true, locale: "zh-CN" });
  const tablet = await tabletContext.newPage();
  pages.push(["tablet", tablet]);
  await signIn(tablet);
  for (const [name, url] of [
    ["23-tablet-shelves", `/console/s/${stationId}/shelves`],
    ["24-tablet-search", `/console/s/${stationId}/search?q=${parcels[2].waybill}`],
  ]) {
    await tablet.goto(base + url);
    const width = await tablet.evaluate(() => document.documentElement.scrollWidth);
    const inner = await tablet.evaluate(() => window.innerWidth);
    check(width <= inner, `${url} does not scroll sideways at 768 px (${width} > ${inner})`);
    await shot(tablet, name);
  }
  // Desktop: the parcel page with its history, the returns sheet, the landing page.
  await keeper2.goto(`${base}/console/s/${silentId}/search?q=${silentParcel.waybill}`);
  const silentParcelId = await keeper2.getAttribute(`tr[data-waybill="${silentParcel.waybill}"]`, "data-parcel");
  await keeper2.goto(`${base}/console/s/${silentId}/parcels/${silentParcelId}`);
  check((await keeper2.locator("#history li").count()) >= 2, "the parcel page shows its history");
  await shot(keeper2, "25-desktop-parcel");
  await keeper2.goto(`${base}/console/s/${silentId}/returns/print`);
  await keeper2.waitForSelector("h1");
  await keeper2.emulateMedia({ media: "print" });
  check((await keeper2.locator("button:visible").count()) === 0, "no buttons on the printed returns sheet");
  await shot(keeper2, "26-desktop-returns-print");
  await keeper2.emulateMedia({ media: "screen" });
  await keeper2.goto(`${base}/`);
  check((await keeper2.locator('ul.doors a[href="/centre"]').count()) === 1, "the landing page links the county centre");
  await shot(keeper2, "27-desktop-landing");
  console.log("browser test passed");
} catch (error) {
  for (const [name, page] of pages) {
    await page.screenshot({ path: path.join(shots, `failure-${name}.png`), fullPage: true }).catch(() => {});
  }
  throw error;
} finally {
  await browser.close();
}
