"""Activation memory: total bytes of all activations, and the peak live bytes of an inference
forward pass that frees each tensor right after its last use (the torch backend's schedule).

Views (flatten, reshape) share their input's storage: they add no bytes and keep the storage
alive as long as they are used. Network inputs are live from the start; outputs to the end.
Parameters used as tensors (a class token) are stored, not activations. An operator's
workspace (the attention matrices of Swin's window attention) counts among the activations
and is alive, with the operator's inputs and output, while it runs.
"""

from __future__ import annotations

from netdsl.analysis.annotate import node_figures
from netdsl.ir import Call, Definition, Graph, Node, port
from netdsl.ops.base import numel

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}


def storage_of(graph: Graph) -> dict[str, str]:
    """The node whose storage each node's tensor lives in (itself, or its base for views)."""
    base: dict[str, str] = {}
    for node in graph:
        if node.op is not None and node.op.is_view:
            base[node.name] = base[node.inputs[0]]
        else:
            base[node.name] = node.name
    return base


def last_uses(graph: Graph, base: dict[str, str] | None = None) -> dict[str, int]:
    """For each storage, the position of the last node that reads it (outputs: the end).

    One walk: positions only grow, so the latest reader overwrites; a storage is entered at
    its own position when created, which stands if nothing reads it."""
    base = base if base is not None else storage_of(graph)
    last: dict[str, int] = {}
    for position, node in enumerate(graph):
        for src in node.inputs:
            last[base[src]] = position
        last.setdefault(base[node.name], position)
    for name in graph.outputs.values():
        last[base[name]] = len(graph)
    return last


def activation_memory(graph: Graph) -> tuple[int, int]:
    """(elements of every activation, the largest number alive at once), in one walk."""
    return _walk_forward(graph, storage_of(graph))


def peak_live_elements(graph: Graph) -> int:
    """The largest number of activation elements alive at once during the forward pass."""
    return _walk_forward(graph, storage_of(graph))[1]


def activation_elements(graph: Graph) -> int:
    """Elements of every activation the pass produces (views excluded, inputs included)."""
    return _walk_forward(graph, storage_of(graph))[0]


def _walk_forward(graph: Graph, base: dict[str, str]) -> tuple[int, int]:
    """Run the schedule: allocate each storage, free it after its last use; return the total
    allocated and the peak."""
    last = last_uses(graph, base)
    total = 0
    live = 0
    peak = 0
    frees: dict[int, int] = {}
    for i, node in enumerate(graph):
        name = node.name
        meta = node.meta
        if base[name] == name:
            elements = meta["elements"]
            total += elements
            live += elements
            frees[last[name]] = frees.get(last[name], 0) + elements
        workspace = meta.get("workspace", 0)
        total += workspace
        peak = max(peak, live + workspace)
        live -= frees.pop(i, 0)
    return total, peak


# ---------------------------------------------------------------- over definitions


def live_curve(top: Definition) -> list[tuple[str, int]]:
    """The live activation elements while each layer runs, in the order of the forward pass,
    by dotted layer name: the curve whose highest point is `peak_elements(top)`."""
    points: list[tuple[str, int]] = []
    _Schedule(top, ()).trace("", 0, points)
    return points


def peak_elements(d: Definition, dying: tuple[bool, ...] = ()) -> int:
    """The peak of live activation elements during one call of `d`, its inputs included while
    they live. `dying[j]`: the caller reads input j no more, so it is freed after its last use
    inside `d`; otherwise it outlives the call. A block's outputs live until it returns (as a
    module's forward returns them). Kept per `dying` in `d.meta`."""
    memo = d.meta.setdefault("peak", {})
    found = memo.get(dying)
    if found is None:
        found = memo[dying] = _Schedule(d, dying).run()
    return found


