"""From a traced model to the text of a spec: the module tree structured body by body, the
module classes used more than once generalised into blocks, the rest written inline."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import fx, nn

from netdsl.backends.pytorch.importer.elements import (
    Call,
    Child,
    Element,
    Group,
    Merge,
    Output,
    Shared,
)
from netdsl.backends.pytorch.importer.generalize import ABSENT, Block, Generalizer, Instances
from netdsl.backends.pytorch.importer.names import resolve
from netdsl.backends.pytorch.importer.passes import shorten, unhide
from netdsl.backends.pytorch.importer.report import inside
from netdsl.backends.pytorch.importer.structure import NodeRef, Structured, Structurer
from netdsl.backends.pytorch.importer.tree import Instance, ModuleTree
from netdsl.backends.pytorch.importer.writer import Writer, value_text
from netdsl.elaborate.builtins import BUILTINS as FUNCTIONS
from netdsl.elaborate.constructs import CONSTRUCTS
from netdsl.names import spec_name
from netdsl.ops import REGISTRY
from netdsl.syntax.keywords import KEYWORDS

BUILTINS = frozenset(FUNCTIONS)

# Containers whose instances share nothing but their class: always written inline.
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


@dataclass
class Figures:
    """What the source model says about itself, for the spec's `expect` lines."""

    params: int
    buffers: int
    macs: int | None
    outputs: list[tuple[int, ...]]


Kind = tuple[type, int, int]


def kind(inst: Instance) -> Kind:
    """What the instances of one block share: their class, and how many tensors they take and
    make (timm's DlaTree takes a second tensor only where it is not the first of its level)."""
    return inst.cls, len(inst.inputs), len(inst.outputs)


class SpecBuilder:
    """Writes the spec of a module tree: a block for each kind of instance used more than once,
    the network's body with everything else inline. An instance holding one of its own kind
    (a recursive module: timm's DlaTree of two DlaTrees) is written inline around their calls."""

    def __init__(self, tree: ModuleTree, values: dict[fx.Node, Any]) -> None:
        self.tree, self.values = tree, values
        self.instances: dict[Kind, list[Instance]] = {}
        for inst in tree.root.walk()[:-1]:
            if (inst.cls not in CONTAINERS or inst.shared) and not inst.synthetic \
                    and not _holds_own_kind(inst):
                self.instances.setdefault(kind(inst), []).append(inst)
        self.structured: dict[int, Structured] = {}
        wanted: set[fx.Node] = set()
        for inst in tree.root.walk():
            done = Structurer(inst, tree, wanted, set()).run()
            self.structured[id(inst)] = done
            if not self.is_block(inst):
                wanted |= _references(done.body)
        self.blocks: dict[Kind, Block] = {}
        self.order: list[Kind] = []
        self.busy: set[Kind] = set()  # kinds being made: one met again is written inline
        self.names: set[str] = set()

    def is_block(self, inst: Instance) -> bool:
        same = self.instances.get(kind(inst), [])
        return len(same) > 1 and any(x is inst for x in same)

    # ------------------------------------------------------------ bodies

    def expand(self, inst: Instance) -> list[Element]:
        """The instance's body with its children written as block calls or inline groups."""
        return [self._expanded(e) for e in self.structured[id(inst)].body]

    def _expanded(self, e: Element) -> Element:
        if isinstance(e, Shared) and isinstance(e.layer, Child):  # a module, so a block
            return replace(e, layer=self.call(e.layer))
        if isinstance(e, Child):
            if self.is_block(e.instance) and kind(e.instance) not in self.busy:
                return self.call(e)
            # an inline group's several outputs are read by their paths: an `output` in it
            # would be the network's (LR-ASPP's backbone, an IntermediateLayerGetter)
            return Group(e.label, [x for x in self.expand(e.instance)
                                   if not isinstance(x, Output)])
        if isinstance(e, Merge):
            return replace(e, branches=[[self._expanded(x) for x in b] for b in e.branches])
        return e

    def call(self, e: Child) -> Call:
        inst = e.instance
        block = self.block(kind(inst))
        i = next(k for k, x in enumerate(self.instances[kind(inst)]) if x is inst)
        return Call(e.label, block.name, block.call_args(i), list(e.tensors),
                    list(inst.outputs), [p.name for p in block.params],
                    {p.name: p.default for p in block.params if p.default is not ABSENT})

    def block(self, key: Kind) -> Block:
        if key in self.blocks:
            return self.blocks[key]
        self.busy.add(key)
        instances = self.instances[key]
        inputs = _tensor_params(instances[0], set().union(*map(self._labels, instances)))
        bodies = []
        for inst in instances:
            known = dict(zip(inst.inputs, inputs or ["in"], strict=False))
            bodies.append(shorten(resolve(self.expand(inst), known)))
        channels = [self._channels(inst) for inst in instances]
        name = self._block_name(key[0], instances[0].label)
        facts = Instances(len(instances), channels, inputs[0] if inputs else "in")
        block = Generalizer(name, bodies, facts, inputs).run()
        self.busy.discard(key)
        self.blocks[key] = block
        self.order.append(key)
        return block

    def _labels(self, inst: Instance) -> set[str]:
        """The names an instance's body gives (its layers' labels, its shared modules'), which
        its tensor inputs' names must not be (`self.x = nn.Conv2d(...)` in `forward(self, x)`)."""
        given = {name for item in inst.items for name in (item.label, item.shared) if name}
        return given | set(self.structured[id(inst)].labels.values())

    def _channels(self, inst: Instance) -> int | None:
        value = self.values.get(inst.inputs[0]) if inst.inputs else None
        return int(value.shape[1]) if isinstance(value, torch.Tensor) and value.dim() > 1 \
            else None

    def _block_name(self, cls: type, label: str | None) -> str:
        """The class's name (a shared container's block, its label's)."""
        base = _snake(label if cls in CONTAINERS and label else cls.__name__)
        if base in REGISTRY or base in KEYWORDS or base in BUILTINS or base in CONSTRUCTS:
            base += "_block"
        base = spec_name(base, "block")
        name, k = base, 1
        while name in self.names:
            k += 1
            name = f"{base}{k}"
        self.names.add(name)
        return name

    # ------------------------------------------------------------ text

    def network(self, name: str, figures: Figures, header: list[str]) -> str:
        inputs: dict[fx.Node, str] = {}
        taken = self._labels(self.tree.root)
        for node in self.tree.inputs:
            inputs[node] = _unused(_input_name(node), taken | set(inputs.values()))
        body = unhide(shorten(resolve(self.expand(self.tree.root), inputs)))
        lines = [f"# {h}" if h else "" for h in header]
        for key in self.order:
            lines += ["", *self._block_text(key)]
        lines += ["", f"network {name} {{"]
        for node, label in inputs.items():
            shape = list(node.meta["netdsl_shape"])
            lines.append(f"input {label}: {value_text(shape)}")
        lines += Writer().body(body)
        lines.append("")
        lines += _expectations(figures)
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _block_text(self, key: Kind) -> list[str]:
        block, cls = self.blocks[key], key[0]
        params = [f"{t}: tensor" for t in block.inputs]
        for p in block.params:
            typed = f"{p.name}{_type(p)}"
            params.append(typed if p.default is ABSENT else f"{typed} = {value_text(p.default)}")
        head = f"block {block.name}({', '.join(params)}) {{" if params else \
            f"block {block.name} {{"
        origin = f"# {cls.__module__}.{cls.__qualname__}"
        return [origin, head, *Writer().body(unhide(block.body)), "}"]


