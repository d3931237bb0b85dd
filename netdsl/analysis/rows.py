"""The per-layer rows of `netdsl stats`: one per layer and per block call of the flat network,
in order, blocks (with their subtotals) before their contents.

A definition's rows are the same at every call but for the prefix of their names, their depth
and where their receptive fields lie. So the rows of a one-input definition are made once, as a
*template* whose fields are relative to the definition's input, and placed at each call: one
`compose_relative` per distinct relative field (a chain of ReLUs and norms shares one), and a
copy of each row. Where relative fields do not apply (several inputs, an input that is not a
channels-first image field, causal fields), the definition is walked per call instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from netdsl.analysis.annotate import node_figures
from netdsl.analysis.cost import COUNTS
from netdsl.analysis.fields import composable, members, relative_for, top_fields
from netdsl.analysis.receptive_field import Field, compose_relative, square
from netdsl.analysis.row import Row
from netdsl.analysis.totals import BUFFERS, owns_weights, totals
from netdsl.ir import Call, Definition, Node, port
from netdsl.notation import call_text

FieldOf = Callable[[str], Any]


def rows(top: Definition) -> list[Row]:
    """Every row of the network whose top definition is `top`."""
    out: list[Row] = []
    _definition(top, "", top.top, 1, top_fields(top).__getitem__, out, True)
    return out


def _definition(d: Definition, prefix: str, names: list[str], depth: int, field_of: FieldOf,
                out: list[Row], weights: bool) -> list[int]:
    """Append the rows of `names` (children of a body or scope of `d`); return the counts
    they add up to. Without `weights` inside a shared module's later applications."""
    sums = [0] * len(COUNTS)
    for name in names:
        scope = d.scopes.get(name)
        if scope is not None:
            at = len(out)
            out.append(None)  # type: ignore[arg-type]  # filled once the subtotals are known
            counts = _definition(d, prefix, scope.children, depth + 1, field_of, out, weights)
            ref = scope.output
            out[at] = Row(prefix + name, scope.kind, depth, True, d.values[ref] if ref else (),
                          *counts, rf=field_of(ref) if ref else None, summary=scope.kind)
        else:
            counts = _item(d.items[name], prefix, depth, field_of, out, weights)
        for i, value in enumerate(counts):
            sums[i] += value
    return sums


def _item(item: Node | Call, prefix: str, depth: int, field_of: FieldOf, out: list[Row],
          weights: bool) -> list[int]:
    weights = weights and owns_weights(item)
    if isinstance(item, Node):
        out.append(layer_row(item, prefix + item.name, depth, field_of(item.name), weights))
        return out[-1].counts()
    inputs = [field_of(r) for r in item.inputs]
    template = _template(item.definition) if _repeated(item) and \
        relative_for(item.definition, inputs) else None
    if template is None:
        for k, inner in enumerate(members(item, inputs)):
            name = prefix + item.member(k)
            out.append(call_row(item, name, depth, output_field(item, inner), weights))
            _definition(item.definition, name + ".", item.definition.top, depth + 1, inner, out,
                        weights)
    else:
        row = call_row(item, "", depth, None, weights)  # each call's but for name and field
        base = square(inputs[0])
        for member in item.members():
            name = prefix + member
            placed = template.placed(base)
            base = template.output(placed)  # the next call of a run sees this one's output
            out.append(row.placed(name, base))
            template.place(placed, name + ".", depth + 1, weights, out)
    return [c * item.count for c in _owned(list(totals(item.definition).counts), weights)]


def _repeated(item: Call) -> bool:
    """Whether the callee's rows are made more than once (a run, or a definition seen
    before): a template pays for itself only then."""
    seen = item.definition.meta.get("row_calls", 0)
    item.definition.meta["row_calls"] = seen + item.count
    return seen + item.count > 1


_new_row = tuple.__new__  # a Row without NamedTuple's Python-level __new__ (the hot path)
_INPUT: Any = object()  # a relative field that is the input's own: placed, it is the base


