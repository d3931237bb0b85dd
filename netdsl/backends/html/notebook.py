"""Jupyter's display of a network: its totals, the diagram collapsed to the top level of
blocks, and the per-layer table folded under a disclosure triangle."""

from __future__ import annotations

from html import escape
from typing import Any

from netdsl.backends.html.layers import table_html, totals_html
from netdsl.errors import NetdslError

STYLE = """<style>
.netdsl dl.totals{display:grid;grid-template-columns:max-content auto;gap:0 1em;margin:.5em 0}
.netdsl dl.totals dt{font-weight:bold}.netdsl dl.totals dd{margin:0}
.netdsl table.layers td,.netdsl table.layers th{padding:1px 8px;text-align:left}
.netdsl table.layers tr.block{font-weight:bold}
.netdsl .diagram svg{max-width:100%;height:auto}
</style>"""


def notebook_html(network: Any, depth: int = 1) -> str:
    stats = network.stats()
    rows = len(stats.layers)
    return (f'{STYLE}<div class="netdsl"><h3>network {escape(network.name)}</h3>'
            f"{totals_html(stats)}"
            f'<div class="diagram">{_diagram(network, depth)}</div>'
            f"<details><summary>every layer ({rows} rows)</summary>"
            f"{table_html(stats, 'netdsl-layers')}</details></div>")


def _diagram(network: Any, depth: int) -> str:
    """The SVG diagram, or why there is none (Graphviz's `dot` missing)."""
    from netdsl.backends.graphviz import render_svg
    try:
        svg = render_svg(network, depth)
    except NetdslError as exc:
        return f"<p><i>no diagram: {escape(exc.diagnostics[0].message)}</i></p>"
    return svg[svg.find("<svg"):]