class _Schedule:
    """One call of a definition: storages, their last uses, and the walk."""

    def __init__(self, d: Definition, dying: tuple[bool, ...]):
        self.d = d
        self.items = list(d.items.values())
        self.base: dict[str, str] = {}  # reference -> the storage it lives in
        self.size: dict[str, int] = {}  # storage -> elements
        self.last: dict[str, int] = {}  # storage -> position of its last reader
        end = len(self.items)
        for j, shape in enumerate(d.inputs):
            ref = port(j)
            self.base[ref] = ref
            self.size[ref] = numel(shape)
        for i, item in enumerate(self.items):
            for ref in item.inputs:
                self.last[self.base[ref]] = i
            self.storages(i, item)
        for ref in d.outputs:
            self.last[self.base[ref]] = end
        for j in range(len(d.inputs)):
            if j >= len(dying) or not dying[j] or port(j) not in self.last:
                self.last[port(j)] = end

    def storages(self, i: int, item: Node | Call) -> None:
        if isinstance(item, Call):
            aliases = output_aliases(item.definition)
            for ref, alias in zip(item.outputs, aliases, strict=True):
                if ref in self.base:
                    continue  # an output that is one of the caller's own tensors
                if alias is not None:
                    self.base[ref] = self.base[item.inputs[alias]]
                else:
                    self.base[ref] = ref
                    self.size[ref] = numel(self.d.values[ref])
                    self.last.setdefault(ref, i)
        elif item.op is not None and item.op.is_view:
            self.base[item.name] = self.base[item.inputs[0]]
        else:
            self.base[item.name] = item.name
            stored = item.op is not None and item.op.stored  # a parameter, not an activation
            self.size[item.name] = 0 if stored else numel(item.meta["shape"])
            self.last.setdefault(item.name, i)

    def frees(self) -> dict[int, int]:
        """Elements freed after each position."""
        frees: dict[int, int] = {}
        for storage, position in self.last.items():
            frees[position] = frees.get(position, 0) + self.size[storage]
        return frees

    def run(self) -> int:
        frees = self.frees()
        live = sum(self.size[port(j)] for j in range(len(self.d.inputs)))
        peak = live
        for i, item in enumerate(self.items):
            if isinstance(item, Call):
                peak = max(peak, self.call_peak(i, item, live))
                for ref in item.outputs:
                    if self.base.get(ref) == ref and ref in self.size:
                        live += self.size[ref]
            else:
                if self.base[item.name] == item.name:
                    live += self.size[item.name]
                peak = max(peak, live + node_figures(item).workspace)
            peak = max(peak, live)
            live -= frees.pop(i, 0)
        return peak

    def trace(self, prefix: str, offset: int, points: list[tuple[str, int]]) -> None:
        """Append (layer, live elements while it runs) for every layer of this call, nested
        calls included, as `run` walks them; `offset`: elements the callers hold."""
        frees = self.frees()
        live = sum(self.size[port(j)] for j in range(len(self.d.inputs)))
        for i, item in enumerate(self.items):
            if isinstance(item, Call):
                self.call_trace(i, item, live, prefix, offset, points)
                for ref in item.outputs:
                    if self.base.get(ref) == ref and ref in self.size:
                        live += self.size[ref]
            else:
                if self.base[item.name] == item.name:
                    live += self.size[item.name]
                points.append((prefix + item.name,
                               offset + live + node_figures(item).workspace))
            live -= frees.pop(i, 0)

    def call_trace(self, i: int, call: Call, live: int, prefix: str, offset: int,
                   points: list[tuple[str, int]]) -> None:
        """`trace` into each member of a call, as `call_peak` reckons them."""
        storages = list(dict.fromkeys(self.base[r] for r in call.inputs))
        held = sum(self.size[s] for s in storages)
        dying = tuple(self.last[self.base[r]] == i for r in call.inputs)
        callee = call.definition
        _Schedule(callee, dying).trace(f"{prefix}{call.name}.", offset + live - held, points)
        if call.count > 1:
            later, held = dying, held
            if output_aliases(callee) == [None]:
                later = (True,)
                held = sum(self.size[s] for s in storages if self.last[s] == i)
            schedule = _Schedule(callee, later)
            for k in range(1, call.count):
                schedule.trace(f"{prefix}{call.member(k)}.", offset + live - held, points)

    def call_peak(self, i: int, call: Call, live: int) -> int:
        """The peak during a call (each call of a run: the second and later ones take the
        previous output, which dies in them)."""
        storages = list(dict.fromkeys(self.base[r] for r in call.inputs))
        held = sum(self.size[s] for s in storages)
        dying = tuple(self.last[self.base[r]] == i for r in call.inputs)
        peak = live - held + peak_elements(call.definition, dying)
        if call.count > 1 and output_aliases(call.definition) == [None]:
            # after the first call its dying inputs are gone and its output is held; each
            # later call holds the previous output instead, which dies in it
            freed = sum(self.size[s] for s in storages if self.last[s] == i)
            peak = max(peak, live - freed + peak_elements(call.definition, (True,)))
        return peak


def output_aliases(d: Definition) -> list[int | None]:
    """For each output of `d`, the input whose storage it is (a view of it, or the input
    itself), else None (kept in `d.meta`)."""
    found = d.meta.get("aliases")
    if found is None:
        base: dict[str, int] = {port(j): j for j in range(len(d.inputs))}
        for item in d.items.values():
            if isinstance(item, Call):
                for ref, alias in zip(item.outputs, output_aliases(item.definition), strict=True):
                    if alias is not None and item.inputs[alias] in base:
                        base.setdefault(ref, base[item.inputs[alias]])
            elif item.op is not None and item.op.is_view and item.inputs[0] in base:
                base[item.name] = base[item.inputs[0]]
        found = d.meta["aliases"] = [base.get(ref) for ref in d.outputs]
    return found
