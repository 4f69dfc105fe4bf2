// Documents panel: while a document is being generated, poll its status and show the progress;
// when it is finished, swap in its finished row. Loaded with `defer`; no inline script.
(function () {
  "use strict";

  var INTERVAL_MS = 1500;
  var MAX_ERRORS = 5;
  var live = document.getElementById("documents-live");

  function announce(text) {
    if (live) live.textContent = text;
  }

  function poll(row, errors) {
    fetch(row.getAttribute("data-status-url"), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (status) {
      if (status.finished) {
        var holder = document.createElement("tbody");
        holder.innerHTML = status.row_html.trim();
        var finished = holder.firstElementChild;
        row.replaceWith(finished);
        announce(finished.textContent.replace(/\s+/g, " ").trim());
        return;
      }
      var bar = row.querySelector("progress");
      var label = row.querySelector("[data-document-state]");
      var fresh = document.createElement("tbody");
      fresh.innerHTML = status.row_html.trim();
      var freshLabel = fresh.querySelector("[data-document-state]");
      if (bar) bar.value = status.progress;
      if (label && freshLabel) label.textContent = freshLabel.textContent;
      window.setTimeout(function () { poll(row, 0); }, INTERVAL_MS);
    }).catch(function () {
      if (errors + 1 < MAX_ERRORS) {
        window.setTimeout(function () { poll(row, errors + 1); }, INTERVAL_MS * 2);
      }
    });
  }

  document.querySelectorAll("tr[data-document-pending]").forEach(function (row) {
    window.setTimeout(function () { poll(row, 0); }, INTERVAL_MS);
  });
})();
