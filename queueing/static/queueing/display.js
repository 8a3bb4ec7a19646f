// The waiting-room display: polls the calls every second with If-None-Match (answered 304 from the cache
// while nothing changed), redraws the table when they change, and alternates English and Dutch.
// After a network or server failure it keeps polling and recovers by itself; no reload by hand.
(function () {
  "use strict";
  var root = document.getElementById("display");
  if (!root) { return; }
  var url = root.getAttribute("data-poll-url");
  var etag = root.getAttribute("data-etag") || "";
  var languageSeconds = parseInt(root.getAttribute("data-language-seconds"), 10) || 8;
  var body = root.querySelector("tbody");
  var offline = root.querySelector("[data-offline]");
  var language = document.documentElement.lang === "nl" ? "nl" : "en";
  var emptyLabel = root.querySelector("tr.empty .display-label");
  var emptyTexts = emptyLabel ? { en: emptyLabel.getAttribute("data-en"), nl: emptyLabel.getAttribute("data-nl") } : null;
  var POLL_MS = 1000;
  var MAX_BACKOFF_MS = 5000;
  var failures = 0;

  function applyLanguage() {
    document.documentElement.lang = language;
    var labels = document.querySelectorAll(".display-label");
    for (var i = 0; i < labels.length; i++) {
      var text = labels[i].getAttribute("data-" + language);
      if (text) { labels[i].textContent = text; }
    }
  }

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function draw(calls) {
    while (body.firstChild) { body.removeChild(body.firstChild); }
    if (!calls.length && emptyTexts) {
      var row = document.createElement("tr");
      row.className = "empty";
      var td = document.createElement("td");
      td.colSpan = 2;
      var span = document.createElement("span");
      span.className = "display-label";
      span.setAttribute("data-en", emptyTexts.en);
      span.setAttribute("data-nl", emptyTexts.nl);
      span.textContent = emptyTexts[language];
      td.appendChild(span);
      row.appendChild(td);
      body.appendChild(row);
      return;
    }
    for (var i = 0; i < calls.length; i++) {
      var tr = document.createElement("tr");
      if (i === 0) { tr.className = "latest"; }
      tr.appendChild(cell(calls[i].code));
      tr.appendChild(cell(calls[i].counter));
      body.appendChild(tr);
    }
  }

  function setOnline(isOnline) {
    if (offline) { offline.hidden = isOnline; }
    root.setAttribute("data-online", isOnline ? "yes" : "no");
  }

  function schedule() {
    var wait = failures ? Math.min(MAX_BACKOFF_MS, POLL_MS * failures) : POLL_MS;
    window.setTimeout(poll, wait);
  }

  function poll() {
    var request = new XMLHttpRequest();
    request.open("GET", url, true);
    request.setRequestHeader("Accept", "application/json");
    if (etag) { request.setRequestHeader("If-None-Match", etag); }
    request.timeout = 5000;
    request.onload = function () {
      if (request.status === 200) {
        try {
          var data = JSON.parse(request.responseText);
          draw(data.calls || []);
          etag = request.getResponseHeader("ETag") || "";
          failures = 0;
          setOnline(true);
        } catch (error) {
          failures += 1;
          setOnline(false);
        }
      } else if (request.status === 304) {
        failures = 0;
        setOnline(true);
      } else {
        failures += 1;
        setOnline(false);
      }
      schedule();
    };
    request.onerror = request.ontimeout = function () {
      failures += 1;
      setOnline(false);
      schedule();
    };
    request.send();
  }

  window.setInterval(function () {
    language = language === "en" ? "nl" : "en";
    applyLanguage();
  }, languageSeconds * 1000);
  schedule();
})();
