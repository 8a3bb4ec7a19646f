// Shows the minutes left on a held time next to the server-rendered "until HH:MM" text.
// Progressive enhancement only: the page says everything without it. The translated texts come
// from data attributes that the template fills in the page's language.
(function () {
  "use strict";
  var notice = document.querySelector("[data-hold-expires]");
  if (!notice) return;
  var expires = Date.parse(notice.getAttribute("data-hold-expires"));
  var output = notice.querySelector(".hold-countdown");
  if (isNaN(expires) || !output) return;
  var timer = null;
  function update() {
    var minutes = Math.ceil((expires - Date.now()) / 60000);
    if (minutes > 1) {
      output.textContent = output.getAttribute("data-many").replace("%(minutes)s", String(minutes));
    } else if (minutes === 1) {
      output.textContent = output.getAttribute("data-one");
    } else {
      output.textContent = output.getAttribute("data-gone");
      if (timer !== null) window.clearInterval(timer);
    }
    output.hidden = false;
  }
  update();
  timer = window.setInterval(update, 15000);
})();
