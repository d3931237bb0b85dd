"""From a traced model to the text of a spec: the module tree structured body by body, the
module classes used more than once generalised into blocks, the rest written inline."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import fx, nn

from netdsl.backends.pytorch.importer.elements import Call, Child, Element, Group, Merge
from netdsl.backends.pytorch.importer.generalize import ABSENT, Block, Generalizer, Instances
from netdsl.backends.pytorch.importer.names import resolve
from netdsl.backends.pytorch.importer.passes import shorten
from netdsl.backends.pytorch.importer.structure import NodeRef, Structured, Structurer
from netdsl.backends.pytorch.importer.tree import Instance, ModuleTree
from netdsl.backends.pytorch.importer.writer import Writer, value_text
from netdsl.elaborate.builtins import BUILTINS as FUNCTIONS
from netdsl.elaborate.constructs import CONSTRUCTS
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


class SpecBuilder:
    """Writes the spec of a module tree: a block for each class used more than once, the
    network's body with everything else inline."""

    def __init__(self, tree: ModuleTree, values: dict[fx.Node, Any]) -> None:
        self.tree, self.values = tree, values
        self.instances: dict[type, list[Instance]] = {}
        for inst in tree.root.walk()[:-1]:
            self.instances.setdefault(inst.cls, []).append(inst)
        self.structured: dict[int, Structured] = {}
        wanted: set[fx.Node] = set()
        for inst in tree.root.walk():
            done = Structurer(inst, tree, wanted, set()).run()
            self.structured[id(inst)] = done
            if not self.is_block(inst):
                wanted |= _references(done.body)
        self.blocks: dict[type, Block] = {}
        self.order: list[type] = []
        self.busy: set[type] = set()
        self.names: set[str] = set()

    def is_block(self, inst: Instance) -> bool:
        cls = inst.cls
        return inst is not self.tree.root and cls not in CONTAINERS \
            and len(self.instances.get(cls, ())) > 1 and cls not in getattr(self, "busy", ())

    # ------------------------------------------------------------ bodies

    def expand(self, inst: Instance) -> list[Element]:
        """The instance's body with its children written as block calls or inline groups."""
        return [self._expanded(e) for e in self.structured[id(inst)].body]

    def _expanded(self, e: Element) -> Element:
        if isinstance(e, Child):
            if self.is_block(e.instance):
                return self.call(e)
            return Group(e.label, self.expand(e.instance))
        if isinstance(e, Merge):
            return replace(e, branches=[[self._expanded(x) for x in b] for b in e.branches])
        return e

    def call(self, e: Child) -> Call:
        inst = e.instance
        block = self.block(inst.cls)
        i = next(k for k, x in enumerate(self.instances[inst.cls]) if x is inst)
        return Call(e.label, block.name, block.call_args(i), list(e.tensors),
                    list(inst.outputs), [p.name for p in block.params],
                    {p.name: p.default for p in block.params if p.default is not ABSENT})

    def block(self, cls: type) -> Block:
        if cls in self.blocks:
            return self.blocks[cls]
        self.busy.add(cls)  # a class inside itself is written inline there
        instances = self.instances[cls]
        inputs = _tensor_params(instances[0])
        bodies = []
        for inst in instances:
            known = dict(zip(inst.inputs, inputs or ["in"], strict=False))
            bodies.append(shorten(resolve(self.expand(inst), known)))
        channels = [self._channels(inst) for inst in instances]
        name = self._block_name(cls)
        block = Generalizer(name, bodies, Instances(len(instances), channels), inputs).run()
        self.busy.discard(cls)
        self.blocks[cls] = block
        self.order.append(cls)
        return block

    def _channels(self, inst: Instance) -> int | None:
        value = self.values.get(inst.inputs[0]) if inst.inputs else None
        return int(value.shape[1]) if isinstance(value, torch.Tensor) and value.dim() > 1 \
            else None

    def _block_name(self, cls: type) -> str:
        base = _snake(cls.__name__) or "block"
        if base in REGISTRY or base in KEYWORDS or base in BUILTINS or base in CONSTRUCTS:
            base += "_block"
        name, k = base, 1
        while name in self.names:
            k += 1
            name = f"{base}{k}"
        self.names.add(name)
        return name

    # ------------------------------------------------------------ text

    def network(self, name: str, figures: Figures, header: list[str]) -> str:
        inputs = {n: _input_name(n) for n in self.tree.inputs}
        body = shorten(resolve(self.expand(self.tree.root), inputs))
        lines = [f"# {h}" if h else "" for h in header]
        for cls in self.order:
            lines += ["", *self._block_text(cls)]
        lines += ["", f"network {name} {{"]
        for node, label in inputs.items():
            shape = list(node.meta["netdsl_shape"])
            lines.append(f"input {label}: {value_text(shape)}")
        lines += Writer().body(body)
        lines.append("")
        lines += _expectations(figures)
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _block_text(self, cls: type) -> list[str]:
        block = self.blocks[cls]
        params = [f"{t}: tensor" for t in block.inputs]
        for p in block.params:
            typed = f"{p.name}{_type(p)}"
            params.append(typed if p.default is ABSENT else f"{typed} = {value_text(p.default)}")
        head = f"block {block.name}({', '.join(params)}) {{" if params else \
            f"block {block.name} {{"
        origin = f"# {cls.__module__}.{cls.__qualname__}"
        return [origin, head, *Writer().body(block.body), "}"]


def _tensor_params(inst: Instance) -> list[str]:
    """Names of a block's tensor parameters when it takes several tensors."""
    if len(inst.inputs) <= 1:
        return []
    return [f"x{k}" for k in range(len(inst.inputs))]


def _type(p: Any) -> str:
    values = list(p.values.values())
    for kind, name in ((bool, "bool"), (int, "int"), (float, "float"), (list, "list")):
        if all(isinstance(v, kind) for v in values) and (kind is bool or not any(
                isinstance(v, bool) for v in values)):
            return f": {name}"
    return ""


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().strip("_")


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
    return str(node.target).lstrip("*")


def _expectations(figures: Figures) -> list[str]:
    lines = [f"expect params == {value_text(figures.params)}",
             f"expect buffers == {value_text(figures.buffers)}"]
    if figures.macs is not None:
        lines.append(f"expect macs == {value_text(figures.macs)}")
    if len(figures.outputs) == 1:
        lines.append(f"expect output == {value_text(list(figures.outputs[0]))}")
    return lines


def count(model: nn.Module, example: tuple[torch.Tensor, ...]) -> Figures:
    """Parameters, buffers, FlopCounterMode's MACs (with torch's math attention kernel, which
    it can see into) and output shapes of the source model."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers())
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
