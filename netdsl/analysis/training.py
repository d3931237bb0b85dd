"""The memory of one training step: weights, gradients, optimizer state, the activations autograd
keeps for the backward pass, and the peak of all of them through the step.

The step modelled is a steady one (`zero_grad(set_to_none=True)`, torch's default, then
forward, loss, backward, optimizer step), with the optimizer's state already made by earlier
steps. The forward pass frees what no backward reads after its last use, as at inference (a
block's caller holds its inputs until it returns), and keeps what some operator's backward
reads (`Op.saved`) until that backward has run; the backward pass runs the layers in reverse,
making the gradient of each activation at its last reader's backward and freeing it after its
producer's, and making each layer's weight gradients, which stay until the optimizer step.
Network inputs stay alive all step (the caller holds the batch). Everything about activations
scales with the batch; weights, their gradients and the optimizer's state do not.

Each distinct definition is walked once and its calls add up what it does: its forward pass
(`_Forward`, the same at every call) and its backward pass in the state a call finds at its
boundary (`_Backward`, kept per distinct state: which of its inputs already have gradients,
which gradient tensors its outputs share and with how many others).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from netdsl.analysis.annotate import node_figures
from netdsl.analysis.memory import DTYPE_BYTES, output_aliases, output_storages
from netdsl.analysis.totals import PARAMS, owns_weights
from netdsl.ir import Call, Definition, Node, port
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


def training_memory(top: Definition, params: int, buffers: int, optimizer: str,
                    batch: int = 1, dtype: str = "float32") -> Training:
    """The training step of the network whose top definition is `top`."""
    if optimizer not in OPTIMIZER_STATE:
        raise ValueError(f"unknown optimizer {optimizer!r}")
    size = DTYPE_BYTES[dtype]
    frame = _frame(top, size)
    forward = _forward(frame)
    # the loss gives each output its gradient, then the layers' backward runs, last first
    outputs = sorted({frame.base[ref] for ref in top.outputs} - frame.network_inputs)
    given = {storage: _Grad(frame.bytes[storage] * batch, 1) for storage in outputs}
    context = _Context((), tuple((given.get(frame.base[ref]), True) for ref in top.outputs),
                       True)
    backward = _backward(frame, context, batch)
    start = forward.kept * batch + sum(g.bytes for g in given.values())
    held = sum(frame.bytes[s] for s in frame.network_inputs) * batch
    worst = {"forward": forward.peak * batch if forward.peak is not None else 0,
             "backward": start + backward.peak if backward.peak is not None else 0,
             "optimizer step": held + params * size}
    phase = max(worst, key=worst.__getitem__)
    weights = (params + buffers) * size
    state = OPTIMIZER_STATE[optimizer] * params * size
    return Training(optimizer, batch, dtype, weights, params * size, state,
                    forward.saved * batch, weights + state + worst[phase], phase)


# ---------------------------------------------------------------- one call, one level deep


class _Step(NamedTuple):
    """A layer of a definition, or one call of a run, with the references it reads and
    makes."""

    item: Node | Call
    inputs: list[str]
    outputs: list[str]


@dataclass
class _Frame:
    """One call of a definition, expanded one level: its steps, the storage of each reference
    (ports are the caller's; views share their input's), the bytes of a sample of each
    storage it makes, and who reads and keeps them."""

    d: Definition
    size: int
    steps: list[_Step] = field(default_factory=list)
    base: dict[str, str] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)  # storages made here
    elements: dict[str, int] = field(default_factory=dict)  # of every reference
    made: list[list[str]] = field(default_factory=list)  # per step, the storages it makes
    last: dict[str, int] = field(default_factory=dict)  # storage -> its last reader
    savers: dict[str, list[int]] = field(default_factory=dict)  # storage -> steps keeping it
    network_inputs: set[str] = field(default_factory=set)

    @property
    def end(self) -> int:
        return len(self.steps)


def _frame(d: Definition, size: int) -> _Frame:
    """The frame of `d` (kept in `d.meta` per element size)."""
    memo = d.meta.setdefault("training_frame", {})
    found = memo.get(size)
    if found is None:
        found = memo[size] = _build_frame(d, size)
    return found


def _build_frame(d: Definition, size: int) -> _Frame:
    frame = _Frame(d, size)
    for j, shape in enumerate(d.inputs):
        frame.base[port(j)] = port(j)
        frame.elements[port(j)] = numel(shape)
    for item in d.items.values():
        if isinstance(item, Node):
            frame.steps.append(_Step(item, list(item.inputs), [item.name]))
            continue
        inputs = list(item.inputs)
        for k in range(item.count):  # each call of a run on the previous one's output
            last = k == item.count - 1
            outputs = list(item.outputs) if last else [
                f"{item.member(k)}.{ref}" for ref in item.definition.outputs]
            frame.steps.append(_Step(item, inputs, outputs))
            inputs = outputs
    for i, step in enumerate(frame.steps):
        for ref in step.inputs:
            frame.last[frame.base[ref]] = i
        frame.made.append(_storages(frame, step, i))
    for ref in d.outputs:
        frame.last[frame.base[ref]] = frame.end
    for i, step in enumerate(frame.steps):
        for storage in _kept_by(frame, step):
            frame.savers.setdefault(storage, []).append(i)
    return frame


def _storages(frame: _Frame, step: _Step, i: int) -> list[str]:
    """Register the references a step makes; the storages among them it allocates."""
    item = step.item
    made = []
    if isinstance(item, Node):
        ref = item.name
        frame.elements[ref] = numel(item.meta["shape"])
        if item.op is not None and item.op.is_view:
            frame.base[ref] = frame.base[item.inputs[0]]
            return made
        frame.base[ref] = ref
        stored = item.op is not None and item.op.stored  # a parameter, not an activation
        frame.bytes[ref] = 0 if stored else frame.elements[ref] * frame.size
        if item.op is None:
            frame.network_inputs.add(ref)
        made.append(ref)
    else:
        callee = item.definition
        first: dict[str, str] = {}  # the callee's storage -> the output that brought it
        for ref, alias, shape, (storage, elements) in zip(
                step.outputs, output_aliases(callee), callee.output_shapes(),
                output_storages(callee), strict=True):
            if ref in frame.base:
                continue  # an output that is one of the caller's own tensors
            frame.elements[ref] = numel(shape)
            if alias is not None:
                frame.base[ref] = frame.base[step.inputs[alias]]
                continue
            if storage in first:  # another view of a storage already returned
                frame.base[ref] = first[storage]
                continue
            first[storage] = frame.base[ref] = ref
            frame.bytes[ref] = elements * frame.size  # a view keeps its whole storage
            made.append(ref)
    for ref in made:
        frame.last.setdefault(ref, i)
    return made


def _kept_by(frame: _Frame, step: _Step) -> set[str]:
    """The storages a step keeps for its backward (a call: anything inside it)."""
    item = step.item
    if isinstance(item, Call):
        inner = _forward(_frame(item.definition, frame.size))
        kept = {frame.base[ref] for ref, keeps in zip(step.inputs, inner.saves_port,
                                                      strict=True) if keeps}
        kept |= {frame.base[ref] for ref, keeps in zip(step.outputs, inner.saves_output,
                                                       strict=True) if keeps}
        return kept
    if item.op is None:
        return set()
    wants = item.op.saved(list(item.meta["in"]), item.meta["shape"])
    kept = {frame.base[ref] for ref in item.inputs} if "inputs" in wants else set()
    if "output" in wants:
        kept.add(frame.base[item.name])
    return kept


def _extra(frame: _Frame, node: Node) -> int:
    """Bytes a sample of a layer keeps besides its inputs and output: max pooling's switches,
    dropout's mask, what attention keeps of its insides."""
    if node.op is None:
        return 0
    inputs, out = list(node.meta["in"]), node.meta["shape"]
    wants = node.op.saved(inputs, out)
    per_element = INDEX_BYTES * ("indices" in wants) + frame.size * ("noise" in wants)
    return per_element * numel(out) + node.op.saved_inside(inputs, out) * frame.size


