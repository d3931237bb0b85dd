"""Activation memory: the peak of live activation elements in an inference forward pass run
as the compiled module runs it, computed once per definition.

The convention is the compiled module's (docs/language.md, "peak live activation bytes"):
layers run in order and each tensor is freed after its last reader, except where a Python
frame holds it. The caller of the network holds its inputs for the whole pass; a block is a
module, and its caller holds the tensors it passes in until the block returns (the argument
of `forward`, the loop variable of an `nn.Sequential`), and so does the caller of a labeled
group that is one chain, which runs as an `nn.Sequential`. A block's outputs live until it
returns. Views (flatten, reshape, crop) share their input's storage: they add no bytes and
keep the whole storage alive as long as they are used, also once a block has returned one;
a flatten or reshape of axes a crop or a permute left apart is a copy, as in torch (each
reference's strides are followed; a block's inputs are taken to be laid out whole).
Parameters used as tensors (a class token) are stored, not activations. An operator's
workspace (what Swin's window attention holds beyond its output: its q, k, v and scores)
counts among the activations and is alive, with the operator's inputs and output, while it
runs.
"""

from __future__ import annotations

from functools import cached_property
from itertools import pairwise

from netdsl.analysis.annotate import node_figures
from netdsl.ir import Call, Definition, Node, Scope, port
from netdsl.ops.base import Strides, contiguous_strides, numel

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}


def live_curve(top: Definition) -> list[tuple[str, int]]:
    """The live activation elements while each layer runs, in the order of the forward pass,
    by dotted layer name: the curve whose highest point is `peak_elements(top)`."""
    points: list[tuple[str, int]] = []
    _Schedule(top).trace("", 0, points)
    return points


def peak_elements(d: Definition) -> int:
    """The peak of live activation elements during one call of `d`, beyond the inputs its
    caller holds until it returns (the network's own inputs, nodes of the top definition,
    are counted and live to the end). Kept in `d.meta`."""
    found = d.meta.get("peak")
    if found is None:
        found = d.meta["peak"] = _schedule(d).run()
    return found


def _schedule(d: Definition) -> _Schedule:
    """`d`'s schedule, made once (kept in `d.meta`): `run` and `trace` leave it as it is."""
    found = d.meta.get("schedule")
    if found is None:
        found = d.meta["schedule"] = _Schedule(d)
    return found


