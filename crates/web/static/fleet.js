// The fleet page's live parts (issue 20): every 3 seconds the page is read
// again and its map and incident list are swapped in, so vehicles move and
// a new alert appears without a reload. Skipped while someone is typing in
// a form, so a half-written reason is never lost. No library.
(function () {
  "use strict";
  var EVERY_MS = 3000;
  var live = ["fleet-map", "incidents"];
  function typing() {
    var el = document.activeElement;
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT") &&
      el.closest("#incidents, #add") !== null && el.value !== "";
  }
  function poll() {
    if (typing()) { return; }
    fetch(window.location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (typing()) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        live.forEach(function (id) {
          var now = document.getElementById(id), next = fresh.getElementById(id);
          if (now && next && now.innerHTML !== next.innerHTML) { now.innerHTML = next.innerHTML; }
        });
        document.body.setAttribute("data-polled", String(Date.now()));
      })
      .catch(function () { /* the next poll tries again */ });
  }
  window.setInterval(poll, EVERY_MS);
})();
