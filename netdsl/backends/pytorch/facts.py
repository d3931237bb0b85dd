"""What the code generator learns from the elaborated network rather than from the syntax:
which blocks are instantiated and with which arguments, and the concrete shapes that the layers
of one spec element took. The only module of the generator that reads the IR (`network.graph`),
so that the IR's rework into definitions and call sites is a change here alone.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from netdsl.errors import Span
from netdsl.ir import Graph, Node, Scope


class Facts:
    """Queries over one elaborated network."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self._by_span: dict[Span, list[Node]] | None = None  # built when first asked
        self._instances: dict[str, list[Scope]] = defaultdict(list)
        for scope in graph.scopes.values():
            if scope.kind == "block" and scope.block:
                self._instances[scope.block].append(scope)

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def params(self) -> dict[str, Any]:
        """The network's parameters as it was loaded (spec defaults and overrides)."""
        return dict(self.graph.params)

    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: self.graph[name].shape for name in self.graph.inputs}

    def arguments(self, block: str, param: str) -> list[Any]:
        """The values every instance of `block` took for `param`."""
        return [s.args[param] for s in self._instances.get(block, []) if param in s.args]

    def layers_at(self, span: Span) -> list[Node]:
        """The layers that the spec element at `span` made, in every instance and pass."""
        if self._by_span is None:
            self._by_span = defaultdict(list)
            for node in self.graph:
                if node.span is not None and node.op is not None:
                    self._by_span[node.span].append(node)
        return self._by_span.get(span, [])

    def input_sizes(self, span: Span, axis: int) -> set[int]:
        """The sizes of one axis of the first input of the layers made at `span`."""
        out = set()
        for node in self.layers_at(span):
            shape = self.graph[node.inputs[0]].shape
            if -len(shape) <= axis < len(shape):
                out.add(shape[axis])
        return out
