"""The U layout of an encoder-decoder network: encoder down the left, decoder up the right, the
skips across, as U-Net's own figure draws it.

A network is an encoder-decoder when skips pair its levels: along its longest path, connections
from earlier boxes to later ones nest (the first one opened is the last one closed), at least
`MIN_LEVELS` deep. U-Net's four crops-and-concatenations do; a ResNet's residuals follow one
another, and a DenseNet block's concatenations all start at one box, so neither is a U. The
bottom of the U is the box with the smallest feature map between the innermost pair.
"""

from __future__ import annotations

from math import prod

from netdsl.backends.graphviz.diagram import Diagram
from netdsl.errors import Diagnostic, NetdslError

MIN_LEVELS = 3  # nested skips that make a U by default
LAYOUTS = ("column", "u")


def arrange(diagram: Diagram, layout: str | None) -> Diagram:
    """Set the diagram's layout: `layout` when given, else a U for an encoder-decoder."""
    if layout == "column":
        return diagram
    path = _longest_path(diagram)
    levels = _nested_skips(diagram, path)
    if layout is None and len(levels) < MIN_LEVELS:
        return diagram
    if not levels:
        raise NetdslError(Diagnostic(
            "--layout u needs an encoder-decoder: no skip connection of this network pairs an "
            "earlier level with a later one", None, "usage",
            help="draw it as a column (--layout column, the default here)"))
    _split(diagram, path, levels)
    return diagram


def _longest_path(diagram: Diagram) -> list[str]:
    """The longest chain of data edges, from the first box (boxes are in topological order)."""
    after: dict[str, list[str]] = {}
    for e in diagram.edges:
        if not e.ref:
            after.setdefault(e.src, []).append(e.dst)
    length: dict[str, int] = {}
    nxt: dict[str, str] = {}
    for box in reversed(diagram.boxes):
        best = max(after.get(box.id, ()), key=lambda b: length.get(b, 0), default=None)
        length[box.id] = 1 + (length[best] if best else 0)
        if best:
            nxt[box.id] = best
    start = max(diagram.boxes, key=lambda b: length[b.id]).id if diagram.boxes else None
    path = []
    while start is not None:
        path.append(start)
        start = nxt.get(start)
    return path


def _nested_skips(diagram: Diagram, path: list[str]) -> list[tuple[str, str, int, int]]:
    """The deepest chain of nested connections along `path`, outermost first: (source box,
    the box the skip enters, source position, position where it rejoins the path)."""
    at = {box: i for i, box in enumerate(path)}
    after: dict[str, list[str]] = {}
    for e in diagram.edges:
        if not e.ref:
            after.setdefault(e.src, []).append(e.dst)
    skips = []
    for e in diagram.edges:
        if e.ref or e.src not in at:
            continue
        target = e.dst
        while target not in at and len(after.get(target, ())) == 1:
            target = after[target][0]
        if target in at and at[target] - at[e.src] > 1 and e.dst != path[at[e.src] + 1]:
            skips.append((e.src, e.dst, at[e.src], at[target]))
    skips.sort(key=lambda s: (s[2], -s[3]))
    chains: list[list[tuple[str, str, int, int]]] = []
    for skip in skips:  # longest chain of strictly nested intervals ending at each skip
        inner = [c for c in chains if c[-1][2] < skip[2] and skip[3] < c[-1][3]]
        chains.append(max(inner, key=len, default=[]) + [skip])
    return max(chains, key=len, default=[])


def _split(diagram: Diagram, path: list[str], levels: list[tuple[str, str, int, int]]) -> None:
    shapes = {b.id: b.shape for b in diagram.boxes}
    _, _, first, last = levels[-1]
    between = path[first + 1:last] or [path[first]]
    bottom = min(between, key=lambda b: (prod(shapes[b][1:]), -path.index(b)))
    cut = path.index(bottom) + 1
    diagram.layout = "u"
    diagram.encoder = path[:cut]
    on_path = set(path)
    decoder = path[cut:]
    off = [b.id for b in diagram.boxes if b.id not in on_path]
    side = _sides(diagram, set(decoder))
    diagram.decoder = decoder + [b for b in off if side.get(b)]
    diagram.encoder += [b for b in off if not side.get(b)]
    clustered = {b.id for b in diagram.boxes if b.cluster is not None}
    diagram.pairs = [(src, dst) for src, dst, _, _ in levels
                     if src not in clustered and dst not in clustered]


def _sides(diagram: Diagram, decoder: set[str]) -> dict[str, bool]:
    """For each box off the path: whether the data it makes goes to the decoder."""
    after: dict[str, list[str]] = {}
    for e in diagram.edges:
        after.setdefault(e.src, []).append(e.dst)
    side: dict[str, bool] = {}
    for box in reversed(diagram.boxes):
        succ = after.get(box.id, [])
        side[box.id] = box.id in decoder or any(side.get(s, False) for s in succ)
    return side
