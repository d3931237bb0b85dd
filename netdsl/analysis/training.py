"""The memory of one training step: weights, gradients, optimizer state, the activations autograd
keeps for the backward pass, and the peak of all of them through the step.

The step modelled is a steady one (`zero_grad(set_to_none=True)`, torch's default, then
forward, loss, backward, optimizer step), with the optimizer's state already made by earlier
steps. The forward pass frees what no backward reads after its last use, as at inference, and
keeps what some operator's backward reads (`Op.saved`) until that backward has run; the
backward pass runs the layers in reverse, making the gradient of each activation at its last
reader's backward and freeing it after its producer's, and making each layer's weight
gradients, which stay until the optimizer step. Network inputs stay alive all step (the caller
holds the batch). Everything about activations scales with the batch; weights, their gradients
and the optimizer's state do not. The walk is over the flat layer graph, in the order of the
forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.analysis.memory import DTYPE_BYTES, last_uses, storage_of
from netdsl.ir import Graph, Node
from netdsl.ops.base import numel

# Tensors of optimizer state per parameter: SGD with momentum keeps one buffer, Adam two
# (exp_avg, exp_avg_sq); their one-element step counters are left out.
OPTIMIZER_STATE = {"sgd": 1, "adam": 2}
INDEX_BYTES = 8  # max pooling's switches are int64


@dataclass(frozen=True)
class Training:
    """The training-step figures at one batch size, in bytes."""

    optimizer: str
    batch: int
    dtype: str
    weight_bytes: int  # parameters and buffers
    gradient_bytes: int  # one per parameter
    optimizer_bytes: int  # the optimizer's state
    saved_bytes: int  # activations kept for backward at the end of the forward pass
    peak_bytes: int  # all of it alive at once at the step's worst moment
    peak_phase: str  # "forward", "backward" or "optimizer step"

    def as_dict(self) -> dict[str, object]:
        return {"optimizer": self.optimizer, "batch": self.batch, "dtype": self.dtype,
                "weight_bytes": self.weight_bytes, "gradient_bytes": self.gradient_bytes,
                "optimizer_bytes": self.optimizer_bytes, "saved_bytes": self.saved_bytes,
                "peak_bytes": self.peak_bytes, "peak_phase": self.peak_phase}


@dataclass(frozen=True)
class Point:
    """The bytes alive at one moment of the step: `scaled` grows with the batch (activations
    and their gradients, per sample), `fixed` does not (weight gradients made so far)."""

    scaled: int
    fixed: int = 0

    def at(self, batch: int) -> int:
        return self.scaled * batch + self.fixed


def training_memory(graph: Graph, params: int, buffers: int, optimizer: str, batch: int = 1,
                    dtype: str = "float32") -> Training:
    """The training step of the flat, annotated `graph` (see `analysis.analyse`)."""
    if optimizer not in OPTIMIZER_STATE:
        raise ValueError(f"unknown optimizer {optimizer!r}")
    size = DTYPE_BYTES[dtype]
    step = _Step(graph, size)
    phases = {"forward": step.forward(), "backward": step.backward(),
              "optimizer step": [Point(step.held, params * size)]}
    worst = {name: max(p.at(batch) for p in points) for name, points in phases.items()}
    phase = max(worst, key=worst.__getitem__)
    weights = (params + buffers) * size
    state = OPTIMIZER_STATE[optimizer] * params * size
    return Training(optimizer, batch, dtype, weights, params * size, state,
                    step.saved_at_end * batch, weights + state + worst[phase], phase)


class _Step:
    """The storages of a flat graph and who reads them, forward and backward (bytes per
    sample)."""

    def __init__(self, graph: Graph, size: int):
        self.nodes: list[Node] = list(graph)
        self.size = size
        self.base = storage_of(graph)
        self.last = last_uses(graph, self.base)
        self.bytes: dict[str, int] = {}
        self.inputs: set[str] = set()
        self.saver: dict[str, int] = {}  # storage -> first position whose backward reads it
        self.extra: dict[int, int] = {}  # position -> bytes of switches or masks it keeps
        self.outputs = {self.base[name] for name in graph.outputs.values()}
        for i, node in enumerate(self.nodes):
            self.storage(i, node)
        self.held = sum(self.bytes[s] for s in self.inputs)
        self.saved_at_end = 0

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
            numel(shape)
        if extra:
            self.extra[i] = extra

    def forward(self) -> list[Point]:
        """Alive while each layer runs: what is kept for backward stays."""
        end = len(self.nodes)
        frees: dict[int, int] = {}
        for storage, at in self.last.items():
            if storage not in self.saver and storage not in self.inputs and at < end:
                frees[at] = frees.get(at, 0) + self.bytes.get(storage, 0)
        live = 0
        points = []
        for i, node in enumerate(self.nodes):
            name = node.name
            if self.base[name] == name:
                live += self.bytes[name]
            live += self.extra.get(i, 0)
            points.append(Point(live + node.meta.get("workspace", 0) * self.size))
            live -= frees.pop(i, 0)
        self.alive_at_end = live
        self.saved_at_end = sum(self.bytes.get(s, 0) for s in self.saver) + sum(
            self.extra.values())
        return points

    def backward(self) -> list[Point]:
        """Alive while each layer's backward runs, last layer first. A layer that passes its
        output's gradient on (`Op.passes_gradient`: add, concat) gives its inputs that tensor
        rather than new ones; a gradient tensor is freed once every activation using it has
        had its producer's backward run."""
        if not hasattr(self, "alive_at_end"):
            self.forward()
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
            for src in node.inputs:
                storage = self.base[src]
                if storage not in self.owner and storage not in self.inputs:
                    self.give(storage, passed or storage)
            weight_grads += node.meta["params"] * self.size
            points.append(Point(self.live, weight_grads))
            if own == node.name and own in self.owner:  # its producer's backward is done
                self.drop(own)
            self.live -= released.pop(i, 0) + self.extra.get(i, 0)
        return points

    def give(self, storage: str, gradient: str) -> None:
        """`storage`'s gradient is the tensor `gradient` (made now if it is its own)."""
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
