// The self-service terminal: code → door and lights → checkout scans →
// done. The server decides everything; this script only shows it, keeps the
// focus in the right box for a keyboard-wedge scanner, and polls the session
// so scans at the station's own checkout scanner show up here too.
(function () {
  "use strict";
  var app = document.getElementById("app");
  if (!app) return;
  var csrf = app.dataset.csrf;
  var S = JSON.parse(document.getElementById("strings").textContent);
  var en = document.documentElement.lang === "en";
  var $ = function (id) { return document.getElementById(id); };
  var session = null, poll = null, audio = null, byeTimer = null;

  function tone(ok) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = ok ? "sine" : "square";
      osc.frequency.value = ok ? 880 : 170;
      gain.gain.value = 0.15;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + (ok ? 0.15 : 0.5));
    } catch (e) { /* no sound */ }
  }

  function call(method, url, body) {
    var init = { method: method, credentials: "same-origin", headers: { Accept: "application/json", "X-CSRF-Token": csrf } };
    if (body) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(url, init).then(function (res) {
      return res.json().catch(function () { return { error: { code: "internal", message: S["error.title"] } }; })
        .then(function (data) { return { ok: res.ok, data: data }; });
    }).catch(function () { return { ok: false, data: { error: { code: "network", message: S["error.title"] } } }; });
  }

  function showOnly(id) { ["home", "session", "bye"].forEach(function (s) { $(s).hidden = s !== id; }); }

  function home() {
    session = null;
    clearInterval(poll);
    showOnly("home");
    $("code").value = ""; $("tail").value = "";
    $("code").focus();
  }

  function tick() {
    if (!session) return;
    var left = Math.max(0, Math.round((Date.parse(session.idle_deadline) - Date.now()) / 1000));
    $("seconds").textContent = left;
  }

  // The door failed: say plainly that nothing was handed out and what to
  // do (call the station's public number, or come back).
  function doorFailedText(door) {
    var phone = door && door.station_phone;
    return S["terminal.door_failed"] + " " + (phone ? S["terminal.door_call"].replace("{phone}", phone) : S["terminal.door_come_back"]);
  }

  function finish(state, door) {
    clearInterval(poll);
    session = null;
    showOnly("bye");
    var text = state === "done" ? S["terminal.all_done"] : state === "expired" ? S["terminal.expired"] : state === "door_failed" ? doorFailedText(door) : S["terminal.ended"];
    if (state !== "door_failed") text += " " + S["terminal.close_door"];
    $("bye-text").textContent = text;
    $("bye-text").dataset.state = state;
    $("bye-text").className = state === "door_failed" ? "welcome alert bad" : "welcome";
    clearTimeout(byeTimer);
    // Long enough to note the phone number when the door failed.
    byeTimer = setTimeout(home, state === "door_failed" ? 30000 : 4000);
  }

  // "Open" only once the door acknowledged; "opening" until then.
  function showDoor(door) {
    var state = door ? door.state : "opening";
    var el = $("door");
    el.dataset.state = state;
    el.className = "door " + state;
    el.textContent = state === "open" ? S["terminal.door_open"] : S["terminal.door_opening"];
    // Once the door is open: take the parcels, then close it.
    $("close-door").hidden = state !== "open";
  }

  function render(view) {
    session = view;
    $("swatch").style.background = view.colour.hex;
    $("colour-name").textContent = en ? view.colour.name_en : view.colour.name_zh;
    var list = $("items");
    list.textContent = "";
    view.items.forEach(function (item) {
      var li = document.createElement("li");
      li.className = item.taken ? "taken" : "waiting";
      li.dataset.parcel = item.parcel_id;
      li.dataset.segment = item.segment;
      li.textContent = item.slot + " · " + item.carrier_zh + " …" + item.waybill_tail + " · " + (item.taken ? S["terminal.taken"] : S["terminal.waiting"]);
      list.appendChild(li);
    });
    showDoor(view.door);
    if (view.state !== "open") { finish(view.state, view.door); return; }
    tick();
  }

  function refresh() {
    if (!session) return;
    call("GET", "/terminal/api/session/" + session.id).then(function (r) { if (r.ok && session) render(r.data); });
  }

  $("code-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var code = $("code").value.trim();
    if (!code) return;
    $("home-error").hidden = true;
    var tail = $("tail").value.trim();
    call("POST", "/terminal/api/code", { code: code, phone_tail: tail || null }).then(function (r) {
      if (!r.ok) {
        // The server wrote the message for the error's code in this
        // terminal's language; the script adds nothing of its own.
        var error = r.data.error || {};
        $("home-error").textContent = error.message || S["error.title"];
        $("home-error").dataset.code = error.code || "";
        $("home-error").hidden = false;
        tone(false);
        $("code").select();
        return;
      }
      tone(true);
      showOnly("session");
      $("scan-alert").hidden = true;
      render(r.data);
      $("scan").focus();
      clearInterval(poll);
      poll = setInterval(refresh, 1000);
    });
  });

  $("scan-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("scan").value.trim();
    $("scan").value = "";
    if (!text || !session) return;
    call("POST", "/terminal/api/scan", { session_id: session.id, text: text }).then(function (r) {
      var alert = $("scan-alert");
      if (!r.ok) {
        alert.textContent = (r.data.error || {}).message || S["error.title"];
        alert.dataset.code = (r.data.error || {}).code || "";
        alert.className = "alert bad"; alert.hidden = false; tone(false);
      } else if (r.data.outcome === "not_yours") {
        alert.textContent = S["terminal.not_yours"];
        alert.className = "alert bad"; alert.hidden = false; tone(false);
      } else if (r.data.outcome === "already_taken") {
        alert.textContent = S["terminal.already"];
        alert.className = "alert"; alert.hidden = false;
        render(r.data.session);
      } else {
        alert.hidden = true; tone(true);
        render(r.data.session);
      }
      if (session) $("scan").focus();
    });
  });

  $("finish").addEventListener("click", function () {
    if (!session) return home();
    call("POST", "/terminal/api/session/" + session.id + "/end").then(function () { finish("ended"); });
  });

  // A vehicle at the station (issue 20): the terminal lists the vehicles due
  // here, opens their compartments and hands a stop over to the shelves, or
  // opens a collect-from-vehicle stop and lets a recipient open their own
  // compartment with their code. The server decides; this only asks and
  // shows. Polled every ten seconds while the welcome screen shows.
  var panel = $("vehicles");
  var fill = function (text, values) {
    Object.keys(values).forEach(function (k) { text = text.replace("{" + k + "}", values[k]); });
    return text;
  };

  function say(text, bad) {
    var alert = $("vehicle-alert");
    alert.textContent = text;
    alert.className = bad ? "alert bad" : "alert";
    alert.hidden = false;
  }

  function button(label, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.dataset.action = action;
    return b;
  }

  function renderVehicles(due) {
    var list = $("vehicle-list");
    list.textContent = "";
    panel.hidden = due.length === 0;
    var collecting = false;
    due.forEach(function (v) {
      var li = document.createElement("li");
      li.dataset.mission = v.mission_id;
      li.dataset.stop = v.stop_id;
      li.appendChild(document.createTextNode(v.name + " (" + v.vehicle + ") · " +
        fill(S["terminal.vehicle_parcels"], { n: v.n_parcels, compartments: v.compartments.join(", ") }) + " "));
      if (v.collect_from_vehicle) {
        if (v.open_for_collection) collecting = true;
        else li.appendChild(button(S["terminal.vehicle_open_collection"], "open"));
      } else {
        li.appendChild(button(S["terminal.vehicle_open"], "open"));
        li.appendChild(button(S["terminal.vehicle_hand_over"], "hand-over"));
      }
      list.appendChild(li);
    });
    $("vehicle-collect").hidden = !collecting;
  }

  function refreshVehicles() {
    if ($("home").hidden) return;
    call("GET", "/terminal/api/vehicles").then(function (r) { if (r.ok) renderVehicles(r.data); });
  }

  $("vehicle-list").addEventListener("click", function (event) {
    var action = event.target.dataset && event.target.dataset.action;
    var li = event.target.closest && event.target.closest("li");
    if (!action || !li) return;
    var stop = { mission_id: Number(li.dataset.mission), stop_id: Number(li.dataset.stop) };
    call("POST", "/terminal/api/vehicles/" + action, stop).then(function (r) {
      if (!r.ok) { say((r.data.error || {}).message || S["error.title"], true); return; }
      if (action === "hand-over") {
        say(fill(S["terminal.vehicle_handed"], { n: r.data.handed_over, kept: r.data.kept_aboard }));
      } else if (r.data.collection) {
        say(fill(S["terminal.vehicle_collection_open"], { n: r.data.n_parcels }));
      } else {
        say(S["terminal.vehicle_opened"]);
      }
      refreshVehicles();
    });
  });

  $("vehicle-collect").addEventListener("submit", function (event) {
    event.preventDefault();
    var code = $("v-code").value.trim();
    if (!code) return;
    var tail = $("v-tail").value.trim();
    call("POST", "/terminal/api/vehicles/collect", { code: code, phone_tail: tail || null }).then(function (r) {
      $("v-code").value = ""; $("v-tail").value = "";
      if (!r.ok) { say((r.data.error || {}).message || S["error.title"], true); return; }
      say(fill(S["terminal.vehicle_take"], { vehicle: r.data.vehicle, compartment: r.data.compartment, tail: r.data.waybill_tail }));
    });
  });

  refreshVehicles();
  setInterval(refreshVehicles, 10000);

  setInterval(tick, 1000);
  home();
})();

// The on-screen keypad (touch screens without a keyboard): its keys type
// into the code or phone-tail box that last had the focus. Buttons, not
// inline handlers, so the content security policy holds; without this
// script the boxes still take a keyboard.
(function () {
  "use strict";
  var pad = document.getElementById("keypad");
  if (!pad) return;
  var target = document.getElementById("code");
  ["code", "tail"].forEach(function (id) {
    var box = document.getElementById(id);
    if (box) box.addEventListener("focus", function () { target = box; });
  });
  pad.hidden = false;
  pad.addEventListener("click", function (event) {
    var key = event.target.getAttribute && event.target.getAttribute("data-key");
    if (!key || !target) return;
    event.preventDefault();
    if (key === "back") {
      target.value = target.value.slice(0, -1);
    } else if (key === "clear") {
      target.value = "";
    } else if (key === "next") {
      target = target.id === "code" ? document.getElementById("tail") : document.getElementById("code");
    } else if (key === "go") {
      var form = document.getElementById("code-form");
      if (form.requestSubmit) form.requestSubmit(); else document.getElementById("go").click();
      return;
    } else if (target.value.length < (target.maxLength > 0 ? target.maxLength : 200)) {
      target.value += key;
    }
    target.focus();
  });
})();

