"""Applications of shared modules: one `Instance` (one set of weights) called at several sites.

The declaration `shared head: retina_head(256, 9)` binds the instance's non-tensor arguments;
each application binds its tensors (`from p3 -> head`, or `head(p3)` for a block with tensor
parameters) and reuses the definition for its input shapes. Applications are named after the
instance: `head`, `head#2`, `head#3`; none takes a position in the sequence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netdsl.elaborate.blocks import TENSOR_TYPES
from netdsl.elaborate.frame import Current, Site
from netdsl.elaborate.values import LayerRef
from netdsl.errors import SpecError
from netdsl.ir import Call, Instance
from netdsl.ops import REGISTRY
from netdsl.syntax import ast

if TYPE_CHECKING:
    from netdsl.elaborate.elaborator import Elaborator


class Shared:
    """Applies shared instances for an `Elaborator`."""

    def __init__(self, elaborator: Elaborator):
        self.el = elaborator

    def apply(self, instance: Instance, arg_asts: tuple[ast.Arg, ...], site: Site) -> Current:
        instance.calls += 1
        name = instance.name if instance.calls == 1 else f"{instance.name}#{instance.calls}"
        if site.label is not None:
            raise SpecError(f"a call of the shared module '{instance.name}' cannot take a label",
                            "label", site.span,
                            help="the module is named where it is declared; label the result "
                                 f"with a group: out: {{ {instance.name} }}")
        target: LayerRef = instance.target
        blocks = self.el.program.blocks
        if target.name in blocks:
            return self.call_block(instance, blocks[target.name], arg_asts, name, site)
        if target.name not in REGISTRY:  # `identity` and the other constructs
            raise SpecError(f"'{target.name}' cannot be a shared module: it is part of the "
                            "language, not an operator or a block", "name", site.span,
                            help=f"call it where needed, without 'shared {instance.name}'")
        if arg_asts:
            raise SpecError(f"the shared operator '{instance.name}' takes no arguments at a call",
                            "arg", site.span, help="its arguments are given where it is declared")
        ref = self.el.layers.op(REGISTRY[target.name], (), target, site, name=name)
        node = self.el.frame.definition.items[ref]
        node.shared = instance
        instance.first = instance.first or node
        return ref

    def call_block(self, instance: Instance, bdef: ast.BlockDef, arg_asts: tuple[ast.Arg, ...],
                   name: str, site: Site) -> Current:
        el = self.el
        el.program.budget.block(bdef.name, site.span)
        preset = self.declared(instance, bdef)
        binding = el.blocks.bind(bdef, arg_asts, preset, site, tensors_only=True)
        definition, reused = el.blocks.definition(bdef, binding, site, name)
        call = Call(name, definition, [t.node for t in binding.ports],
                    [el.blocks.outer(ref, name, binding) for ref in definition.outputs],
                    site.span, instance, el.frame.call_sites)
        el.builder.add_call(call, site.naming, reused)
        instance.first = instance.first or call
        return el.blocks.result(call, site)

    @staticmethod
    def declared(instance: Instance, bdef: ast.BlockDef) -> LayerRef:
        """The declaration's arguments by name: its positional ones fill the block's non-tensor
        parameters in order, so that an application's positional ones are its tensors."""
        values = [p.name for p in bdef.params if p.type not in TENSOR_TYPES]
        target: LayerRef = instance.target
        if len(target.args) > len(values):
            raise SpecError(f"block '{bdef.name}' takes {len(values)} non-tensor arguments, got "
                            f"{len(target.args)}", "arg", instance.span)
        named = tuple(zip(values, target.args, strict=False)) + target.kwargs
        return LayerRef(target.name, (), named)
