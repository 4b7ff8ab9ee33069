// The request form shows only the rights the chosen law gives; the server refuses the others
// in words all the same (this only saves a wasted submission).
(function () {
  "use strict";
  var law = document.getElementById("regime");
  var hint = document.getElementById("kind-hint");
  if (!law) { return; }
  var choices = Array.prototype.slice.call(document.querySelectorAll("#kind label[data-laws]"));
  // Sections that belong to one right (the correction's fields) show only when it is chosen.
  var sections = Array.prototype.slice.call(document.querySelectorAll("[data-kind]"));

  function showSections() {
    var picked = document.querySelector("#kind input:checked");
    sections.forEach(function (section) {
      section.hidden = !picked || picked.value !== section.dataset.kind;
    });
  }

  function update() {
    var chosen = law.value;
    choices.forEach(function (label) {
      var granted = !chosen || label.dataset.laws.split(" ").indexOf(chosen) !== -1;
      var input = label.querySelector("input");
      label.hidden = !granted;
      if (!granted && input.checked) { input.checked = false; }
    });
    if (hint) { hint.hidden = !chosen; }
    showSections();
  }

  // An authorised agent's own fields show when the box is ticked.
  var onBehalf = document.getElementById("on_behalf");
  var agentFields = document.getElementById("agent-fields");
  if (onBehalf && agentFields) {
    onBehalf.addEventListener("change", function () { agentFields.hidden = !onBehalf.checked; });
  }

  law.addEventListener("change", update);
  choices.forEach(function (label) { label.querySelector("input").addEventListener("change", showSections); });
  update();
}());
