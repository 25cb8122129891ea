// Refreshes a server-rendered part of the page in place (the camera-health table):
// fetch the fragment every few seconds and swap it in. A failed fetch keeps the old
// content and marks it stale rather than blanking the operator's screen.
(function () {
  "use strict";
  var box = document.getElementById("cameras-live");
  if (!box) { return; }
  var every = parseInt(box.dataset.everyMs || "3000", 10);
  function refresh() {
    fetch(box.dataset.src, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        box.innerHTML = html;
        box.dataset.refreshed = String(Date.now());
        delete box.dataset.stale;
      })
      .catch(function () { box.dataset.stale = "true"; })
      .then(function () { window.setTimeout(refresh, every); });
  }
  window.setTimeout(refresh, every);
})();
