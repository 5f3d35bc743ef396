// Single-key shortcuts on the case page, listed under its header: v verify, c log a contact,
// p pend, r resolve, s script. Ignored while typing in a field or with a modifier key held.
(function () {
  "use strict";
  var targets = {
    v: { focus: "#verify select, #verify input:not([type=hidden])" },
    c: { focus: "#log-contact select, #log-contact input:not([type=hidden])" },
    p: { open: "#pend", focus: "#pend input:not([type=hidden])" },
    r: { open: "#resolve", focus: "#resolve textarea" },
    s: { focus: "#script input" }
  };
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (typing || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var action = targets[event.key];
    if (!action) { return; }
    if (action.open) {
      var details = document.querySelector(action.open);
      if (details) { details.open = true; }
    }
    var field = document.querySelector(action.focus);
    if (field) {
      event.preventDefault();
      field.focus();
      field.scrollIntoView({ block: "center" });
    }
  });
})();
