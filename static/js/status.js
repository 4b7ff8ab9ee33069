// Refresh the status page while the request is open; reload once the status changes, once
// a notice comes or goes (the clock paused, a question asked), or once the answer can be
// delivered (the reloaded page then offers the download-code step).
// A failed check is retried every 5 s; only an invalid link (404) stops the checks.
(function () {
  "use strict";
  var card = document.getElementById("status");
  if (!card || card.dataset.working !== "yes") { return; }
  var url = card.dataset.progressUrl;
  var shown = card.dataset.status;
  var delivery = card.dataset.delivery;
  var news = card.dataset.news || "";  // the notices shown (a pause, a question…)

  function render(p) {
    var bar = document.getElementById("progress-bar");
    var count = document.getElementById("progress-count");
    var rows = document.getElementById("system-rows");
    document.getElementById("status-words").textContent = p.words;
    if (bar) { bar.max = p.total; bar.value = p.done; }
    if (count) {
      // "{done} of {total} done" in the page's language, rendered by the template.
      count.textContent = (count.dataset.donePattern || "{done} of {total} done")
        .replace("{done}", String(p.done)).replace("{total}", String(p.total));
    }
    if (rows) {
      rows.replaceChildren.apply(rows, p.tasks.map(function (t) {
        var tr = document.createElement("tr");
        [t.system, t.words, t.status === "succeeded" ? String(t.records) : ""].forEach(function (text, i) {
          var td = document.createElement("td");
          td.textContent = text;
          if (i === 1) { td.className = "task-" + t.status; }
          tr.appendChild(td);
        });
        return tr;
      }));
    }
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) {
        if (r.status === 404) { return null; }  // the link is no longer valid: stop
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (p) {
        if (!p) { return; }
        var changed = (p.news || []).join(" ") !== news;
        if (p.status !== shown || (p.delivery && p.delivery !== delivery) || changed) {
          window.location.reload();
          return;
        }
        render(p);
        setTimeout(poll, 1500);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
