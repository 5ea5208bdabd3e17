// Live regions: every element with data-live="URL" is refreshed from that URL.
// The server renders the HTML; this only swaps it in. No libraries, no CDN.
(function () {
  "use strict";
  var period = parseInt(document.documentElement.getAttribute("data-refresh-ms") || "3000", 10);
  function refresh(el) {
    var url = el.getAttribute("data-live");
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        if (r.status === 401) { window.location = "/login?next=" + encodeURIComponent(location.pathname); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html === null || html === el.__last) return;
        var seen = {};
        el.querySelectorAll("[data-event]").forEach(function (row) { seen[row.getAttribute("data-event")] = true; });
        el.innerHTML = html;
        el.__last = html;
        el.querySelectorAll("[data-event]").forEach(function (row) {
          if (!seen[row.getAttribute("data-event")] && el.__primed) row.classList.add("fresh");
        });
        el.__primed = true;
      })
      .catch(function () { /* offline for a moment: try again next period */ });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var live = document.querySelectorAll("[data-live]");
    live.forEach(function (el) { el.__primed = true; });
    if (!live.length) return;
    setInterval(function () {
      if (document.hidden) return;
      live.forEach(refresh);
    }, period);
  });
})();
