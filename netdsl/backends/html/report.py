"""`netdsl report`: one self-contained HTML page about a network, every script and style
inline: the totals, the diagram (SVG, a block expands on a click), the per-layer table
(sortable by any column, filterable by name or operator) and plotly charts of parameters and
MACs per block, receptive field against depth and live activation memory through the forward
pass, the peak marked."""

from __future__ import annotations

import json
from html import escape
from importlib import resources
from typing import Any

from netdsl.backends.html import charts
from netdsl.backends.html.diagrams import EVERYTHING, depths, diagrams
from netdsl.backends.html.layers import table_html, totals_html


def _asset(name: str) -> str:
    return resources.files("netdsl.backends.html").joinpath(name).read_text("utf-8")


def report_html(network: Any, dtype: str = "float32", title: str | None = None) -> str:
    """The page, as text."""
    stats = network.stats(dtype)
    figures = {
        "chart-blocks": charts.blocks_figure(stats),
        "chart-field": charts.field_figure(stats),
        "chart-memory": charts.memory_figure(network.memory_curve(dtype=dtype), dtype),
    }
    data = "{" + ",".join(f"{json.dumps(k)}: {charts.figure_json(f)}"
                          for k, f in figures.items()) + "}"
    blocks = {row.name: row.depth for row in stats.layers if row.is_block}
    levels = depths(stats)
    svgs, missing = diagrams(network, levels)
    name = escape(title or network.name)
    return "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{name}: netdsl report</title><style>{_asset('report.css')}</style></head>",
        f"<body><header><h1>{name}</h1><p>{escape(network.source_path)}: "
        f"{len(stats.layers)} layers and blocks. Made by netdsl.</p></header>",
        f"<section id=\"summary\"><h2>Totals</h2>{totals_html(stats)}</section>",
        _diagram_section(svgs, levels, missing),
        '<section id="charts"><h2>Charts</h2>',
        "".join(f'<div class="chart" id="{k}"></div>' for k in figures),
        "</section>",
        '<section id="layers-section"><h2>Layers</h2><p class="help">Click a column to sort '
        'by it (again: the other way); type to keep the rows whose layer or operator holds '
        'the text.</p><input id="filter" type="search" placeholder="filter layers" '
        'aria-label="filter layers">',
        f"{table_html(stats, 'layers')}</section>",
        f"<script>{charts.plotly_js()}</script>",
        f"<script>const FIGURES = {data};\nconst BLOCKS = {json.dumps(blocks)};</script>",
        f"<script>{_asset('report.js')}</script></body></html>\n",
    ])


def _diagram_section(svgs: dict[int, str], levels: list[int], missing: str | None) -> str:
    if missing:
        return (f'<section id="diagram"><h2>Diagram</h2><p class="help">No diagram: '
                f"{escape(missing)}</p></section>")
    buttons = "".join(
        f'<button type="button" data-depth="{d}">{"all" if d == EVERYTHING else d}</button>'
        for d in levels)
    panes = "".join(f'<div class="pane" data-depth="{d}"{"" if i == 0 else " hidden"}>{svg}'
                    f"</div>" for i, (d, svg) in enumerate(svgs.items()))
    return ('<section id="diagram"><h2>Diagram</h2><p class="help">Depth of blocks shown: '
            f'<span class="depths">{buttons}</span> Click a block to expand it.</p>'
            f'<div class="diagram">{panes}</div></section>')
