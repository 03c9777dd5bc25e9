// Set-up of the API reference page (/api/docs): the renderer is configured by
// attributes in the page; here only what depends on where the page is opened.
// Plain ES5, no inline script (the server's content security policy).
(function () {
  'use strict';
  var docs = document.getElementById('api-docs');
  if (!docs) {
    return;
  }
  // "Try it" calls go to the server the page came from.
  docs.setAttribute('server-url', window.location.origin);
  docs.setAttribute('default-api-server', window.location.origin);
  // Narrow screens get the one-column reading layout without the side menu.
  if (window.matchMedia && window.matchMedia('(max-width: 700px)').matches) {
    docs.setAttribute('show-side-nav', 'false');
  }
})();
