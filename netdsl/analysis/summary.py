"""Runs every analysis and assembles `Stats`: totals, per operator, and per-layer rows (blocks
with subtotals). Totals come from each distinct definition once; the rows, one per layer of
the flat network, are made only when asked for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from netdsl.analysis.cost import COUNTS
from netdsl.analysis.memory import DTYPE_BYTES, peak_elements
from netdsl.analysis.row import Row
from netdsl.analysis.rows import rows
from netdsl.analysis.totals import totals
from netdsl.analysis.training import Training
from netdsl.gc_pause import paused_gc
from netdsl.ir import Definition
from netdsl.ops import REGISTRY

__all__ = ["Row", "Stats", "analyse", "summarize"]


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
        notes=_notes(by_op), rows=lambda: rows(top), **counts)


def _notes(by_op: dict[str, dict[str, int]]) -> list[str]:
    """The memory notes of the operators used, with how many layers each concerns."""
    out = []
    for name, acc in by_op.items():
        note = REGISTRY[name].memory_note if name in REGISTRY else None
        if note:
            layers = acc["count"]
            out.append(f"{name} ({layers} layer{'s' if layers != 1 else ''}): {note}")
    return out


def analyse(graph: Any) -> None:
    """Fill every node's meta of a flat graph with costs and receptive fields."""
    from netdsl.analysis.annotate import annotate
    if graph.nodes and "params" not in next(iter(graph)).meta:
        annotate(graph)
