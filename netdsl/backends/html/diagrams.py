"""The report's diagram: one SVG per depth of blocks, drawn by the graphviz backend, so that
the page can expand a block by showing the next depth."""

from __future__ import annotations

import re
from typing import Any

from netdsl.backends.graphviz.render import FORMATS
from netdsl.errors import NetdslError

MAX_LEVELS = 6  # deeper nets get depths 1..5 and then everything
EVERYTHING = 0  # the key of the fully expanded diagram


def depths(stats: Any) -> list[int]:
    """The depths worth drawing: 1 .. the deepest row, with everything last when deeper."""
    deepest = max((row.depth for row in stats.layers), default=1)
    if deepest <= MAX_LEVELS:
        return list(range(1, deepest + 1))
    return [*range(1, MAX_LEVELS), EVERYTHING]


def diagrams(network: Any, levels: list[int]) -> tuple[dict[int, str], str | None]:
    """Inline SVG per depth, and why there are none (Graphviz's `dot` missing)."""
    from netdsl.backends.graphviz import dot_of, render_bytes
    assert "svg" in FORMATS
    out: dict[int, str] = {}
    for depth in levels:
        try:
            svg = render_bytes(dot_of(network, depth or None), "svg").decode("utf-8")
        except NetdslError as exc:
            return {}, exc.diagnostics[0].message
        out[depth] = _inline(svg, f"d{depth}-")
    return out, None


def _inline(svg: str, prefix: str) -> str:
    """The <svg> element alone, its ids prefixed so that several can share a page."""
    svg = svg[svg.find("<svg"):]
    svg = re.sub(r'\bid="([^"]*)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    return re.sub(r'url\(#([^)]*)\)', lambda m: f"url(#{prefix}{m.group(1)})", svg)
