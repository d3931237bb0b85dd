"""Architecture diagrams through Graphviz: `netdsl render` and `Network._repr_svg_`.

`diagram_of` builds the model (layout.py, runs.py), `dot_of` its DOT text (dot.py), and
`render_bytes` draws it with the `dot` program (render.py). Never imports torch. The modules
load on first use, so that registering `netdsl render` costs other commands nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netdsl.backends.graphviz.diagram import Diagram, Options

__all__ = ["FORMATS", "Diagram", "Options", "diagram_of", "dot_of", "render_bytes", "render_svg",
           "to_dot"]
_LAZY = {"FORMATS": "render", "render_bytes": "render", "Diagram": "diagram",
         "Options": "diagram", "to_dot": "dot"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def block_defaults(network: Any):
    """`defaults(block)`: the block's parameters whose default is a literal, with its value,
    so that block labels can leave them out."""
    from netdsl.syntax import ast
    blocks = network.program.blocks
    cache: dict[str, dict[str, Any]] = {}

    def defaults(block: str | None) -> dict[str, Any]:
        if block not in cache:
            found = {}
            definition = blocks.get(block) if block else None
            for p in definition.params if definition else ():
                if isinstance(p.default, (ast.Number, ast.Bool, ast.String)):
                    found[p.name] = p.default.value
            cache[block or ""] = found
        return cache[block or ""]
    return defaults


def diagram_of(network: Any, depth: int | None = None, **options: Any) -> Diagram:
    """The diagram model of `network` (options: see `diagram.Options`); without a depth, at
    the deepest level that fits a page, which the title says."""
    from netdsl.backends.graphviz.diagram import Options
    return _diagram(network, Options(depth=depth, **options))


def dot_of(network: Any, depth: int | None = None, **options: Any) -> str:
    from netdsl.backends.graphviz.diagram import Options
    from netdsl.backends.graphviz.dot import to_dot
    chosen = Options(depth=depth, **options)
    return to_dot(_diagram(network, chosen), chosen)


def render_svg(network: Any, depth: int | None = None, direction: str = "TB") -> str:
    """The diagram as SVG text (Jupyter's `_repr_svg_`)."""
    from netdsl.backends.graphviz.render import render_bytes
    return render_bytes(dot_of(network, depth, direction=direction), "svg",
                        network.source_path).decode("utf-8")


def _diagram(network: Any, options: Any) -> Diagram:
    from netdsl.backends.graphviz import fit
    from netdsl.backends.graphviz.dot import to_dot
    from netdsl.backends.graphviz.identity import call_keys
    from netdsl.backends.graphviz.layout import build
    from netdsl.backends.graphviz.ushape import arrange
    defaults, keys = block_defaults(network), call_keys(network.top)

    def make(depth: int) -> Diagram:
        return arrange(build(network.graph, depth, defaults, keys), options.layout)

    def emit(diagram: Diagram) -> str:
        return to_dot(diagram, options)

    if options.depth is None:
        probe = make(1)
        chosen = fit.deepest_fitting(make, emit, probe.deepest)
        diagram = make(chosen.depth)
        diagram.size, diagram.chosen = chosen.size, True
    else:
        diagram = make(options.depth)
    diagram.title += _depth_note(diagram)
    diagram.size = fit.size_of(diagram, emit(diagram))  # with the title as drawn
    return diagram


def _depth_note(diagram: Diagram) -> str:
    """How deep the drawing goes, and for a depth chosen by default, why."""
    from netdsl.backends.graphviz.fit import page_fits
    note = (" \u00b7 every layer" if diagram.depth >= diagram.deepest
            else f" \u00b7 depth {diagram.depth} of {diagram.deepest}")
    if not diagram.chosen:
        return note
    if not page_fits(diagram, diagram.size):
        return note + ", larger than a page at every depth"
    return note + (", the deepest that fits a page" if diagram.depth < diagram.deepest
                   else ", which fits a page")
