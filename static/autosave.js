// Saves an answer shortly after the user stops typing, and says so next to the form.
// Progressive enhancement only: without this script the Save button does the same work.
// An invalid value is reported and saved once corrected; a conflict stops the automatic saving
// of that form and leaves it to the Save button, which shows both versions. Before any other
// form on the page is sent (adding a link, submitting), pending answers are saved first, so
// nothing typed is lost.
(function () {
  "use strict";
  var DELAY_MS = 1500;

  function autosave(form) {
    var status = form.querySelector("[data-autosave-status]");
    var version = form.querySelector("input[name=row_version]");
    var timer = null;
    var inFlight = false;
    var again = false;
    var stopped = false;
    var waiting = [];

    function say(text) {
      if (status) {
        status.textContent = text;
      }
    }

    function idle() {
      return timer === null && !inFlight;
    }

    // Runs what waits for this form once nothing is pending or under way.
    function settle() {
      if (idle()) {
        var callbacks = waiting;
        waiting = [];
        callbacks.forEach(function (callback) { callback(); });
      }
    }

    function fieldMessages(body) {
      var fields = (body && body.error && body.error.fields) || {};
      return Object.keys(fields).map(function (name) { return fields[name]; }).join(" ");
    }

    function save() {
      timer = null;
      if (stopped) {
        settle();
        return;
      }
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = true;
      say(form.dataset.saving);
      fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "Accept": "application/json" },
        credentials: "same-origin"
      })
        .then(function (response) {
          return response.json().then(function (body) {
            return { status: response.status, body: body };
          });
        })
        .then(function (result) {
          if (result.status === 200) {
            version.value = result.body.row_version;
            say(form.dataset.saved + " " + result.body.saved_at);
          } else if (result.status === 409 && result.body.error.code === "stale") {
            stopped = true;
            say(form.dataset.conflict);
          } else if (result.status === 422) {
            say(form.dataset.invalid + " " + fieldMessages(result.body));
          } else if (result.body && result.body.error && result.body.error.message) {
            // Refused for a reason the user should read (e.g. submitted meanwhile): stop.
            stopped = true;
            say(form.dataset.invalid + " " + result.body.error.message);
          } else {
            say(form.dataset.failed);
          }
        })
        .catch(function () {
          say(form.dataset.failed);
        })
        .then(function () {
          inFlight = false;
          if (again) {
            again = false;
            save();
          } else {
            settle();
          }
        });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(save, DELAY_MS);
    }

    // Saves what is pending now; `done` runs once it is saved (or could not be).
    function flush(done) {
      if (timer !== null) {
        clearTimeout(timer);
        save();
      }
      if (idle()) {
        done();
      } else {
        waiting.push(done);
      }
    }

    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    // The Save button takes over. A save under way moves the version this post must carry,
    // so the post waits for it rather than meeting its own work as a conflict.
    form.addEventListener("submit", function (event) {
      clearTimeout(timer);
      timer = null;
      if (inFlight) {
        event.preventDefault();
        waiting.push(function () {
          stopped = true;
          form.submit();
        });
      } else {
        stopped = true;
      }
    });
    return { flush: flush, idle: idle };
  }

  var savers = Array.prototype.map.call(document.querySelectorAll("form[data-autosave]"), autosave);

  // Another form (a link, a file, the submission) reloads the page: save pending answers first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-autosave")) {
      return;
    }
    var busy = savers.filter(function (saver) { return !saver.idle(); });
    if (busy.length === 0) {
      return;
    }
    event.preventDefault();
    var submitter = event.submitter;
    var left = busy.length;
    busy.forEach(function (saver) {
      saver.flush(function () {
        left -= 1;
        if (left === 0) {
          if (form.requestSubmit) {
            form.requestSubmit(submitter || undefined);
          } else {
            form.submit();
          }
        }
      });
    });
  });
})();
