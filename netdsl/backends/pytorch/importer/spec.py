"""From a traced model to the text of a spec: the module tree structured body by body, the
module classes used more than once generalised into blocks, the rest written inline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from netdsl.backends.pytorch.importer.elements import Call, Child, Element, Group
from netdsl.backends.pytorch.importer.names import resolve
from netdsl.backends.pytorch.importer.structure import NodeRef, Structured, Structurer
from netdsl.backends.pytorch.importer.tree import Instance, ModuleTree
from netdsl.backends.pytorch.importer.writer import Writer, value_text

# Containers whose instances share nothing but their class: always written inline.
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


@dataclass
class Figures:
    """What the source model says about itself, for the spec's `expect` lines."""

    params: int
    buffers: int
    macs: int | None
    outputs: list[tuple[int, ...]]


@dataclass
class SpecBuilder:
    tree: ModuleTree
    structured: dict[int, Structured] = field(default_factory=dict)

    def __post_init__(self) -> None:
        wanted: set[fx.Node] = set()
        for inst in self.tree.root.walk():
            done = Structurer(inst, self.tree, wanted, set()).run()
            self.structured[id(inst)] = done
            if not self.is_block(inst):
                wanted |= _references(done.body)

    def is_block(self, inst: Instance) -> bool:
        return False

    def expand(self, inst: Instance) -> list[Element]:
        """The instance's body with its children written as groups or block calls."""
        return [self._expanded(e) for e in self.structured[id(inst)].body]

    def _expanded(self, e: Element) -> Element:
        if isinstance(e, Child):
            if self.is_block(e.instance):
                raise NotImplementedError
            return Group(e.label, self.expand(e.instance))
        from netdsl.backends.pytorch.importer.elements import Merge
        if isinstance(e, Merge):
            e.branches = [[self._expanded(x) for x in b] for b in e.branches]
        return e

    def network(self, name: str, figures: Figures, header: list[str]) -> str:
        inputs = {n: _input_name(n) for n in self.tree.inputs}
        body = resolve(self.expand(self.tree.root), inputs)
        lines = [f"# {h}" if h else "" for h in header]
        lines.append(f"network {name} {{")
        for node, label in inputs.items():
            shape = list(node.meta["netdsl_shape"])
            lines.append(f"input {label}: {value_text(shape)}")
        lines += Writer().body(body)
        lines.append("")
        lines += _expectations(figures)
        lines.append("}")
        return "\n".join(lines) + "\n"


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
