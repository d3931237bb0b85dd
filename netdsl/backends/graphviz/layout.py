"""From the graph IR to a `Diagram`: which layers are drawn, which blocks collapse, which frames.

A block at level `depth` (see `Levels`) is drawn as one box (its output shape and subtotals),
the scopes around it as frames. Which depth fits a page is fit.py's question.
"""

from __future__ import annotations

from typing import Any

from netdsl.analysis import analyse
from netdsl.backends.graphviz.diagram import Box, Cluster, Diagram, Edge
from netdsl.backends.graphviz.runs import collapse_runs
from netdsl.backends.table import human
from netdsl.ir import Graph, Node
from netdsl.ir.node import Scope
from netdsl.notation import call_text

COMPACT_FAMILIES = ("activation", "norm", "regularize")
OUTPUT_ID = "output:"  # the ids of output boxes: apart from every layer's and scope's name
MAX_PARTS = 8  # layers named in a collapsed group's box
CONTAINER_SHARE = 0.9  # of the network's layers: a scope holding more is a container


class Levels:
    """The level of every scope that uses one, and what is drawn of a node at a depth.

    Levels count the scopes around a layer (blocks, labeled groups, merges, repeats) from the
    top, the same way for every network, except a *container*, drawn as a frame and using no
    level: a scope holding nearly the whole network (a ViT's `encoder`), or most of it in parts
    of different kinds (torchvision's `features` of VGG, DenseNet or EfficientNet: a stem,
    stages, a head), whose box would leave little to see. A stage of one block repeated
    (ResNet-152's `layer3`, 36 bottlenecks) is not a container. `--depth 1` draws the first
    level as boxes.
    """

    def __init__(self, graph: Graph):
        sizes: dict[str, int] = {}
        for node in graph:
            for name in node.scope:
                sizes[name] = sizes.get(name, 0) + 1
        containers = {name for name, size in sizes.items()
                      if size >= CONTAINER_SHARE * len(graph)
                      or (2 * size > len(graph) and not _one_block(graph, graph.scopes[name]))}
        self.level: dict[str, int] = {}
        for node in graph:
            level = 0
            for name in node.scope:
                if name not in containers:
                    level += 1
                    self.level[name] = level
        self.deepest = 1 + max(self.level.values(), default=0)

    def representative(self, node: Node, depth: int) -> str:
        """The id of the box that draws `node` at `depth`: the scope at that level around it,
        or the layer itself."""
        for name in node.scope:
            if self.level.get(name) == depth:
                return name
        return node.name

    def frames(self, node: Node, depth: int) -> tuple[str, ...]:
        """The scopes drawn as frames around `node`'s box, outermost first."""
        rep = self.representative(node, depth)
        return node.scope if rep == node.name else node.scope[:node.scope.index(rep)]


def _one_block(graph: Graph, scope: Scope) -> bool:
    """Whether a scope's children are all calls of one block."""
    blocks = {graph.scopes[c].block if c in graph.scopes else None for c in scope.children}
    return len(blocks) == 1 and None not in blocks


def build(graph: Graph, depth: int, defaults: Any = None, keys: Any = None) -> Diagram:
    """The diagram of `graph` at `depth` (at least 1; past the deepest level everything is
    expanded). `defaults(block)` gives a block's literal default arguments, which block labels
    leave out; `keys` the identity of each block call (identity.call_keys), for runs."""
    analyse(graph)
    levels = Levels(graph)
    depth = max(1, min(depth, levels.deepest))
    diagram = Diagram(graph.name, _title(graph), depth, levels.deepest)
    _add_boxes(diagram, graph, levels, defaults)
    _add_edges(diagram, graph, levels)
    _add_outputs(diagram, graph, levels)
    collapse_runs(diagram, graph, keys or {})
    _mark_skips(diagram)
    return diagram


