/* The dashboard's verdict banner, refreshed every few seconds from health.json (the same
   readiness report as /healthz/ready). Text only (textContent): nothing from the server is
   parsed as HTML. */
(function () {
  "use strict";
  var banner = document.getElementById("verdict");
  if (!banner) { return; }
  var url = banner.getAttribute("data-url");
  var every = parseInt(banner.getAttribute("data-every"), 10) || 5;

  function render(v) {
    banner.className = "jobs-verdict jobs-verdict-" + v.level;
    banner.setAttribute("data-level", v.level);
    var label = banner.querySelector(".verdict-label");
    label.textContent = v.label;
    var list = banner.querySelector(".verdict-items");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    v.items.forEach(function (item) {
      var li = document.createElement("li");
      li.className = "verdict-item verdict-" + item.status;
      li.id = "verdict-" + item.check;
      var name = document.createElement("strong");
      name.textContent = item.check + (item.status === "warning" ? " (warning)" : "") + ": ";
      li.appendChild(name);
      li.appendChild(document.createTextNode(item.reason || ""));
      if (item.fix) {
        var fix = document.createElement("div");
        fix.className = "verdict-fix";
        fix.textContent = "Fix: " + item.fix;
        li.appendChild(fix);
      }
      list.appendChild(li);
    });
    banner.querySelector(".verdict-at").textContent = v.generated_at ? "checked " + v.generated_at : "";
  }

  function poll() {
    fetch(url, {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (v) { if (v) { render(v); } })
      .catch(function () {
        banner.querySelector(".verdict-at").textContent = "the web server did not answer";
      });
  }
  window.setInterval(poll, every * 1000);
})();
