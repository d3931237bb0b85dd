"""Statements of a body: values, functions, `if`, `for`, inputs, outputs, expectations,
destructuring, shared modules and chains. One method per statement class."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netdsl.elaborate.frame import AMBIGUOUS, Current, Site
from netdsl.elaborate.naming import Naming
from netdsl.elaborate.values import (
    UNBOUND,
    FollowOnError,
    Function,
    LayerRef,
    Poisoned,
    TensorValue,
    holds_tensors,
)
from netdsl.errors import Span, SpecError, did_you_mean
from netdsl.ir import Expectation, Instance
from netdsl.notation import described, value_text
from netdsl.syntax import ast

if TYPE_CHECKING:
    from netdsl.elaborate.elaborator import Elaborator


class Statements:
    """The statement half of the elaborator."""

    def __init__(self, elaborator: Elaborator):
        self.el = elaborator
        self.kinds: dict[type, Any] = {}

    def body(self, stmts: tuple[ast.Stmt, ...], current: Current, naming: Naming) -> Current:
        for stmt in stmts:
            current = self.statement(stmt, current, naming)
        return current

    def statement(self, stmt: ast.Stmt, current: Current, naming: Naming) -> Current:
        method = self.kinds.get(type(stmt))
        if method is None:
            method = self.kinds[type(stmt)] = getattr(self, "_" + type(stmt).__name__)
        outer = self.el.naming
        self.el.naming = naming  # where layers that an expression applies are named
        try:
            return method(stmt, current, naming)
        finally:
            self.el.naming = outer

    # ------------------------------------------------------------ values

    def _Chain(self, stmt: ast.Chain, current: Current, naming: Naming) -> Current:
        return self.el.layers.chain(stmt, current, naming)

    def _Assign(self, stmt: ast.Assign, current: Current, naming: Naming) -> Current:
        """`x = value`; `x = from a -> ...` (a right side that applies layers) names the
        tensor(s) it makes."""
        layers = self.el.layers
        if layers.applies_layers(stmt.value):
            out = layers.layer(stmt.value, Site(None, stmt.span, naming, current))
            self.el.frame.env.vars[stmt.name] = layers.tensor_value(out)
            return out
        env = self.el.frame.env
        env.vars[stmt.name] = self.el.evaluator.eval(stmt.value, env)
        return current

    def _Def(self, stmt: ast.Def, current: Current, naming: Naming) -> Current:
        env = self.el.frame.env
        env.vars[stmt.name] = Function(stmt.name, stmt.params, stmt.body, env)
        return current

    def _Unpack(self, stmt: Any, current: Current, naming: Naming) -> Current:
        """`a, b = <chain>`: the tensors a layer chain makes, or the items of a list value."""
        names = stmt.names
        elements = stmt.value.elements
        if not self.el.applies_layers(stmt.value) and not self._is_layer(elements[0].value):
            values = self.el.evaluator.eval(elements[0].value, self.el.frame.env)
            if not isinstance(values, tuple) or len(values) != len(names):
                raise SpecError(f"{len(names)} names need a list of {len(names)}, got "
                                f"{described(values)}", "value",
                                stmt.value.span)
            for name, value in zip(names, values, strict=True):
                self.el.frame.env.vars[name] = value
            return current
        layers = self.el.layers
        env = self.el.frame.env
        out = layers.chain(stmt.value, current, naming)
        if len(names) == 1:  # one name for what the chain made: a tensor or their list
            env.vars[names[0]] = layers.tensor_value(out)
            return out
        refs = (out,) if isinstance(out, str) else out or ()
        if len(refs) != len(names):
            raise SpecError(f"{len(names)} names for {len(refs)} tensor"
                            f"{'s' if len(refs) != 1 else ''}", "value", stmt.value.span)
        for name, ref in zip(names, refs, strict=True):
            env.vars[name] = layers.tensor_value(ref)
        return out

    def _is_layer(self, value: Any) -> bool:
        return isinstance(value, ast.From) or self.el.layers.is_layer_expr(value) or (
            isinstance(value, ast.BinOp) and value.op == "*"
            and self.el.layers.is_layer_expr(value.left))

    # ------------------------------------------------------------ control flow

    def _If(self, stmt: ast.If, current: Current, naming: Naming) -> Current:
        return self.body(self.branch(stmt) or (), current, naming)

    def branch(self, stmt: ast.If) -> tuple[ast.Stmt, ...] | None:
        for cond, body in stmt.branches:
            if self.el.evaluator.truth(cond, self.el.frame.env):
                return body
        return stmt.otherwise

    def _For(self, stmt: ast.For, current: Current, naming: Naming) -> Current:
        values = self.iterate(stmt)
        env = self.el.frame.env
        for i, value in enumerate(values):
            self.el.program.budget.iterate(stmt.span, "for")
            env.vars[stmt.var] = value
            with self.el.builder.repetition(i, len(values)):
                current = self.body(stmt.body, current, naming)
        return current

    def iterate(self, stmt: ast.For) -> tuple[Any, ...]:
        values = self.el.evaluator.eval(stmt.iterable, self.el.frame.env)
        if not isinstance(values, tuple):
            raise SpecError(f"'for' needs a list, got {described(values)}",
                            "type", stmt.iterable.span, help="for i in range(n) { ... }")
        return values

    def paths(self, stmts: tuple[ast.Stmt, ...], start: str, naming: Naming) -> list[str]:
        """Each chain statement of a merge body is one path from `start` (a block with several
        outputs gives several)."""
        out: list[str] = []
        for stmt in stmts:
            method = getattr(self, "_paths_" + type(stmt).__name__, None)
            if method is None:
                raise SpecError("only paths, values, `if` and `for` go inside a merge", "name",
                                stmt.span)
            out.extend(method(stmt, start, naming))
        return out

    def _paths_Chain(self, stmt: ast.Chain, start: str, naming: Naming) -> tuple[str, ...]:
        result = self.el.layers.chain(stmt, start, naming)
        return (result,) if isinstance(result, str) else tuple(result or ())

    def _paths_If(self, stmt: ast.If, start: str, naming: Naming) -> list[str]:
        return self.paths(self.branch(stmt) or (), start, naming)

    def _paths_For(self, stmt: ast.For, start: str, naming: Naming) -> list[str]:
        out: list[str] = []
        values = self.iterate(stmt)
        for i, value in enumerate(values):
            self.el.program.budget.iterate(stmt.span, "for")
            self.el.frame.env.vars[stmt.var] = value
            with self.el.builder.repetition(i, len(values)):
                out.extend(self.paths(stmt.body, start, naming))
        return out

    def _paths_Assign(self, stmt: ast.Assign | ast.Def, start: str,
                      naming: Naming) -> tuple[str, ...]:
        """A value defined between the paths: no path of its own."""
        self.statement(stmt, start, naming)
        return ()

    _paths_Def = _paths_Assign

    # ------------------------------------------------------------ interface

    def _Input(self, stmt: ast.Input, current: Current, naming: Naming) -> Current:
        el = self.el
        if el.frame.call_sites:
            raise SpecError("inputs are declared in networks, not in blocks", "name", stmt.span,
                            help="a block's inputs are `in`, or its parameters typed `tensor`")
        declared = el.evaluator.eval(stmt.shape, el.frame.env)
        shape = el.input_shape(stmt, declared)
        if not isinstance(shape, tuple) or not shape or not all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
            raise SpecError("an input shape must be a list of positive ints, got "
                            f"{value_text(shape)}", "value", stmt.shape.span,
                            help="e.g. input x: [3, 224, 224]")
        name = naming.take(stmt.name, stmt.span, position=False)
        el.builder.input(name, shape, stmt.span, naming)
        el.frame.definition.network_inputs.append(name)
        el.frame.bind_label(stmt.name, name, name)
        return name

    def _Output(self, stmt: ast.Output, current: Current, naming: Naming) -> Current:
        outputs: list[tuple[str, str]] = []
        listed = False
        for path in stmt.names:
            found, listed = self.resolve_output(".".join(path), stmt.span)
            outputs += found
        target = self.el.frame.output_target
        target.listed = listed and len(stmt.names) == 1
        for name, ref in outputs:
            if name in target.output_names:
                raise SpecError(f"'{name}' is an output twice", "name", stmt.span)
            target.output_names.append(name)
            target.outputs.append(ref)
        return current

    def resolve_output(self, dotted: str, span: Span) -> tuple[list[tuple[str, str]], bool]:
        """An output's name(s) and reference(s): a label, or a value holding tensors; and
        whether it is a list (of any length)."""
        frame = self.el.frame
        found = frame.tensors.get(dotted)
        if found is not None and found is not AMBIGUOUS:
            if isinstance(found, str):
                return [(dotted, found)], False
            inside: dict[str, list[str]] = {}  # tensor -> the labels under `dotted` it has
            for key, value in frame.tensors.items():
                if isinstance(value, str) and key.startswith(dotted + "."):
                    inside.setdefault(value, []).append(key)
            return [(self.item_name(dotted, i, ref, inside.get(ref, [])), ref)
                    for i, ref in enumerate(found)], True
        position = frame.position(dotted) if found is None else None
        if position is not None:
            return [(dotted, position)], False
        bound = frame.env.find(dotted)
        if isinstance(bound, TensorValue):
            return [(dotted, bound.node)], False
        if isinstance(bound, tuple) and bound and all(isinstance(t, TensorValue) for t in bound):
            return [(f"{dotted}.{i}", t.node) for i, t in enumerate(bound)], True
        if Poisoned.named(frame.env, dotted):  # its own error was reported
            raise FollowOnError.of(dotted, span)
        if isinstance(bound, tuple) and holds_tensors(bound):
            raise SpecError(f"'{dotted}' is a list of lists of tensors: an output is a tensor "
                            "or a list of tensors", "type", span,
                            help="join lists with `+` (row + rest) rather than nest them "
                                 "(row + [rest])")
        raise SpecError(f"unknown tensor '{dotted}' in output", "name", span,
                        help=did_you_mean(dotted, frame.tensors))

    def item_name(self, label: str, index: int, ref: str, given: list[str]) -> str:
        """The output name of one of the tensors a label holds: one that reaches that very
        tensor in `from` and in `expect`, as the table names it. `label.<index>` may be
        another layer by position (`t.0`, the first layer inside the call `t`); then the
        name the label gives it (`t.a.0`, a call's output by the block's output name), or
        the layer that made it (`o.1`, the second layer of a labeled comprehension). `given`:
        the labels under `label` that name `ref`."""
        for name in (f"{label}.{index}", *given, ref):
            if self.reaches(name) == ref:
                return name
        return f"{label}.{index}"

    def reaches(self, name: str) -> str | None:
        """The tensor a dotted name reaches in both `from` (a label, then a position) and
        `expect` (the table's row, then a label); None where they differ or neither does."""
        frame = self.el.frame
        found = frame.tensors.get(name) or frame.position(name)
        row = frame.definition.layer(name)
        return found if isinstance(found, str) and row in (None, found) else None

    def set_outputs(self, current: Current, span: Span) -> None:
        """A body without `output` returns what it ends at."""
        definition = self.el.frame.definition
        if current is None:
            raise SpecError("the body makes no tensor to return", "name", span)
        refs = (current,) if isinstance(current, str) else current
        for i, ref in enumerate(refs):
            definition.outputs.append(ref)
            definition.output_names.append(ref if len(refs) == 1 else str(i))

    def _Expect(self, stmt: ast.Expect, current: Current, naming: Naming) -> Current:
        frame = self.el.frame
        self.el.program.budget.expectation(len(frame.tensors), stmt.span)
        prefix = f"{frame.path}." if frame.path else ""
        labels = {k: prefix + v for k, v in frame.tensors.items()
                  if isinstance(v, str) and v is not AMBIGUOUS and not v.startswith("$")}
        shared = {k: prefix + v.name for k, v in frame.env.vars.items() if isinstance(v, Instance)}
        self.el.expectations.append(Expectation(stmt, frame.env, labels, shared, frame.path))
        return current

    def _Shared(self, stmt: Any, current: Current, naming: Naming) -> Current:
        """`shared name: layer(args)`: one module, applied wherever `name` is used."""
        el = self.el
        target = el.evaluator.eval(stmt.value, el.frame.env)
        if not isinstance(target, LayerRef):
            raise SpecError(f"'shared' needs a block or an operator, got {described(target)}",
                            "type", stmt.value.span,
                            help=f"e.g. shared {stmt.name}: conv(256, 3, p=1)")
        local = naming.take(stmt.name, stmt.span, position=False)
        instance = Instance(local, target, {}, stmt.span, el.frame.definition)
        el.frame.definition.instances.append(instance)
        env = el.frame.env
        el.frame.declared.append((env, stmt.name, env.vars.get(stmt.name, UNBOUND)))
        env.vars[stmt.name] = instance
        return current
