"""From the graph IR to a `Diagram`: which layers are drawn, which blocks collapse, which frames.

Depth follows `netdsl stats --depth`: scopes nested at most `depth` deep are visible; a scope at
exactly `depth` is drawn as one box (its output shape and subtotals), the scopes above it as
clusters. Without a depth, the deepest one that keeps the diagram under `BOX_BUDGET` boxes is
chosen, so ResNet-152 and DenseNet-121 stay readable by default.
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

BOX_BUDGET = 65
COMPACT_FAMILIES = ("activation", "norm", "regularize")


def max_depth(graph: Graph) -> int:
    """The depth at which nothing is collapsed."""
    return 1 + max((len(n.scope) for n in graph), default=0)


def build(graph: Graph, depth: int | None = None, defaults: Any = None) -> Diagram:
    """The diagram of `graph` at `depth` (auto when None). `defaults(block)` gives a block's
    literal default arguments, which block labels leave out."""
    analyse(graph)
    full = max_depth(graph)
    if depth is None:
        depth = auto_depth(graph, defaults)
    depth = max(1, min(depth, full))
    diagram = Diagram(graph.name, _title(graph), depth)
    _add_boxes(diagram, graph, depth, defaults)
    _add_edges(diagram, graph, depth)
    collapse_runs(diagram, graph)
    _mark_skips(diagram)
    return diagram


def auto_depth(graph: Graph, defaults: Any = None) -> int:
    """The deepest depth whose diagram has at most BOX_BUDGET boxes (at least 1)."""
    best = 1
    for depth in range(1, max_depth(graph) + 1):
        diagram = Diagram(graph.name, "", depth)
        _add_boxes(diagram, graph, depth, defaults)
        if len(diagram.boxes) > BOX_BUDGET:
            # runs may still bring it under budget
            _add_edges(diagram, graph, depth)
            collapse_runs(diagram, graph)
            if len(diagram.boxes) > BOX_BUDGET:
                break
        best = depth
    return best


def representative(node: Node, depth: int) -> str:
    """The id of the box that draws `node` at `depth`."""
    return node.scope[depth - 1] if len(node.scope) >= depth else node.name


def _title(graph: Graph) -> str:
    params = sum(n.meta["params"] for n in graph)
    macs = sum(n.meta["macs"] for n in graph)
    return f"{graph.name}: {human(params)} params, {human(macs)} MACs"


def _add_boxes(diagram: Diagram, graph: Graph, depth: int, defaults: Any) -> None:
    seen: set[str] = set()
    outputs = set(graph.outputs.values())
    for node in graph:
        frames = node.scope[:min(len(node.scope), depth - 1)]
        for level, scope_name in enumerate(frames):
            if scope_name not in diagram.clusters:
                parent = frames[level - 1] if level else None
                diagram.clusters[scope_name] = Cluster(
                    scope_name, cluster_label(graph.scopes[scope_name], parent, defaults),
                    parent, level)
        rep = representative(node, depth)
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
    text = _part_text(graph, scope, defaults, 3)
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


def contents_text(graph: Graph, scope: Scope, defaults: Any = None, limit: int = 3) -> str:
    """A collapsed group or merge described by what it holds: `conv 1x1, 96 -> conv 3x3, 128`
    (layers that keep the shape, such as relu and bn, left out)."""
    parts: list[str] = []
    for child in scope.children:
        if child in graph.scopes:
            parts.append(_part_text(graph, graph.scopes[child], defaults, limit))
        else:
            node = graph[child]
            if node.op is not None and node.op.family not in COMPACT_FAMILIES:
                parts.append(_summary(graph, node))
    if not parts:
        return scope.kind
    if len(parts) > limit:
        parts = parts[:limit - 1] + ["\u2026"]
    joiner = " \u2192 " if scope.kind != "merge" else " | "
    return joiner.join(parts)


def cluster_label(scope: Scope, parent: str | None, defaults: Any) -> str:
    name = relative(scope.name, parent)
    text = scope_call_text(scope, defaults)
    return name if text == "group" else f"{name}: {text}"


def _add_edges(diagram: Diagram, graph: Graph, depth: int) -> None:
    seen: set[tuple[str, str]] = set()
    for node in graph:
        dst = representative(node, depth)
        refs = _reference_inputs(node)
        for index, name in enumerate(node.inputs):
            src = representative(graph[name], depth)
            if src != dst and (src, dst) not in seen:
                seen.add((src, dst))
                diagram.edges.append(Edge(src, dst, shape=graph[name].shape,
                                          ref=index >= refs))


def _part_text(graph: Graph, scope: Scope, defaults: Any, limit: int) -> str:
    """A scope inside a collapsed group: a block wrapping a single layer (conv_bn: conv, bn,
    relu) by that layer in paper notation, another block by its call, a group by its contents."""
    inner = contents_text(graph, scope, defaults, limit)
    if scope.kind != "block":
        return inner
    single = " \u2192 " not in inner and "\u2026" not in inner and inner != scope.kind
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
    """A skip is an edge from a box that feeds several, into a box fed by several, that jumps
    over at least one box: the identity path of a residual, a DenseNet concat, U-Net's encoder
    tensor cropped for the decoder. A size-only reference does not count as feeding a box."""
    order = {b.id: i for i, b in enumerate(diagram.boxes)}
    fan_out: dict[str, int] = {}
    fan_in: dict[str, int] = {}
    for e in diagram.edges:
        fan_out[e.src] = fan_out.get(e.src, 0) + (0 if e.ref else 1)
        fan_in[e.dst] = fan_in.get(e.dst, 0) + 1
    for e in diagram.edges:
        e.skip = not e.ref and (fan_out[e.src] > 1 and fan_in[e.dst] > 1
                  and order[e.dst] - order[e.src] > 1)
