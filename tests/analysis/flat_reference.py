"""Reference walks over the flat layer graph (every layer of every call, in order) of the memory
analyses netdsl computes once per definition (netdsl/analysis/memory.py, training.py): the
same conventions, reckoned layer by layer, without definitions. test_hierarchy.py holds the two
equal on every spec of the zoo; test_memory.py and test_training.py hold them to torch.

The training walk is the one netdsl used before it walked definitions, with a narrowing view's
gradient (a crop's, a slice's) made at the size of its whole storage, as torch makes it.
"""

from __future__ import annotations

from itertools import pairwise

from netdsl.analysis.memory import DTYPE_BYTES
from netdsl.analysis.training import INDEX_BYTES, OPTIMIZER_STATE, Training
from netdsl.ir import Graph, Node
from netdsl.ops.base import numel


def storages(graph: Graph, in_place: bool) -> dict[str, str]:
    """The node whose storage each node's tensor lives in: itself, its input's for a view, or
    (`in_place`: at inference, as compiled) for dropout, the input itself in eval mode, and for
    an in-place activation on the output of an overwritable layer of the same block that
    nothing else reads."""
    escapes = {scope.output for scope in graph.scopes.values() if scope.kind == "block"}
    escapes |= set(graph.outputs.values())
    base: dict[str, str] = {}
    for node in graph:
        shares = node.op is not None and (
            node.op.is_view or node.op.inference_identity and in_place
            or in_place and _in_place(graph, node, escapes))
        base[node.name] = base[node.inputs[0]] if shares else node.name
    return base


def _in_place(graph: Graph, node: Node, escapes: set[str]) -> bool:
    if not node.op.in_place or len(node.inputs) != 1:
        return False
    source = graph[node.inputs[0]]
    return source.op is not None and source.op.overwritable and \
        _blocks(graph, source) == _blocks(graph, node) and \
        graph.users(source.name) == [node.name] and source.name not in escapes


def _blocks(graph: Graph, node: Node) -> list[str]:
    return [s for s in node.scope if graph.scopes[s].kind == "block"]


def last_uses(graph: Graph, base: dict[str, str]) -> dict[str, int]:
    """Per storage, the position after which nothing holds it: its last reader, or the last
    layer of the outermost block that reads it from outside (a block's caller holds its
    inputs until it returns); the network's inputs and outputs: the end."""
    nodes = list(graph)
    position = {node.name: i for i, node in enumerate(nodes)}
    block_end: dict[str, int] = {}
    for i, node in enumerate(nodes):
        for scope in node.scope:
            block_end[scope] = i
    last: dict[str, int] = {}
    for i, node in enumerate(nodes):
        last.setdefault(base[node.name], i)
        for src in node.inputs:
            storage = base[src]
            maker = set(nodes[position[storage]].scope)
            ends = [block_end[s] for s in _blocks(graph, node) if s not in maker]
            last[storage] = max(last[storage], i, *ends)
    for name in [*graph.inputs, *graph.outputs.values()]:
        last[base[name]] = len(nodes)
    for scope, source in _chains(graph):  # an nn.Sequential's caller holds its input
        last[base[source]] = max(last[base[source]], block_end[scope])
    return last


def _chains(graph: Graph) -> list[tuple[str, str]]:
    """(scope, the tensor it starts from) for each labeled group or repeat whose parts (its
    layers, and its blocks taken whole) each read only the part before it."""
    out = []
    for name, scope in graph.scopes.items():
        if scope.kind not in ("group", "repeat"):
            continue
        parts = _parts(graph, scope.children)
        if not parts or len(parts[0][0]) != 1:
            continue
        if all(reads == {made} for (_, made), (reads, _) in pairwise(parts)):
            out.append((name, next(iter(parts[0][0]))))
    return out


def _parts(graph: Graph, children: list[str]) -> list[tuple[set[str], str]]:
    """(what it reads from outside itself, what it makes) for each layer or block among
    `children`, groups opened."""
    out = []
    for child in children:
        scope = graph.scopes.get(child)
        if scope is None:
            out.append((set(graph[child].inputs), child))
        elif scope.kind == "block":
            inside = {n.name for n in graph if child in n.scope}
            reads = {i for n in graph if child in n.scope for i in n.inputs if i not in inside}
            out.append((reads, scope.output))
        else:
            out += _parts(graph, scope.children)
    return out


def flat_memory(graph: Graph) -> tuple[int, int]:
    """(elements of every activation, in-place ones included, and the most alive at once in
    the inference forward pass)."""
    base = storages(graph, in_place=True)
    last = last_uses(graph, base)
    total = live = peak = 0
    frees: dict[int, int] = {}
    for i, node in enumerate(graph):
        workspace = node.meta.get("workspace", 0)
        elements = node.meta["elements"]
        total += workspace + elements * (node.op is None or not node.op.is_view)
        if base[node.name] == node.name:
            live += elements
            frees[last[node.name]] = frees.get(last[node.name], 0) + elements
        peak = max(peak, live + workspace)
        live -= frees.pop(i, 0)
    return total, peak


