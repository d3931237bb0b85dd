"""A module's forward as a body of the language: from its graph of layers (a DAG over its inputs)
to chains and merges.

Most forwards are series-parallel: a chain of layers, where a merge (`add`, `concat`, `mul`)
joins branches that fork from one tensor. Those are written as the language says them,
`add { { conv1 ... bn3 }; downsample: { ... } }`, with no names. The fork of a merge is the
nearest tensor every branch passes through (its immediate dominator). A forward that is not
series-parallel (a tensor used again much later, several outputs) is written as chains that name
the tensors they start from: `from layer3 -> ...`, `add(conv1)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from torch import fx

from netdsl.backends.pytorch.importer.elements import (
    Child,
    Element,
    From,
    Merge,
    Op,
    Output,
    Ref,
    Shared,
    Use,
)
from netdsl.backends.pytorch.importer.mapping import OpCall
from netdsl.backends.pytorch.importer.tree import Instance, Item, ModuleTree

MERGES = frozenset({"add", "concat", "mul", "sub", "div", "matmul"})
ROOT = ("root",)


class NodeRef(Ref):
    """A reference to the tensor of an fx node, named when the body is written."""

    node: fx.Node

    def __new__(cls, node: fx.Node) -> NodeRef:
        ref = super().__new__(cls, node.name)
        ref.node = node
        return ref


@dataclass
class Structured:
    """A body and what it needs named outside it (an inline group's references)."""

    body: list[Element]
    series_parallel: bool
    labels: dict[int, str] = field(default_factory=dict)  # fresh labels of items, by index


class Structurer:
    """Writes one instance's items as a body."""

    def __init__(self, inst: Instance, tree: ModuleTree, wanted: set[fx.Node],
                 taken: set[str]) -> None:
        self.inst, self.tree, self.wanted, self.taken = inst, tree, wanted, taken
        self.items = inst.items
        self.producer: dict[fx.Node, Any] = {n: ("in", k) for k, n in enumerate(inst.inputs)}
        for i, item in enumerate(self.items):
            for out in item.outputs():
                self.producer[out] = i
        self.deps = [[self.producer[n] for n in item.inputs(tree.canon)] for item in self.items]
        self.labels: dict[int, str] = {}

    # ------------------------------------------------------------ entry

    def run(self) -> Structured:
        self._name_wanted()
        body = None if self._names_a_use() else self._series_parallel()
        done = Structured(body, True, self.labels) if body is not None \
            else Structured(self._chains(), False, self.labels)
        first = next(iter(done.body), None)
        if len(self.inst.inputs) > 1 and not isinstance(first, From) \
                and not (isinstance(first, Use) and first.bind):
            # the chain starts at the first input: a block of tensor parameters has no current
            # tensor, and an inline group's is whatever its caller's chain last made
            entry = self._entry(("in", 0))
            done.body.insert(0, From(entry))
            if len(done.body) > 1 and isinstance(done.body[1], Merge):
                _start_at(done.body[1], entry)
        done.body[:0] = self._declarations()
        return done

    def _name_wanted(self) -> None:
        """Fresh labels for unlabeled items whose tensor another body refers to by name."""
        for i, item in enumerate(self.items):
            if item.label is None and item.node in self.wanted:
                self.labels[i] = self._fresh(_base(item.node))

    def _names_a_use(self) -> bool:
        """Whether a call of a shared module makes a tensor read by name (written
        `t = from x -> tower`, which only chains with names do)."""
        return any(item.shared and i in self.labels for i, item in enumerate(self.items))

    def _declarations(self) -> list[Element]:
        """`shared tower: tower_block` for each shared module this body calls, first."""
        found: dict[str, Shared] = {}
        for item in self.items:
            if item.shared and item.shared not in found:
                layer = Child(None, item.child) if item.child is not None else \
                    Op(None, _call(item.layers.calls[0]))
                found[item.shared] = Shared(item.shared, layer)
        return list(found.values())

    def _fresh(self, base: str) -> str:
        used = self.taken | {name for name, _ in self.inst.module.named_children()} \
            | {it.label for it in self.items if it.label} | set(self.labels.values())
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        return name

    def _label(self, i: int) -> str | None:
        return self.items[i].label or self.labels.get(i)

    # ------------------------------------------------------------ series-parallel

    def _series_parallel(self) -> list[Element] | None:
        if len(self.inst.outputs) != 1 or any(len(it.outputs()) != 1 for it in self.items
                                              if it.child is not None):
            return None
        if any(self._refs_inside(item) for item in self.items):
            return None
        graph = nx.DiGraph()
        graph.add_node(ROOT)
        for k in range(len(self.inst.inputs)):
            graph.add_edge(ROOT, ("in", k))
        for i, deps in enumerate(self.deps):
            graph.add_node(i)
            if not deps:
                graph.add_edge(ROOT, i)
            for d in deps:
                graph.add_edge(d, i)
        self.idom = nx.immediate_dominators(graph, ROOT)
        entries = [("in", k) for k in range(len(self.inst.inputs))]
        self.live = set(entries).union(*(nx.descendants(graph, e) for e in entries))
        self.emitted: list[int] = []
        start = entries[0] if len(entries) == 1 else ROOT
        body = self._series(start, self.producer[self.inst.outputs[0]])
        if body is None or sorted(self.emitted) != list(range(len(self.items))):
            return None
        return body

    def _refs_inside(self, item: Item) -> bool:
        """An argument naming a tensor made in this body (not one of its inputs)."""
        if item.layers is None:
            return False
        return any(isinstance(v, fx.Node) and not isinstance(self.producer.get(v), tuple)
                   for call in item.layers.calls for _, v in call.kwargs)

    def _series(self, src: Any, dst: Any) -> list[Element] | None:
        body: list[Element] = []
        v = dst
        while v != src:
            if isinstance(v, tuple):  # an input other than src
                if src == ROOT and v[0] == "in":
                    return [From(self._entry(v)), *body]
                return None
            self.emitted.append(v)
            deps = self.deps[v]
            if not deps:
                if self.items[v].layers is None or self.items[v].layers.parameter is None:
                    return None
                return self._elements(v) + body  # a parameter reads only the batch size
            if len(set(deps)) == 1 and not self._is_merge(v):
                body = self._elements(v) + body
                v = deps[0]
                continue
            if not self._is_merge(v):
                return None
            merged = self._merge(src, v)
            if merged is None:
                return None
            element, v = merged
            body.insert(0, element)
        return body

    def _is_merge(self, i: int) -> bool:
        layers = self.items[i].layers
        return layers is not None and len(layers.calls) == 1 and layers.calls[0].name in MERGES

    def _merge(self, src: Any, v: int) -> tuple[Element, Any] | None:
        deps = self.deps[v]
        live = [d for d in deps if d in self.live]
        if not live:
            return None
        fork = self._common_dominator(live)
        if not self._dominates(src, fork):
            return None
        branches = []
        for d in deps:
            branch = self._series(fork, d) if d in self.live else self._series(None, d)
            if branch is None:
                return None
            branches.append(branch)
        call = self.items[v].layers.calls[0]
        merge = OpCall(call.name, (), call.kwargs)
        return Merge(self._label(v), merge, branches, self.items[v].node), fork

    def _chain_up(self, v: Any) -> list[Any]:
        chain = [v]
        while v != ROOT:
            v = self.idom[v]
            chain.append(v)
        return chain

    def _common_dominator(self, vertices: list[Any]) -> Any:
        chains = [self._chain_up(v) for v in vertices]
        common = set(chains[0]).intersection(*map(set, chains[1:]))
        return next(v for v in chains[0] if v in common)

    def _dominates(self, a: Any, b: Any) -> bool:
        return a in self._chain_up(b)

    # ------------------------------------------------------------ elements

    def _entry(self, vertex: tuple[str, int]) -> NodeRef:
        return NodeRef(self.inst.inputs[vertex[1]])

    def _elements(self, i: int) -> list[Element]:
        item = self.items[i]
        label = self._label(i)
        if item.shared:
            return [Use(item.shared, item, outputs=item.outputs())]
        if item.child is not None:
            return [Child(label, item.child)]
        if item.unmapped is not None:
            return [Op(label, OpCall("__unmapped__", (item.unmapped.reason, item.node)))]
        ops: list[Element] = [Op(None, _call(c)) for c in item.layers.calls]
        ops[-1].label, ops[-1].node = label, item.node  # the label names the node's tensor
        if item.layers.parameter is not None or item.node.op == "call_module":
            ops[0].label, ops[-1].label = label, (label if len(ops) == 1 else None)
        return ops

    # ------------------------------------------------------------ chains with names

    def _chains(self) -> list[Element]:
        """Every item in order, each chained to the one before it when it reads that one's
        tensor, else starting at a named tensor."""
        uses: dict[Any, int] = {}
        for i, deps in enumerate(self.deps):
            for k, d in enumerate(deps):
                if not (k == 0 and d == i - 1 and not isinstance(d, tuple)):
                    uses[d] = uses.get(d, 0) + 1
        for out in self.inst.outputs:
            uses[self.producer[out]] = uses.get(self.producer[out], 0) + 1
        for i in reversed(range(len(self.items))):  # `t = from x -> tower` names x too
            if self.items[i].shared and (uses.get(i) or i in self.labels) and self.deps[i]:
                uses[self.deps[i][0]] = uses.get(self.deps[i][0], 0) + 1
        for i in range(len(self.items)):
            if uses.get(i) and self._label(i) is None:
                item = self.items[i]
                self.labels[i] = self._fresh(item.shared or (
                    _base(item.node) if item.node is not None else "t"))
        body: list[Element] = []
        # the one tensor the chain is at: an item of several outputs (a group, a block) leaves
        # it unknown, so that what reads one of them starts from it by name
        current: fx.Node | None = self.inst.inputs[0] if self.inst.inputs else None
        for i, item in enumerate(self.items):
            sources = item.inputs(self.tree.canon)
            if item.shared:
                named = self._label(i) is not None
                if sources and sources[0] is not current and not named:
                    body.append(From(NodeRef(sources[0])))
                tensors = [NodeRef(s) for s in sources] if len(sources) > 1 else []
                source = NodeRef(sources[0]) if named and sources else None
                body.append(Use(item.shared, item, tensors, self._label(i), source,
                                item.outputs()))
            elif item.child is not None and len(sources) > 1:
                body.append(Child(self._label(i), item.child, [NodeRef(s) for s in sources]))
            else:
                if sources and sources[0] is not current:
                    body.append(From(NodeRef(sources[0])))
                element = self._elements(i)
                if len(sources) > 1:
                    call = element[0].call
                    element[0] = Op(element[0].label, OpCall(
                        call.name, tuple(NodeRef(s) for s in sources[1:]) + call.args,
                        call.kwargs), element[0].node)
                body.extend(element)
            made = item.outputs()
            current = made[0] if len(made) == 1 else None
        if self.inst.outputs != [current]:
            body.append(Output([NodeRef(o) for o in self.inst.outputs]))
        return body


def _start_at(merge: Merge, current: NodeRef) -> None:
    """Drops a branch's `from` of the tensor the merge starts from: each branch starts there."""
    for branch in merge.branches:
        first = branch[0] if branch else None
        if isinstance(first, From) and isinstance(first.ref, NodeRef) \
                and first.ref.node is current.node:
            branch.pop(0)


def _call(call: OpCall) -> OpCall:
    """An operator call with its tensor arguments as references."""
    return OpCall(call.name, tuple(_refs(a) for a in call.args),
                  tuple((k, _refs(v)) for k, v in call.kwargs))


def _refs(value: Any) -> Any:
    return NodeRef(value) if isinstance(value, fx.Node) else value


def _base(node: fx.Node) -> str:
    """The name a layer that must be named starts from: torch.fx's node name without the count
    it adds (`add_6` -> `add`), so that every instance of a module names its layers alike."""
    if node.op in ("call_function", "call_method"):
        return re.sub(r"_\d+\Z", "", node.name)
    return node.name
