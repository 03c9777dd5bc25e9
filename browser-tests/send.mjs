// Sending end to end in real Chromium (issue 14), on the demo county: the
// post office's carrier system (EMS) subscribes to its events in the
// carrier portal; a sender opens /send from a kiosk's QR code on a 390 px
// phone, signs in with the demo's one-time code, pastes two addresses,
// passes the real-name check and inspection (a prohibited item is refused
// naming its rule), pays with the simulated provider and opens the label;
// a courier collects the item at /centre/collect; and the carrier's
// delivery log shows the order accepted and collected.
//
// Run by crates/yizhan/tests/browser_send.rs, which starts `yizhan serve`
// on the demo, adds the carrier's user `ems` and passes BASE_URL,
// SCREENSHOT_DIR, PASSWORD, CHROMIUM.
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

async function signIn(page, username) {
  await page.goto(base + "/console/login");
  await page.fill("#username", username);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL((url) => !url.pathname.endsWith("/login")), page.click("#login")]);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `send-${name}.png`), fullPage: true });
  console.log("screenshot send-" + name);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const pages = [];
try {
  const errors = [];
  const watch = (page) => {
    pages.push(page);
    page.on("pageerror", (error) => errors.push(String(error)));
  };

  // The carrier subscribes to every event of its own.
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  const carrier = await desk.newPage();
  watch(carrier);
  await signIn(carrier, "ems");
  await carrier.goto(base + "/carrier/webhooks");
  await carrier.fill("#url", "https://hooks.ems.example/yizhan/events");
  await Promise.all([carrier.waitForLoadState("load"), carrier.click("#new-webhook button")]);
  await carrier.goto(base + "/carrier/webhooks");
  const logs = await carrier.$$eval("a[href^='/carrier/webhooks/']", (links) => links.map((a) => a.getAttribute("href")));
  const log = logs.find((href) => /^\/carrier\/webhooks\/\d+$/.test(href));
  check(log, "the new subscription links its delivery log: " + logs.join(", "));

  // The courier's kiosks: the first one's QR code is what the sender scans.
  const courierContext = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "zh-CN", isMobile: true, hasTouch: true });
  const courier = await courierContext.newPage();
  watch(courier);
  await signIn(courier, "courier1");
  await courier.goto(base + "/centre/kiosks?status=in_service");
  const first = await courier.$eval("#kiosks tbody tr td a", (a) => ({ value: a.getAttribute("href").split("/").pop(), code: a.textContent.trim() }));
  const kiosk = first.code;
  check(/^JJB-\d+$/.test(kiosk), "the fleet lists the demo's kiosks in service: " + kiosk);

  // The sender, on a phone, from the kiosk's QR code.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "zh-CN", isMobile: true, hasTouch: true });
  const sender = await phone.newPage();
  watch(sender);
  await sender.goto(base + "/send?kiosk=" + kiosk);
  check(new URL(sender.url()).pathname === "/send/login", "a new sender signs in first: " + sender.url());
  await sender.fill("#phone", "13912345678");
  await Promise.all([sender.waitForLoadState("load"), sender.click("#send-code")]);
  const code = (await sender.textContent("#demo-code b")).trim();
  check(/^\d{6}$/.test(code), "the demo shows the one-time code: " + code);
  await sender.fill("#code", code);
  await Promise.all([sender.waitForURL((url) => url.pathname === "/send"), sender.click("#verify")]);
  check((await sender.textContent("#kiosk")).includes(kiosk), "the kiosk's code rides along");
  await Promise.all([sender.waitForURL((url) => url.pathname === "/send/new"), sender.click("#new-order")]);
  await sender.fill("#from-text", "张三 13912345678 四川省成都市彭州市丽春镇白果村3组12号");
  await sender.fill("#to-text", "李四 13800001111 浙江省金华市磐安县安文街道新城路8号");
  await Promise.all([sender.waitForLoadState("load"), sender.click("#parse")]);
  check((await sender.inputValue("#from-name")) === "张三", "the sender's name was read");
  check((await sender.inputValue("#to-phone")) === "13800001111", "the recipient's phone was read");
  check((await sender.inputValue("#to-division")).length >= 6, "the recipient's division was read");
  await shot(sender, "01-confirm-phone");
  await Promise.all([sender.waitForURL((url) => /^\/send\/orders\/\d+$/.test(url.pathname)), sender.click("#confirm")]);
  const order = sender.url();

  // Real name: the first send needs the ID; only its masked form comes back.
  await sender.fill("#id-name", "张三");
  await sender.selectOption("#id-kind", "resident_id");
  await sender.fill("#id-number", "11010519491231002X");
  await Promise.all([sender.waitForLoadState("load"), sender.click("#id-submit")]);
  const verified = await sender.textContent("#verified");
  check(verified.includes("2X") && !verified.includes("11010519491231002X"), "the ID shows masked: " + verified);

  // Inspection: a prohibited item is refused, naming its rule.
  await sender.selectOption("#category", "explosives");
  await sender.fill("#weight", "800");
  await Promise.all([sender.waitForLoadState("load"), sender.click("#quote")]);
  const refusal = await sender.textContent("body");
  check(refusal.includes("禁止寄递物品管理规定"), "the refusal names the rule: " + refusal.slice(0, 300));
  await shot(sender, "02-prohibited-phone");
  await sender.goto(order);
  await sender.selectOption("#category", "clothing");
  await sender.fill("#weight", "800");
  await Promise.all([sender.waitForLoadState("load"), sender.click("#quote")]);
  await sender.waitForSelector("#quote-box");
  const price = await sender.textContent("#price");
  check(/\d/.test(price), "a price is quoted: " + price);
  await Promise.all([sender.waitForLoadState("load"), sender.click("#submit")]);
  await sender.waitForSelector("#payment svg");
  await shot(sender, "03-pay-phone");
  // The demo's provider: the button posts the provider's signed callback.
  await Promise.all([sender.waitForEvent("load"), sender.click("#simulate-pay")]);
  await sender.waitForSelector("#order-state[data-state=accepted]");
  const waybill = await sender.getAttribute("#waybill", "data-waybill");
  check(waybill && waybill.length >= 6, "the paid order has a waybill: " + waybill);
  await Promise.all([sender.waitForURL((url) => url.pathname.endsWith("/label")), sender.click("#label")]);
  const label = await sender.textContent("body");
  check(label.includes(waybill), "the label carries the waybill");
  check(label.includes("138****1111") && !label.includes("13800001111"), "the label masks the recipient's phone");
  await shot(sender, "04-label-phone");

  // The courier collects it from the kiosk's bin.
  await courier.goto(base + "/centre/collect");
  await courier.selectOption("#collect-start select[name=kiosk_id]", first.value);
  await Promise.all([courier.waitForURL((url) => /^\/centre\/collect\/\d+$/.test(url.pathname)), courier.click("#collect-start button")]);
  const waiting = await courier.textContent("#waiting");
  check(waiting.includes(waybill), "the item waits in the kiosk's bin: " + waiting);
  await courier.fill("#collect-scan input[name=waybill]", waybill);
  await Promise.all([courier.waitForURL((url) => url.search.includes("last=")), courier.click("#collect-scan button")]);
  await courier.waitForSelector("#last-scan.collected");
  check((await courier.textContent("#last-scan")).includes(waybill), "the scan collected the item");
  await Promise.all([courier.waitForLoadState("load"), courier.click("#close-form button")]);
  await courier.waitForSelector("#run-closed");
  await shot(courier, "05-collected-phone");

  // The carrier's delivery log shows the order accepted and collected.
  await carrier.goto(base + log);
  const events = await carrier.$$eval("td.event", (cells) => cells.map((c) => c.textContent.trim()));
  // The log names events in the page's language (send.accepted, send.collected).
  check(events.some((e) => e.startsWith("寄件已受理")), "the carrier's feed has the order accepted: " + events.join(", "));
  check(events.includes("已揽收"), "the carrier's feed has the order collected: " + events.join(", "));
  await shot(carrier, "06-carrier-feed");
  check(errors.length === 0, "no script errors: " + errors.join("; "));
} catch (error) {
  // What each page showed when it went wrong.
  for (const [index, page] of pages.entries()) {
    await page.screenshot({ path: path.join(shots, `send-failed-${index}.png`), fullPage: true }).catch(() => {});
  }
  throw error;
} finally {
  await browser.close();
}
