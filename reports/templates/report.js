(function () {
  "use strict";
  var FAILING = {{ nonconforming|list|tojson }};
  var byId = function (id) { return document.getElementById(id); };
  var all = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };

  /* filters: status (or "failure": any non-conforming status), framework, tag, text */
  function applyFilters() {
    var st = byId("f-status").value, fw = byId("f-framework").value, tag = byId("f-tag").value;
    var text = byId("f-text").value.toLowerCase(), shown = 0;
    var match = st === "failure" ? function (s) { return FAILING.indexOf(s) >= 0; }
                                 : function (s) { return s === st; };
    all("#matrix tbody.grp").forEach(function (group) {
      var any = false;
      all("tr.row", group).forEach(function (row) {
        var cells = all("td[data-fw]", row);
        if (fw) { cells = cells.filter(function (c) { return c.dataset.fw === fw; }); }
        var ok = (!st || cells.some(function (c) { return match(c.dataset.status); })) &&
          (!tag || (" " + row.dataset.tags + " ").indexOf(" " + tag + " ") >= 0) &&
          (!text || row.dataset.text.indexOf(text) >= 0);
        row.style.display = ok ? "" : "none";
        if (ok) { shown += 1; any = true; }
      });
      group.querySelector("tr.grp-head").style.display = any ? "" : "none";
    });
    byId("f-count").textContent = shown + " case(s) shown";
  }
  ["f-status", "f-framework", "f-tag", "f-text"].forEach(function (id) {
    byId(id).addEventListener("input", applyFilters);
  });

  /* deep links: #case=ID&fw=FW opens the case and highlights that framework's verdict; #check=N */
  function clearMarks() {
    all(".hl, #matrix td.cur").forEach(function (el) { el.classList.remove("hl", "cur"); });
  }
  function showCase(id, fw) {
    var d = byId("case-" + id);
    if (!d) { return; }
    clearMarks();
    d.open = true;
    var esc = window.CSS && CSS.escape ? CSS.escape : function (s) { return s.replace(/["\\]/g, "\\$&"); };
    var cell = fw && document.querySelector('#matrix tr.row[data-case="' + esc(id) + '"] td[data-fw="' + esc(fw) + '"]');
    if (cell) { cell.classList.add("cur"); }
    var row = fw && d.querySelector('table.verdicts tr[data-fw="' + esc(fw) + '"]');
    if (row) {
      row.classList.add("hl");
      row.scrollIntoView({block: "center"});
    } else {
      d.scrollIntoView();
    }
  }
  function showCheck(index) {
    var holder = byId("checks-details"), row = byId("check-" + index);
    if (!holder || !row) { return; }
    clearMarks();
    holder.open = true;
    row.classList.add("hl");
    row.scrollIntoView({block: "center"});
  }
  function route() {
    var hash = location.hash.slice(1);
    if (hash.indexOf("case-") === 0) { showCase(decodeURIComponent(hash.slice(5)), ""); return; }
    if (hash.indexOf("=") < 0) {  /* a section: open it if it is a collapsed one */
      var el = hash && byId(decodeURIComponent(hash));
      if (el && el.tagName === "DETAILS") { el.open = true; el.scrollIntoView(); }
      return;
    }
    var q = new URLSearchParams(hash);
    if (q.has("case")) { showCase(q.get("case"), q.get("fw") || ""); } else if (q.has("check")) { showCheck(q.get("check")); }
  }
  window.addEventListener("hashchange", route);
  window.addEventListener("popstate", route);

  document.addEventListener("click", function (ev) {
    var a = ev.target.closest("a");
    if (!a) { return; }
    if (a.hasAttribute("data-filter-status")) {  /* a count: filter the matrix by it */
      byId("f-status").value = a.dataset.filterStatus;
      byId("f-framework").value = a.dataset.filterFw || "";
      applyFilters();
    }
    if (a.getAttribute("href") === location.hash && location.hash) { route(); }  /* same link again */
  });

  /* click an output cell: how it is computed */
  all("details.case").forEach(function (d) {
    var data = null, panel = d.querySelector("pre.explain");
    d.addEventListener("click", function (ev) {
      var cell = ev.target.closest("td.out");
      if (!cell) { return; }
      if (data === null) {
        var node = d.querySelector("script.explain-data");
        data = node ? JSON.parse(node.textContent) : {};
      }
      all("td.sel", d).forEach(function (c) { c.classList.remove("sel"); });
      cell.classList.add("sel");
      panel.textContent = data[cell.dataset.index] || "no explanation for this element";
    });
  });
  /* copy buttons: the snippet's exact text to the clipboard (the async API where the page may use it,
     else a hidden textarea and execCommand); on failure the text is selected for Ctrl+C */
  function legacyCopy(text) {
    var area = document.createElement("textarea"), ok = false;
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    if (!ok) { throw new Error("copy refused"); }
  }
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { legacyCopy(text); });
    }
    return new Promise(function (resolve) { legacyCopy(text); resolve(); });
  }
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("button.copy");
    if (!button) { return; }
    var pre = button.parentNode.querySelector("pre.snippet");
    var done = function (word) {
      button.textContent = word;
      window.setTimeout(function () { button.textContent = "copy"; }, 1500);
    };
    copyText(pre.textContent).then(function () { done("copied"); }, function () {
      var range = document.createRange();
      range.selectNodeContents(pre);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      done("press Ctrl+C");
    });
  });
  applyFilters();
  route();
})();
