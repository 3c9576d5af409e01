// Reloads the page after the delay named by data-reload-after (milliseconds), so a job's progress
// bar moves on its own; the server stops asking for it once the job is done. Without JavaScript the
// page offers a link to check again.
(function () {
  "use strict";
  var element = document.querySelector("[data-reload-after]");
  if (!element) {
    return;
  }
  var delay = parseInt(element.getAttribute("data-reload-after"), 10) || 2000;
  window.setTimeout(function () {
    window.location.reload();
  }, delay);
})();