def _backward_peak(frame: _Frame, node: Node, batch: int) -> int | None:
    """Bytes a layer's backward holds at its busiest above what was alive when it started
    (`Op.backward_peak`); None: no such moment beyond the gradients it makes."""
    per_sample, weights = node.op.backward_peak(list(node.meta["in"]), node.meta["shape"])
    if not per_sample:
        return None
    return (per_sample * batch + weights) * frame.size


# ---------------------------------------------------------------- the forward pass


@dataclass(frozen=True)
class _Forward:
    """One call's forward pass, in bytes of a sample: its highest point above what the caller
    holds (None: no layers), what it leaves alive when it returns, what it keeps for backward,
    and which inputs and outputs something inside keeps."""

    peak: int | None
    kept: int
    saved: int
    saves_port: tuple[bool, ...]
    saves_output: tuple[bool, ...]


def _forward(frame: _Frame) -> _Forward:
    """Kept in the definition's meta, per element size."""
    memo = frame.d.meta.setdefault("training_forward", {})
    found = memo.get(frame.size)
    if found is None:
        found = memo[frame.size] = _walk_forward(frame)
    return found


def _walk_forward(frame: _Frame) -> _Forward:
    frees: dict[int, int] = {}
    for storage, at in frame.last.items():
        if storage in frame.bytes and storage not in frame.savers and \
                storage not in frame.network_inputs and at < frame.end:
            frees[at] = frees.get(at, 0) + frame.bytes[storage]
    live = saved = 0
    peak: int | None = None
    for i, step in enumerate(frame.steps):
        item = step.item
        saved += sum(frame.bytes[s] for s in frame.made[i]
                     if s in frame.savers and not _saved_inside(frame, step, s))
        if isinstance(item, Call):
            inner = _forward(_frame(item.definition, frame.size))
            point = None if inner.peak is None else live + inner.peak
            live += inner.kept
            saved += inner.saved
        else:
            extra = _extra(frame, item)
            live += sum(frame.bytes[s] for s in frame.made[i]) + extra
            saved += extra
            point = live + node_figures(item).workspace * frame.size
        if point is not None:
            peak = point if peak is None else max(peak, point)
        live -= frees.pop(i, 0)
    d = frame.d
    return _Forward(peak, live, saved,
                    tuple(port(j) in frame.savers for j in range(len(d.inputs))),
                    tuple(frame.base[ref] in frame.savers and frame.base[ref] in frame.bytes
                          for ref in d.outputs))


