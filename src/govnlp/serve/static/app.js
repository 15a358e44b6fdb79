// Small progressive enhancement; the page works without it.
// "/" focuses the search box; Ctrl/Cmd+Enter submits the proposal; the text area shows its length.
(function () {
  "use strict";
  var search = document.querySelector('input[name="q"]');
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key === "/" && search && t.tagName !== "INPUT" && t.tagName !== "TEXTAREA" && t.tagName !== "SELECT") {
      e.preventDefault();
      search.focus();
      search.select();
    }
  });
  var area = document.querySelector("textarea[name=text]");
  if (!area) return;
  area.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) area.form.requestSubmit();
  });
  var note = document.createElement("span");
  note.className = "hint";
  var show = function () { note.textContent = area.value.length + " / " + area.maxLength + " 字"; };
  area.addEventListener("input", show);
  show();
  area.form.querySelector(".row").prepend(note);
})();
