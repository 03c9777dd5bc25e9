// The scanner screen without page loads: a keyboard-wedge scanner types the
// waybill and Enter; the answer shows large, in colour and as a tone, and
// the input keeps focus for the next parcel. Without this script the form
// still posts and the page shows the same answer.
// Print buttons and "back" links: handled here rather than inline, so the
// content security policy can forbid inline script. Without this script a
// "back" link goes to the console and a print button does nothing.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var node = event.target;
    while (node && node.getAttribute && !node.getAttribute("data-action")) node = node.parentNode;
    if (!node || !node.getAttribute) return;
    var action = node.getAttribute("data-action");
    if (action === "print") {
      event.preventDefault();
      window.print();
    } else if (action === "back" && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });
})();

(function () {
  "use strict";
  var form = document.getElementById("scan-form");
  if (!form) return;
  var input = document.getElementById("waybill");
  var result = document.getElementById("result");
  var batch = document.getElementById("batch");
  var count = document.getElementById("batch-count");
  var counts = { stored: 0, duplicate: 0, awaiting: 0, error: 0 };
  var audio = null;

  // Success: one high tone; duplicate: two short middle tones; error: a low buzz.
  function tone(status) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var tones = { stored: [[880, 0.12]], awaiting: [[660, 0.2]], duplicate: [[520, 0.09], [520, 0.09]], error: [[170, 0.5]] }[status] || [[300, 0.2]];
      var t = audio.currentTime;
      tones.forEach(function (pair) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = status === "error" ? "square" : "sine";
        osc.frequency.value = pair[0];
        gain.gain.value = 0.15;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(t); osc.stop(t + pair[1]);
        t += pair[1] + 0.06;
      });
    } catch (e) { /* no sound device: the colour still tells */ }
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function show(r) {
    result.className = "result " + r.status;
    result.textContent = "";
    var title = el("div", "r-title", r.title + " ");
    title.appendChild(el("small", null, r.waybill));
    result.appendChild(title);
    if (r.code) { var code = el("div", "r-code", r.code); code.id = "result-code"; result.appendChild(code); }
    if (r.slot) result.appendChild(el("div", "r-slot", batch.dataset.slot + " " + r.slot));
    if (r.message) result.appendChild(el("div", "r-message", r.message));
    if (r.parcel_id && r.code) {
      var a = el("a", "print", batch.dataset.print);
      a.href = "/console/s/" + batch.dataset.station + "/label/" + r.parcel_id;
      a.target = "_blank";
      result.appendChild(a);
    }
  }

  function remember(r) {
    counts[r.status] = (counts[r.status] || 0) + 1;
    var li = el("li", r.status, [r.waybill, r.code || "", r.slot || "", r.status === "error" ? r.message : r.title].join("  "));
    batch.insertBefore(li, batch.firstChild);
    // Awaiting parcels are on the shelf too (without a code yet): they
    // count as stored here, and the ⏸ figure says how many of them wait.
    count.textContent = "✓" + (counts.stored + counts.awaiting) + "  ⏸" + counts.awaiting + "  ⟳" + counts.duplicate + "  ✗" + counts.error;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var waybill = input.value.trim();
    if (!waybill) return;
    var body = new URLSearchParams(new FormData(form));
    input.value = "";
    input.focus();
    fetch(form.action, { method: "POST", headers: { Accept: "application/json" }, body: body, credentials: "same-origin" })
      .then(function (res) { return res.json().catch(function () { return { error: { message: res.statusText } }; }); })
      .then(function (r) {
        if (r.error) r = { status: "error", title: "✗", message: r.error.message, waybill: waybill };
        show(r); tone(r.status); remember(r);
        document.getElementById("phone").value = "";
      })
      .catch(function (e) {
        var r = { status: "error", title: "✗", message: String(e), waybill: waybill };
        show(r); tone("error"); remember(r);
      });
  });

  // A click anywhere but a control gives the focus back to the scanner input.
  document.addEventListener("click", function (event) {
    if (!event.target.closest("select, input, button, a, label")) input.focus();
  });
})();

