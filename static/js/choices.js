// While systems are still carrying out the person's latest change, check every 2 s and
// reload once none is waiting, so that each system's receipt shows. Stops when the link's
// hour ends (403). A failed check is tried again after 5 s.
(function () {
  "use strict";
  var card = document.getElementById("choices");
  if (!card || card.dataset.working !== "yes") { return; }
  function poll() {
    fetch(card.dataset.progressUrl, { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) {
        if (r.status === 403) { return null; }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (p) {
        if (!p) { return; }
        if (!p.waiting) { window.location.reload(); return; }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
})();
