// "n" takes the next item from My work, unless the person is typing in a field.
(function () {
  "use strict";
  var button = document.getElementById("take-next");
  if (!button) { return; }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (event.key === "n" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      button.click();
    }
  });
})();
