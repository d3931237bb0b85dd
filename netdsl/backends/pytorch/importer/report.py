"""The calls of a traced model that no operator describes, each as a located error.

An import never drops a call: a spec that left one out would describe another network (and its
state_dict would not load, or its outputs would differ). Each call is reported at the line of the
model's own source that made it, with the module it was made in.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import fx, nn

from netdsl.backends.pytorch.importer.trace import source_line
from netdsl.backends.pytorch.importer.tree import Instance, ModuleTree
from netdsl.errors import Diagnostic, NetdslError

HELP = ("netdsl writes only specs it can prove equal to the model; make this part of the model "
        "a module or function netdsl maps (see `netdsl ops`), or ask for the operator")


def check_mapped(tree: ModuleTree) -> None:
    """Raise one located error for every call of `tree` that no operator describes, and for
    every module called at several sites that cannot be written as a shared module."""
    calls: dict[tuple[object, ...], list[tuple[Instance, fx.Node, str]]] = {}
    for inst in tree.root.walk():
        for item in inst.items:
            if item.unmapped is not None and item.node is not None:
                span = source_line(item.node)
                line = (span.path, span.line) if span is not None else (inst.cls,)
                target = None if item.node.op == "get_attr" else item.node.target
                calls.setdefault((*line, item.node.op, target), []).append(
                    (inst, item.node, item.unmapped.reason))
    found = [_unmapped(*same[0], tree.root.module, len(same) - 1) for same in calls.values()]
    found += tree.problems
    if found:
        raise NetdslError(found)


def _unmapped(inst: Instance, node: fx.Node, reason: str, model: nn.Module,
              others: int) -> Diagnostic:
    """One call no operator describes, reported once for all the calls its line makes (in
    every instance of a class: MaxViT's 176 attention layers)."""
    where = f"module '{inst.path}' ({inst.cls.__qualname__})" if inst.path else \
        f"model {inst.cls.__qualname__}"
    also = f" (and {others} more call{'s' if others > 1 else ''} of this line)" if others else ""
    return Diagnostic(f"cannot import {_described(node, model)} in {where}: {reason}{also}",
                      source_line(node), "unmapped", help=HELP)


def _described(node: fx.Node, model: nn.Module) -> str:
    target = node.target
    if node.op == "call_function":
        return f"`{getattr(target, '__name__', str(target))}`"
    if node.op == "call_method":
        return f"`.{target}()`"
    if node.op == "call_module":  # `1` of a Sequential says little without its class
        return f"`{target}` ({type(model.get_submodule(str(target))).__qualname__})"
    return f"`{target}`"


def inside(name: str, modules: Sequence[str]) -> bool:
    """Whether the parameter or buffer `name` belongs to one of `modules` (as `uncalled`
    finds them: left out of the spec, its counts and the weights its module takes)."""
    return any(name.startswith(f"{module}.") for module in modules)


def uncalled(model: nn.Module, graph: fx.Graph) -> list[str]:
    """The outermost submodules holding weights or buffers that the traced forward never uses
    (GoogLeNet's auxiliary classifiers in eval mode): the spec cannot describe them, so its
    header names them."""
    used = [str(n.target) for n in graph.nodes if n.op in ("call_module", "get_attr")]
    state = [name for name, _ in model.named_parameters()] + \
        [name for name, _ in model.named_buffers()]
    unused = [s for s in state if not any(s == u or s.startswith(u + ".") for u in used)]
    found: list[str] = []
    for name, _ in model.named_modules():
        if not name or any(name.startswith(f + ".") for f in found):
            continue
        inside = [s for s in state if s.startswith(name + ".")]
        if inside and all(s in unused for s in inside):
            found.append(name)
    return found