def flat_training(graph: Graph, params: int, buffers: int, optimizer: str, batch: int = 1,
                  dtype: str = "float32") -> Training:
    """One training step's memory, walking the flat, annotated graph."""
    size = DTYPE_BYTES[dtype]
    step = _Step(graph, size)
    phases = {"forward": step.forward(), "backward": step.backward(),
              "optimizer step": [(step.held, params * size)]}
    worst = {name: max(s * batch + f for s, f in points) for name, points in phases.items()}
    phase = max(worst, key=worst.__getitem__)
    weights = (params + buffers) * size
    state = OPTIMIZER_STATE[optimizer] * params * size
    return Training(optimizer, batch, dtype, weights, params * size, state,
                    step.saved_at_end * batch, weights + state + worst[phase], phase)


class _Step:
    """The storages of a flat graph and who reads and keeps them; points are (bytes per
    sample, fixed bytes)."""

    def __init__(self, graph: Graph, size: int):
        self.nodes: list[Node] = list(graph)
        self.size = size
        self.base = storages(graph, in_place=False)
        self.last = last_uses(graph, self.base)
        self.bytes: dict[str, int] = {}
        self.inputs: set[str] = set()
        self.saver: dict[str, int] = {}  # storage -> first position whose backward reads it
        self.extra: dict[int, int] = {}  # position -> bytes of switches or masks it keeps
        self.outputs = {self.base[name] for name in graph.outputs.values()}
        self.elements = {node.name: numel(node.meta["shape"]) for node in self.nodes}
        for i, node in enumerate(self.nodes):
            self.storage(i, node)
        self.held = sum(self.bytes[s] for s in self.inputs)

    def storage(self, i: int, node: Node) -> None:
        name = node.name
        if self.base[name] == name:
            self.bytes[name] = node.meta["elements"] * self.size
        if node.op is None:
            self.inputs.add(name)
            return
        shape = node.meta["shape"]
        kept = node.op.saved(list(node.meta["in"]), shape)
        if "inputs" in kept:
            for src in node.inputs:
                self.saver.setdefault(self.base[src], i)
        if "output" in kept:
            self.saver.setdefault(self.base[name], i)
        extra = (INDEX_BYTES * ("indices" in kept) + self.size * ("noise" in kept)) * \
            numel(shape) + node.op.saved_inside(list(node.meta["in"]), shape) * self.size
        if extra:
            self.extra[i] = extra

    def forward(self) -> list[tuple[int, int]]:
        end = len(self.nodes)
        frees: dict[int, int] = {}
        for storage, at in self.last.items():
            if storage not in self.saver and storage not in self.inputs and at < end:
                frees[at] = frees.get(at, 0) + self.bytes.get(storage, 0)
        live = 0
        points = []
        for i, node in enumerate(self.nodes):
            if self.base[node.name] == node.name:
                live += self.bytes[node.name]
            live += self.extra.get(i, 0)
            points.append((live + node.meta.get("workspace", 0) * self.size, 0))
            live -= frees.pop(i, 0)
        self.alive_at_end = live
        self.saved_at_end = sum(self.bytes.get(s, 0) for s in self.saver) + sum(
            self.extra.values())
        return points

    def backward(self) -> list[tuple[int, int]]:
        released: dict[int, int] = {}
        for storage, at in self.saver.items():
            if storage not in self.inputs and storage not in self.outputs:
                released[at] = released.get(at, 0) + self.bytes.get(storage, 0)
        self.live = self.alive_at_end
        self.owner: dict[str, str] = {}  # activation -> the gradient tensor it uses
        self.users: dict[str, int] = {}  # gradient tensor -> activations using it
        for storage in sorted(self.outputs - self.inputs):  # the loss's gradient of them
            self.give(storage, storage)
        weight_grads = 0
        points = []
        for i in range(len(self.nodes) - 1, -1, -1):
            node = self.nodes[i]
            if node.op is None:
                continue
            own = self.base[node.name]
            passed = self.owner.get(own) if node.op.passes_gradient else None
            before, grads_before = self.live, weight_grads
            for src in node.inputs:
                storage = self.base[src]
                if storage not in self.owner and storage not in self.inputs:
                    narrowed = self.elements[src] * self.size < self.bytes[storage]
                    self.give(storage, storage if narrowed else passed or storage)
            weight_grads += node.meta["params"] * self.size
            points.append((self.live, weight_grads))
            per_sample, weights = node.op.backward_peak(list(node.meta["in"]), node.meta["shape"])
            if per_sample:  # freed first: the output's gradient, if no other layer reads it
                gradient = self.owner.get(own) if own == node.name else None
                freed = self.bytes.get(gradient, 0) if self.users.get(gradient) == 1 else 0
                points.append((before + per_sample * self.size - freed,
                               grads_before + weights * self.size))
            if own == node.name and own in self.owner:  # its producer's backward is done
                self.drop(own)
            self.live -= released.pop(i, 0) + self.extra.get(i, 0)
        return points

    def give(self, storage: str, gradient: str) -> None:
        self.owner[storage] = gradient
        self.users[gradient] = self.users.get(gradient, 0) + 1
        if gradient == storage:
            self.live += self.bytes.get(storage, 0)

    def drop(self, storage: str) -> None:
        gradient = self.owner.pop(storage)
        self.users[gradient] -= 1
        if not self.users[gradient]:
            del self.users[gradient]
            self.live -= self.bytes.get(gradient, 0)
