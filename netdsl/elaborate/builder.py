"""Adds nodes, calls and scopes to the definition being built: shapes, sizes and the
expansion budget.

The budget counts the layers of the flat network a spec expands to. Every layer made in the
first pass of a repeat or loop stands for `count` layers, so nested bombs are caught at their
first layer, not after the work; a call counts every layer of its definition, built or reused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netdsl.elaborate.naming import Naming
from netdsl.errors import Span, SpecError
from netdsl.ir import Call, Node, Scope
from netdsl.limits import NODES_OPTION
from netdsl.notation import shape_text
from netdsl.ops import Op, ShapeError
from netdsl.ops.base import Shape, numel

if TYPE_CHECKING:
    from netdsl.elaborate.elaborator import Elaborator

MAX_ELEMENTS = 2 ** 48  # no device holds a tensor with more elements than this


class Repetition:
    """While a pass of a repeat or loop runs, the weight of each layer it makes. (A plain
    class: a generator-based context manager costs more than the pass of a small block.)"""

    def __init__(self, builder: Builder, outer: int, weight: int):
        self.builder, self.outer, self.weight = builder, outer, weight

    def __enter__(self) -> None:
        self.builder.weight = self.weight

    def __exit__(self, *exc: object) -> None:
        self.builder.weight = self.outer


class Builder:
    """The graph-building half of the elaborator."""

    def __init__(self, elaborator: Elaborator, max_nodes: int):
        self.el = elaborator
        self.max_nodes = max_nodes
        self.weight = 1
        self.projected = 0
        # Output shapes by operator and input shapes: a stage repeats the same layer on the same
        # shapes, and an operator is a frozen value whose shape rule depends on nothing else.
        self.shapes: dict[tuple[Op, tuple[Shape, ...]], Shape] = {}

    def node(self, name: str, op: Op, inputs: list[str], span: Span, naming: Naming) -> str:
        """Add one operator application; return its reference."""
        definition = self.el.frame.definition
        shapes = [definition.values[i] for i in inputs]
        if len(inputs) < op.min_inputs:
            raise SpecError(f"'{op.name}' needs at least {op.min_inputs} inputs, got "
                            f"{len(inputs)}", "arg", span)
        if op.max_inputs is not None and len(inputs) > op.max_inputs:
            raise SpecError(f"'{op.name}' takes {op.max_inputs} inputs, got {len(inputs)}",
                            "arg", span)
        key = (op, tuple(shapes))
        shape = self.shapes.get(key)
        if shape is None:
            try:
                shape = op.infer_shape(shapes)
            except ShapeError as exc:
                raise SpecError(f"{op.name} '{self.el.frame.flat(name)}': {exc}", "shape", span,
                                help=self.shape_help(inputs) if len(inputs) > 1 else
                                f"its input has shape {shape_text(shapes[0], 'list')}",
                                attribute=exc.attribute) from None
            if any(d < 1 for d in shape):  # upsample(0.01) of a 32 x 32 map; torch refuses
                raise SpecError(f"{op.name} '{self.el.frame.flat(name)}' would make an empty "
                                f"tensor, of shape {shape_text(shape, 'list')}", "shape", span,
                                help=f"its input has shape {shape_text(shapes[0], 'list')}"
                                if shapes else None)
            self.check_size(shape, span)
            self.shapes[key] = shape  # only a shape that passed the size check
        node = Node(name, op, inputs, span, self.el.frame.call_sites, naming.scopes,
                    {"shape": shape, "in": key[1]})
        self.count(1, span)
        self.el.program.budget.layer(name, span)
        definition.add(node)
        self.place(name, naming)
        return name

    def input(self, name: str, shape: Shape, span: Span, naming: Naming) -> str:
        self.check_size(shape, span)
        node = Node(name, None, [], span, (), (), {"shape": shape})
        self.count(1, span)
        self.el.program.budget.layer(name, span)
        self.el.frame.definition.add(node)
        self.place(name, naming)
        return name

    def add_call(self, call: Call, naming: Naming, reused: bool) -> None:
        """Add a call; a reused definition's layers are charged now (a new one's were charged
        as they were made, with the weights of the repetitions around them)."""
        layers = call.definition.meta.get("layers", 0)
        definition = self.el.frame.definition
        definition.meta["layers"] = definition.meta.get("layers", 0) + layers
        self.charge(1 + (layers if reused else 0), call.span)  # the call is a row too
        call.scope = naming.scopes
        definition.add(call)
        self.place(call.name, naming)

    def extend_run(self, call: Call, more: int, naming: Naming) -> str:
        """Apply `call`'s definition `more` times again after it, as one run; return the last
        output. (A pass after the first of a repeat weighs nothing: the first charged them.)"""
        layers = call.definition.meta.get("layers", 0)
        definition = self.el.frame.definition
        definition.meta["layers"] = definition.meta.get("layers", 0) + layers * more
        self.charge((1 + layers) * more, call.span)
        naming.counter += more
        if call.count == 1:
            definition.add_run(call)
        call.count += more
        last = call.member(call.count - 1)
        call.outputs = [call.inputs[int(ref[1:])] if ref.startswith("$") else f"{last}.{ref}"
                        for ref in call.definition.outputs]
        for ref, shape in zip(call.outputs, call.definition.output_shapes(), strict=True):
            definition.values[ref] = shape
        return call.outputs[0]

    def place(self, name: str, naming: Naming) -> None:
        (naming.scope.children if naming.scope else self.el.frame.definition.top).append(name)

    def count(self, layers: int, span: Span | None) -> None:
        """Count layers made in the definition being built, and charge them."""
        definition = self.el.frame.definition
        definition.meta["layers"] = definition.meta.get("layers", 0) + layers
        self.charge(layers, span)

    def charge(self, layers: int, span: Span | None) -> None:
        """Charge `layers` flat layers (times the repetition weight) to the budget."""
        self.projected += self.weight * layers
        if self.projected > self.max_nodes:
            raise SpecError(f"the network would expand to more than {self.max_nodes:,} layers "
                            f"and block calls (about {_about(self.projected)})", "limit", span,
                            help=f"raise the limit with {NODES_OPTION} N (netdsl.load(..., "
                                 "max_nodes=N))")

    def shape_help(self, inputs: list[str]) -> str:
        """Every path into a merge, by the layer it ends at, with its shape."""
        frame = self.el.frame
        parts = []
        for n, ref in enumerate(inputs, 1):
            parts.append(f"path {n} ends at '{frame.flat(ref)}' ({frame.kind(ref)}) "
                         f"{shape_text(frame.definition.values[ref], 'list')}")
        return "; ".join(parts)

    def repetition(self, index: int, count: int) -> Repetition:
        """Weigh the layers of pass `index` of `count`: the first pass stands for all of them,
        later ones were already counted."""
        return Repetition(self, outer=self.weight,
                          weight=self.weight * count if index == 0 else 0)

    def check_size(self, shape: tuple[int, ...], span: Span) -> None:
        if numel(shape) > MAX_ELEMENTS:
            raise SpecError(f"a tensor of shape {shape_text(shape, 'list')} has more elements than "
                            f"any device can hold", "limit", span)

    # ------------------------------------------------------------ scopes

    def scoped(self, label: str | None, span: Span, naming: Naming,
               kind: str) -> tuple[Scope | None, Naming]:
        """A new scope for a labeled group, merge or repeat; none for an unlabeled one, which is
        transparent and names its contents in the enclosing scope."""
        if label is None:
            return None, naming
        scope = self.open(label, span, naming, kind)
        return scope, naming.inner(scope)

    def open(self, label: str, span: Span, naming: Naming, kind: str,
             args: dict[str, Any] | None = None) -> Scope:
        name = naming.take(label, span)
        self.el.program.budget.scope(name, span)
        scope = Scope(name, kind, None, args or {}, span)
        self.el.frame.definition.scopes[name] = scope
        self.place(name, naming)
        return scope


def _about(n: int) -> str:
    return f"{n:,}" if n < 10 ** 15 else f"{float(n):.1e}"
