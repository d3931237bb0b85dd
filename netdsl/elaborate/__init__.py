"""From syntax to graph: evaluate, instantiate, unroll, name."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from netdsl.elaborate.cache import DefinitionCache
from netdsl.elaborate.elaborator import Elaborator
from netdsl.elaborate.loader import Program, load_program, read_source
from netdsl.ir import Definition
from netdsl.limits import MAX_NODES


def elaborate(program: Program, network: str | None = None,
              params: dict[str, Any] | None = None, max_nodes: int = MAX_NODES,
              inputs: dict[str, tuple[int, ...]] | None = None,
              cache: DefinitionCache | None = None) -> Definition:
    """Instantiate one network of `program` as the top definition of its hierarchy; `inputs`
    override input shapes. `cache` shares block definitions with earlier elaborations of the
    same program (a sweep)."""
    with _recursion_limit(_DEPTH):
        return Elaborator(program, max_nodes, inputs, cache).network(network, params or {})


def check_parameters(program: Program, network: str | None, names: Sequence[str],
                     inputs: Sequence[str] = ()) -> None:
    """Raise `NetdslError` unless every name is a parameter of the network and every input
    name one it declares (a sweep checks its axes before it elaborates any variant)."""
    elaborator = Elaborator(program, MAX_NODES, None, None)
    net = elaborator.pick(network)
    elaborator.check_parameter_names(net, dict.fromkeys(names))
    elaborator.check_input_names(net, inputs)


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


__all__ = ["Program", "check_parameters", "elaborate", "load_program", "read_source"]
