"""Per-definition figures, computed once per definition and summed over its calls: the cost of
an analysis grows with the number of distinct definitions, not with the number of layers.

A definition's `Totals` are those of one call of it: parameters, buffers, MACs, FLOPs and
connections (`cost.COUNTS`), activation elements allocated, layers, and the same per operator.
A shared module's weights belong to the definition that declares it, once; its applications
add their MACs, FLOPs and activations only.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

from netdsl.analysis.annotate import node_figures
from netdsl.analysis.cost import COUNTS
from netdsl.errors import NetdslError, SpecError
from netdsl.ir import Call, Definition, Instance, Node
from netdsl.ops.base import numel

PARAMS, BUFFERS = 0, 1  # positions in a counts list


@dataclass
class Totals:
    """One call's figures: `counts` as `cost.COUNTS`; `by_op[op]` is [applications, *counts]."""

    counts: list[int] = field(default_factory=lambda: [0] * len(COUNTS))
    elements: int = 0
    by_op: dict[str, list[int]] = field(default_factory=dict)

    def add(self, other: Totals, weights: bool = True, times: int = 1) -> None:
        """Add `times` calls of `other`; without its weights for a shared module's
        application."""
        if not (weights and times == 1):
            self.add_scaled(other, weights, times)
            return
        self.counts = list(map(operator.add, self.counts, other.counts))
        self.elements += other.elements
        by_op = self.by_op
        for op, row in other.by_op.items():
            mine = by_op.get(op)
            by_op[op] = row.copy() if mine is None else list(map(operator.add, mine, row))

    def add_scaled(self, other: Totals, weights: bool, times: int) -> None:
        """`add`, for `times` calls or without the weights."""
        for i, value in enumerate(other.counts):
            if weights or i > BUFFERS:
                self.counts[i] += value * times
        self.elements += other.elements * times
        for op, row in other.by_op.items():
            mine = self.by_op.get(op)
            if mine is None:
                mine = self.by_op[op] = [0] * (len(COUNTS) + 1)
            for i, value in enumerate(row):  # row[0] counts applications, then COUNTS
                if weights or i == 0 or i - 1 > BUFFERS:
                    mine[i] += value * times

    def add_weights(self, other: Totals) -> None:
        """Add only the weights of `other` (a shared module's, once)."""
        self.add(Totals([c if i <= BUFFERS else 0 for i, c in enumerate(other.counts)], 0,
                        {op: [0] + [v if i <= BUFFERS else 0 for i, v in enumerate(row[1:])]
                         for op, row in other.by_op.items()}))


def totals(d: Definition) -> Totals:
    """The figures of one call of `d` (computed on first use, kept in `d.meta`)."""
    found = d.meta.get("totals")
    if found is not None:
        return found
    out = Totals()
    calls: dict[tuple[int, bool], list] = {}  # the calls of each definition, counted once
    for item in d.items.values():
        if item.shared is not None:
            check_weights(item)
        if isinstance(item, Call):
            key = (id(item.definition), item.shared is None)
            entry = calls.get(key)
            if entry is None:
                calls[key] = [item.definition, item.count]
            else:
                entry[1] += item.count
        else:
            out.add(item_totals(item), weights=item.shared is None)
    for (_, weights), (definition, times) in calls.items():
        out.add(totals(definition), weights, times)
    for instance in d.instances:
        if instance.first is not None:
            out.add_weights(item_totals(instance.first))
    d.meta["totals"] = out
    return out


def owns_weights(item: Node | Call) -> bool:
    """False for a later application of a shared module: its weights are the first's."""
    return item.shared is None or item.shared.first is item


def item_totals(item: Node | Call) -> Totals:
    if isinstance(item, Call):
        return totals(item.definition)
    figures = node_figures(item)
    out = Totals(list(figures.counts))
    op = item.op
    if op is None or not (op.is_view or op.stored):  # views share, parameters are stored
        out.elements = numel(item.meta["shape"])
    out.elements += figures.workspace
    if item.op is not None:
        out.by_op[item.op.name] = [1, *figures.counts]
    return out


def check_weights(item: Node | Call) -> None:
    """A shared module's applications must need the same weights as its first."""
    instance: Instance = item.shared
    first = instance.first
    if first is None or first is item:
        return
    if weights(item) != weights(first):
        ours, theirs = item_totals(item).counts, item_totals(first).counts
        exc = SpecError(f"the shared module '{instance.name}' needs {ours[PARAMS]:,} weights "
                        f"here but {theirs[PARAMS]:,} at its first application" if
                        ours[PARAMS] != theirs[PARAMS] else
                        f"the shared module '{instance.name}' needs weights of other shapes "
                        "here than at its first application", "shape",
                        item.span, help="a shared module's inputs must have the channels of "
                                        "its first application's")
        raise NetdslError(exc.diagnostic())


def weights(item: Node | Call) -> tuple:
    """The weights an item needs, layer by layer: each layer's parameters, buffers and the
    shape of its `weight`. Two applications of one module need the same (totals alone would
    not tell `fuse(a, b)` from `fuse(b, a)`)."""
    if isinstance(item, Node):
        if item.op is None:
            return ()
        counts = node_figures(item).counts
        return ((counts[PARAMS], counts[BUFFERS], item.op.weight_shape(list(item.meta["in"]))),)
    d = item.definition
    found = d.meta.get("weights")
    if found is None:
        found = d.meta["weights"] = tuple(w for inner in d.items.values()
                                          if owns_weights(inner) for w in weights(inner))
    return found
