"""The figures of one layer or block call, as the row `netdsl stats` gives it, made for that
one alone: a hover after an edit must not wait for the rows of every layer of the network (all
574 of ResNet-152's take longer than the whole analysis).

The row is made by the analysis's own constructors (`layer_row`, `call_row`, which the table's
walk uses); only the receptive field's placement is found here, by descending the chain of calls
that leads to the layer, as the walk does. A labeled group, merge or repeat (whose figures are
the sum of what is inside it) is read from the table's rows.
"""

from __future__ import annotations

from netdsl.analysis import Row
from netdsl.analysis.fields import inside, top_fields
from netdsl.analysis.rows import call_row, layer_row, output_field
from netdsl.analysis.totals import owns_weights
from netdsl.ir import Call, Node
from netdsl.lsp.index import Made


def row(made: Made, field: bool = True) -> Row:
    """The figures of what `made` names (one call of a run: its own); without `field`, its
    receptive field is left out (None), and not placed."""
    item = made.item
    if item is None:
        return made.network.stats().row(made.name)
    if not field:
        return _counts_only(made, item)
    field_of = top_fields(made.network.top).__getitem__
    weights = True
    for call, k in made.chain:
        weights = weights and owns_weights(call)
        field_of = inside(call, [field_of(r) for r in call.inputs], k)
    weights = weights and owns_weights(item)
    depth = made.name.count(".") + 1
    if isinstance(item, Node):
        return layer_row(item, made.name, depth, field_of(item.name), weights)
    inner = inside(item, [field_of(r) for r in item.inputs], made.member)
    return call_row(item, made.name, depth, output_field(item, inner), weights)


def _counts_only(made: Made, item: Node | Call) -> Row:
    weights = all(owns_weights(call) for call, _ in made.chain) and owns_weights(item)
    depth = made.name.count(".") + 1
    if isinstance(item, Node):
        return layer_row(item, made.name, depth, None, weights)
    return call_row(item, made.name, depth, None, weights)
