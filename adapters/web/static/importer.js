// The importer's only script (the Content-Security-Policy forbids inline script):
// drag and drop onto the upload box, live checks on the mapping page, progress polling, the bell.
(function () {
  "use strict";

  function setupDropzone() {
    var zone = document.getElementById("dropzone");
    var input = document.getElementById("file");
    var label = document.getElementById("file-name");
    if (!zone || !input) { return; }
    function show() {
      label.textContent = input.files.length ? input.files[0].name : "";
    }
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("ci-dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.remove("ci-dragging");
      });
    });
    zone.addEventListener("drop", function (event) {
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        show();
      }
    });
  }

  function setupMapping() {
    var form = document.getElementById("mapping-form");
    if (!form) { return; }
    var required = (form.dataset.required || "").split(",").filter(Boolean);
    var message = document.getElementById("required-message");
    var next = document.getElementById("mapping-next");
    var selects = Array.prototype.slice.call(form.querySelectorAll("select.ci-field-select"));
    function check() {
      var taken = {};
      var problems = [];
      selects.forEach(function (select) {
        var ignored = select.parentNode.querySelector(".ci-ignored");
        if (ignored) { ignored.hidden = select.value !== ""; }
        if (!select.value) { return; }
        if (taken[select.value]) {
          problems.push("Columns “" + taken[select.value] + "” and “" + select.dataset.header +
                        "” are both mapped to " + select.value + "; each field takes one column.");
        } else {
          taken[select.value] = select.dataset.header;
        }
      });
      required.forEach(function (name) {
        if (!taken[name]) { problems.push("Map a column to " + name + ": the import cannot run without it."); }
      });
      message.textContent = problems.join(" ");
      message.hidden = problems.length === 0;
      next.disabled = problems.length > 0;
    }
    selects.forEach(function (select) { select.addEventListener("change", check); });
    check();
  }

  function setupProgress() {
    var box = document.getElementById("progress");
    if (!box || box.dataset.finished === "yes") { return; }
    var bar = document.getElementById("bar");
    var percent = document.getElementById("percent");
    var done = document.getElementById("rows-done");
    var total = document.getElementById("rows-total");
    var eta = document.getElementById("eta");
    var rate = document.getElementById("rate");
    var status = document.getElementById("status-text");
    function poll() {
      fetch(box.dataset.statusUrl, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (job) {
          if (!job) { return; }
          var progress = job.progress;  // its words are the server's (plugin/progress.py), never made here
          bar.value = progress.percent;
          bar.textContent = progress.percent + "%";
          bar.setAttribute("aria-valuenow", String(progress.percent));
          bar.setAttribute("aria-valuetext", progress.text);
          percent.textContent = progress.percent + "%";
          done.textContent = progress.done.toLocaleString("en");
          total.textContent = progress.total.toLocaleString("en");
          rate.textContent = progress.rate_text + " ·";
          rate.hidden = !progress.rate_text || job.is_finished;
          eta.textContent = progress.eta_text;
          status.textContent = job.summary;
          if (job.is_finished) {
            box.dataset.finished = "yes";
            setTimeout(function () { window.location.reload(); }, 700);
            return true;
          }
          return false;
        })
        .catch(function () { return false; /* the next poll tries again */ })
        .then(function (isFinished) { if (!isFinished) { setTimeout(poll, 400); } });
    }
    poll();  // the next look is asked for once this one is answered: slow answers never pile up
  }

  function setupBell() {
    var bell = document.getElementById("bell");
    var count = document.getElementById("bell-count");
    if (!bell || !count || !bell.dataset.countUrl) { return; }
    setInterval(function () {
      fetch(bell.dataset.countUrl, {credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          count.textContent = String(data.unread);
          count.hidden = data.unread === 0;
          bell.setAttribute("aria-label", data.unread + " unread notifications");
        })
        .catch(function () {});
    }, 3000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupDropzone();
    setupMapping();
    setupProgress();
    setupBell();
  });
})();
