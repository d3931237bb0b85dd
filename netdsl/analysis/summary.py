"""Runs every analysis and assembles `Stats`: per-layer rows (blocks with subtotals) and totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netdsl.analysis.annotate import annotate
from netdsl.analysis.cost import COUNTS, Counts
from netdsl.analysis.memory import DTYPE_BYTES, activation_memory
from netdsl.analysis.receptive_field import Field
from netdsl.elaborate.values import show
from netdsl.gc_pause import paused_gc
from netdsl.ir import Graph
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

    def as_dict(self) -> dict[str, Any]:
        rf = self.rf.as_dict() if isinstance(self.rf, Field) else self.rf
        return {"name": self.name, "op": self.op, "depth": self.depth, "block": self.is_block,
                "output": list(self.output), "params": self.params, "buffers": self.buffers,
                "macs": self.macs, "flops": self.flops, "connections": self.connections,
                "rf": rf}


@dataclass
class Stats:
    """Everything `netdsl stats` reports about one network."""

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
    layers: list[Row] = field(default_factory=list)
    by_op: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the figures leave out, and why

    @property
    def trainable_params(self) -> int:
        return self.params

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
            "layers": [r.as_dict() for r in (self.layers if rows is None else rows)],
        }

    def row(self, name: str) -> Row:
        for r in self.layers:
            if r.name == name:
                return r
        raise KeyError(name)


def analyse(graph: Graph) -> None:
    """Fill every node's meta with costs and receptive fields (shapes are already there)."""
    if graph.nodes and "params" not in next(iter(graph)).meta:
        annotate(graph)


def summarize(graph: Graph, dtype: str = "float32") -> Stats:
    with paused_gc():
        return _summarize(graph, dtype)


def _summarize(graph: Graph, dtype: str) -> Stats:
    analyse(graph)
    size = DTYPE_BYTES[dtype]
    by_op = _by_op(graph)
    totals = {k: sum(acc[k] for acc in by_op.values()) for k in COUNTS}
    elements, peak = activation_memory(graph)
    stats = Stats(
        network=graph.name,
        inputs={n: graph[n].shape for n in graph.inputs},
        outputs={k: graph[v].shape for k, v in graph.outputs.items()},
        activation_elements=elements, activation_bytes=elements * size,
        peak_activation_bytes=peak * size,
        param_bytes=(totals["params"] + totals["buffers"]) * size, dtype=dtype, **totals)
    stats.layers = _rows(graph)
    stats.by_op = dict(sorted(by_op.items(), key=lambda kv: -kv[1]["flops"]))
    stats.notes = _notes(by_op)
    return stats


def _notes(by_op: dict[str, dict[str, int]]) -> list[str]:
    """The memory notes of the operators used, with how many layers each concerns."""
    out = []
    for name, acc in by_op.items():
        note = REGISTRY[name].memory_note if name in REGISTRY else None
        if note:
            layers = acc["count"]
            out.append(f"{name} ({layers} layer{'s' if layers != 1 else ''}): {note}")
    return out


def _rows(graph: Graph) -> list[Row]:
    """The scope tree in order: each block's row, with its subtotals, before its contents."""
    rows: list[Row] = []
    _walk(graph, graph.top, 1, rows)
    return rows


def _walk(graph: Graph, names: list[str], depth: int, rows: list[Row]) -> Counts:
    """Append the rows of `names` and their contents; return the counts they add up to."""
    params = buffers = macs = flops = connections = 0
    scopes, nodes = graph.scopes, graph.nodes
    for name in names:
        scope = scopes.get(name)
        if scope is None:
            node = nodes[name]
            m = node.meta
            row = Row(name, node.op_name, depth, False, m["shape"], m["params"], m["buffers"],
                      m["macs"], m["flops"], m["connections"], m["rf"],
                      node.op.summary() if node.op else "input")
            rows.append(row)
        else:
            at = len(rows)
            rows.append(None)  # type: ignore[arg-type]  # filled once the subtotals are known
            counts = _walk(graph, scope.children, depth + 1, rows)
            out = graph[scope.output] if scope.output else None
            row = rows[at] = Row(name, scope.block or scope.kind, depth, True,
                                 out.shape if out else (), *counts,
                                 rf=out.meta["rf"] if out else None, summary=_call_text(scope))
        params += row.params
        buffers += row.buffers
        macs += row.macs
        flops += row.flops
        connections += row.connections
    return params, buffers, macs, flops, connections


def _call_text(scope: Any) -> str:
    if scope.kind != "block":
        return scope.kind
    args = ", ".join(f"{k}={show(v)}" for k, v in scope.args.items())
    return f"{scope.block}({args})"


def _by_op(graph: Graph) -> dict[str, dict[str, int]]:
    """Count and totals per operator, in order of first appearance."""
    out: dict[str, dict[str, int]] = {}
    for node in graph:
        op_name = node.op_name
        acc = out.get(op_name)
        if acc is None:
            acc = out[op_name] = {"count": 0, **dict.fromkeys(COUNTS, 0)}
        acc["count"] += 1
        meta = node.meta
        for k in COUNTS:
            acc[k] += meta[k]
    return out
