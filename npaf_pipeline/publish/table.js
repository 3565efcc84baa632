/* The lists on the offline Data Docs index (validations, expectation suites), in place of bootstrap-table,
   which no maintained PyPI or Debian package ships. GX calls $(table).bootstrapTable({columns, data, ...}):
   this renders the same columns and rows, sorted as asked, each row a link to its page. Search, filters and
   paging are not provided; the calls that clear them do nothing. */
(function ($) {
  "use strict";
  if ($.fn.bootstrapTable) {
    return;
  }

  function named(fn) {
    return typeof fn === "function" ? fn : window[fn];
  }

  function sortField(columns, name) {
    var column = columns.filter(function (c) { return c.field === name; })[0];
    return (column && column.sortName) || name;
  }

  $.fn.bootstrapTable = function (options) {
    if (typeof options !== "object") {
      return this;
    }
    return this.each(function () {
      var $table = $(this).addClass("table table-hover");
      var columns = options.columns || [];
      var rows = (options.data || []).slice();
      if (options.sortName) {
        var field = sortField(columns, options.sortName);
        var sign = options.sortOrder === "desc" ? -1 : 1;
        rows.sort(function (a, b) {
          return a[field] < b[field] ? -sign : a[field] > b[field] ? sign : 0;
        });
      }
      var $head = $("<tr>");
      columns.forEach(function (c) {
        $("<th>").text(c.title || c.field).css("text-align", c.align || "").appendTo($head);
      });
      var $body = $("<tbody>");
      var attributes = named(options.rowAttributes);
      var style = named(options.rowStyle);
      rows.forEach(function (row, i) {
        var $row = $("<tr>");
        if (attributes) {
          $row.attr(attributes(row, i));
        }
        if (style) {
          $row.css((style(row, i) || {}).css || {});
        }
        columns.forEach(function (c) {
          var value = row[c.field];
          $("<td>").html(value === undefined || value === null ? "" : value).css("text-align", c.align || "")
            .appendTo($row);
        });
        $row.on("click", function () {
          $table.trigger("click-row.bs.table", [row, $row]);
        });
        $body.append($row);
      });
      $table.empty().append($("<thead>").append($head), $body);
      if (options.toolbar) {
        $(options.toolbar).hide();
      }
    });
  };
})(jQuery);
