// The sender's pages (/send). The demo's "模拟支付" button: the simulated
// payment provider's signed callback is handed to the browser, which posts
// it to the payment callback endpoint exactly as a real provider's server
// would; the order turns paid through the real path, and the page reloads.
(function () {
  "use strict";
  var button = document.getElementById("simulate-pay");
  if (!button) return;
  button.addEventListener("click", function () {
    button.disabled = true;
    fetch("/api/payments/callback", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-payment-signature": button.dataset.signature,
      },
      body: button.dataset.body,
      credentials: "omit",
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        location.reload();
      })
      .catch(function (error) {
        var note = document.getElementById("simulate-error");
        note.textContent = String(error);
        note.hidden = false;
        button.disabled = false;
      });
  });
})();
