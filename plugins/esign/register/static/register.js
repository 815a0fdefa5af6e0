/* The register's only script (the CSP forbids inline code): select all, selection count, confirmations before
   actions that reach clients, and a guard against double submits. Every check is repeated on the server. */
(function () {
  "use strict";

  function selection(form) {
    var label = document.getElementById("selected");
    var boxes = form.querySelectorAll("input[name=doc]");
    var all = document.getElementById("select-all");
    function update() {
      var n = 0;
      for (var i = 0; i < boxes.length; i++) { if (boxes[i].checked) { n++; } }
      if (label) { label.textContent = n ? label.dataset.some.replace("{n}", String(n)) : label.dataset.none; }
      if (all) { all.checked = n > 0 && n === boxes.length; }
    }
    if (all) {
      all.addEventListener("change", function () {
        for (var i = 0; i < boxes.length; i++) { boxes[i].checked = all.checked; }
        update();
      });
    }
    for (var i = 0; i < boxes.length; i++) { boxes[i].addEventListener("change", update); }
    update();
  }

  function guard(form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter || form.querySelector("button[type=submit]");
      var question = button ? button.getAttribute("data-confirm") : null;
      if (question && !window.confirm(question)) { event.preventDefault(); return; }
      if (button && button.hasAttribute("data-download")) { return; }  // the page stays: keep it usable
      if (form.dataset.sent === "1") { event.preventDefault(); return; }
      form.dataset.sent = "1";
      window.setTimeout(function () {  // after the browser has read the form
        var buttons = form.querySelectorAll("button[type=submit]");
        for (var j = 0; j < buttons.length; j++) { buttons[j].disabled = true; }
      }, 0);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var bulk = document.getElementById("bulk");
    if (bulk) { selection(bulk); }
    var forms = document.querySelectorAll("form[data-guard]");
    for (var i = 0; i < forms.length; i++) { guard(forms[i]); }
  });
})();
