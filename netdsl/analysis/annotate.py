"""Each operator application's figures from its operator's rules: counts (`cost.COUNTS`), the
receptive-field rule and the workspace (elements of temporaries it materialises while it runs).
A network applies the same operator to the same shapes many times (every unit of a stage), so
the rules run once per distinct operator and input shapes: operators are frozen values and
their rules depend on nothing else."""

from __future__ import annotations

from typing import NamedTuple

from netdsl.analysis.cost import NO_COUNTS, Counts, operator_counts, set_counts
from netdsl.analysis.receptive_field import compose, input_field
from netdsl.ir import Graph, Node
from netdsl.ops import receptive as rules
from netdsl.ops.base import Op, Shape, numel


class Figures(NamedTuple):
    """What an operator's rules say about one application."""

    counts: Counts
    rule: rules.Rule
    workspace: int


_INPUT = Figures(NO_COUNTS, rules.IDENTITY, 0)
_SEEN: dict[tuple[Op, tuple[Shape, ...]], Figures] = {}
_MAX_SEEN = 200_000  # a long-lived process (an editor's server) must not grow without end


def node_figures(node: Node) -> Figures:
    """The figures of one node (its input shapes are in `meta["in"]`), memoised."""
    op = node.op
    if op is None:
        return _INPUT
    key = (op, node.meta["in"])
    figures = _SEEN.get(key)
    if figures is None:
        if len(_SEEN) >= _MAX_SEEN:
            _SEEN.clear()
        ins = list(key[1])
        out = node.meta["shape"]
        figures = _SEEN[key] = Figures(operator_counts(op, ins, out),
                                       op.receptive_field(ins, out), op.workspace(ins, out))
    return figures


def annotate(graph: Graph) -> None:
    """Fill the meta of every node of a flat graph with `elements`, its counts, `rf` and
    `workspace`, inputs before users (the nodes are in creation order)."""
    nodes = graph.nodes
    for node in nodes.values():
        meta = node.meta
        out = meta["shape"]
        meta["elements"] = numel(out)
        if node.op is None:
            set_counts(meta, NO_COUNTS)
            meta["rf"] = input_field(out, _layout_readers(graph, node.name))
            continue
        if node.op.stored:
            meta["elements"] = 0  # a parameter, not an activation
        sources = [nodes[i].meta for i in node.inputs]
        meta["in"] = tuple([source["shape"] for source in sources])
        figures = node_figures(node)
        if figures.workspace:
            meta["workspace"] = figures.workspace
        counts = figures.counts
        if "#" in node.name:  # in a shared module's later application: its weights counted
            counts = (0, 0, *counts[2:])
        set_counts(meta, counts)
        meta["rf"] = compose(figures.rule, [source["rf"] for source in sources])


def _layout_readers(graph: Graph, name: str) -> list[Op]:
    """The operators that decide the layout of `name`: its readers, and past a layer
    indifferent to the layout (an activation, a sum), that layer's readers."""
    found: list[Op] = []
    seen = {name}
    todo = [name]
    while todo:
        for user in graph.users(todo.pop()):
            op = graph.nodes[user].op
            if op.channel_axis is not None:
                found.append(op)
            elif user not in seen:
                seen.add(user)
                todo.append(user)
    return found
