//! The page around the sections: document head, inline style sheet,
//! navigation, and the small script that makes tables sortable and
//! filterable (the page is complete without it).

use super::html::Html;

/// Inline style sheet: system fonts only, no external resource.
const STYLE: &str = r#"
:root { --fg: #1e272e; --muted: #6b7785; --line: #e3e7ec; --bg: #f6f8fa; --card: #fff;
  --blue: #3867d6; --orange: #f0932b; --red: #eb3b5a; --green: #20bf6b; --amber: #f7b731; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); background: var(--bg); }
header { background: #1e272e; color: #fff; padding: 18px 32px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; }
header p { margin: 4px 0 0; color: #c8d0d8; font-size: 13px; }
nav { padding: 8px 32px; background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 2; }
nav a { margin-right: 18px; color: var(--blue); text-decoration: none; font-weight: 500; }
main { padding: 8px 32px 40px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 18px 0; }
h2 { margin: 0 0 12px; font-size: 18px; }
h3 { margin: 20px 0 8px; font-size: 15px; color: #34495e; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 8px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; min-width: 150px; background: #fbfcfd; }
.card p { margin: 4px 0 0; color: var(--muted); }
.card-value { font-size: 20px; font-weight: 600; }
.card-label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card.good { border-left: 4px solid var(--green); } .card.bad { border-left: 4px solid var(--red); }
.callout { padding: 8px 12px; border-radius: 6px; margin: 8px 0; }
ul.callout { padding-left: 28px; }
.callout.bad { background: #fdecef; border: 1px solid #f5b7c3; }
.callout.good { background: #e9f9f0; border: 1px solid #a9e6c5; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: #eef2f6; font-weight: 600; font-size: 12px; position: sticky; top: 37px; }
th.sort { cursor: pointer; user-select: none; } th.sort::after { content: " \2195"; color: var(--muted); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.feature { font-weight: 600; overflow-wrap: break-word; max-width: 260px; }
thead th { white-space: nowrap; }
table.wide thead th { white-space: normal; min-width: 64px; }
.scroll { overflow-x: auto; }
td.chart { padding: 3px 8px; }
tr.drifted td { background: #fdecef; }
.warn { color: #b7791f; font-weight: 600; } .bad, .bad-text { color: var(--red); font-weight: 600; }
.worse { color: var(--red); }
.muted, tr.muted td { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.badge.bad { background: var(--red); color: #fff; } .badge.good { background: var(--green); color: #fff; }
.badge.warn { background: var(--amber); color: #1e272e; }
.swatch { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin-right: 5px; }
.swatch.s0 { background: var(--blue); } .swatch.s1 { background: var(--orange); }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure.panel, div.panel { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; background: #fff; }
figcaption { font-size: 12px; color: var(--muted); text-align: center; max-width: 320px; }
table.confusion { width: auto; } table.confusion td { min-width: 64px; text-align: center; }
svg text { font: 10px -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #4b5563; }
svg .axis-title { font-size: 11px; fill: #34495e; }
svg .axis { stroke: #9aa5b1; } svg .grid { stroke: #eef1f4; } svg .plot { fill: #fff; stroke: #d5dbe1; }
svg .diagonal { stroke: #9aa5b1; stroke-dasharray: 4 4; }
svg .track { fill: #eef1f4; } svg rect.good { fill: var(--green); } svg rect.bad { fill: var(--red); }
svg .mark { stroke: #1e272e; stroke-width: 1.5; }
.filter { margin: 4px 0; padding: 5px 8px; border: 1px solid var(--line); border-radius: 4px; width: 260px; }
footer { color: var(--muted); font-size: 12px; padding: 0 32px 24px; }
"#;

/// Sorting (click a column head) and filtering (a box above each filterable
/// table). Reads the DOM only; every value it compares comes from a
/// `data-sort` attribute or the cell's text.
const SCRIPT: &str = r#"
(function () {
  "use strict";
  function key(cell) {
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    var n = Number(raw);
    return { text: raw.toLowerCase(), num: raw !== "" && isFinite(n) ? n : null };
  }
  function compare(a, b) {
    if (a.num !== null && b.num !== null) { return a.num - b.num; }
    if (a.num !== null) { return -1; }
    if (b.num !== null) { return 1; }
    return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var body = table.tBodies[0];
    if (!body || !table.tHead) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.classList.add("sort");
      th.addEventListener("click", function () {
        var descending = th.getAttribute("data-order") !== "desc";
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) { other.removeAttribute("data-order"); });
        th.setAttribute("data-order", descending ? "desc" : "asc");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var c = compare(key(r1.cells[column]), key(r2.cells[column]));
          return descending ? -c : c;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  document.querySelectorAll("table.filterable").forEach(function (table) {
    var body = table.tBodies[0];
    if (!body || body.rows.length < 6) { return; }
    var input = document.createElement("input");
    input.type = "search";
    input.className = "filter";
    input.placeholder = "Filter " + body.rows.length + " rows\u2026";
    input.addEventListener("input", function () {
      var needle = input.value.toLowerCase();
      Array.prototype.forEach.call(body.rows, function (row) {
        row.style.display = row.cells[0].textContent.toLowerCase().indexOf(needle) >= 0 ? "" : "none";
      });
    });
    table.parentNode.insertBefore(input, table);
  });
})();
"#;

/// A section's anchor and title, for the navigation bar.
pub(crate) struct NavItem {
    pub(crate) anchor: String,
    pub(crate) title: String,
}

/// The whole document around `body` (markup from the sections).
pub(crate) fn document(title: &str, subtitle: &str, nav: &[NavItem], body: &str) -> String {
    let mut h = Html::new();
    h.raw("<!DOCTYPE html>\n");
    h.element("html", &[("lang", "en")], |h| {
        h.element("head", &[], |h| {
            h.raw("<meta charset=\"utf-8\">");
            h.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
            // No network: forbid every external fetch, allow the inline style and script.
            h.raw("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">");
            h.text_element("title", &[], title);
            h.element("style", &[], |h| {
                h.raw(STYLE);
            });
        });
        h.element("body", &[], |h| {
            h.element("header", &[], |h| {
                h.text_element("h1", &[], title);
                h.text_element("p", &[], subtitle);
            });
            if nav.len() > 1 {
                h.element("nav", &[], |h| {
                    for item in nav {
                        h.text_element("a", &[("href", &format!("#{}", item.anchor))], &item.title);
                    }
                });
            }
            h.element("main", &[], |h| {
                h.raw(body);
            });
            h.element("footer", &[], |h| {
                h.text("Generated by mlrig report. Self-contained: no network access needed.");
            });
            h.element("script", &[], |h| {
                h.raw(SCRIPT);
            });
        });
    });
    h.raw("\n");
    h.finish()
}