def _title(graph: Graph) -> str:
    params = sum(n.meta["params"] for n in graph)
    macs = sum(n.meta["macs"] for n in graph)
    return f"{graph.name}: {human(params)} params, {human(macs)} MACs"


def _add_boxes(diagram: Diagram, graph: Graph, levels: Levels, defaults: Any) -> None:
    seen: set[str] = set()
    outputs = set(graph.outputs.values())
    for node in graph:
        frames = levels.frames(node, diagram.depth)
        for level, scope_name in enumerate(frames):
            if scope_name not in diagram.clusters:
                parent = frames[level - 1] if level else None
                diagram.clusters[scope_name] = Cluster(
                    scope_name, cluster_label(graph.scopes[scope_name], parent, defaults),
                    parent, level)
        rep = levels.representative(node, diagram.depth)
        cluster = frames[-1] if frames else None
        if rep in seen:
            if node.name in outputs:
                diagram.box(rep).is_output = True
            continue
        seen.add(rep)
        if rep == node.name:
            box = _layer_box(graph, node, cluster)
        else:
            box = _block_box(graph, graph.scopes[rep], cluster, defaults)
        box.is_output = node.name in outputs
        diagram.boxes.append(box)


def relative(name: str, parent: str | None) -> str:
    return name[len(parent) + 1:] if parent and name.startswith(parent + ".") else name


def _layer_box(graph: Graph, node: Node, cluster: str | None) -> Box:
    name = relative(node.name, cluster)
    if node.op is None:
        return Box(node.name, "input", "input", name, "input", node.shape, cluster=cluster)
    op = node.op
    kind = "merge" if op.family == "merge" else "layer"
    same = len(node.inputs) == 1 and graph[node.inputs[0]].shape == node.shape
    return Box(node.name, kind, op.family, name, _summary(graph, node), node.shape,
               node.meta["params"], node.meta["macs"], op=op.name, cluster=cluster,
               compact=same and op.family in COMPACT_FAMILIES)


def _summary(graph: Graph, node: Node) -> str:
    """The layer's operator in the notation of papers, for its inputs' rank."""
    return node.op.summary([graph[i].shape for i in node.inputs])


def _block_box(graph: Graph, scope: Scope, cluster: str | None, defaults: Any) -> Box:
    inside = graph.scope_nodes(scope.name)
    shape = graph[scope.output].shape if scope.output else inside[-1].shape
    text = _part_text(graph, scope, defaults)
    # a block wrapping one layer (conv_bn) is shown as that layer, its block name beside
    single = scope.kind == "block" and text != scope_call_text(scope, defaults)
    wraps = (scope.block or "") if single else ""
    return Box(scope.name, "block", "block", relative(scope.name, cluster), text, shape,
               sum(n.meta["params"] for n in inside), sum(n.meta["macs"] for n in inside),
               op=scope.block or scope.kind, cluster=cluster, wraps=wraps)


def scope_call_text(scope: Scope, defaults: Any = None) -> str:
    """`bottleneck(width=128, s=2)`: the block call, leaving out arguments equal to a literal
    default, floats to display precision; a group or merge scope by its kind."""
    if scope.kind != "block":
        return scope.kind
    return call_text(str(scope.block), scope.args, defaults(scope.block) if defaults else None,
                     exact=False)


def contents_text(graph: Graph, scope: Scope, defaults: Any = None) -> str:
    """A collapsed group or merge described by what it holds: `conv 1x1, 96 -> conv 3x3, 128`
    (layers that keep the shape, such as relu and bn, left out). Past MAX_PARTS, the middle
    ones are counted rather than named: no operator's name is ever cut."""
    parts: list[str] = []
    for child in scope.children:
        if child in graph.scopes:
            parts.append(_part_text(graph, graph.scopes[child], defaults))
        else:
            node = graph[child]
            if node.op is not None and node.op.family not in COMPACT_FAMILIES:
                parts.append(_summary(graph, node))
    if not parts:
        return scope.kind
    if len(parts) > MAX_PARTS:
        parts = parts[:MAX_PARTS - 2] + [f"{len(parts) - MAX_PARTS + 1} more"] + parts[-1:]
    joiner = " \u2192 " if scope.kind != "merge" else " | "
    return joiner.join(parts)


