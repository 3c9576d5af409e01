// Moves a background job's progress bar: every element with data-progress-url is refreshed from that
// JSON endpoint ({percent, text, running}) every 2 seconds; once the job is no longer running the
// page reloads to show what it made. The server adds data-progress-url only while the job runs and
// the visitor has not turned updating off; without JavaScript the page offers a link to check again.
(function () {
  "use strict";
  var DELAY = 2000;
  var RETRY = 10000;
  var MAX_ERRORS = 10;
  var boxes = document.querySelectorAll("[data-progress-url]");
  if (!boxes.length || !window.fetch) {
    return;
  }
  Array.prototype.forEach.call(boxes, function (box) {
    var url = box.getAttribute("data-progress-url");
    var bar = box.querySelector("[data-progress-bar]");
    var text = box.querySelector("[data-progress-text]");
    var errors = 0;

    function show(data) {
      var percent = Math.max(0, Math.min(100, parseInt(data.percent, 10) || 0));
      if (bar) {
        bar.value = percent;
        bar.textContent = percent + "%";
      }
      if (text && data.text && text.textContent !== data.text) {
        text.textContent = data.text;
      }
    }

    function poll() {
      window
        .fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          errors = 0;
          show(data);
          if (data.running) {
            window.setTimeout(poll, DELAY);
          } else {
            window.location.reload();
          }
        })
        .catch(function () {
          errors += 1;
          if (errors < MAX_ERRORS) {
            window.setTimeout(poll, RETRY);
          }
        });
    }

    window.setTimeout(poll, DELAY);
  });
})();
