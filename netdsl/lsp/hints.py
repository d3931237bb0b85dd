"""Inlay hints: the output shape at the end of each line that makes a layer or calls a block.

A line's output is that of the element that ends last on it (a merge closing on the line
outranks the layers inside it). A line of a block's body makes a layer per instantiation:
its distinct shapes are shown, the first few of them.
"""

from __future__ import annotations

from netdsl.backends.table import shape_text
from netdsl.lsp.index import Made, Places

MAX_SHAPES = 3


def shape_hints(places: Places, path: str, first: int, last: int) -> dict[int, str]:
    """The hint text for each 1-based line from `first` to `last` that has one."""
    out = {}
    for line, made in places.line_ends(path).items():
        if first <= line <= last:
            out[line] = hint_text(made)
    return out


def hint_text(made: list[Made]) -> str:
    shapes: list[str] = []
    for m in made:
        text = shape_text(output_shape(m))
        if text not in shapes:
            shapes.append(text)
    shown = " | ".join(shapes[:MAX_SHAPES])
    return "→ " + shown + (" | ..." if len(shapes) > MAX_SHAPES else "")


def output_shape(made: Made) -> tuple[int, ...]:
    """The shape of what a layer or scope outputs (a scope: its output node's)."""
    graph = made.network.graph
    if made.kind == "layer":
        return graph.nodes[made.name].shape
    scope = graph.scopes[made.name]
    return graph.nodes[scope.output].shape if scope.output in graph.nodes else ()
