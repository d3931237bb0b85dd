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
        self._axes: dict[tuple[str, bool], int] = {}
        self._analysed = False
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

    def input_channel_axis(self, name: str) -> int:
        """The axis of a network input that carries its channels: 0, or the last for a map
        or a sequence whose readers take their channels from its last axis ([H, W, C],
        [tokens, dim]), as the receptive-field analysis lays it out."""
        self._analyse()
        layout = getattr(self.graph[name].meta.get("rf"), "layout", None)
        return len(layout) - 1 if layout is not None and layout[-1] == () else 0

    def arguments(self, block: str, param: str) -> list[Any]:
        """The values every instance of `block` took for `param`."""
        return [s.args[param] for s in self._instances.get(block, []) if param in s.args]

    def channel_axis(self, block: str, output: bool = False) -> int:
        """The axis of a block's input (or output) that carries its channels: 0 (channels
        first) unless every instance's input is a map laid out channels last (Swin's
        [H, W, C]), whose last axis carries no axis of the image, as the receptive-field
        analysis records."""
        key = (block, output)
        if key not in self._axes:
            self._axes[key] = self._channel_axis(block, output)
        return self._axes[key]

    def _channel_axis(self, block: str, output: bool) -> int:
        found = set()
        for scope in self._instances.get(block, []):
            source = scope.output if output else self._input_of(scope)
            if source is None:
                return 0
            self._analyse()
            rf = self.graph[source].meta.get("rf")
            layout = getattr(rf, "layout", None)
            shape = self.graph[source].shape
            if layout is None:  # channels first, or a field that lost its layout (global)
                continue
            free = [i for i, carried in enumerate(layout) if not carried]
            found.add(free[0] if len(shape) >= 3 and free == [len(shape) - 1] else 0)
        return found.pop() if len(found) == 1 else 0

    def _analyse(self) -> None:
        if not self._analysed:
            from netdsl.analysis import analyse
            analyse(self.graph)
            self._analysed = True

    def _input_of(self, scope: Scope) -> str | None:
        inside = {n.name for n in self.graph.scope_nodes(scope.name)}
        for node in self.graph.scope_nodes(scope.name):
            for src in node.inputs:
                if src not in inside:
                    return src
        return None

    def call_sizes(self, block: str, span: Span) -> tuple[int, ...] | None:
        """The sizes, but the channels', of the input of the calls of `block` written at
        `span`; None unless they all agree."""
        found = set()
        into = self.channel_axis(block)
        for scope in self._instances.get(block, []):
            source = self._input_of(scope) if scope.span == span else None
            if source is not None:
                found.add(self._sizes(source, into))
        return found.pop() if len(found) == 1 else None

    def output_sizes(self, block: str, sizes: tuple[int, ...], args: dict[str, Any]
                     ) -> tuple[int, ...] | None:
        """The sizes, but the channels', of the one output every instance of `block` with
        `args` makes from an input of `sizes`; None unless there is one such instance and
        they all agree."""
        found = set()
        into, out = self.channel_axis(block), self.channel_axis(block, output=True)
        for scope in self._instances.get(block, []):
            source = self._input_of(scope)
            if source is None or scope.output is None or \
                    any(k not in scope.args or scope.args[k] != v for k, v in args.items()):
                continue
            if self._sizes(source, into) == tuple(sizes):
                found.add(self._sizes(scope.output, out))
        return found.pop() if len(found) == 1 else None

    def _sizes(self, ref: str, channel_axis: int) -> tuple[int, ...]:
        """The shape of a tensor of the graph without its channels."""
        return tuple(d for i, d in enumerate(self.graph[ref].shape) if i != channel_axis)

    def ties(self) -> list[tuple[str, str, str]]:
        """(layer, attribute, layer): each weight one layer shares with another, by the
        flat names that are also the compiled module's paths."""
        return [(node.name, attribute, target) for node in self.graph
                for attribute, target in node.meta.get("ties", {}).items()]

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
