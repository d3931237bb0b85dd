// netdsl report: draws the charts with plotly.js, sorts and filters the layer table, and
// switches the diagram's depth (a click on a collapsed block shows the next depth).
"use strict";

function drawCharts() {
  for (const [id, figure] of Object.entries(FIGURES)) {
    Plotly.newPlot(id, figure.data, figure.layout,
                   {responsive: true, displaylogo: false, showLink: false});
  }
}

function cellValue(row, index, type) {
  const text = row.cells[index].dataset.value;
  return type === "number" ? Number(text) : text.toLowerCase();
}

function sortTable(table, header) {
  const index = Array.prototype.indexOf.call(header.parentNode.children, header);
  const type = header.dataset.type;
  const ascending = !header.classList.contains("asc");
  for (const th of header.parentNode.children) th.classList.remove("asc", "desc");
  header.classList.add(ascending ? "asc" : "desc");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = cellValue(a, index, type), y = cellValue(b, index, type);
    const order = x < y ? -1 : x > y ? 1 : cellValue(a, 0, "number") - cellValue(b, 0, "number");
    return ascending ? order : -order;
  });
  for (const row of rows) body.appendChild(row);
}

function filterTable(table, text) {
  const needle = text.trim().toLowerCase();
  for (const row of table.tBodies[0].rows) {
    const hay = (row.cells[1].dataset.value + " " + row.cells[2].dataset.value).toLowerCase();
    row.hidden = needle !== "" && !hay.includes(needle);
  }
}

function showDepth(depth, focus) {
  for (const pane of document.querySelectorAll(".diagram .pane")) {
    pane.hidden = pane.dataset.depth !== String(depth);
  }
  for (const button of document.querySelectorAll(".depths button")) {
    button.classList.toggle("active", button.dataset.depth === String(depth));
  }
  document.querySelectorAll(".diagram g.cluster.focus").forEach(g => g.classList.remove("focus"));
  if (!focus) return;
  const pane = document.querySelector(`.diagram .pane[data-depth="${depth}"]`);
  for (const cluster of pane.querySelectorAll("g.cluster")) {
    const title = cluster.querySelector("title");
    if (title && title.textContent === "cluster_" + focus) {
      cluster.classList.add("focus");
      cluster.scrollIntoView({block: "center", inline: "center"});
    }
  }
}

function nextDepth(current) {
  const depths = Array.from(document.querySelectorAll(".depths button"))
    .map(b => Number(b.dataset.depth));
  const at = depths.indexOf(current);
  return at >= 0 && at + 1 < depths.length ? depths[at + 1] : null;
}

function wireDiagram() {
  const buttons = document.querySelectorAll(".depths button");
  if (!buttons.length) return;
  for (const button of buttons) {
    button.addEventListener("click", () => showDepth(Number(button.dataset.depth)));
  }
  for (const pane of document.querySelectorAll(".diagram .pane")) {
    const depth = Number(pane.dataset.depth);
    const deeper = nextDepth(depth);
    if (deeper === null) continue;
    for (const node of pane.querySelectorAll("g.node")) {
      const title = node.querySelector("title");
      const name = title && title.textContent;
      if (!(name in BLOCKS)) continue;
      node.classList.add("expandable");
      node.addEventListener("click", () => showDepth(deeper, name));
    }
  }
  showDepth(Number(buttons[0].dataset.depth));
}

function wireTable() {
  const table = document.getElementById("layers");
  for (const header of table.tHead.rows[0].cells) {
    header.addEventListener("click", () => sortTable(table, header));
  }
  const filter = document.getElementById("filter");
  filter.addEventListener("input", () => filterTable(table, filter.value));
}

document.addEventListener("DOMContentLoaded", () => {
  wireTable();
  wireDiagram();
  drawCharts();
});
