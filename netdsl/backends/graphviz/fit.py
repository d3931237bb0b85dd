"""Whether a diagram fits a page, and the deepest depth at which it does.

The size is Graphviz's own layout (`render.measure`), not a guess from the number of boxes: a
DenseNet dense block and a ResNet stage of as many boxes differ in width and height. A page is
A4 less half-inch margins, either way up; a drawing fits when shrunk onto it its smallest text
(8 pt) stays at least 6 pt. Without Graphviz (writing .dot), a box count stands in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from netdsl.backends.graphviz.diagram import Diagram

PAGE = (7.27, 10.69)  # inches: A4 (8.27 x 11.69) less half-inch margins
MIN_SCALE = 0.75  # 8 pt figures shrunk to 6 pt
MAX_MEASURED = 200  # boxes: more than a page can ever hold, not worth a layout
BOX_BUDGET = 40  # without Graphviz: boxes in a column that fits a page


@dataclass(frozen=True)
class Fit:
    depth: int
    size: tuple[float, float] | None  # inches; None when not measured


def fits(size: tuple[float, float]) -> bool:
    width, height = size
    short, long = PAGE[0] / MIN_SCALE, PAGE[1] / MIN_SCALE
    return (width <= short and height <= long) or (width <= long and height <= short)


def size_of(diagram: Diagram, dot_text: str) -> tuple[float, float] | None:
    """The drawing's width and height in inches (None: too many boxes to be worth it, or no
    Graphviz)."""
    if len(diagram.boxes) > MAX_MEASURED:
        return None
    from netdsl.backends.graphviz.render import measure
    return measure(dot_text)


def page_fits(diagram: Diagram, size: tuple[float, float] | None) -> bool:
    """By its measured size; unmeasured, by its boxes (more than MAX_MEASURED never fit)."""
    return fits(size) if size is not None else len(diagram.boxes) <= BOX_BUDGET


def deepest_fitting(make: Callable[[int], Diagram], emit: Callable[[Diagram], str],
                    deepest: int) -> Fit:
    """The deepest depth (from 1) whose drawing fits a page; depth 1 when none does. Stops at
    the first depth that does not fit: deeper drawings only grow."""
    best = Fit(1, None)
    for depth in range(1, deepest + 1):
        diagram = make(depth)
        size = size_of(diagram, emit(diagram))
        if not page_fits(diagram, size):
            return best if depth > 1 else Fit(1, size)
        best = Fit(depth, size)
    return best