// The centre's arrival scan at the belt (branch centre-ops): the waybill
// field keeps the focus and Enter posts it; the route decision shows large
// with a tone per outcome (routed: one high beep; manual queue: low then
// high; repeated: two short middle beeps; refused: a low buzz), the open
// bags and the "announced, not yet arrived" list update without a reload.
// Without this script the form posts and the page shows the same.
(function () {
  "use strict";
  var form = document.getElementById("arrival-form");
  if (!form) return;
  var input = document.getElementById("waybill");
  var result = document.getElementById("result");
  var bags = document.getElementById("open-bags");
  var scans = document.getElementById("scans");
  var count = document.getElementById("scan-count");
  var carrier = document.getElementById("carrier");
  var counts = { routed: 0, manual: 0, duplicate: 0, error: 0 };
  var audio = null;

  function tone(status) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var tones = {
        routed: [[988, 0.12]],
        manual: [[392, 0.16], [784, 0.22]],
        duplicate: [[523, 0.08], [523, 0.08]],
        error: [[160, 0.6]]
      }[status] || [[300, 0.2]];
      var t = audio.currentTime;
      for (var i = 0; i < tones.length; i++) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = status === "error" ? "square" : "sine";
        osc.frequency.value = tones[i][0];
        gain.gain.value = 0.18;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(t); osc.stop(t + tones[i][1]);
        t += tones[i][1] + 0.05;
      }
    } catch (e) { /* no sound device: the colour still tells */ }
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function labelled(cls, label, value) {
    var node = el("div", cls);
    node.appendChild(el("small", null, label + " "));
    node.appendChild(document.createTextNode(value));
    return node;
  }

  function show(r) {
    var d = result.dataset;
    result.className = "result decision " + r.status;
    result.textContent = "";
    var title = el("div", "r-title", r.title + " ");
    title.appendChild(el("small", null, (r.carrier || "") + " " + r.waybill));
    if (r.unannounced) { title.appendChild(document.createTextNode(" ")); title.appendChild(el("span", "tag", d.unannounced)); }
    result.appendChild(title);
    if (r.mode) result.appendChild(el("div", "r-mode", r.mode));
    if (r.route) result.appendChild(labelled("r-target", d.route, r.route));
    if (r.contractor) result.appendChild(labelled("r-target", d.contractor, r.contractor));
    if (r.station) result.appendChild(labelled("r-target", d.station, r.station));
    if (r.bag) result.appendChild(labelled("r-bag", d.bag, r.bag));
    if (r.state) result.appendChild(el("div", "r-message", d.state + ": " + r.state));
    if (r.reason) result.appendChild(el("div", "r-reason", r.reason));
  }

  function fill(list) {
    var body = bags.tBodies[0];
    body.textContent = "";
    for (var i = 0; i < list.length; i++) {
      var b = list[i], tr = el("tr");
      tr.setAttribute("data-bag", b.id);
      tr.appendChild(el("td", null, b.label));
      tr.appendChild(el("td", null, b.destination));
      tr.appendChild(el("td", null, b.mode));
      var n = el("td", "n");
      n.appendChild(el("b", null, String(b.n)));
      n.appendChild(document.createTextNode(" "));
      n.appendChild(el("small", null, b.per_carrier));
      tr.appendChild(n);
      body.appendChild(tr);
    }
    var none = document.getElementById("no-open-bags");
    if (none) none.style.display = list.length ? "none" : "";
  }

  function remember(r) {
    counts[r.status] = (counts[r.status] || 0) + 1;
    var text = [r.waybill, r.title, r.station || r.contractor || r.route || "", r.reason || ""].join("  ");
    scans.insertBefore(el("li", r.status, text), scans.firstChild);
    count.textContent = "✓" + counts.routed + "  ?" + counts.manual + "  ⟳" + counts.duplicate + "  ✗" + counts.error;
    if (r.status !== "error") {
      var items = document.querySelectorAll("#expected li");
      for (var i = 0; i < items.length; i++) {
        if (items[i].getAttribute("data-waybill") === r.waybill) items[i].className = "arrived";
      }
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var waybill = input.value.trim();
    if (!waybill) return;
    var body = new URLSearchParams(new FormData(form));
    input.value = "";
    input.focus();
    fetch(form.action, { method: "POST", headers: { Accept: "application/json" }, body: body, credentials: "same-origin" })
      .then(function (res) { return res.json().catch(function () { return { error: { message: res.statusText } }; }); })
      .then(function (answer) {
        var r = answer.result;
        if (answer.error || !r) r = { status: "error", title: "✗", reason: answer.error ? answer.error.message : "?", waybill: waybill };
        show(r); tone(r.status); remember(r);
        if (answer.bags) fill(answer.bags);
        document.getElementById("weight").value = "";
        document.getElementById("address").value = "";
      })
      .catch(function (e) {
        var r = { status: "error", title: "✗", reason: String(e), waybill: waybill };
        show(r); tone("error"); remember(r);
      });
  });

  // Another carrier's truck: show its announced parcels.
  carrier.addEventListener("change", function () {
    window.location.search = "?carrier=" + encodeURIComponent(carrier.value);
  });

  // A click anywhere but a control gives the focus back to the scanner input.
  document.addEventListener("click", function (event) {
    if (!event.target.closest("select, input, button, a, label, summary")) input.focus();
  });
})();

// The centre's sort plan page: a layout file chosen is read into the text
// box and sent with the form (the form posts text, not files). Without this
// script the layout is pasted into the box.
(function () {
  "use strict";
  var file = document.getElementById("layout-file");
  var text = document.getElementById("layout-text");
  if (!file || !text || !window.FileReader) return;
  file.addEventListener("change", function () {
    if (!file.files || !file.files[0]) return;
    var reader = new FileReader();
    reader.onload = function () {
      text.value = reader.result;
      var fromLayout = document.querySelector("input[name=source][value=layout]");
      if (fromLayout) fromLayout.checked = true;
    };
    reader.readAsText(file.files[0]);
  });
})();