def cluster_label(scope: Scope, parent: str | None, defaults: Any) -> str:
    name = relative(scope.name, parent)
    text = scope_call_text(scope, defaults)
    return name if text == "group" else f"{name}: {text}"


def _add_edges(diagram: Diagram, graph: Graph, levels: Levels) -> None:
    seen: set[tuple[str, str]] = set()
    depth = diagram.depth
    for node in graph:
        dst = levels.representative(node, depth)
        refs = _reference_inputs(node)
        for index, name in enumerate(node.inputs):
            src = levels.representative(graph[name], depth)
            if src != dst and (src, dst) not in seen:
                seen.add((src, dst))
                diagram.edges.append(Edge(src, dst, shape=graph[name].shape,
                                          ref=index >= refs))


def _add_outputs(diagram: Diagram, graph: Graph, levels: Levels) -> None:
    """A network of several outputs ends in one box for each, named as the network names it
    (`heatmaps.3`, `fpn.0`): which box makes which output stays visible when blocks collapse.
    A network's one output is its last box, drawn bold, as before."""
    if len(graph.outputs) < 2:
        return
    for name, node_name in graph.outputs.items():
        node = graph[node_name]
        box = Box(OUTPUT_ID + name, "output", "output", name, "output", node.shape)
        diagram.boxes.append(box)
        diagram.edges.append(Edge(levels.representative(node, diagram.depth), box.id,
                                  shape=node.shape))


def _part_text(graph: Graph, scope: Scope, defaults: Any) -> str:
    """A scope inside a collapsed group: a block wrapping a single layer (conv_bn: conv, bn,
    relu) by that layer in paper notation, another block by its call, a group by its contents."""
    inner = contents_text(graph, scope, defaults)
    if scope.kind != "block":
        return inner
    single = " \u2192 " not in inner and " | " not in inner and inner != scope.kind
    return inner if single else scope_call_text(scope, defaults)


def _reference_inputs(node: Node) -> int:
    """Index of the first input that only lends its size (a tensor attribute marked size_only,
    such as crop's `to`, appended after the data inputs); len(inputs) when there is none."""
    op = node.op
    if op is None:
        return len(node.inputs)
    count = sum(1 for f in op.fields()
                if f.metadata.get("size_only") and getattr(op, f.name) is not None)
    return len(node.inputs) - count


def _mark_skips(diagram: Diagram) -> None:
    """A skip is an edge that jumps over a path between the same two boxes: the identity path
    of a residual, a DenseNet concat, U-Net's encoder tensor cropped for the decoder. The
    tensors a block with several inputs takes (FPN's levels) are its inputs, not skips. A
    size-only reference does not count as feeding a box."""
    feeds: dict[str, set[str]] = {}
    for e in diagram.edges:
        if not e.ref:
            feeds.setdefault(e.src, set()).add(e.dst)
    reach = _reach(diagram, feeds)
    bit = {box.id: 1 << i for i, box in enumerate(diagram.boxes)}
    for e in diagram.edges:
        e.skip = not e.ref and any(reach[w] & bit[e.dst] for w in feeds.get(e.src, ())
                                   if w != e.dst)


def _reach(diagram: Diagram, feeds: dict[str, set[str]]) -> dict[str, int]:
    """The boxes each box leads to, itself included, as a bit set over the boxes' positions
    (which every edge goes forward in)."""
    reach: dict[str, int] = {}
    for i in reversed(range(len(diagram.boxes))):
        box = diagram.boxes[i].id
        mask = 1 << i
        for w in feeds.get(box, ()):
            mask |= reach.get(w, 0)
        reach[box] = mask
    return reach
