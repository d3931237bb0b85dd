"""From syntax to graph: evaluate, instantiate, unroll, name."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from netdsl.elaborate.elaborator import Elaborator
from netdsl.elaborate.loader import Program, load_program, read_source
from netdsl.ir import Definition
from netdsl.limits import MAX_NODES


def elaborate(program: Program, network: str | None = None,
              params: dict[str, Any] | None = None, max_nodes: int = MAX_NODES,
              inputs: dict[str, tuple[int, ...]] | None = None) -> Definition:
    """Instantiate one network of `program` as the top definition of its hierarchy; `inputs`
    override input shapes."""
    with _recursion_limit(_DEPTH):
        return Elaborator(program, max_nodes, inputs).network(network, params or {})


# Blocks nest up to 64 deep (elaborate.blocks.MAX_BLOCK_DEPTH) and each level of a block body
# is about twenty Python frames (statement, chain, element, layer, call, binding, body);
# Python's default limit of 1,000 frames would stop a legal spec first.
_DEPTH = 6_000


@contextmanager
def _recursion_limit(depth: int) -> Iterator[None]:
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, depth))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


__all__ = ["Program", "elaborate", "load_program", "read_source"]
