"""The analyses' pass over the graph: fills every node's meta with `elements`, its counts
(`params`, `buffers`, `macs`, `flops`, `connections`), its receptive field `rf`, and, for an
operator that materialises temporaries, `workspace` (elements)."""

from __future__ import annotations

from typing import NamedTuple

from netdsl.analysis.cost import NO_COUNTS, Counts, operator_counts, set_counts
from netdsl.analysis.receptive_field import compose, input_field
from netdsl.ir import Graph
from netdsl.ops import receptive as rules
from netdsl.ops.base import Op, Shape, numel


class Figures(NamedTuple):
    """What an operator's rules say about one application."""

    counts: Counts
    rule: rules.Rule
    workspace: int


def annotate(graph: Graph) -> None:
    """Fill the meta of every node, inputs before users (the nodes are in creation order).

    A network repeats the same layer on the same shapes many times (every unit of a stage), so
    the rules run once per distinct operator and input shapes of this graph: operators are
    frozen values and their rules depend on nothing else.
    """
    nodes = graph.nodes
    seen: dict[tuple[Op, tuple[Shape, ...]], Figures] = {}
    for node in nodes.values():
        meta = node.meta
        out = meta["shape"]
        meta["elements"] = numel(out)
        op = node.op
        if op is None:
            set_counts(meta, NO_COUNTS)
            meta["rf"] = input_field(out)
            continue
        if op.stored:
            meta["elements"] = 0  # a parameter, not an activation
        sources = [nodes[i].meta for i in node.inputs]
        ins = tuple([source["shape"] for source in sources])
        figures = seen.get((op, ins))
        if figures is None:
            figures = seen[op, ins] = _figures(op, list(ins), out)
        set_counts(meta, figures.counts)
        meta["rf"] = compose(figures.rule, [source["rf"] for source in sources])
        if figures.workspace:
            meta["workspace"] = figures.workspace


def _figures(op: Op, ins: list[Shape], out: Shape) -> Figures:
    return Figures(operator_counts(op, ins, out), op.receptive_field(ins, out),
                   op.workspace(ins, out))
