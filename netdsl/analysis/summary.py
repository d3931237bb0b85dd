"""Runs every analysis and assembles `Stats`: totals, per operator, and per-layer rows (blocks
with subtotals). Totals come from each distinct definition once; the rows, one per layer of
the flat network, are made only when asked for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from netdsl.analysis.annotate import node_figures
from netdsl.analysis.cost import COUNTS
from netdsl.analysis.fields import members, top_fields
from netdsl.analysis.memory import DTYPE_BYTES, peak_elements
from netdsl.analysis.receptive_field import Field
from netdsl.analysis.totals import BUFFERS, owns_weights, totals
from netdsl.analysis.training import Training
from netdsl.gc_pause import paused_gc
from netdsl.ir import Call, Definition, Node
from netdsl.notation import call_text
from netdsl.ops import REGISTRY


@dataclass
class Row:
    """One line of the per-layer table: a layer, or a block/group with its subtotals."""

    name: str
    op: str
    depth: int
    is_block: bool
    output: tuple[int, ...]
    params: int
    buffers: int
    macs: int
    flops: int
    connections: int
    rf: Any
    summary: str = ""

    RECORD_COLUMNS = ("name", "op", "summary", "depth", "block", "output", "params",
                      "buffers", "macs", "flops", "connections", "rf_size", "rf_stride")

    def as_record(self) -> dict[str, Any]:
        """One flat record (a DataFrame row): the receptive field's size and stride per axis,
        or its kind ("global") in `rf_size`."""
        rf = self.rf.as_dict() if isinstance(self.rf, Field) else None
        return {"name": self.name, "op": self.op, "summary": self.summary, "depth": self.depth,
                "block": self.is_block, "output": tuple(self.output), "params": self.params,
                "buffers": self.buffers, "macs": self.macs, "flops": self.flops,
                "connections": self.connections,
                "rf_size": tuple(rf["size"]) if rf else self.rf,
                "rf_stride": tuple(rf["stride"]) if rf else None}

    def as_dict(self) -> dict[str, Any]:
        rf = self.rf.as_dict() if isinstance(self.rf, Field) else self.rf
        return {"name": self.name, "op": self.op, "depth": self.depth, "block": self.is_block,
                "output": list(self.output), "params": self.params, "buffers": self.buffers,
                "macs": self.macs, "flops": self.flops, "connections": self.connections,
                "rf": rf}

    def counts(self) -> list[int]:
        """Its counts, in the order of `COUNTS`."""
        return [getattr(self, c) for c in COUNTS]


@dataclass
class Stats:
    """Everything `netdsl stats` reports about one network. `layers` is made on first use."""

    network: str
    inputs: dict[str, tuple[int, ...]]
    outputs: dict[str, tuple[int, ...]]
    params: int
    buffers: int
    macs: int
    flops: int
    connections: int
    activation_elements: int
    activation_bytes: int
    peak_activation_bytes: int
    param_bytes: int
    dtype: str
    by_op: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the figures leave out, and why
    batch: int = 1  # the activation figures are for this many samples; the counts per sample
    training: Training | None = None  # one training step's memory, when asked for
    rows: Callable[[], list[Row]] | None = field(default=None, repr=False)
    _layers: list[Row] | None = field(default=None, repr=False)
    _by_name: dict[str, Row] | None = field(default=None, repr=False)

    @property
    def layers(self) -> list[Row]:
        """Every layer and block of the flat network, in order, blocks before their contents."""
        if self._layers is None:
            with paused_gc():
                self._layers = self.rows() if self.rows else []
        return self._layers

    @property
    def trainable_params(self) -> int:
        return self.params

    def at_batch(self, batch: int, training: Training | None = None) -> Stats:
        """These stats with the activation figures for `batch` samples (every activation has
        the batch as its first axis, so they scale with it) and a training estimate."""
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be a whole number >= 1, got {batch!r}")
        scale = batch / self.batch
        return replace(self, batch=batch, training=training,
                       activation_elements=round(self.activation_elements * scale),
                       activation_bytes=round(self.activation_bytes * scale),
                       peak_activation_bytes=round(self.peak_activation_bytes * scale))

    def to_pandas(self) -> Any:
        """The per-layer rows as a pandas DataFrame indexed by layer name (pandas is an
        optional dependency: `pip install pandas`)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("Stats.to_pandas needs pandas: pip install pandas "
                              "(or netdsl[pandas])") from None
        records = [row.as_record() for row in self.layers]
        return pandas.DataFrame.from_records(records, index="name",
                                             columns=list(Row.RECORD_COLUMNS))

    def __repr__(self) -> str:
        batch = f", batch {self.batch}" if self.batch != 1 else ""
        return (f"<Stats {self.network}: {self.params:,} params, {self.macs:,} MACs, peak "
                f"{self.peak_activation_bytes:,} bytes live ({self.dtype}{batch})>")

    def as_dict(self, rows: list[Row] | None = None) -> dict[str, Any]:
        """Totals and `rows` (default: every layer) as JSON-ready values."""
        return {
            "network": self.network,
            "inputs": {k: list(v) for k, v in self.inputs.items()},
            "outputs": {k: list(v) for k, v in self.outputs.items()},
            "params": self.params, "trainable_params": self.trainable_params,
            "buffers": self.buffers, "macs": self.macs, "flops": self.flops,
            "connections": self.connections, "activation_elements": self.activation_elements,
            "activation_bytes": self.activation_bytes,
            "peak_activation_bytes": self.peak_activation_bytes, "param_bytes": self.param_bytes,
            "dtype": self.dtype, "by_op": self.by_op, "notes": self.notes,
            **({"batch": self.batch} if self.batch != 1 else {}),
            **({"training": self.training.as_dict()} if self.training else {}),
            "layers": [r.as_dict() for r in (self.layers if rows is None else rows)],
        }

    def row(self, name: str) -> Row:
        if self._by_name is None:
            self._by_name = {r.name: r for r in self.layers}
        return self._by_name[name]


