"""The figures of one layer or block call, as the row `netdsl stats` gives it, computed for
that one alone: a hover after an edit must not wait for the rows of every layer of the
network (all 574 of ResNet-152's take longer than the whole analysis).

Counts come from the operator's rules or the callee's totals, both kept per definition; the
receptive field is placed by descending the chain of calls that leads to the layer, as the
table's walk does (`netdsl.analysis.fields.inside`). A labeled group, merge or repeat (whose
figures are the sum of what is inside it) is read from the table's rows.
"""

from __future__ import annotations

from typing import Any

from netdsl.analysis import Row
from netdsl.analysis.annotate import node_figures
from netdsl.analysis.fields import inside, top_fields
from netdsl.analysis.summary import call_text
from netdsl.analysis.totals import BUFFERS, totals
from netdsl.ir import Node
from netdsl.lsp.index import Made


def row(made: Made) -> Row:
    """The figures of what `made` names (one call of a run: its own)."""
    item = made.item
    if item is None:
        return made.network.stats().row(made.name)
    field_of = top_fields(made.network.top).__getitem__
    weights = True
    for call, k in made.chain:
        weights = weights and _owns_weights(call)
        field_of = inside(call, [field_of(r) for r in call.inputs], k)
    weights = weights and _owns_weights(item)
    if isinstance(item, Node):
        counts = list(node_figures(item).counts)
        summary = item.op.summary(list(item.meta["in"])) if item.op else "input"
        rf, output, is_block = field_of(item.name), item.meta["shape"], False
    else:
        callee = item.definition
        counts = list(totals(callee).counts)
        out = callee.outputs[0] if callee.outputs else None
        inner = inside(item, [field_of(r) for r in item.inputs], made.member)
        summary, is_block = call_text(callee), True
        rf, output = (inner(out), callee.values[out]) if out else (None, ())
    if not weights:  # a later application of a shared module: its weights are the first's
        counts[:BUFFERS + 1] = [0] * (BUFFERS + 1)
    return Row(made.name, summary, made.name.count(".") + 1, is_block, output, *counts, rf=rf,
               summary=summary)


def _owns_weights(item: Any) -> bool:
    return item.shared is None or item.shared.first is item