def _saved_inside(frame: _Frame, step: _Step, storage: str) -> bool:
    """Whether a call's output is kept by something inside the call (counted there)."""
    if not isinstance(step.item, Call):
        return False
    inner = _forward(_frame(step.item.definition, frame.size))
    return any(keeps and frame.base[ref] == storage
               for ref, keeps in zip(step.outputs, inner.saves_output, strict=True))


# ---------------------------------------------------------------- the backward pass


class _Grad:
    """A gradient tensor: its bytes, and how many storages it is the gradient of (`add` and
    `concat` hand their output's gradient to their inputs)."""

    __slots__ = ("bytes", "users")

    def __init__(self, size: int, users: int = 0):
        self.bytes = size
        self.users = users


class _Port(NamedTuple):
    """An input of a call as its backward finds it: which of the call's inputs share a
    storage (`storage`: the first such input), the storage's bytes, whether it needs no
    gradient from the call (it has one already, or is the network's input), and whether the
    call holds the first layer that keeps it for backward (which releases it)."""

    storage: int
    bytes: int
    skip: bool
    release: bool


class _Context(NamedTuple):
    """What a call finds at its boundary when its backward starts: its inputs; for each output,
    its gradient (None for none yet, or for an output that is one of its inputs) and whether
    it is a network output (never released); whether its layers own their weights (not a
    shared module's later application)."""

    ports: tuple[_Port, ...]
    outputs: tuple[tuple[_Grad | None, bool], ...]
    weights: bool

    def gradients(self) -> list[_Grad]:
        """The distinct gradients of the outputs, in order."""
        return list({id(g): g for g, _ in self.outputs if g is not None}.values())

    def key(self) -> tuple:
        grads = self.gradients()
        index = {id(g): n for n, g in enumerate(grads)}
        outputs = tuple((None if g is None else index[id(g)], never) for g, never in self.outputs)
        return (self.ports, outputs, tuple((g.bytes, g.users) for g in grads), self.weights)


