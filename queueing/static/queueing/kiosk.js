// The kiosk's answers go back to the start screen after a while without a touch or a key (WCAG 2.2.1: any
// interaction gives the full time again). Without JavaScript, a <noscript> meta refresh does the same.
(function () {
  "use strict";
  var body = document.body;
  var seconds = parseInt(body.getAttribute("data-timeout"), 10);
  var target = body.getAttribute("data-start-url");
  if (!seconds || !target) { return; }
  var timer = null;
  function restart() {
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(function () { window.location.assign(target); }, seconds * 1000);
  }
  ["pointerdown", "keydown", "touchstart"].forEach(function (name) {
    document.addEventListener(name, restart, { passive: true });
  });
  restart();
})();
