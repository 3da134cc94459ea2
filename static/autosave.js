// Saves an answer shortly after the user stops typing, and says so next to the form.
// Progressive enhancement only: without this script the Save button does the same work.
// An invalid value is reported and saved once corrected; a conflict stops the automatic saving
// of that form and leaves it to the Save button, which shows both versions. Nothing typed is lost.
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

    function say(text) {
      if (status) {
        status.textContent = text;
      }
    }

    function fieldMessages(body) {
      var fields = (body && body.error && body.error.fields) || {};
      return Object.keys(fields).map(function (name) { return fields[name]; }).join(" ");
    }

    function save() {
      if (stopped) {
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
          }
        });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(save, DELAY_MS);
    }

    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    // A normal submit (the Save button) takes over: no automatic save may race it.
    form.addEventListener("submit", function () {
      stopped = true;
      clearTimeout(timer);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-autosave]"), autosave);
})();
