"""The graph IR: nodes in topological (creation) order, viewable as a networkx DiGraph, plus the
scope tree that gives layers their dotted names."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netdsl.ir.node import Node, Scope

if TYPE_CHECKING:
    import networkx


@dataclass(eq=False)
class Expectation:
    """An `expect` statement waiting for the analyses, with the values it may refer to: the
    labels of its body and its shared modules by the dotted names of their layers (a shared
    module's name is its first call's), and `scope`, the dotted name of the body's first call
    (empty in a network), before which a relative layer name is looked for."""

    expr: Any
    env: Any
    labels: dict[str, str]
    shared: dict[str, str] = field(default_factory=dict)
    scope: str = ""


@dataclass(eq=False)
class Graph:
    """A whole network after elaboration."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    scopes: dict[str, Scope] = field(default_factory=dict)
    top: list[str] = field(default_factory=list)  # names directly in the network body
    inputs: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # output name -> node name
    expectations: list[Expectation] = field(default_factory=list)
    _users: dict[str, dict[str, None]] = field(default_factory=dict, repr=False)
    _by_scope: tuple[int, dict[str, list[Node]]] | None = field(default=None, repr=False)

    def add(self, node: Node) -> Node:
        self.nodes[node.name] = node
        users = self._users
        for src in node.inputs:
            if src in users:
                users[src][node.name] = None
            else:
                users[src] = {node.name: None}
        return node

    @property
    def nx(self) -> networkx.DiGraph:
        """The graph as a networkx DiGraph (edge attribute `index`: the input position).

        Built on demand: importing networkx takes longer than a whole `netdsl stats`, so the
        analyses work on `nodes` and `users` instead.
        """
        import networkx
        digraph = networkx.DiGraph()
        for node in self.nodes.values():
            digraph.add_node(node.name)
            for index, src in enumerate(node.inputs):
                digraph.add_edge(src, node.name, index=index)
        return digraph

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def users(self, name: str) -> list[str]:
        return list(self._users.get(name, ()))

    def scope_nodes(self, scope: str) -> list[Node]:
        """All nodes inside a scope, in order. From an index of every scope, built once (per
        size of the graph): asking each of 20,000 scopes by scanning every node would take
        20,000 scans."""
        if self._by_scope is None or self._by_scope[0] != len(self.nodes):
            index: dict[str, list[Node]] = {}
            for node in self.nodes.values():
                for name in node.scope:
                    index.setdefault(name, []).append(node)
            self._by_scope = (len(self.nodes), index)
        return list(self._by_scope[1].get(scope, ()))

    def output_nodes(self) -> list[Node]:
        return [self.nodes[n] for n in self.outputs.values()]
