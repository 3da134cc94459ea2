// Saves an answer shortly after the user stops typing, and says so beside its Save button.
// Progressive enhancement only: without this script the Save button does the same work.
//
// - Saved: "Saved at 14:05", and the form carries the new row_version.
// - Refused (422): each field's message is shown at that field, as the page without
//   JavaScript shows it (the same element, aria-invalid on the control); saved once corrected.
// - Conflict (409 stale): said, and automatic saving of that form stops; the Save button shows
//   both versions.
// - Before any other action on the page (another form sent: add a link, attach, submit; a link
//   that leaves the page), pending input is saved first, then the action goes on: the first
//   click works. While input is unsaved or being saved, leaving the page asks first.
(function () {
  "use strict";
  var DELAY_MS = 800;

  function autosave(form) {
    var status = form.querySelector("[data-autosave-status]");
    var version = form.querySelector("input[name=row_version]");
    var url = form.getAttribute("data-autosave-url");
    var code = form.getAttribute("data-goal");
    var timer = null;
    var inFlight = false;
    var again = false;
    var stopped = false;
    var dirty = false;
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

    // Shows (or clears) the message of each answer field, where the page shows it.
    function showFields(fields) {
      Array.prototype.forEach.call(form.querySelectorAll("[data-error-for]"), function (control) {
        var name = control.getAttribute("data-error-for");
        var message = document.getElementById("error-" + name + "-" + code);
        var text = fields[name];
        if (text) {
          control.setAttribute("aria-invalid", "true");
        } else {
          control.removeAttribute("aria-invalid");
        }
        if (message) {
          message.textContent = text || "";
          message.hidden = !text;
        }
      });
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
      dirty = false;
      say(form.dataset.saving);
      var body = new URLSearchParams(new FormData(form));
      fetch(url, {
        method: "POST",
        body: body,
        headers: { "Accept": "application/json" },
        credentials: "same-origin"
      })
        .then(function (response) {
          return response.json().then(function (json) {
            return { status: response.status, body: json || {} };
          }, function () {
            return { status: response.status, body: {} };
          });
        })
        .then(function (result) {
          var error = result.body.error || {};
          if (result.status === 200) {
            version.value = result.body.row_version;
            showFields({});
            say(form.dataset.saved.replace("{time}", result.body.saved_at));
            return;
          }
          dirty = true;
          if (result.status === 422 && error.fields) {
            showFields(error.fields);
            say(form.dataset.invalid);
          } else if (result.status === 409 && error.code === "stale") {
            stopped = true;
            say(form.dataset.conflict);
          } else if (error.message) {
            // Refused for a reason the user should read (submitted meanwhile, cycle closed,
            // signed out): said as it is, and automatic saving stops.
            stopped = true;
            say(error.message);
          } else {
            say(form.dataset.failed);
          }
        })
        .catch(function () {
          dirty = true;
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
      dirty = true;
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
      if (event.defaultPrevented) {
        return; // other answers are saved first; this form is sent again after
      }
      clearTimeout(timer);
      timer = null;
      stopped = true;
      if (inFlight) {
        event.preventDefault();
        waiting.push(function () {
          leaving = true;
          form.submit();
        });
      } else {
        leaving = true;
      }
    });
    return {
      form: form,
      flush: flush,
      idle: idle,
      unsaved: function () { return dirty || !idle(); }
    };
  }

  var leaving = false;
  var savers = Array.prototype.map.call(document.querySelectorAll("form[data-autosave]"), autosave);

  function busy() {
    return savers.filter(function (saver) { return saver.unsaved(); });
  }

  // Saves every pending answer, then runs `then` (whatever came of the saves: what could not
  // be saved stays on the page, and leaving it asks first).
  function flushAll(pending, then) {
    var left = pending.length;
    if (left === 0) {
      then();
      return;
    }
    pending.forEach(function (saver) {
      saver.flush(function () {
        left -= 1;
        if (left === 0) {
          then();
        }
      });
    });
  }

  // Another form (a link, a file, an action, the submission, the language, another goal's Save):
  // the other answers' pending input is saved first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var others = savers.filter(function (saver) { return saver.form !== form && !saver.idle(); });
    if (others.length === 0) {
      return;
    }
    event.preventDefault();
    var submitter = event.submitter;
    flushAll(others, function () {
      if (form.requestSubmit) {
        form.requestSubmit(submitter || undefined);
      } else {
        form.submit();
      }
    });
  }, true);

  // A link that leaves the page: save first, then follow it.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || event.defaultPrevented || event.button !== 0 ||
        event.ctrlKey || event.metaKey || event.shiftKey || event.altKey ||
        (link.target && link.target !== "_self") || link.hasAttribute("download")) {
      return;
    }
    var target = new URL(link.href, window.location.href);
    if (target.origin === window.location.origin && target.pathname === window.location.pathname &&
        target.search === window.location.search && target.hash !== "") {
      return; // a place on this page
    }
    if (savers.every(function (saver) { return saver.idle(); })) {
      return;
    }
    event.preventDefault();
    flushAll(savers, function () {
      window.location.assign(target.href);
    });
  }, true);

  // Leaving with input not saved (or still being saved) asks first.
  window.addEventListener("beforeunload", function (event) {
    if (leaving || busy().length === 0) {
      return undefined;
    }
    event.preventDefault();
    event.returnValue = "";
    return "";
  });

  // A refused page: the error summary takes the focus, so it is read first.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();
