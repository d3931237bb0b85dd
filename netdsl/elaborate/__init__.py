"""From syntax to graph: evaluate, instantiate, unroll, name."""

from __future__ import annotations

from typing import Any

from netdsl.elaborate.elaborator import Elaborator
from netdsl.elaborate.loader import Program, load_program, read_source
from netdsl.gc_pause import paused_gc
from netdsl.ir import Graph
from netdsl.limits import MAX_NODES


def elaborate(program: Program, network: str | None = None,
              params: dict[str, Any] | None = None, max_nodes: int = MAX_NODES,
              inputs: dict[str, tuple[int, ...]] | None = None) -> Graph:
    """Instantiate one network of `program` as a graph; `inputs` override input shapes."""
    with paused_gc():
        return Elaborator(program, max_nodes, inputs).network(network, params or {})


__all__ = ["Program", "elaborate", "load_program", "read_source"]