def summarize(top: Definition, dtype: str = "float32") -> Stats:
    """The stats of a network from its top definition."""
    size = DTYPE_BYTES[dtype]
    total = totals(top)
    counts = dict(zip(COUNTS, total.counts, strict=True))
    by_op = {op: {"count": row[0], **dict(zip(COUNTS, row[1:], strict=True))}
             for op, row in total.by_op.items()}
    return Stats(
        network=top.name,
        inputs={n: top.values[n] for n in top.network_inputs},
        outputs={n: top.values[r] for n, r in zip(top.output_names, top.outputs,
                                                  strict=True)},
        activation_elements=total.elements, activation_bytes=total.elements * size,
        peak_activation_bytes=peak_elements(top) * size,
        param_bytes=(counts["params"] + counts["buffers"]) * size, dtype=dtype,
        by_op=dict(sorted(by_op.items(), key=lambda kv: -kv[1]["flops"])),
        notes=_notes(by_op), rows=lambda: list(_Rows(top).walk()), **counts)


def _notes(by_op: dict[str, dict[str, int]]) -> list[str]:
    """The memory notes of the operators used, with how many layers each concerns."""
    out = []
    for name, acc in by_op.items():
        note = REGISTRY[name].memory_note if name in REGISTRY else None
        if note:
            layers = acc["count"]
            out.append(f"{name} ({layers} layer{'s' if layers != 1 else ''}): {note}")
    return out


class _Rows:
    """The per-layer rows of a network, walking the hierarchy with each call's prefix."""

    def __init__(self, top: Definition):
        self.top = top

    def walk(self) -> Iterator[Row]:
        fields = top_fields(self.top)
        rows: list[Row] = []
        self.definition(self.top, "", self.top.top, 1, fields.__getitem__, rows, True)
        return iter(rows)

    def definition(self, d: Definition, prefix: str, names: list[str], depth: int,
                   field_of: Callable[[str], Any], rows: list[Row], weights: bool) -> list[int]:
        """Append the rows of `names` (children of a body or scope of `d`); return the counts
        they add up to. Without `weights` inside a shared module's later applications."""
        sums = [0] * len(COUNTS)
        for name in names:
            scope = d.scopes.get(name)
            if scope is not None:
                at = len(rows)
                rows.append(None)  # type: ignore[arg-type]  # filled once the subtotals are known
                counts = self.definition(d, prefix, scope.children, depth + 1, field_of, rows,
                                         weights)
                out = scope.output
                rows[at] = Row(prefix + name, scope.kind, depth, True,
                               d.values[out] if out else (), *counts,
                               rf=field_of(out) if out else None, summary=scope.kind)
            else:
                item = d.items[name]
                counts = self.item(d, item, prefix, depth, field_of, rows, weights)
            for i, value in enumerate(counts):
                sums[i] += value
        return sums

    def item(self, d: Definition, item: Node | Call, prefix: str, depth: int,
             field_of: Callable[[str], Any], rows: list[Row], weights: bool) -> list[int]:
        weights = weights and owns_weights(item)
        if isinstance(item, Node):
            rows.append(layer_row(item, prefix + item.name, depth, field_of(item.name), weights))
            return rows[-1].counts()
        inputs = [field_of(r) for r in item.inputs]
        for k, inner in enumerate(members(item, inputs)):  # each call of a run is a row
            name = item.member(k)
            rows.append(call_row(item, prefix + name, depth, inner, weights))
            counts = rows[-1].counts()
            self.definition(item.definition, f"{prefix}{name}.", item.definition.top,
                            depth + 1, inner, rows, weights)
        return [c * item.count for c in counts]


def layer_row(item: Node, name: str, depth: int, rf: Any, weights: bool) -> Row:
    """The row of one layer, named `name`, whose receptive field is `rf`."""
    counts = _owned(list(node_figures(item).counts), weights)
    summary = item.meta.get("summary")
    if summary is None:  # one text for the node of every call of its definition
        summary = item.meta["summary"] = \
            item.op.summary(list(item.meta["in"])) if item.op else "input"
    return Row(name, item.op_name, depth, False, item.meta["shape"], *counts, rf=rf,
               summary=summary)


def call_row(item: Call, name: str, depth: int, inner: Callable[[str], Any],
             weights: bool) -> Row:
    """The row of one call of a block (with its totals); `inner` places fields inside it."""
    callee = item.definition
    counts = _owned(list(totals(callee).counts), weights)
    out = callee.outputs[0] if callee.outputs else None
    summary = callee.meta.get("call_text")
    if summary is None:
        summary = callee.meta["call_text"] = call_text(callee.block, callee.args)
    return Row(name, callee.block or callee.name, depth, True,
               callee.values[out] if out else (), *counts, rf=inner(out) if out else None,
               summary=summary)


def _owned(counts: list[int], weights: bool) -> list[int]:
    if not weights:
        counts[:BUFFERS + 1] = [0] * (BUFFERS + 1)
    return counts


def analyse(graph: Any) -> None:
    """Fill every node's meta of a flat graph with costs and receptive fields."""
    from netdsl.analysis.annotate import annotate
    if graph.nodes and "params" not in next(iter(graph)).meta:
        annotate(graph)
