"""Architecture diagrams through Graphviz: `netdsl render` and `Network._repr_svg_`.

`diagram_of` builds the model (layout.py, runs.py), `dot_of` its DOT text (dot.py), and
`render_bytes` draws it with the `dot` program (render.py). Never imports torch. The modules
load on first use, so that registering `netdsl render` costs other commands nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netdsl.backends.graphviz.diagram import Diagram

__all__ = ["FORMATS", "Diagram", "diagram_of", "dot_of", "render_bytes", "render_svg"]
_LAZY = {"FORMATS": "render", "render_bytes": "render", "Diagram": "diagram"}


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


def diagram_of(network: Any, depth: int | None = None) -> Diagram:
    from netdsl.backends.graphviz.layout import build
    return build(network.graph, depth, block_defaults(network))


def dot_of(network: Any, depth: int | None = None, direction: str = "TB",
           shapes: bool = True) -> str:
    from netdsl.backends.graphviz.dot import to_dot
    return to_dot(diagram_of(network, depth), direction, shapes)


def render_svg(network: Any, depth: int | None = None, direction: str = "TB") -> str:
    """The diagram as SVG text (Jupyter's `_repr_svg_`)."""
    from netdsl.backends.graphviz.render import render_bytes
    return render_bytes(dot_of(network, depth, direction), "svg",
                        network.source_path).decode("utf-8")
