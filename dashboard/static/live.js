// Keeps the payment list live: it fetches the table body again every few
// seconds and swaps it in when it changed. Without JavaScript the page
// works as it is, with its Refresh link. Tender's own code; no library.
(function () {
  "use strict";
  var body = document.getElementById("rows");
  var status = document.getElementById("live-status");
  if (!body || !window.fetch) return;
  var src = body.getAttribute("data-src");
  var every = parseInt(body.getAttribute("data-every"), 10) || 2000;
  var last = body.innerHTML;
  function tick() {
    if (document.hidden) { setTimeout(tick, every); return; }
    fetch(src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        if (html !== last) {
          last = html;
          body.innerHTML = html;
          status.textContent = "Updated at " + new Date().toLocaleTimeString() + ".";
        }
      })
      .catch(function () { status.textContent = "Live updates paused; use Refresh."; })
      .then(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();
