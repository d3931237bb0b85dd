"""One line of the per-layer table."""

from __future__ import annotations

from typing import Any, NamedTuple

from netdsl.analysis.cost import COUNTS
from netdsl.analysis.receptive_field import Field


class Row(NamedTuple):
    """One line of the per-layer table: a layer, or a block/group with its subtotals. A tuple:
    a deep network has hundreds of thousands of rows, made at the cost of a tuple."""

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

    def placed(self, name: str, rf: Any) -> Row:
        """The same figures for another call of the same definition."""
        _, op, depth, block, output, params, buffers, macs, flops, connections, _, summary = self
        return tuple.__new__(Row, (name, op, depth, block, output, params, buffers, macs, flops,
                                   connections, rf, summary))

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
