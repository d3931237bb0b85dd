"""The diagram as a plain model, before any DOT text: boxes, clusters and edges.

Kept apart from DOT emission so that the structure (what is collapsed, what is a run, which
edges are skips) can be tested on its own and the emitter stays a straight translation.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Options:
    """What the user asked of the drawing (`netdsl render`'s options)."""

    depth: int | None = None  # None: the deepest level that fits a page (fit.py)
    layout: str | None = None  # "column" or "u"; None: "u" for an encoder-decoder
    direction: str = "TB"  # TB or LR (a column's direction)
    shapes: bool = True  # tensor shapes inside the boxes
    edge_shapes: bool = False  # tensor shapes written on the edges


@dataclass
class Box:
    """One drawn node: a layer, a network input, a merge, or a collapsed block (or run of them).

    `id` is the dotted name of the layer or of the (first) collapsed scope; `count` > 1 marks a
    run of identical consecutive blocks drawn once, `last` naming the run's final block.
    """

    id: str
    kind: str  # "input", "layer", "merge", "block", "output"
    family: str  # palette key: conv, linear, pool, norm, activation, merge, shape, ...
    name: str  # the name as shown (relative to the enclosing cluster)
    text: str  # operator in paper notation, or the block call
    shape: tuple[int, ...]
    params: int = 0
    macs: int = 0
    op: str = ""
    cluster: str | None = None
    count: int = 1
    last: str | None = None
    is_output: bool = False
    wraps: str = ""  # a collapsed block shown as the one layer it wraps: the block's name
    compact: bool = False  # a shape-preserving layer drawn on one line (relu, bn, dropout)
    note: str = ""  # what sets a block apart from its like-labelled neighbour ("with downsample")


@dataclass
class Cluster:
    """A block, labeled group or merge drawn as a labelled frame around its contents."""

    id: str
    label: str
    parent: str | None
    level: int


@dataclass
class Edge:
    src: str
    dst: str
    skip: bool = False  # a skip connection or a named-tensor reference
    ref: bool = False  # the tensor only lends its size (crop to another tensor)
    shape: tuple[int, ...] = ()


@dataclass
class Diagram:
    name: str
    title: str
    depth: int  # blocks at this level are boxes, deeper ones inside them; see layout.Levels
    deepest: int = 1  # the depth at which every layer is drawn
    layout: str = "column"  # or "u": encoder down the left, decoder up the right
    encoder: list[str] = field(default_factory=list)  # a U's boxes on each side, top first
    decoder: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)  # a U's levels, side by side
    size: tuple[float, float] | None = None  # inches, as Graphviz lays it out (fit.py)
    chosen: bool = False  # the depth was chosen to fit a page
    boxes: list[Box] = field(default_factory=list)
    clusters: dict[str, Cluster] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def box(self, box_id: str) -> Box:
        for b in self.boxes:
            if b.id == box_id:
                return b
        raise KeyError(box_id)

    def families(self) -> list[str]:
        """Palette keys in use, in first-appearance order (for the legend)."""
        seen: list[str] = []
        for b in self.boxes:
            if b.family not in seen:
                seen.append(b.family)
        return seen
