/* Idle-session warning (no inline script: the Content-Security-Policy forbids it).
 * The server ends a session after SESSION_IDLE_SECONDS without a request; shortly before that
 * this shows a dialog whose "Stay signed in" button posts to the keep-alive URL. If the time
 * runs out, the page goes to the sign-in page (the server has already ended the session).
 * The first countdown starts from the idle time the server has left on this session (its idle
 * clock is written at most once a minute); after "Stay signed in", from the full idle time. */
(function () {
  "use strict";
  var template = document.getElementById("session-warning");
  if (!template) { return; }
  var idle = parseInt(template.dataset.idleSeconds, 10) * 1000;
  var idleLeft = parseInt(template.dataset.idleLeftSeconds, 10) * 1000;
  var warning = parseInt(template.dataset.warningSeconds, 10) * 1000;
  var loginUrl = template.dataset.loginUrl;
  var dialog = template.content.firstElementChild.cloneNode(true);
  var form = dialog.querySelector("form");
  var countdown = dialog.querySelector("[data-countdown]");
  var deadline, warnTimer, tick;
  document.body.appendChild(dialog);

  function secondsLeft() { return Math.max(0, Math.round((deadline - Date.now()) / 1000)); }

  function showCountdown() {
    var left = secondsLeft();
    countdown.textContent = "(" + Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0") + ")";
    if (left <= 0) {
      window.location.assign(loginUrl + "?next=" + encodeURIComponent(window.location.pathname));
    }
  }

  function warn() {
    if (typeof dialog.showModal === "function") { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
    showCountdown();
    tick = window.setInterval(showCountdown, 1000);
  }

  function restart(left) {
    window.clearTimeout(warnTimer);
    window.clearInterval(tick);
    deadline = Date.now() + left;
    warnTimer = window.setTimeout(warn, Math.max(0, left - warning));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin", redirect: "manual" })
      .then(function (response) {
        if (response.status === 204) {
          if (dialog.open) { dialog.close(); }
          restart(idle);
        } else {
          window.location.assign(loginUrl);
        }
      })
      .catch(function () { countdown.textContent = ""; });
  });
  restart(isNaN(idleLeft) ? idle : idleLeft);
}());
