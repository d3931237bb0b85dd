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
    last: dict[tuple[int, str], Made] = {}  # an inline call's output: its last item's
    for m in made:
        if m.kind == "inline":
            last[(id(m.network), m.where)] = m
    for m in made:
        if m.kind == "inline" and last[(id(m.network), m.where)] is not m:
            continue
        text = shape_text(m.shape)
        if text not in shapes:
            shapes.append(text)
    shown = " | ".join(shapes[:MAX_SHAPES])
    return "→ " + shown + (" | ..." if len(shapes) > MAX_SHAPES else "")