@dataclass(frozen=True)
class _Backward:
    """One call's backward pass in a context: its highest point above the bytes alive when it
    starts (None: no layers), the change in bytes alive over it, the gradient each input
    leaves with (("out", n): the gradient of output n; ("new", n): new gradient n; None),
    the (bytes, users) of each new gradient, and the users left of each output's gradient
    (0: freed inside)."""

    peak: int | None
    change: int
    port_grads: tuple[tuple[str, int] | None, ...]
    new_grads: tuple[tuple[int, int], ...]
    out_users: tuple[int, ...]


def _backward(frame: _Frame, context: _Context, batch: int) -> _Backward:
    """Kept in the definition's meta per element size, batch and context."""
    key = (frame.size, batch, context.key())
    memo = frame.d.meta.setdefault("training_backward", {})
    found = memo.get(key)
    if found is None:
        found = memo[key] = _BackwardWalk(frame, context, batch).run()
    return found


class _BackwardWalk:
    """The backward pass of one call: its steps in reverse, the gradient of each storage
    (`owner`) and the bytes alive relative to its start."""

    def __init__(self, frame: _Frame, context: _Context, batch: int):
        self.frame = frame
        self.batch = batch
        self.weights = context.weights
        # the caller's gradients of the outputs, as stand-ins with the same bytes and users
        self.outer = [_Grad(g.bytes, g.users) for g in context.gradients()]
        by_id = {id(g): stand_in for g, stand_in in zip(context.gradients(), self.outer,
                                                        strict=True)}
        self.canon: dict[str, str] = {}  # a port -> the first port on the same storage
        self.port_bytes: dict[str, int] = {}
        self.skip: set[str] = set(frame.network_inputs)
        self.never: set[str] = set(frame.network_inputs)  # storages not released here
        for j, p in enumerate(context.ports):
            storage = port(p.storage)
            self.canon[port(j)] = storage
            self.port_bytes[storage] = p.bytes
            if p.skip:
                self.skip.add(storage)
            if not p.release:
                self.never.add(storage)
        self.owner: dict[str, _Grad] = {}
        for ref, (grad, never) in zip(frame.d.outputs, context.outputs, strict=True):
            storage = self.storage(ref)
            if never:
                self.never.add(storage)
            if grad is not None:
                self.owner[storage] = by_id[id(grad)]
        self.released: dict[int, int] = {}  # step -> bytes a layer there releases
        self.releases_into: set[tuple[int, str]] = set()  # (call step, storage of an input)
        for storage, steps in frame.savers.items():
            storage = self.canon.get(storage, storage)
            if storage not in self.never:
                self.release(min(steps), storage)
        self.live = 0
        self.peak: int | None = None

    def storage(self, ref: str) -> str:
        storage = self.frame.base[ref]
        return self.canon.get(storage, storage)

    def bytes(self, storage: str) -> int:
        found = self.port_bytes.get(storage)
        return found if found is not None else self.frame.bytes.get(storage, 0) * self.batch

    def release(self, first: int, storage: str) -> None:
        """Where a storage is released: after the backward of the first layer keeping it, or
        inside the call holding that layer."""
        step = self.frame.steps[first]
        if isinstance(step.item, Node):
            self.released[first] = self.released.get(first, 0) + self.bytes(storage)
        elif storage not in self.frame.made[first]:  # an output: released inside the call
            self.releases_into.add((first, storage))

    def point(self, value: int) -> None:
        self.peak = value if self.peak is None else max(self.peak, value)

    def give(self, storage: str, gradient: _Grad | None) -> None:
        """`storage`'s gradient is `gradient`, or a new one of its size."""
        if gradient is None:
            gradient = _Grad(self.bytes(storage))
            self.live += gradient.bytes
        gradient.users += 1
        self.owner[storage] = gradient

    def drop(self, storage: str) -> None:
        gradient = self.owner.pop(storage)
        gradient.users -= 1
        if not gradient.users:
            self.live -= gradient.bytes

    def run(self) -> _Backward:
        for i in range(self.frame.end - 1, -1, -1):
            step = self.frame.steps[i]
            if isinstance(step.item, Call):
                self.call(i, step)
            elif step.item.op is not None:
                self.layer(i, step.item)
        return self.summary()

    def layer(self, i: int, node: Node) -> None:
        own = self.storage(node.name)
        passed = self.owner.get(own) if node.op.passes_gradient else None
        before = self.live
        for ref in node.inputs:
            storage = self.storage(ref)
            if storage in self.owner or storage in self.skip:
                continue
            # a narrower view (a crop, a slice) gets a gradient of its whole storage
            narrowed = self.frame.elements[ref] * self.frame.size * self.batch < \
                self.bytes(storage)
            self.give(storage, None if narrowed else passed)
        self.live += node_figures(node).counts[PARAMS] * self.frame.size \
            if self.weights and owns_weights(node) else 0  # its weights' gradients
        self.point(self.live)
        busiest = _backward_peak(self.frame, node, self.batch)
        if busiest is not None:
            self.point(before + busiest - self.freed_early(own, node))
        if own == node.name and own in self.owner:  # its producer's backward is done
            self.drop(own)
        self.live -= self.released.pop(i, 0) + _extra(self.frame, node) * self.batch

    def freed_early(self, own: str, node: Node) -> int:
        """The bytes of a layer's output gradient if its backward is the last to read it: a
        composite operator's (attention's) first step frees it before the busiest one."""
        gradient = self.owner.get(own)
        if own != node.name or gradient is None or gradient.users > 1:
            return 0
        return gradient.bytes

    def call(self, i: int, step: _Step) -> None:
        call = step.item
        made = self.frame.made[i]
        inputs = [self.storage(ref) for ref in step.inputs]
        first = {storage: inputs.index(storage) for storage in reversed(inputs)}
        ports = tuple(_Port(first[s], self.bytes(s), s in self.owner or s in self.skip,
                            (i, s) in self.releases_into) for s in inputs)
        outputs = tuple((self.owner.get(s) if s in made else None, s in self.never)
                        for s in (self.storage(ref) for ref in step.outputs))
        context = _Context(ports, outputs, self.weights and owns_weights(call))
        inner = _backward(_frame(call.definition, self.frame.size), context, self.batch)
        if inner.peak is not None:
            self.point(self.live + inner.peak)
        self.live += inner.change
        grads = context.gradients()
        for grad, users in zip(grads, inner.out_users, strict=True):
            grad.users = users
        for storage in made:
            self.owner.pop(storage, None)  # dropped inside, by its producer
        new = [_Grad(size, users) for size, users in inner.new_grads]
        for storage, given in zip(inputs, inner.port_grads, strict=True):
            if given is not None:
                kind, n = given
                self.owner[storage] = grads[n] if kind == "out" else new[n]

    def summary(self) -> _Backward:
        outer = {id(g): n for n, g in enumerate(self.outer)}
        new: dict[int, _Grad] = {}  # gradients made here for the inputs, in order
        port_grads: list[tuple[str, int] | None] = []
        for j in range(len(self.frame.d.inputs)):
            grad = self.owner.get(self.canon[port(j)])
            if grad is None:
                port_grads.append(None)
            elif id(grad) in outer:
                port_grads.append(("out", outer[id(grad)]))
            else:
                new.setdefault(id(grad), grad)
                port_grads.append(("new", list(new).index(id(grad))))
        return _Backward(self.peak, self.live, tuple(port_grads),
                         tuple((g.bytes, g.users) for g in new.values()),
                         tuple(g.users for g in self.outer))