@dataclass(frozen=True)
class _Template:
    """The rows of one call of a one-input definition, fields relative to its input.

    Each row is a `Row`'s arguments with a relative depth and, for its receptive field, an
    index in `fields`: the distinct relative fields, which `placed` composes once per call."""

    rows: tuple[tuple[Any, ...], ...]
    fields: tuple[Any, ...]
    out: int | None  # the index of the definition's (first) output's field
    at_depth: dict[int, tuple[tuple[Any, ...], ...]] = field(
        default_factory=dict, init=False, compare=False, repr=False)  # made by `_at`

    def placed(self, base: Field) -> list[Any]:
        """The distinct fields of one call whose input's field is `base`."""
        return [base if f is _INPUT else compose_relative(base, f) for f in self.fields]

    def output(self, placed: list[Any]) -> Any:
        return None if self.out is None else placed[self.out]

    def place(self, placed: list[Any], prefix: str, depth: int, weights: bool,
              out: list[Row]) -> None:
        """Append the rows of one call whose fields are `placed`."""
        if not weights:  # a shared module's later application: no weights of its own
            self.unowned.place(placed, prefix, depth, True, out)
            return
        rows = self.at_depth.get(depth) or self._at(depth)
        out.extend([_new_row(Row, (prefix + name, *figures, placed[rf], summary))
                    for name, figures, rf, summary in rows])

    def _at(self, depth: int) -> tuple[tuple[Any, ...], ...]:
        """The rows placed at `depth`, each as its name, its figures from `op` to
        `connections` (one tuple, copied whole into each row), its field and its summary."""
        made = self.at_depth[depth] = tuple((r[0], (r[1], depth + r[2], *r[3:10]), r[10], r[11])
                                            for r in self.rows)
        return made

    @cached_property
    def unowned(self) -> _Template:
        """These rows without params and buffers (a row's sixth and seventh arguments), made
        once for all of a shared module's later calls."""
        return replace(self, rows=tuple((*r[:5], 0, 0, *r[7:]) for r in self.rows))


def _template(d: Definition) -> _Template | None:
    """`d`'s rows as a template (kept in `d.meta`); None when a field inside it cannot be
    placed by composition: a causal one, or one kept per phase (after an upsampling inside
    a block it calls)."""
    if "row_template" not in d.meta:
        relative = d.meta["fields"]
        made: list[Row] = []
        _definition(d, "", d.top, 0, relative.__getitem__, made, True)
        index: dict[Any, int] = {}
        rows = tuple((r.name, r.op, r.depth, r.is_block, r.output, *r.counts(),
                      index.setdefault(r.rf, len(index)), r.summary) for r in made)
        out = index.setdefault(relative[d.outputs[0]], len(index)) if d.outputs else None
        itself = relative[port(0)]
        d.meta["row_template"] = None if not all(map(composable, index)) else _Template(
            rows, tuple(_INPUT if f == itself else square(f) for f in index), out)
    return d.meta["row_template"]


def layer_row(item: Node, name: str, depth: int, rf: Any, weights: bool) -> Row:
    """The row of one layer, named `name`, whose receptive field is `rf`."""
    counts = _owned(list(node_figures(item).counts), weights)
    summary = item.meta.get("summary")
    if summary is None:  # one text for the node of every call of its definition
        summary = item.meta["summary"] = \
            item.op.summary(list(item.meta["in"])) if item.op else "input"
    return Row(name, item.op_name, depth, False, item.meta["shape"], *counts, rf=rf,
               summary=summary)


def output_field(item: Call, inner: FieldOf) -> Any:
    """The field of a call's (first) output; `inner` places fields inside it."""
    outputs = item.definition.outputs
    return inner(outputs[0]) if outputs else None


def call_row(item: Call, name: str, depth: int, rf: Any, weights: bool) -> Row:
    """The row of one call of a block (with its totals), whose output's field is `rf`."""
    callee = item.definition
    counts = _owned(list(totals(callee).counts), weights)
    out = callee.outputs[0] if callee.outputs else None
    summary = callee.meta.get("call_text")
    if summary is None:
        summary = callee.meta["call_text"] = call_text(callee.block, callee.args)
    return Row(name, callee.block or callee.name, depth, True,
               callee.values[out] if out else (), *counts, rf=rf,
               summary=summary)


def _owned(counts: list[int], weights: bool) -> list[int]:
    if not weights:
        counts[:BUFFERS + 1] = [0] * (BUFFERS + 1)
    return counts
