// Refresh the agenda's day every 30 seconds while the page is open and visible. Without
// JavaScript the page works the same; it has a Refresh link.
(function () {
  "use strict";
  var box = document.getElementById("agenda-day");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-refresh-url");
  function refresh() {
    if (document.hidden) { return; }
    // Do not replace buttons the user is about to press.
    if (box.contains(document.activeElement) && document.activeElement !== document.body) { return; }
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      // Signed out meanwhile (the fragment redirects to the login): reload, so the page shows that.
      .then(function (response) {
        if (response.redirected) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) { if (html !== null) { box.innerHTML = html; } })
      .catch(function () { /* offline for a moment: try again next time */ });
  }
  window.setInterval(refresh, 30000);
})();
