/* The judge's scorecard (templates/scoring/_form.html): autosave, the live total, and unsaved input
   kept in this browser until the server has it — through a dropped network, an expired session or
   a closed tab. The page works without this script: the form posts as usual.

   - 2 s after the last change, and every 30 s while something is unsaved, the form goes as JSON to
     data-autosave-url, with the CSRF token in the X-CSRFToken header;
   - before every send the input is stored in localStorage ("scorecard:<assignment id>", with the
     version it is based on); a successful save clears it;
   - offline, a network error or a 5xx: kept, retried with back-off (2 s … 60 s) and when back online;
   - 401: the session expired — a link to log in again (next= this page); the input is kept;
   - 409: changed elsewhere (another tab or device), or submitted — reload; the input is kept;
   - 422: a value refused — the message goes on its field;
   - on load, unsaved input for this scorecard is put back and sent again when it is based on the
     page's version; when the scorecard changed elsewhere since, the judge chooses (put back / discard).
   A save button pressed while an autosave is on its way waits for it, so it carries the new version. */
(function () {
  "use strict";

  var RETRY_MIN = 2000;
  var RETRY_MAX = 60000;
  var DEBOUNCE = 2000;
  var PERIOD = 30000;

  function storageKey(id) {
    return "scorecard:" + id;
  }

  function load(key) {
    try {
      var raw = window.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch (error) {
      return null;
    }
  }

  function keep(key, entry) {
    try {
      window.localStorage.setItem(key, JSON.stringify(entry));
    } catch (error) {
      /* storage full or disabled: the form and autosave still work */
    }
  }

  function forget(key) {
    try {
      window.localStorage.removeItem(key);
    } catch (error) {
      /* nothing to do */
    }
  }

  // A submitted scorecard: what this browser kept for it no longer applies.
  var done = document.querySelector("[data-scorecard-done]");
  if (done) {
    forget(storageKey(done.dataset.assignment));
    forget(storageKey(done.dataset.assignment) + ":older");
  }

  var form = document.querySelector("form[data-scorecard]");
  if (!form) {
    return;
  }

  var key = storageKey(form.dataset.assignment);
  var olderKey = key + ":older";
  var versionInput = form.querySelector("[data-version]");
  var csrfInput = form.querySelector("input[name=csrf_token]");
  var statusLine = document.getElementById("autosave-status");
  var messages = document.getElementById("scorecard-messages").dataset;
  var totalBox = form.querySelector("[data-total]");
  var prompt = document.getElementById("unsaved-elsewhere");
  var pointInputs = Array.prototype.slice.call(form.querySelectorAll("[data-points]"));
  var commentInputs = Array.prototype.slice.call(form.querySelectorAll("[data-comment]"));
  var overallInput = form.querySelector("[data-overall]");

  var dirty = false;
  var inflight = null;
  var blocked = null; // "expired" | "conflict" | "gone": no more autosaves until the page is reloaded
  var rejected = null; // the input last refused (422): not sent again until it changes
  var submitting = false;
  var retryDelay = 0;
  var debounceTimer = null;
  var retryTimer = null;

  // --- values ---------------------------------------------------------------------------------

  function values() {
    var points = {};
    var comments = {};
    pointInputs.forEach(function (input) {
      points[input.dataset.criterion] = input.value;
    });
    commentInputs.forEach(function (input) {
      comments[input.dataset.criterion] = input.value;
    });
    return { points: points, comments: comments, overall: overallInput.value };
  }

  function put(entered) {
    pointInputs.forEach(function (input) {
      var value = entered.points && entered.points[input.dataset.criterion];
      if (typeof value === "string") {
        input.value = value;
      }
    });
    commentInputs.forEach(function (input) {
      var value = entered.comments && entered.comments[input.dataset.criterion];
      if (typeof value === "string") {
        input.value = value;
      }
    });
    if (typeof entered.overall === "string") {
      overallInput.value = entered.overall;
    }
    overallInput.dispatchEvent(new Event("input", { bubbles: true })); // the counter, and changed()
  }

  function text(value) {
    return String(value || "").replace(/\r\n/g, "\n").normalize("NFC").trim();
  }

  function number(value) {
    var plain = String(value || "").normalize("NFKC").trim();
    return plain === "" ? "" : String(Number(plain));
  }

  /* The input as the server compares it (7 and 7.0 alike, comments trimmed): whether two states differ. */
  function canonical(entered) {
    var out = [];
    pointInputs.forEach(function (input) {
      out.push(number(entered.points && entered.points[input.dataset.criterion]));
    });
    commentInputs.forEach(function (input) {
      out.push(text(entered.comments && entered.comments[input.dataset.criterion]));
    });
    out.push(text(entered.overall));
    return JSON.stringify(out);
  }

  function currentVersion() {
    return parseInt(versionInput.value, 10) || 0;
  }

  function store() {
    keep(key, { version: currentVersion(), values: values(), at: Date.now() });
  }

  // --- what the judge sees --------------------------------------------------------------------

  function say(message, kind, link) {
    statusLine.textContent = message;
    statusLine.className = "small mb-0" + (kind ? " text-" + kind + "-emphasis fw-semibold" : "");
    if (link) {
      statusLine.appendChild(document.createTextNode(" "));
      var anchor = document.createElement("a");
      anchor.href = link.href;
      anchor.textContent = link.text;
      anchor.setAttribute("data-testid", "status-link");
      statusLine.appendChild(anchor);
    }
  }

  function formatPoints(value) {
    return Number.isInteger(value) ? String(value) : value.toFixed(1);
  }

  function updateTotal() {
    var total = 0;
    pointInputs.forEach(function (input) {
      if (input.value !== "" && input.checkValidity()) {
        total += Number(input.value);
      }
    });
    totalBox.textContent = formatPoints(total);
  }

  function showError(name, message) {
    var box = form.querySelector('[data-error-for="' + name + '"]');
    var field = document.getElementById(name);
    if (box) {
      box.textContent = message;
      box.classList.toggle("d-block", Boolean(message));
    }
    if (field) {
      field.classList.toggle("is-invalid", Boolean(message));
      if (message) {
        field.setAttribute("aria-invalid", "true");
      } else {
        field.removeAttribute("aria-invalid");
      }
    }
  }

  function checkPoints(input) {
    showError(input.id, input.checkValidity() ? "" : input.validationMessage);
  }

  // --- saving ---------------------------------------------------------------------------------

  function schedule(delay) {
    window.clearTimeout(debounceTimer);
    debounceTimer = window.setTimeout(save, delay);
  }

  function retryLater() {
    retryDelay = retryDelay ? Math.min(retryDelay * 2, RETRY_MAX) : RETRY_MIN;
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(save, retryDelay);
  }

  function failed() {
    say(navigator.onLine ? messages.failed : messages.offline, "danger");
    retryLater();
  }

  function saved(body, snapshot) {
    versionInput.value = String(body.version);
    retryDelay = 0;
    rejected = null;
    commentInputs.concat([overallInput]).forEach(function (field) {
      showError(field.id, "");
    });
    pointInputs.forEach(checkPoints);
    if (canonical(values()) === snapshot) {
      dirty = false;
      forget(key);
    } else {
      store(); // typed on while it was on its way: based on the new version now
      schedule(DEBOUNCE);
    }
    say(body.message || body.saved_at, "success");
  }

  function answered(status, body, snapshot) {
    if (status === 200 && body.ok) {
      saved(body, snapshot);
    } else if (status === 401) {
      blocked = "expired";
      say(messages.expired, "danger", { href: form.dataset.loginUrl, text: messages.login });
    } else if (status === 409 || status === 400) {
      blocked = "conflict";
      say(body.error || messages.conflict, "danger", { href: form.dataset.reloadUrl, text: messages.reload });
    } else if (status === 422) {
      rejected = snapshot;
      if (body.field && form.querySelector('[data-error-for="' + body.field + '"]')) {
        showError(body.field, body.error);
      }
      say(body.error || messages.invalid, "danger");
    } else if (status === 403 || status === 404) {
      blocked = "gone";
      say(body.error || messages.conflict, "danger", { href: form.dataset.reloadUrl, text: messages.reload });
    } else {
      failed(); // 5xx, a proxy's error page…
    }
  }

  function save() {
    window.clearTimeout(debounceTimer);
    window.clearTimeout(retryTimer);
    if (inflight || blocked || submitting || !dirty) {
      return;
    }
    var invalid = pointInputs.filter(function (input) {
      return !input.checkValidity();
    });
    if (invalid.length) {
      invalid.forEach(checkPoints);
      say(messages.invalid, "danger");
      return;
    }
    var sent = values();
    var snapshot = canonical(sent);
    var version = currentVersion();
    keep(key, { version: version, values: sent, at: Date.now() });
    if (navigator.onLine === false) {
      say(messages.offline, "danger");
      retryLater();
      return;
    }
    say(messages.saving);
    inflight = window
      .fetch(form.dataset.autosaveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfInput ? csrfInput.value : "",
        },
        body: JSON.stringify({ version: version, points: sent.points, comments: sent.comments, overall: sent.overall }),
      })
      .then(
        function (response) {
          return response
            .json()
            .catch(function () {
              return {};
            })
            .then(function (body) {
              answered(response.status, body, snapshot);
            });
        },
        function () {
          failed(); // offline or the connection dropped
        }
      )
      .catch(failed)
      .then(function () {
        inflight = null;
      });
  }

  function changed(event) {
    dirty = true;
    if (event && event.target && event.target.hasAttribute("data-points")) {
      checkPoints(event.target);
    } else if (event && event.target && event.target.id) {
      showError(event.target.id, "");
    }
    updateTotal();
    store();
    if (!blocked) {
      say(messages.unsaved);
      schedule(DEBOUNCE);
    }
  }

  form.addEventListener("input", changed);

  form.addEventListener("submit", function (event) {
    store();
    window.clearTimeout(debounceTimer);
    window.clearTimeout(retryTimer);
    if (inflight) {
      // wait for the autosave on its way, so that the form carries the version it brings back
      event.preventDefault();
      var submitter = event.submitter || null;
      inflight.then(function () {
        if (submitter) {
          form.requestSubmit(submitter);
        } else {
          form.requestSubmit();
        }
      });
      return;
    }
    submitting = true;
  });

  window.addEventListener("online", function () {
    if (dirty && !blocked) {
      retryDelay = 0;
      save();
    }
  });
  window.addEventListener("offline", function () {
    if (dirty && !blocked) {
      say(messages.offline, "danger");
    }
  });
  window.setInterval(function () {
    if (dirty && !inflight && canonical(values()) !== rejected) {
      save();
    }
  }, PERIOD);

  // --- on load: input this browser kept ---------------------------------------------------------

  function offerOlder(entry) {
    prompt.hidden = false;
    prompt.querySelector("[data-restore]").addEventListener("click", function () {
      prompt.hidden = true;
      forget(olderKey);
      put(entry.values);
      say(messages.restored);
    });
    prompt.querySelector("[data-discard]").addEventListener("click", function () {
      prompt.hidden = true;
      forget(olderKey);
    });
  }

  updateTotal();
  var pageValues = canonical(values());
  if (form.hasAttribute("data-posted")) {
    // the server showed the judge's input again (refused, or stale): it is not stored there
    store();
    dirty = true;
    rejected = pageValues;
    if (form.hasAttribute("data-stale")) {
      blocked = "conflict";
    }
  } else {
    var entry = load(key);
    if (entry && entry.values) {
      if (canonical(entry.values) === pageValues) {
        forget(key); // the server has it
      } else if (entry.version === currentVersion()) {
        put(entry.values);
        say(messages.restored);
        save();
      } else {
        keep(olderKey, entry); // kept until the judge decides
        forget(key);
      }
    }
    var older = load(olderKey);
    if (older && older.values) {
      if (canonical(older.values) === canonical(values())) {
        forget(olderKey);
      } else {
        offerOlder(older);
      }
    }
  }
})();
