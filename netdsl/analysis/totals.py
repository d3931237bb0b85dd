"""Per-definition figures, computed once per definition and summed over its calls: the cost of
an analysis grows with the number of distinct definitions, not with the number of layers.

A definition's `Totals` are those of one call of it: parameters, buffers, MACs, FLOPs and
connections (`cost.COUNTS`), activation elements allocated, layers, and the same per operator.
A shared module's weights belong to the definition that declares it, once; its applications
add their MACs, FLOPs and activations only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netdsl.analysis.annotate import node_figures
from netdsl.analysis.cost import COUNTS
from netdsl.errors import NetdslError, SpecError
from netdsl.ir import Call, Definition, Instance, Node
from netdsl.ops.base import numel

PARAMS, BUFFERS = 0, 1  # positions in a counts list
# What `Totals.add` takes of a counts list and of a per-operator row ([applications, *counts]):
# everything, or for a shared module's later application neither its weights nor (in the row)
# an application of its own.
_ALL, _ALL_ROW = (1,) * len(COUNTS), (1,) * (len(COUNTS) + 1)
_NO_WEIGHTS = (0,) * (BUFFERS + 1) + (1,) * (len(COUNTS) - BUFFERS - 1)
_NO_WEIGHTS_ROW = (0, *_NO_WEIGHTS)
_ZERO_ROW = (0,) * (len(COUNTS) + 1)  # an operator's row before its first application


@dataclass
class Totals:
    """One call's figures: `counts` as `cost.COUNTS`; `by_op[op]` is [applications, *counts]."""

    counts: list[int] = field(default_factory=lambda: [0] * len(COUNTS))
    elements: int = 0
    by_op: dict[str, list[int]] = field(default_factory=dict)

    def add(self, other: Totals, weights: bool = True, times: int = 1) -> None:
        """Add `times` calls of `other`; without its weights for a shared module's
        application."""
        keep, keep_row = (_ALL, _ALL_ROW) if weights else (_NO_WEIGHTS, _NO_WEIGHTS_ROW)
        self.counts = [mine + value * times * k
                       for mine, value, k in zip(self.counts, other.counts, keep, strict=True)]
        self.elements += other.elements * times
        by_op = self.by_op
        for op, row in other.by_op.items():
            mine = by_op.get(op) or _ZERO_ROW
            by_op[op] = [m + value * times * k
                         for m, value, k in zip(mine, row, keep_row, strict=True)]

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
    ours, theirs = item_totals(item).counts, item_totals(first).counts
    if ours[:BUFFERS + 1] != theirs[:BUFFERS + 1]:
        exc = SpecError(f"the shared module '{instance.name}' needs {ours[PARAMS]:,} weights "
                        f"here but {theirs[PARAMS]:,} at its first application", "shape",
                        item.span, help="a shared module's inputs must have the channels of "
                                        "its first application's")
        raise NetdslError(exc.diagnostic())
