/* npaf scorecard site: sortable and filterable tables, and the charts (Vega-Lite, bundled locally). No network. */
(function () {
  "use strict";

  function cellValue(row, index, type) {
    var cell = row.children[index];
    if (!cell) return type === "num" ? Infinity : "";
    var raw = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim();
    if (raw === "\u2013") raw = ""; // a dash shows a missing value
    if (type === "num") {
      var n = parseFloat(raw);
      return isNaN(n) ? Infinity : n;
    }
    return raw.toLowerCase();
  }

  function makeSortable(table) {
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (th, index) {
      var button = th.querySelector("button");
      if (!button) return;
      button.addEventListener("click", function () {
        var type = button.getAttribute("data-type") || "text";
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.forEach(function (r, i) { r._order = i; });
        rows.sort(function (a, b) {
          var x = cellValue(a, index, type), y = cellValue(b, index, type);
          if (x < y) return ascending ? -1 : 1;
          if (x > y) return ascending ? 1 : -1;
          return a._order - b._order;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  function makeFilter(form) {
    var table = document.getElementById(form.getAttribute("data-table"));
    if (!table) return;
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var count = form.querySelector(".count");
    function apply() {
      var q = (form.elements.q ? form.elements.q.value : "").trim().toLowerCase();
      var region = form.elements.region ? form.elements.region.value : "";
      var subtype = form.elements.subtype ? form.elements.subtype.value : "";
      var shown = 0;
      rows.forEach(function (r) {
        var ok = (!region || r.getAttribute("data-region") === region) &&
          (!subtype || r.getAttribute("data-subtype") === subtype) &&
          (!q || r.textContent.toLowerCase().indexOf(q) !== -1);
        r.hidden = !ok;
        if (ok) shown += 1;
      });
      if (count) count.textContent = shown + " of " + rows.length + " shown";
    }
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
  }

  // A chart drawn from a table of the page: the header cells marked data-f name the fields their column gives; with
  // data-num the column's cells give numbers (several field names take the cell's numbers in order, as in a range
  // "1.92–2.34"; a dash or an empty cell is missing), otherwise the cell's text.
  var NUMBER = /-?\d[\d,]*(?:\.\d+)?/g;

  function fromTable(name, table) {
    var template = (window.NPAF_CHART_TEMPLATES || {})[name];
    if (!template || !table) return null;
    var columns = [];
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      if (th.hasAttribute("data-f")) {
        columns.push({ index: index, fields: th.getAttribute("data-f").split(" "), num: th.hasAttribute("data-num") });
      }
    });
    var values = Array.prototype.map.call(table.tBodies[0].rows, function (row) {
      var datum = {};
      columns.forEach(function (column) {
        var cell = row.cells[column.index];
        var text = cell ? cell.textContent.trim() : "";
        if (!column.num) { datum[column.fields[0]] = text; return; }
        var numbers = text.match(NUMBER) || [];
        column.fields.forEach(function (field, i) {
          datum[field] = i < numbers.length ? parseFloat(numbers[i].replace(/,/g, "")) : null;
        });
      });
      return datum;
    });
    var spec = JSON.parse(JSON.stringify(template));
    spec.data = { values: values };
    return spec;
  }

  function drawCharts() {
    var charts = document.querySelectorAll(".chart[data-spec], .chart[data-template]");
    if (!charts.length) return;
    if (typeof window.vegaEmbed !== "function") return; // the table beside each chart still holds its numbers
    charts.forEach(function (el) {
      var spec;
      if (el.hasAttribute("data-template")) {
        spec = fromTable(el.getAttribute("data-template"), document.getElementById(el.getAttribute("data-table")));
      } else {
        var source = document.getElementById(el.getAttribute("data-spec"));
        spec = source ? JSON.parse(source.textContent) : null;
      }
      if (!spec) { console.error("chart " + el.id + ": no specification"); return; }
      el.setAttribute("role", "img");
      el.setAttribute("aria-label", spec.description || "Chart; its numbers are in the table beside it.");
      el.tabIndex = 0;
      spec.config = Object.assign({}, window.NPAF_CHART_CONFIG || {}, spec.config || {});
      window.vegaEmbed(el, spec, { mode: "vega-lite", actions: false, renderer: "svg" }).then(function () {
        el.classList.add("drawn");
      }).catch(function (error) { console.error("chart " + el.id + ": " + error); });
    });
  }

  // Pieces of HTML shared by several pages (an organisation's history table), each kept once in a script beside
  // the pages (window.NPAF_FRAGMENTS) and put into this page's element of the same name.
  function fillFragments() {
    var fragments = window.NPAF_FRAGMENTS || {};
    document.querySelectorAll("[data-fragment]").forEach(function (el) {
      var html = fragments[el.getAttribute("data-fragment")];
      if (typeof html === "string") el.innerHTML = html;
      else console.error("fragment " + el.getAttribute("data-fragment") + ": not loaded");
    });
  }

  function markCurrentQuarter() {
    var quarter = document.body.getAttribute("data-quarter");
    if (!quarter) return;
    document.querySelectorAll('tr > th > a[href="' + quarter + '.html"]').forEach(function (link) {
      link.parentNode.parentNode.classList.add("current");
      link.setAttribute("aria-current", "page");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    fillFragments();
    markCurrentQuarter();
    document.querySelectorAll("table.sortable").forEach(makeSortable);
    document.querySelectorAll("form.filters").forEach(makeFilter);
    drawCharts();
  });
})();