class _Schedule:
    """One call of a definition: its storages, their sizes and last readers, and the walk.
    Its ports are the caller's tensors, held by the caller: they count 0 here."""

    def __init__(self, d: Definition):
        self.d = d
        self.items = list(d.items.values())
        self.base: dict[str, str] = {}  # reference -> the storage it lives in
        self.size: dict[str, int] = {}  # storage -> elements
        self.last: dict[str, int] = {}  # storage -> position of its last reader
        self.made: dict[int, int] = {}  # position of a call -> elements of what it makes
        self.strides: dict[str, Strides] = {}  # reference -> its steps over its storage
        end = len(self.items)
        self.readers: dict[str, int] = {}  # reference -> how many items read it (or return it)
        for ref in [*(r for item in self.items for r in item.inputs), *d.outputs]:
            self.readers[ref] = self.readers.get(ref, 0) + 1
        for j, shape in enumerate(d.inputs):
            self.base[port(j)] = port(j)
            self.size[port(j)] = 0
            self.strides[port(j)] = contiguous_strides(shape)  # as a caller's layer made it
        for i, item in enumerate(self.items):
            for ref in item.inputs:
                self.last[self.base[ref]] = i
            self.storages(i, item)
        for ref in [*d.outputs, *d.network_inputs]:
            self.last[self.base[ref]] = end
        self.hold_chain_inputs()

    def hold_chain_inputs(self) -> None:
        """A labeled group that is one chain runs as an nn.Sequential, whose caller holds its
        input until the chain returns (as the code generator writes it)."""
        position = {name: i for i, name in enumerate(self.d.items)}
        for scope in self.d.scopes.values():
            names = _chain(self.d, scope)
            if names:
                held = self.base[self.d.items[names[0]].inputs[0]]
                self.last[held] = max(self.last[held], position[names[-1]])

    def storages(self, i: int, item: Node | Call) -> None:
        if isinstance(item, Call):
            callee = item.definition
            first: dict[str, str] = {}  # the callee's storage -> the output that brought it
            for ref, alias, storage, strides in zip(item.outputs, output_aliases(callee),
                                                    output_storages(callee),
                                                    _schedule(callee).output_strides,
                                                    strict=True):
                if ref in self.base:
                    continue  # an output that is one of the caller's own tensors
                self.strides[ref] = strides
                if alias is not None:
                    self.base[ref] = self.base[item.inputs[alias]]
                elif storage[0] in first:  # another view of a storage already returned
                    self.base[ref] = first[storage[0]]
                else:
                    first[storage[0]] = self.base[ref] = ref
                    self.size[ref] = storage[1]
                    self.last.setdefault(ref, i)
                    self.made[i] = self.made.get(i, 0) + self.size[ref]
        elif _shares(item) or self.overwrites(item):
            strides = self.view_strides(item)
            if strides is None:  # a reshape of what a crop or a permute left apart: a copy
                self.new_storage(i, item)
                return
            self.base[item.name] = self.base[item.inputs[0]]
            self.strides[item.name] = strides
        else:
            self.new_storage(i, item)

    def view_strides(self, node: Node) -> Strides | None:
        """The strides of a layer that shares its input's storage; None where torch copies."""
        strides = self.strides[node.inputs[0]]
        if node.op is None or not node.op.is_view:
            return strides  # the input itself (dropout), or overwritten in place
        return node.op.view_strides(list(node.meta["in"]), strides, node.meta["shape"])

    @cached_property
    def output_strides(self) -> list[Strides]:
        return [self.strides[r] for r in self.d.outputs]

    @cached_property
    def aliases(self) -> list[int | None]:
        ports = {port(j): j for j in range(len(self.d.inputs))}
        return [ports.get(self.base[ref]) for ref in self.d.outputs]

    @cached_property
    def returned(self) -> list[tuple[str, int]]:
        return [(self.base[r], self.size[self.base[r]]) for r in self.d.outputs]

    def new_storage(self, i: int, item: Node) -> None:
        self.strides[item.name] = contiguous_strides(item.meta["shape"])
        self.base[item.name] = item.name
        stored = item.op is not None and item.op.stored  # a parameter, not an activation
        self.size[item.name] = 0 if stored else numel(item.meta["shape"])
        self.last.setdefault(item.name, i)

    def overwrites(self, node: Node) -> bool:
        """Whether the layer runs in place, its output its input's storage: an `in_place`
        operator on the tensor an `overwritable` layer of the same definition made, which
        nothing else reads (the compiled module's rule)."""
        if node.op is None or not node.op.in_place or len(node.inputs) != 1:
            return False
        source = self.d.items.get(node.inputs[0])
        return isinstance(source, Node) and source.op is not None and \
            source.op.overwritable and self.readers[source.name] == 1

    def frees(self) -> dict[int, int]:
        """Elements freed after each position."""
        frees: dict[int, int] = {}
        for storage, position in self.last.items():
            frees[position] = frees.get(position, 0) + self.size[storage]
        return frees

    def run(self) -> int:
        frees = self.frees()
        live = peak = 0
        for i, item in enumerate(self.items):
            if isinstance(item, Call):
                peak = max(peak, self.call_peak(i, item, live))
                live += self.made.get(i, 0)
            else:
                if self.base[item.name] == item.name:
                    live += self.size[item.name]
                peak = max(peak, live + node_figures(item).workspace)
            live -= frees.pop(i, 0)
        return peak

    def trace(self, prefix: str, offset: int, points: list[tuple[str, int]]) -> None:
        """Append (layer, live elements while it runs) for every layer of this call, nested
        calls included, as `run` walks them; `offset`: elements the callers hold."""
        frees = self.frees()
        live = 0
        for i, item in enumerate(self.items):
            if isinstance(item, Call):
                self.call_trace(i, item, live, prefix, offset, points)
                live += self.made.get(i, 0)
            else:
                if self.base[item.name] == item.name:
                    live += self.size[item.name]
                points.append((prefix + item.name,
                               offset + live + node_figures(item).workspace))
            live -= frees.pop(i, 0)

    def held_later(self, i: int, call: Call, live: int) -> int:
        """What the caller holds during the second and later calls of a run: the previous
        call's output instead of the run's input, if nothing after the run reads that."""
        freed = sum(self.size[s] for s in dict.fromkeys(self.base[r] for r in call.inputs)
                    if self.last[s] == i)
        return live - freed + output_storages(call.definition)[0][1]

    def repeats(self, call: Call) -> bool:
        """A run whose later calls hold a new tensor (not a view of the run's input)."""
        return call.count > 1 and output_aliases(call.definition) == [None]

    def call_peak(self, i: int, call: Call, live: int) -> int:
        """The peak during a call: what the caller holds (its inputs included) and the
        callee's own peak; the later calls of a run hold the previous call's output."""
        inner = peak_elements(call.definition)
        peak = live + inner
        if self.repeats(call):
            peak = max(peak, self.held_later(i, call, live) + inner)
        return peak

    def call_trace(self, i: int, call: Call, live: int, prefix: str, offset: int,
                   points: list[tuple[str, int]]) -> None:
        """`trace` into each member of a call, as `call_peak` reckons them."""
        schedule = _schedule(call.definition)
        schedule.trace(f"{prefix}{call.name}.", offset + live, points)
        held = self.held_later(i, call, live) if self.repeats(call) else live
        for k in range(1, call.count):
            schedule.trace(f"{prefix}{call.member(k)}.", offset + held, points)


def output_aliases(d: Definition) -> list[int | None]:
    """For each output of `d`, the input whose storage it is (a view of it, or the input
    itself), else None."""
    return _schedule(d).aliases


def output_storages(d: Definition) -> list[tuple[str, int]]:
    """For each output of `d`, the storage it lives in (named in `d`) and that storage's
    elements: a view returned by a block (a crop of a larger map) keeps all of its storage
    alive in the caller. Meaningless for an output that is one of `d`'s inputs (see
    `output_aliases`)."""
    return _schedule(d).returned


def _shares(node: Node) -> bool:
    """Whether a layer's output lives in its input's storage at inference: a view, or the
    input itself (dropout in eval mode)."""
    return node.op is not None and (node.op.is_view or node.op.inference_identity)


def _chain(d: Definition, scope: Scope) -> list[str]:
    """The items of a labeled group or repeat, in order, when each reads only the one before
    it (the first, the tensor the group starts from); else []."""
    if scope.kind not in ("group", "repeat"):
        return []
    names = _items_in(d, scope)
    items = [d.items[n] for n in names]
    if not items or len(items[0].inputs) != 1:
        return []
    for before, item in pairwise(items):
        made = before.outputs if isinstance(before, Call) else [before.name]
        if list(item.inputs) != made[:1] or len(made) != 1:
            return []
    return names


def _items_in(d: Definition, scope: Scope) -> list[str]:
    """The names of the items inside a scope, nested scopes' included, in order."""
    out: list[str] = []
    for child in scope.children:
        inner = d.scopes.get(child)
        out += _items_in(d, inner) if inner is not None else [child]
    return out