def _holds_own_kind(inst: Instance) -> bool:
    return any(kind(inner) == kind(inst) for inner in inst.walk()[:-1])


def _tensor_params(inst: Instance, taken: set[str]) -> list[str]:
    """Names of a block's tensor parameters when it takes several tensors (`x0`, `x1`; `x_0`
    where the body labels a layer `x0`)."""
    if len(inst.inputs) <= 1:
        return []
    prefix = "x"
    while any(f"{prefix}{k}" in taken for k in range(len(inst.inputs))):
        prefix += "_"
    return [f"{prefix}{k}" for k in range(len(inst.inputs))]


def _unused(base: str, taken: set[str]) -> str:
    """`base`, or `base` numbered (`x2`) where the body labels a layer `base`."""
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}{k}"
    return name


def _type(p: Any) -> str:
    values = list(p.values.values())
    for kind, name in ((bool, "bool"), (int, "int"), (float, "float"), (list, "list")):
        if all(isinstance(v, kind) for v in values) and (kind is bool or not any(
                isinstance(v, bool) for v in values)):
            return f": {name}"
    return ""


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().strip("_")


def network_name(python_name: str) -> str:
    """A class's or a factory's name as a network's (`ResNet` -> `res_net`)."""
    return spec_name(_snake(python_name), "model")


def _references(body: list[Element]) -> set[fx.Node]:
    """The tensors a body names that may be made outside it."""
    found: set[fx.Node] = set()

    def visit(value: Any) -> None:
        if isinstance(value, NodeRef):
            found.add(value.node)
        elif isinstance(value, (list, tuple)):
            for v in value:
                visit(v)
        elif hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                if name not in ("instance", "node"):
                    visit(getattr(value, name))

    visit(body)
    return found


def _input_name(node: fx.Node) -> str:
    return spec_name(str(node.target).lstrip("*"), "x")  # forward(self, input): input_


def _expectations(figures: Figures) -> list[str]:
    lines = [f"expect params == {value_text(figures.params)}",
             f"expect buffers == {value_text(figures.buffers)}"]
    if figures.macs is not None:
        lines.append(f"expect macs == {value_text(figures.macs)}")
    if len(figures.outputs) == 1:
        lines.append(f"expect output == {value_text(list(figures.outputs[0]))}")
    return lines


def count(model: nn.Module, example: tuple[torch.Tensor, ...],
          left_out: Sequence[str] = ()) -> Figures:
    """Parameters, buffers, FlopCounterMode's MACs (with torch's math attention kernel, which
    it can see into) and output shapes of the source model; the parameters and buffers of the
    submodules `left_out` (never called, so not in the spec) are not counted."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode
    params = sum(p.numel() for name, p in model.named_parameters() if not inside(name, left_out))
    buffers = sum(b.numel() for name, b in model.named_buffers() if not inside(name, left_out))
    try:
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            result = model(*example)
        macs = counter.get_total_flops() // 2
    except Exception:  # noqa: BLE001 - a model FlopCounterMode cannot count has no MACs line
        macs, result = None, None
    return Figures(params, buffers, macs, _shapes(result))


def _shapes(result: Any) -> list[tuple[int, ...]]:
    if isinstance(result, torch.Tensor):
        return [tuple(result.shape[1:])]
    if isinstance(result, dict):
        result = list(result.values())
    if isinstance(result, (list, tuple)):
        return [s for r in result for s in _shapes(r)]
    return []
