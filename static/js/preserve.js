// Preserve: behaviour shared by every page. Loaded with `defer`; no inline script anywhere.
(function () {
  "use strict";

  // Forms that change a request ask first.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // Copy buttons: data-copy-target names the element whose text is copied.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    var status = document.getElementById("copy-status");
    var done = function () {
      var original = button.textContent;
      button.textContent = button.getAttribute("data-copied-text") || original;
      if (status) status.textContent = button.getAttribute("data-copied-text") || "";
      window.setTimeout(function () { button.textContent = original; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.textContent).then(done);
    } else {
      // Closed networks often serve plain HTTP, where the Clipboard API is unavailable.
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
      selection.removeAllRanges();
      done();
    }
  });

  // A link to one action of the request page ("#action-record_receipt") opens its form.
  function openLinkedAction() {
    var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (target && target.tagName === "DETAILS") target.open = true;
  }
  window.addEventListener("hashchange", openLinkedAction);
  document.addEventListener("DOMContentLoaded", openLinkedAction);

  // After a failed submission (the page marks it with an error summary or data-errors) the
  // first field with a problem gets the focus. A page merely showing a stored invalid value
  // leaves the focus alone.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    var failed = document.querySelector("[data-errors]");
    if (!summary && !failed) return;
    var invalid = (failed || document).querySelector(".is-invalid") || document.querySelector("main .is-invalid");
    if (invalid) {
      var details = invalid.closest("details");
      if (details) details.open = true;
      invalid.focus();
    } else {
      (summary || failed).focus();
    }
  });
})();
