// packgen catalogue: search and filters on the index page, copy buttons on
// pack pages. Vanilla JS, no dependencies; data comes from catalog.js.
(function () {
  "use strict";

  function setupCopy() {
    var buttons = document.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (btn) {
      btn.addEventListener("click", function () {
        var el = document.getElementById(btn.getAttribute("data-copy"));
        if (!el) return;
        var text = el.textContent;
        var done = function () {
          btn.textContent = "Copied";
          setTimeout(function () { btn.textContent = "Copy"; }, 1500);
        };
        var fallback = function () {
          var range = document.createRange();
          range.selectNodeContents(el);
          var sel = window.getSelection();
          sel.removeAllRanges();
          sel.addRange(range);
          try { document.execCommand("copy"); done(); } catch (e) { btn.textContent = "Press Ctrl+C"; }
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, fallback);
        } else {
          fallback();
        }
      });
    });
  }

  function setupSearch() {
    var form = document.getElementById("filters");
    var data = window.packgenCatalog;
    if (!form || !data || !data.packs) return;
    var q = document.getElementById("q");
    var layer = document.getElementById("layer");
    var cloud = document.getElementById("cloud");
    var count = document.getElementById("count");
    var empty = document.getElementById("empty");

    // One record per pack: its element, a lower-case haystack and facets.
    var items = [];
    data.packs.forEach(function (p) {
      var el = document.getElementById("pack-" + p.name);
      if (!el) return;
      var hay = [p.name, p.displayName, p.layer, p.addonType || "", p.group, p.latest]
        .concat(p.cloudTypes).join("\u0000").toLowerCase();
      items.push({ el: el, hay: hay, layer: p.layer, clouds: p.cloudTypes, shown: true });
    });
    var groups = Array.prototype.map.call(document.querySelectorAll("section.group"), function (s) {
      return { el: s, n: s.querySelector("h2 .n"), items: items.filter(function (it) { return s.contains(it.el); }) };
    });

    function apply() {
      var words = q.value.toLowerCase().split(/\s+/).filter(Boolean);
      var l = layer.value, c = cloud.value, total = 0;
      for (var i = 0; i < items.length; i++) {
        var it = items[i], ok = !l || it.layer === l;
        if (ok && c) ok = it.clouds.indexOf(c) >= 0 || it.clouds.indexOf("all") >= 0;
        for (var w = 0; ok && w < words.length; w++) ok = it.hay.indexOf(words[w]) >= 0;
        if (ok !== it.shown) { it.el.hidden = !ok; it.shown = ok; }
        if (ok) total++;
      }
      groups.forEach(function (g) {
        var n = 0;
        for (var i = 0; i < g.items.length; i++) if (g.items[i].shown) n++;
        g.el.hidden = n === 0;
        if (g.n) g.n.textContent = String(n);
      });
      count.textContent = total === items.length ? total + (total === 1 ? " pack" : " packs")
        : total + " of " + items.length + " packs";
      empty.hidden = total !== 0;
    }

    // The filters live in the URL's fragment (#q=...&layer=...&cloud=...)
    // so a filtered view can be bookmarked or shared; it works from file://.
    function saveState() {
      var p = new URLSearchParams();
      if (q.value) p.set("q", q.value);
      if (layer.value) p.set("layer", layer.value);
      if (cloud.value) p.set("cloud", cloud.value);
      var h = p.toString();
      try {
        history.replaceState(null, "", h ? "#" + h : location.pathname + location.search);
      } catch (e) { /* some file:// setups refuse; filtering still works */ }
    }
    function loadState() {
      var h = location.hash.slice(1);
      if (h.indexOf("=") < 0) return false;
      var p = new URLSearchParams(h);
      var set = function (el, v) {
        if (v === null) return;
        if (el.tagName === "SELECT" && !el.querySelector("option[value=\"" + CSS.escape(v) + "\"]")) return;
        el.value = v;
      };
      set(q, p.get("q"));
      set(layer, p.get("layer"));
      set(cloud, p.get("cloud"));
      return true;
    }

    var pending = 0;
    function update() { apply(); saveState(); }
    function schedule() {
      if (pending) return;
      pending = requestAnimationFrame(function () { pending = 0; update(); });
    }
    q.addEventListener("input", schedule);
    layer.addEventListener("change", update);
    cloud.addEventListener("change", update);
    form.addEventListener("submit", function (e) { e.preventDefault(); update(); });
    // A shared link, or state the browser restored on back/forward.
    if (loadState() || q.value || layer.value || cloud.value) apply();
  }

  setupCopy();
  setupSearch();
})();
