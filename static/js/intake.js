// The intake form: live serial checks, serial rows, the paste box and the urgency panel.
// Every check runs on the server (POST, CSRF): serials never travel in a URL.
(function () {
  "use strict";
  var form = document.getElementById("intake-form");
  if (!form) return;
  var rows = document.getElementById("serial-rows");
  var template = document.getElementById("serial-row-template");
  var total = form.querySelector("input[name='serials-TOTAL_FORMS']");
  var text = form.dataset;

  function post(url, data) {
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
    }).then(function (response) { return response.json(); });
  }

  function debounce(fn, wait) {
    var timer;
    return function () {
      var args = arguments;
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { fn.apply(null, args); }, wait);
    };
  }

  function line(className, icon, message) {
    var div = document.createElement("div");
    div.className = className;
    var mark = document.createElement("span");
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = icon + " ";
    div.appendChild(mark);
    div.appendChild(document.createTextNode(message));
    return div;
  }

  // --- Serial rows ------------------------------------------------------------------------

  function showResult(row, result) {
    var input = row.querySelector("[data-serial-input]");
    var feedback = row.querySelector("[data-serial-feedback]");
    var model = row.querySelector("[data-serial-model]");
    feedback.textContent = "";
    input.classList.remove("is-valid", "is-invalid");
    if (!input.value.trim()) { input.removeAttribute("aria-invalid"); showRemoveInvalid(); return; }
    if (!result.valid) {
      input.classList.add("is-invalid");
      input.setAttribute("aria-invalid", "true");
      feedback.appendChild(line("text-danger-emphasis", "✖", result.error));
      showRemoveInvalid();
      return;
    }
    input.classList.add("is-valid");
    input.setAttribute("aria-invalid", "false");
    showRemoveInvalid();
    var summary = result.display;
    if (result.model_hint_label) summary += " · " + text.likelyText + " " + result.model_hint_label;
    var ok = line("text-success-emphasis", "✓", summary);
    ok.dataset.testid = "serial-ok";
    feedback.appendChild(ok);
    result.warnings.forEach(function (warning) {
      feedback.appendChild(line("text-warning-emphasis", "⚠", warning.message));
    });
    // The hint pre-fills the model, unless the user chose one themselves.
    if (result.model_hint && (model.value === "" || model.dataset.auto === model.value)) {
      model.value = result.model_hint;
      model.dataset.auto = result.model_hint;
    }
  }

  function checkRow(row) {
    var input = row.querySelector("[data-serial-input]");
    if (!input.value.trim()) { showResult(row, { valid: true }); return; }
    var data = new FormData();
    data.append("serial", input.value);
    var kind = row.querySelector("[data-serial-kind]");
    if (kind) data.append("kind", kind.value);
    post(text.serialCheckUrl, data).then(function (result) {
      if (input.value.trim() === result.input.trim()) showResult(row, result);
      refreshUrgency();
    });
  }

  // One timer per row: typing fast in one row, then another, checks both.
  function checkLater(row) {
    window.clearTimeout(row.checkTimer);
    row.checkTimer = window.setTimeout(function () { checkRow(row); }, 250);
  }

  function addRow(raw) {
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    rows.appendChild(row);
    total.value = String(index + 1);
    if (raw) row.querySelector("[data-serial-input]").value = raw;
    return row;
  }

  rows.addEventListener("input", function (event) {
    if (event.target.matches("[data-serial-input]")) checkLater(event.target.closest("[data-serial-row]"));
  });
  rows.addEventListener("change", function (event) {
    if (event.target.matches("[data-serial-delete]")) {
      event.target.closest("[data-serial-row]").classList.toggle("opacity-50", event.target.checked);
    }
    if (event.target.matches("[data-serial-kind]")) checkRow(event.target.closest("[data-serial-row]"));
    if (event.target.matches("[data-serial-model], [data-serial-delete]")) refreshUrgency();
  });

  var addButton = document.getElementById("add-serial");
  addButton.hidden = false;
  addButton.addEventListener("click", function () {
    addRow("").querySelector("[data-serial-input]").focus();
  });

  var pasteBox = document.getElementById("id_paste");
  var pasteButton = document.getElementById("paste-serials");
  var pasteStatus = document.getElementById("paste-status");
  pasteButton.hidden = false;
  pasteButton.addEventListener("click", function () {
    if (!pasteBox.value.trim()) { pasteBox.focus(); return; }
    var data = new FormData();
    data.append("paste", pasteBox.value);
    pasteButton.disabled = true;
    post(text.serialCheckUrl, data).then(function (body) {
      var invalid = 0;
      var firstRow = null;
      body.serials.forEach(function (result) {
        var row = addRow(result.input);
        showResult(row, result);
        if (!result.valid) invalid += 1;
        firstRow = firstRow || row;
      });
      pasteBox.value = "";
      pasteStatus.textContent = text.pasteAddedText.replace("%(count)s", body.serials.length) +
        (invalid ? " " + text.pasteInvalidText.replace("%(count)s", invalid) : "");
      var firstInvalid = rows.querySelector(".is-invalid");
      if (firstInvalid) firstInvalid.focus();
      refreshUrgency();
    }).finally(function () { pasteButton.disabled = false; });
  });

  // "Remove invalid rows": ticks Remove on every row whose serial is invalid and hides it.
  var removeInvalid = document.getElementById("remove-invalid");

  function invalidRows() {
    return Array.prototype.filter.call(rows.querySelectorAll("[data-serial-row]"), function (row) {
      return !row.hidden && row.querySelector("[data-serial-input].is-invalid");
    });
  }

  function showRemoveInvalid() {
    removeInvalid.hidden = invalidRows().length === 0;
  }

  removeInvalid.addEventListener("click", function () {
    var removed = invalidRows();
    removed.forEach(function (row) {
      row.querySelector("[data-serial-delete]").checked = true;
      row.hidden = true;
    });
    pasteStatus.textContent = text.removedInvalidText.replace("%(count)s", removed.length);
    showRemoveInvalid();
    refreshUrgency();
  });
  showRemoveInvalid();  // rows saved invalid in a draft come back marked

  // --- Urgency panel and UTC equivalents -----------------------------------------------------

  var badge = document.getElementById("urgency-badge");
  var headline = document.getElementById("urgency-headline");
  var explanations = document.getElementById("urgency-explanations");

  function showUrgency(body) {
    document.getElementById("window_start_utc").textContent = body.start_utc || "—";
    document.getElementById("window_end_utc").textContent = body.end_utc || "—";
    badge.textContent = "";
    explanations.textContent = "";
    if (!body.ok) { headline.textContent = body.message; return; }
    var span = document.createElement("span");
    span.className = "badge urgency urgency-" + body.urgency + " text-bg-" + body.style;
    span.dataset.urgency = body.urgency;
    span.textContent = body.icon + " " + body.urgency_label;
    badge.appendChild(span);
    headline.textContent = body.headline;
    body.explanations.forEach(function (message) {
      var item = document.createElement("li");
      item.textContent = message;
      explanations.appendChild(item);
    });
  }

  var refreshUrgency = debounce(function () {
    var data = new FormData(form);
    data.delete("paste");
    post(text.urgencyCheckUrl, data).then(showUrgency);
  }, 300);

  form.addEventListener("change", function (event) {
    if (!event.target.closest("[data-serial-row]") && event.target.id !== "id_paste") refreshUrgency();
  });
  form.addEventListener("input", function (event) {
    if (event.target.type === "datetime-local") refreshUrgency();
  });
  refreshUrgency();
})();
