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
