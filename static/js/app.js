// Idle-session warning. The server ends the session after SESSION_IDLE_TIMEOUT_MINUTES
// without a request; this script warns a minute before and then sends the person to the
// sign-in page, so nobody types into a page whose session is already gone.
(function () {
  "use strict";
  var body = document.body;
  var timeout = parseInt(body.getAttribute("data-idle-timeout") || "0", 10);
  if (!timeout) { return; }
  var warning = document.getElementById("idle-warning");
  var stay = document.getElementById("idle-stay");
  var loginUrl = body.getAttribute("data-login-url");
  var warnAt = Math.max(timeout - 60, Math.floor(timeout / 2));
  var lastRequest = Date.now();
  var warned = false;

  function touch() { lastRequest = Date.now(); warned = false; if (warning) { warning.classList.add("d-none"); } }
  document.body.addEventListener("htmx:afterRequest", touch);

  if (stay) {
    stay.addEventListener("click", function () {
      fetch(window.location.href, { method: "HEAD", credentials: "same-origin" }).then(touch);
    });
  }

  window.setInterval(function () {
    var idle = (Date.now() - lastRequest) / 1000;
    if (idle >= timeout) {
      window.location.assign(loginUrl + "?reason=idle&next=" + encodeURIComponent(window.location.pathname));
    } else if (idle >= warnAt && !warned && warning) {
      warned = true;
      warning.classList.remove("d-none");
    }
  }, 5000);
})();

// "/" jumps to the patient search box from anywhere except a field being typed in.
(function () {
  "use strict";
  var search = document.getElementById("global-search");
  if (!search) { return; }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      search.focus();
    }
  });
})();
