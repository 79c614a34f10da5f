// packgen catalogue: search and filters on the index page; copy buttons,
// version comparison and linked change views on pack pages. Vanilla JS,
// no dependencies; the index's data comes from catalog.js.
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
    // Every listed version is searched (catalog.js carries them), so
    // "57.0" finds a pack whose latest is 58.2.1: older has the versions
    // besides the latest, newest first, and its card then says which
    // one matched.
    var items = [];
    data.packs.forEach(function (p) {
      var el = document.getElementById("pack-" + p.name);
      if (!el) return;
      var hay = [p.name, p.displayName, p.layer, p.addonType || "", p.group, p.latest]
        .concat(p.cloudTypes).join("\u0000").toLowerCase();
      var older = (p.versions || []).filter(function (v) { return v !== p.latest; }).reverse();
      items.push({ el: el, hay: hay, older: older, olderLC: older.map(function (v) { return v.toLowerCase(); }),
        hit: "", layer: p.layer, clouds: p.cloudTypes, shown: true });
    });
    // found is the newest older version holding word, or "".
    function found(it, word) {
      for (var i = 0; i < it.olderLC.length; i++) if (it.olderLC[i].indexOf(word) >= 0) return it.older[i];
      return "";
    }
    function showHit(it, hit) {
      if (hit === it.hit) return;
      it.hit = hit;
      if (!it.note) {
        it.note = document.createElement("span");
        it.note.className = "hit";
        (it.el.querySelector(".sub") || it.el).appendChild(it.note);
      }
      it.note.textContent = hit ? " · matches " + hit : "";
    }
    var groups = Array.prototype.map.call(document.querySelectorAll("section.group"), function (s) {
      return { el: s, n: s.querySelector("h2 .n"), items: items.filter(function (it) { return s.contains(it.el); }) };
    });

    function apply() {
      var words = q.value.toLowerCase().split(/\s+/).filter(Boolean);
      var l = layer.value, c = cloud.value, total = 0;
      for (var i = 0; i < items.length; i++) {
        var it = items[i], ok = !l || it.layer === l;
        if (ok && c) ok = it.clouds.indexOf(c) >= 0 || it.clouds.indexOf("all") >= 0;
        var hit = "";
        for (var w = 0; ok && w < words.length; w++) {
          if (it.hay.indexOf(words[w]) >= 0) continue;
          var v = found(it, words[w]);
          ok = v !== "";
          if (!hit) hit = v;
        }
        if (ok !== it.shown) { it.el.hidden = !ok; it.shown = ok; }
        showHit(it, ok ? hit : "");
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


  // A pack page's "Compare any two versions": the data is the page's
  // #versions-data JSON (never executed). Everything is put in the page
  // with textContent; nothing from the data becomes markup.
  function setupCompare() {
    var box = document.getElementById("compare"), src = document.getElementById("versions-data");
    var from = document.getElementById("from"), to = document.getElementById("to");
    if (!box || !src || !from || !to) return;
    var data;
    try { data = JSON.parse(src.textContent); } catch (e) { return; }
    var vs = data.versions, byV = {};
    vs.forEach(function (v) { byV[v.version] = v; });
    [from, to].forEach(function (sel) {
      for (var i = vs.length - 1; i >= 0; i--) {
        var o = document.createElement("option");
        o.value = vs[i].version;
        o.textContent = vs[i].version + (vs[i].state ? " (" + vs[i].state + ")" : "") + (vs[i].created ? " · " + vs[i].created : "");
        sel.appendChild(o);
      }
    });
    var params = new URLSearchParams(location.search);
    var f = params.get("from"), t = params.get("to");
    from.value = byV[f] ? f : (vs.length > 1 ? vs[vs.length - 2].version : vs[0].version);
    to.value = byV[t] ? t : vs[vs.length - 1].version;

    function el(tag, cls, text) {
      var e = document.createElement(tag);
      if (cls) e.className = cls;
      if (text !== undefined) e.textContent = text;
      return e;
    }
    function setDiff(a, b) {
      var ia = {}, ib = {}, add = [], gone = [];
      a.forEach(function (x) { ia[x] = true; });
      b.forEach(function (x) { ib[x] = true; });
      b.forEach(function (x) { if (!ia[x]) add.push(x); });
      a.forEach(function (x) { if (!ib[x]) gone.push(x); });
      return { add: add.sort(), gone: gone.sort() };
    }
    // Myers' diff of two line lists; null past maxD edits.
    function lineDiff(a, b, maxD) {
      var n = a.length, m = b.length, max = Math.min(maxD, n + m), off = max + 1;
      var v = new Array(2 * max + 3).fill(0), trace = [];
      for (var d = 0; d <= max; d++) {
        trace.push(v.slice());
        for (var k = -d; k <= d; k += 2) {
          var x = (k === -d || (k !== d && v[off + k - 1] < v[off + k + 1])) ? v[off + k + 1] : v[off + k - 1] + 1;
          var y = x - k;
          while (x < n && y < m && a[x] === b[y]) { x++; y++; }
          v[off + k] = x;
          if (x >= n && y >= m) return back(trace, d);
        }
      }
      return null;
      function back(trace, D) {
        var out = [], x = n, y = m;
        for (var d = D; d > 0; d--) {
          var t = trace[d], k = x - y;
          var pk = (k === -d || (k !== d && t[off + k - 1] < t[off + k + 1])) ? k + 1 : k - 1;
          var px = t[off + pk], py = px - pk;
          while (x > px && y > py) { out.push([" ", a[x - 1]]); x--; y--; }
          if (x === px) { out.push(["+", b[y - 1]]); y--; } else { out.push(["-", a[x - 1]]); x--; }
        }
        while (x > 0 && y > 0) { out.push([" ", a[x - 1]]); x--; y--; }
        return out.reverse();
      }
    }
    function lines(s) { s = s.replace(/\r\n/g, "\n").replace(/\n+$/, ""); return s ? s.split("\n") : []; }

    var items = document.getElementById("compare-items"), none = document.getElementById("compare-none");
    var status = document.getElementById("compare-status");
    var pre = document.getElementById("compare-values"), note = document.getElementById("compare-values-note");
    function item(what, add, gone, changed) {
      var li = el("li");
      li.appendChild(el("strong", "", what));
      add.forEach(function (x) { var s = el("span", "chg add", "+ "); s.appendChild(el("code", "", x)); li.appendChild(document.createTextNode(" ")); li.appendChild(s); });
      gone.forEach(function (x) { var s = el("span", "chg del", "− "); s.appendChild(el("code", "", x)); li.appendChild(document.createTextNode(" ")); li.appendChild(s); });
      changed.forEach(function (x) { li.appendChild(document.createTextNode(" ")); li.appendChild(el("span", "chg mod", x)); });
      items.appendChild(li);
    }
    function render() {
      var a = byV[from.value], b = byV[to.value];
      items.textContent = "";
      status.textContent = "From " + a.version + " to " + b.version;
      [["Charts", "charts"], ["Manifests", "manifests"], ["Cloud types", "clouds"]].forEach(function (p) {
        var d = setDiff(a[p[1]], b[p[1]]);
        if (d.add.length || d.gone.length) item(p[0], d.add, d.gone, []);
      });
      var dadd = [], dgone = [], dchg = [];
      Object.keys(Object.assign({}, a.deps, b.deps)).sort().forEach(function (n) {
        var x = a.deps[n], y = b.deps[n];
        if (x === undefined) dadd.push(n + " (" + y + ")");
        else if (y === undefined) dgone.push(n + " (" + x + ")");
        else if (x !== y) dchg.push(n + ": " + x + " → " + y);
      });
      if (dadd.length || dgone.length || dchg.length) item("Dependencies", dadd, dgone, dchg);
      if (a.resources !== b.resources) item("Resource constraints", [], [], [(a.resources || "—") + " → " + (b.resources || "—")]);
      if (a.kube !== b.kube) item("Kubernetes versions", [], [], [(a.kube || "—") + " → " + (b.kube || "—")]);
      if (a.hasValues && b.hasValues) {
        var di = setDiff(a.images || [], b.images || []);
        if (di.add.length || di.gone.length) item("Images", di.add, di.gone, []);
      }
      none.hidden = items.children.length > 0;

      var code = pre.querySelector("code");
      code.textContent = "";
      pre.hidden = true;
      if (!a.hasValues || !b.hasValues) {
        note.textContent = "values.yaml and images are compared here for the newest version and the one before it; fetch both versions to compare the others.";
      } else if (a.valuesNote || b.valuesNote) {
        note.textContent = (a.valuesNote || b.valuesNote) + ": not compared.";
      } else {
        var ops = lineDiff(lines(a.values), lines(b.values), 2000);
        if (!ops) { note.textContent = "values.yaml changed too much to show line by line."; }
        else {
          var show = ops.map(function () { return false; }), nadd = 0, ndel = 0;
          ops.forEach(function (op, i) {
            if (op[0] === " ") return;
            if (op[0] === "+") nadd++; else ndel++;
            for (var j = Math.max(0, i - 3); j <= Math.min(ops.length - 1, i + 3); j++) show[j] = true;
          });
          note.textContent = nadd + ndel ? "+" + nadd + " −" + ndel + " lines" : "values.yaml is the same.";
          var gap = false;
          ops.forEach(function (op, i) {
            if (!show[i]) { gap = true; return; }
            if (gap && code.childNodes.length) code.appendChild(el("span", "dh", "…\n"));
            gap = false;
            code.appendChild(el("span", op[0] === "+" ? "da" : op[0] === "-" ? "dd" : "dc", op[0] + op[1] + "\n"));
          });
          pre.hidden = !(nadd + ndel);
        }
      }
    }
    // The choice lives in the URL (?from=X&to=Y#compare), so it can be shared.
    function update() {
      render();
      try { history.replaceState(null, "", "?from=" + encodeURIComponent(from.value) + "&to=" + encodeURIComponent(to.value) + "#compare"); } catch (e) { /* file:// */ }
    }
    from.addEventListener("change", update);
    to.addEventListener("change", update);
    document.getElementById("compare-form").addEventListener("submit", function (e) { e.preventDefault(); update(); });
    var rendered = false;
    box.addEventListener("toggle", function () { if (box.open && !rendered) { rendered = true; render(); } });
    function openFromURL() {
      if (location.hash === "#compare" && !box.open) { box.open = true; box.scrollIntoView(); }
    }
    window.addEventListener("hashchange", openFromURL);
    if (params.get("from") || params.get("to")) { box.open = true; }
    openFromURL();
    if (box.open && !rendered) { rendered = true; render(); }
  }

  // A link to one version's "What changed" (#changes-VERSION: the
  // versions table's links, a feed entry's) opens that version's view,
  // on load and when the fragment changes. Without JavaScript the link
  // still lands on the view's summary, which opens with a click.
  function setupChanges() {
    function openTarget() {
      var id = location.hash.slice(1);
      if (id.indexOf("changes-") !== 0) return;
      var d = document.getElementById(id);
      if (!d) { try { d = document.getElementById(decodeURIComponent(id)); } catch (e) { return; } }
      if (!d || d.tagName !== "DETAILS") return;
      d.open = true;
      d.scrollIntoView();
    }
    window.addEventListener("hashchange", openTarget);
    openTarget();
  }

  setupCopy();
  setupSearch();
  setupCompare();
  setupChanges();
})();
