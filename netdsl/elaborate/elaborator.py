"""Instantiates a network: evaluates parameters, calls blocks, unrolls repeats and loops,
resolves tensor names and gives every layer its dotted name, building the graph IR.

Naming follows nn.Sequential and torchvision: within a scope every statement element takes the
next position; an unlabeled layer is named by that position, a labeled one by its label. Block
calls, labeled groups, labeled merges and labeled repeats open a new scope; unlabeled groups,
merges, repeats, `if` and `for` are transparent and name their contents in the enclosing scope,
as is an unlabeled call of an `inline block`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from netdsl.elaborate.loader import Program
from netdsl.elaborate.values import (
    UNBOUND,
    Env,
    Evaluator,
    FollowOnError,
    Function,
    LayerRef,
    Poisoned,
    Resolver,
    TensorValue,
    show,
    single,
    type_name,
)
from netdsl.errors import Diagnostic, NetdslError, Span, SpecError, did_you_mean
from netdsl.ir import Expectation, Graph, Node, Scope
from netdsl.limits import MAX_NODES
from netdsl.names import checked_label
from netdsl.ops import REGISTRY, Op, ShapeError, TensorArg
from netdsl.ops.base import Shape, Symbol, format_shape, numel
from netdsl.syntax import ast

MAX_BLOCK_DEPTH = 64
MAX_ELEMENTS = 2 ** 48  # no device holds a tensor with more elements than this
MAX_ERRORS = 20
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TYPES = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,), "list": (tuple,),
          "layer": (LayerRef,)}
_AMBIGUOUS = object()


@dataclass
class Frame:
    """One instantiated body (the network's or a block's)."""

    env: Env
    root: str = ""  # dotted name of the body's scope
    block_input: str | None = None
    call_sites: tuple[tuple[str, Span], ...] = ()
    tensors: dict[str, Any] = field(default_factory=dict)  # label -> node name


@dataclass
class Naming:
    """Gives names to the elements of one scope, by label or position."""

    prefix: str
    scope: Scope | None
    scopes: tuple[str, ...] = ()
    counter: int = 0
    used: dict[str, Span | None] = field(default_factory=dict)

    def take(self, label: str | None, span: Span | None, position: bool = True) -> str:
        """The dotted name of the next element; `position=False` for a network input, which is
        not an element of the sequence (nn.Sequential numbers its first layer 0)."""
        local = label if label is not None else str(self.counter)
        self.counter += position
        if local in self.used:
            first = self.used[local]
            raise SpecError(f"duplicate label '{local}'"
                            + (f" in '{self.prefix}'" if self.prefix else ""), "label", span,
                            help=f"'{local}' was first used at {first}" if first else None)
        self.used[local] = span
        return f"{self.prefix}.{local}" if self.prefix else local

    def inner(self, scope: Scope) -> Naming:
        return Naming(scope.name, scope, self.scopes + (scope.name,))


@dataclass
class Repetition:
    """While a pass of a repeat or loop runs, the weight of each layer it makes; see
    `Elaborator._repetition`. (A plain class: a generator-based context manager costs more
    than the pass of a small block.)"""

    elaborator: Elaborator
    outer: int
    weight: int

    def __enter__(self) -> None:
        self.elaborator.weight = self.weight

    def __exit__(self, *exc: object) -> None:
        self.elaborator.weight = self.outer


class Elaborator(Resolver):
    """Builds the `Graph` of one network of a `Program`."""

    def __init__(self, program: Program, max_nodes: int = MAX_NODES,
                 inputs: dict[str, tuple[int, ...]] | None = None):
        self.program = program
        self.input_overrides = dict(inputs or {})
        self.max_nodes = max_nodes
        self.evaluator = Evaluator(self, program.budget)
        self.graph = Graph("")
        self.frame = Frame(program.env)
        # Expansion budget: every layer made in the first pass of a repeat or loop stands for
        # `count` layers, so nested bombs are caught at their first layer, not after the work.
        self.weight = 1
        self.projected = 0
        # Output shapes by operator and input shapes: a stage repeats the same layer on the same
        # shapes, and an operator is a frozen value whose shape rule depends on nothing else.
        self.shapes: dict[tuple[Op, tuple[Shape, ...]], Shape] = {}
        self.ops: dict[tuple, Op] = {}  # operators are immutable: one per distinct call

    # ------------------------------------------------------------ Resolver

    def tensor(self, name: str) -> TensorValue | None:
        node = self.frame.tensors.get(name)
        if node is None:
            return None
        if node is _AMBIGUOUS:
            raise SpecError(f"the label '{name}' names several tensors", "name",
                            help="use its dotted name, e.g. 'branch1.conv'")
        return TensorValue(node, self.graph[node].shape, name)

    def block_input(self) -> TensorValue:
        if self.frame.block_input is None:
            raise SpecError("`in` is only defined inside a block", "name",
                            help="in a network, name the tensor with a label")
        node = self.frame.block_input
        return TensorValue(node, self.graph[node].shape, "in")

    def is_layer(self, name: str) -> bool:
        return name in REGISTRY or name in self.program.blocks or name == "identity"

    def layer_names(self) -> set[str]:
        return set(REGISTRY) | set(self.program.blocks) | {"identity"}

    # ------------------------------------------------------------ networks

    def network(self, name: str | None, overrides: dict[str, Any]) -> Graph:
        net = self._pick(name)
        self.graph = Graph(net.name)
        try:  # a bad --set or load(..., name=value) is the user's error, located at the network
            bound = self._bind(net, [], dict(overrides), net.span, self.program.env)
        except SpecError as exc:
            raise NetdslError(self._diagnostic(exc)) from None
        self.graph.params = dict(bound)
        self.frame = Frame(self.program.env.child(**bound))
        naming = Naming("", None)
        errors: list[Diagnostic] = []
        current: str | None = None
        for stmt in net.body:
            try:
                current = self.statement(stmt, current, naming)
            except FollowOnError:
                continue
            except SpecError as exc:
                if isinstance(stmt, ast.Assign):
                    self.frame.env.vars[stmt.name] = Poisoned()
                exc.span = exc.span or stmt.span  # every message is located
                errors.append(self._diagnostic(exc))
                if exc.code == "limit" or len(errors) >= MAX_ERRORS or current is None:
                    break
            except RecursionError:
                errors.append(Diagnostic("the statement is nested too deeply to evaluate",
                                         stmt.span, "limit", help="split it into named values"))
                break
        for name in self.input_overrides:
            errors.append(Diagnostic(f"--input names '{name}', which is not an input of "
                                     f"'{net.name}'", net.span, "usage",
                                     help=f"inputs: {', '.join(self.graph.inputs)}"))
        if errors:
            raise NetdslError(errors)
        if current is None:
            raise NetdslError(Diagnostic(f"network '{net.name}' has no input", net.span, "name",
                                         help="declare one: input x: [3, 224, 224]"))
        if not self.graph.outputs:
            self.graph.outputs[current] = current
        return self.graph

    def _pick(self, name: str | None) -> ast.BlockDef:
        nets = self.program.networks
        own = [b.name for b in self.program.root.items
               if isinstance(b, ast.BlockDef) and b.is_network]
        if name is None:
            if len(own) == 1:
                return nets[own[0]]
            if not own:
                raise NetdslError(Diagnostic("the file defines no network",
                                             Span.file(self.program.root.path), "name",
                                             help="add one: network name { input x: [...] ... }"))
            raise NetdslError(Diagnostic(
                f"the file defines several networks: {', '.join(own)}",
                Span.file(self.program.root.path), "usage", help="choose one with --network NAME"))
        if name not in nets:
            raise NetdslError(Diagnostic(f"no network named '{_shown(name)}'",
                                         Span.file(self.program.root.path), "name",
                                         help=did_you_mean(name, nets) or
                                         f"networks: {', '.join(sorted(nets)) or 'none'}"))
        return nets[name]

    def _diagnostic(self, exc: SpecError) -> Diagnostic:
        diag = exc.diagnostic()
        diag.with_context(reversed(getattr(exc, "sites", [])))
        diag.notes.extend(self.program.import_notes(diag.span))
        return diag

    # ------------------------------------------------------------ statements

    def body(self, stmts: tuple[ast.Stmt, ...], current: str | None, naming: Naming) -> str | None:
        for stmt in stmts:
            current = self.statement(stmt, current, naming)
        return current

    def statement(self, stmt: ast.Stmt, current: str | None, naming: Naming) -> str | None:
        if isinstance(stmt, ast.Chain):
            return self.chain(stmt, current, naming)
        env = self.frame.env
        if isinstance(stmt, ast.Assign):
            env.vars[stmt.name] = self.evaluator.eval(stmt.value, env)
        elif isinstance(stmt, ast.Def):
            env.vars[stmt.name] = Function(stmt.name, stmt.params, stmt.body, env)
        elif isinstance(stmt, ast.If):
            return self.body(self._branch(stmt) or (), current, naming)
        elif isinstance(stmt, ast.For):
            values = self._iterate(stmt)
            for i, value in enumerate(values):
                self.program.budget.iterate(stmt.span, "for")
                env.vars[stmt.var] = value
                with self._repetition(i, len(values)):
                    current = self.body(stmt.body, current, naming)
        elif isinstance(stmt, ast.Input):
            return self.input(stmt, naming)
        elif isinstance(stmt, ast.Output):
            self.output(stmt)
        elif isinstance(stmt, ast.Expect):
            self.program.budget.expectation(len(self.frame.tensors), stmt.span)
            self.graph.expectations.append(
                Expectation(stmt, env, {k: v for k, v in self.frame.tensors.items()
                                        if v is not _AMBIGUOUS}))
        return current

    def _branch(self, stmt: ast.If) -> tuple[ast.Stmt, ...] | None:
        for cond, body in stmt.branches:
            if self.evaluator.truth(cond, self.frame.env):
                return body
        return stmt.otherwise

    def _iterate(self, stmt: ast.For) -> tuple[Any, ...]:
        values = self.evaluator.eval(stmt.iterable, self.frame.env)
        if not isinstance(values, tuple):
            raise SpecError(f"'for' needs a list, got {type_name(values)} {show(values)}",
                            "type", stmt.iterable.span, help="for i in range(n) { ... }")
        return values

    def input(self, stmt: ast.Input, naming: Naming) -> str:
        if self.frame.call_sites:
            raise SpecError("inputs are declared in networks, not in blocks", "name", stmt.span,
                            help="a block's input is `in`")
        shape = self.evaluator.eval(stmt.shape, self.frame.env)
        if stmt.name in self.input_overrides:
            shape = self.input_overrides.pop(stmt.name)
        elif "" in self.input_overrides:
            shape = self.input_overrides.pop("")
        if not isinstance(shape, tuple) or not shape or not all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
            raise SpecError(f"an input shape must be a list of positive ints, got {show(shape)}",
                            "value", stmt.shape.span, help="e.g. input x: [3, 224, 224]")
        name = naming.take(stmt.name, stmt.span, position=False)
        self._check_size(shape, stmt.span)
        node = Node(name, None, [], stmt.span, (), (), {"shape": shape})
        self._add(node, naming)
        self.graph.inputs.append(name)
        self._bind_label(stmt.name, name, name)
        return name

    def output(self, stmt: ast.Output) -> None:
        for path in stmt.names:
            dotted = ".".join(path)
            node = self.frame.tensors.get(dotted)
            if node is None or node is _AMBIGUOUS:
                raise SpecError(f"unknown tensor '{dotted}' in output", "name", stmt.span,
                                help=did_you_mean(dotted, self.frame.tensors))
            self.graph.outputs[dotted] = node

    # ------------------------------------------------------------ chains and elements

    def chain(self, chain: ast.Chain, current: str | None, naming: Naming) -> str | None:
        for element in chain.elements:
            current = self.element(element, current, naming)
        return current

    def element(self, el: ast.Element, current: str | None, naming: Naming) -> str:
        label = checked_label(self._label(el), el.label_span)
        value = el.value
        if label is not None and isinstance(value, ast.From):
            raise SpecError("a label on `from` names nothing new", "label", el.label_span,
                            help=f"to name the chain's result, wrap it: {label}: {{ from ... }}")
        out = self.layer(value, label, el.span, current, naming)
        if label is not None:
            self._bind_label(label, f"{naming.prefix}.{label}" if naming.prefix else label, out)
        return out

    def _label(self, el: ast.Element) -> str | None:
        if el.label is None:
            return None
        if isinstance(el.label, str):
            return el.label
        text = self.evaluator.eval(el.label, self.frame.env)
        if not isinstance(text, str) or not _IDENTIFIER.match(text):
            raise SpecError(f"a computed label must be a name, got {show(text)}", "label",
                            el.label_span,
                            help="letters, digits and '_', not starting with a digit")
        return str(text)

    def _bind_label(self, label: str, full: str, node: str) -> None:
        """Make the tensor `node` reachable by its label and by `full`'s path in this body."""
        tensors = self.frame.tensors
        relative = full[len(self.frame.root) + 1:] if self.frame.root else full
        tensors[relative] = node
        if label != relative:
            tensors[label] = _AMBIGUOUS if label in tensors and tensors[label] != node else node

    def layer(self, value: ast.Expr | ast.Merge, label: str | None, span: Span,
              current: str | None, naming: Naming) -> str:
        """Apply one element to the current tensor; return the new current tensor."""
        if isinstance(value, ast.Merge):
            return self.merge(value, label, span, current, naming)
        if isinstance(value, ast.Group):
            return self.group(value.body, label, span, current, naming, "group")
        if isinstance(value, ast.From):
            return self.from_tensor(value)
        if isinstance(value, ast.BinOp) and value.op == "*" and self._is_layer_expr(value.left):
            return self.repeat(value, label, span, current, naming)
        if isinstance(value, ast.Name):
            return self.call(value.id, value.span, (), [], {}, label, span, current, naming)
        if isinstance(value, ast.Call):
            return self.call(value.func, value.func_span, value.args, [], {}, label, span,
                             current, naming)
        result = self.evaluator.eval(value, self.frame.env)
        if isinstance(result, LayerRef):
            return self.call(result.name, span, (), list(result.args), dict(result.kwargs), label,
                             span, current, naming)
        raise SpecError(f"expected a layer, got {type_name(result)} {show(result)}", "type",
                        value.span, help="a chain is made of layers: conv(64, 3) -> relu")

    def _is_layer_expr(self, expr: ast.Expr) -> bool:
        if isinstance(expr, (ast.Group, ast.Merge)):
            return True
        name = expr.id if isinstance(expr, ast.Name) else expr.func if isinstance(
            expr, ast.Call) else None
        if name is None:
            return False
        bound = self.frame.env.find(name)
        if bound is UNBOUND:
            return self.is_layer(name)
        return isinstance(bound, LayerRef)

    def from_tensor(self, value: ast.From) -> str:
        dotted = ".".join(value.path)
        if dotted == "in":
            return self.block_input().node
        node = self.frame.tensors.get(dotted)
        if node is _AMBIGUOUS:
            raise SpecError(f"the label '{dotted}' names several tensors", "name", value.span,
                            help="use its dotted name, e.g. from branch1.conv")
        if node is None:
            raise SpecError(f"unknown tensor '{dotted}'", "name", value.span,
                            help=did_you_mean(dotted, self.frame.tensors) or
                            "only tensors labeled earlier in this body can be named")
        return node

    def group(self, stmts: tuple[ast.Stmt, ...], label: str | None, span: Span,
              current: str | None, naming: Naming, kind: str) -> str:
        if label is None:
            out = self.body(stmts, current, naming)
        else:
            scope = self._open(label, span, naming, kind)
            out = self.body(stmts, current, naming.inner(scope))
            scope.output = out
        if out is None:
            raise SpecError("an empty group has no input to pass on", "name", span)
        return out

    def repeat(self, value: ast.BinOp, label: str | None, span: Span, current: str | None,
               naming: Naming) -> str:
        count = self.evaluator.eval(value.right, self.frame.env)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise SpecError(f"a repeat count must be an int >= 0, got {show(count)}", "value",
                            value.right.span)
        scope, inner = self._scoped(label, span, naming, "repeat")
        item = ast.Element(value.left.span, None, None, value.left)
        for i in range(count):
            self.program.budget.iterate(span, "repeat")
            with self._repetition(i, count):
                current = self.element(item, current, inner)
        if scope is not None:
            scope.output = current
        if current is None:
            raise SpecError("nothing to repeat over: no input yet", "name", span)
        return current

    # ------------------------------------------------------------ calls

    def call(self, func: str, func_span: Span, arg_asts: tuple[ast.Arg, ...], args: list[Any],
             kwargs: dict[str, Any], label: str | None, span: Span, current: str | None,
             naming: Naming) -> str:
        bound = self.frame.env.find(func)
        if bound is not UNBOUND and bound is not None:
            if not isinstance(bound, LayerRef):
                raise SpecError(f"'{func}' is {type_name(bound)} {show(bound)}, not a layer",
                                "type", func_span)
            return self.call(bound.name, func_span, arg_asts, list(bound.args) + args,
                             {**dict(bound.kwargs), **kwargs}, label, span, current, naming)
        if func == "identity":
            if arg_asts or args or kwargs:
                raise SpecError("'identity' takes no arguments", "arg", span)
            return self._need_input(current, span)
        if func in self.program.blocks:
            return self.block(self.program.blocks[func], arg_asts, args, kwargs, label, span,
                              current, naming)
        if func in REGISTRY:
            return self.op(REGISTRY[func], arg_asts, args, kwargs, label, span, current, naming)
        if func == "residual":
            raise SpecError("'residual' takes a body: residual(when = ...) { ... }", "arg", span)
        if self.frame.tensors.get(func) is not None:
            raise SpecError(f"'{func}' is a tensor, not a layer", "type", func_span,
                            help=f"to continue from it, write: from {func} -> ...")
        if func in self.program.networks:
            raise SpecError(f"'{func}' is a network; only blocks can be called", "name",
                            func_span, help=f"declare it as: block {func}(...) {{ ... }}")
        raise SpecError(f"unknown operator or block '{func}'", "name", func_span,
                        help=did_you_mean(func, self.layer_names()))

    def _need_input(self, current: str | None, span: Span) -> str:
        if current is None:
            raise SpecError("no input tensor here", "name", span,
                            help="declare the network's input first: input x: [3, 224, 224]")
        return current

    def op(self, cls: type[Op], arg_asts: tuple[ast.Arg, ...], args: list[Any],
           kwargs: dict[str, Any], label: str | None, span: Span, current: str | None,
           naming: Naming) -> str:
        current = self._need_input(current, span)
        inputs = [current]
        table = cls.parameters()
        positional_fields, by_name = table.positional, table.by_name
        env = self.frame.env
        for arg in arg_asts:
            if arg.name is None and kwargs:
                raise SpecError("a positional argument follows a keyword argument", "arg",
                                arg.span)
            index = len(args)
            field_ = by_name.get(arg.name) if arg.name else (
                positional_fields[index] if index < len(positional_fields) else None)
            if (cls.variadic and arg.name is None) or (
                    field_ is not None and field_.name in table.tensors):
                node = self.path(arg.value, current, naming)
                inputs.append(node)
                value: Any = TensorArg(_describe(arg.value))
                if cls.variadic and arg.name is None:
                    continue
            else:
                value = self.evaluator.eval(single(arg.value), env, symbols=True)
                if isinstance(value, TensorValue):
                    value = _tensor_misuse(value, arg)
            if arg.name is None:
                args.append(value)
            elif arg.name in kwargs:
                raise SpecError(f"argument '{arg.name}' given twice", "arg", arg.span)
            else:
                kwargs[arg.name] = value
        key = _call_key(cls, args, kwargs)
        operator = self.ops.get(key) if key is not None else None
        if operator is None:
            try:
                operator = cls.from_args(args, kwargs)
            except SpecError as exc:
                exc.span = exc.span or span
                exc.help = exc.help or self._symbol_help([*args, *kwargs.values()])
                raise
            if key is not None:
                self.ops[key] = operator
        name = naming.take(label, span)
        return self._node(name, operator, inputs, span, naming)

    def _symbol_help(self, values: list[Any]) -> str | None:
        """A bare word rejected by an operator was most likely a misspelt value name."""
        for value in values:
            if isinstance(value, Symbol):
                hint = did_you_mean(value, self.frame.env.names() - set(REGISTRY))
                if hint:
                    return hint
        return None

    def path(self, chain: ast.Chain, current: str, naming: Naming) -> str:
        """A tensor argument: a labeled tensor's name, or a chain run from the current tensor."""
        if len(chain.elements) == 1 and chain.elements[0].label is None:
            value = chain.elements[0].value
            if isinstance(value, ast.Name) and self.frame.tensors.get(value.id) is not None:
                return self.from_tensor(ast.From(value.span, (value.id,)))
            if isinstance(value, ast.Name) and not self._is_layer_expr(value):
                raise SpecError(f"unknown tensor or layer '{value.id}'", "name", value.span,
                                help=did_you_mean(value.id, set(self.frame.tensors) |
                                                  self.layer_names()) or
                                "only tensors labeled earlier in this body can be named")
            if isinstance(value, ast.BlockInput):
                return self.block_input().node
            if isinstance(value, ast.Attribute):  # a dotted label: concat(branch1.conv)
                tensor = self.evaluator.eval(value, self.frame.env)
                if isinstance(tensor, TensorValue):
                    return tensor.node
        out = self.chain(chain, current, naming)
        assert out is not None
        return out

    def _node(self, name: str, op: Op, inputs: list[str], span: Span, naming: Naming) -> str:
        nodes = self.graph.nodes
        shapes = [nodes[i].meta["shape"] for i in inputs]
        if len(inputs) < op.min_inputs:
            raise SpecError(f"'{op.name}' needs at least {op.min_inputs} inputs, got "
                            f"{len(inputs)}", "arg", span)
        key = (op, tuple(shapes))
        shape = self.shapes.get(key)
        if shape is None:
            try:
                shape = op.infer_shape(shapes)
            except ShapeError as exc:
                raise SpecError(f"{op.name} '{name}': {exc}", "shape", span,
                                help=self._shape_help(inputs) if len(inputs) > 1 else
                                f"its input has shape {format_shape(shapes[0])}") from None
            self._check_size(shape, span)
            self.shapes[key] = shape  # only a shape that passed the size check
        node = Node(name, op, inputs, span, self.frame.call_sites, naming.scopes,
                    {"shape": shape})
        self._add(node, naming)
        return name

    def _shape_help(self, inputs: list[str]) -> str:
        """Every path into a merge, by the layer it ends at, with its shape."""
        parts = []
        for n, i in enumerate(inputs, 1):
            node = self.graph[i]
            kind = node.op.name if node.op is not None else "input"
            parts.append(f"path {n} ends at '{i}' ({kind}) {format_shape(node.shape)}")
        return "; ".join(parts)

    def _repetition(self, index: int, count: int) -> Repetition:
        """Weigh the layers of pass `index` of `count`: the first pass stands for all of them,
        later ones were already counted."""
        return Repetition(self, outer=self.weight, weight=self.weight * count if index == 0 else 0)

    def _add(self, node: Node, naming: Naming) -> None:
        if len(self.graph.nodes) >= self.max_nodes:
            raise SpecError(f"the network expands to more than {self.max_nodes:,} layers",
                            "limit", node.span, help="raise the limit with --max-nodes")
        self.projected += self.weight
        if self.projected > self.max_nodes:
            raise SpecError(f"the network would expand to more than {self.max_nodes:,} layers "
                            f"(about {_about(self.projected)})", "limit", node.span,
                            help="raise the limit with --max-nodes")
        self.program.budget.layer(node.name, node.span)
        self.graph.add(node)
        (naming.scope.children if naming.scope else self.graph.top).append(node.name)

    def _check_size(self, shape: tuple[int, ...], span: Span) -> None:
        if numel(shape) > MAX_ELEMENTS:
            raise SpecError(f"a tensor of shape {format_shape(shape)} has more elements than "
                            f"any device can hold", "limit", span)

    def _scoped(self, label: str | None, span: Span, naming: Naming,
                kind: str) -> tuple[Scope | None, Naming]:
        """A new scope for a labeled group, merge or repeat; none for an unlabeled one, which is
        transparent and names its contents in the enclosing scope."""
        if label is None:
            return None, naming
        scope = self._open(label, span, naming, kind)
        return scope, naming.inner(scope)

    def _open(self, label: str, span: Span, naming: Naming, kind: str, block: str | None = None,
              args: dict[str, Any] | None = None) -> Scope:
        name = naming.take(label, span)
        self.program.budget.scope(name, span)
        scope = Scope(name, kind, block, args or {}, span)
        self.graph.scopes[name] = scope
        (naming.scope.children if naming.scope else self.graph.top).append(name)
        return scope

    # ------------------------------------------------------------ blocks

    def block(self, bdef: ast.BlockDef, arg_asts: tuple[ast.Arg, ...], args: list[Any],
              kwargs: dict[str, Any], label: str | None, span: Span, current: str | None,
              naming: Naming) -> str:
        current = self._need_input(current, span)
        if len(self.frame.call_sites) >= MAX_BLOCK_DEPTH:
            raise SpecError(f"blocks nested more than {MAX_BLOCK_DEPTH} deep: '{bdef.name}' "
                            f"calls itself without end?", "recursion", span,
                            help="a recursive block needs a condition that stops it")
        self.program.budget.block(bdef.name, span)
        more_args, more_kwargs = self.evaluator.arguments(arg_asts, self.frame.env, symbols=True)
        bound = self._bind(bdef, args + more_args, {**kwargs, **more_kwargs}, span,
                           self.program.env)
        scope: Scope | None = None
        inner = naming
        if label is not None or not bdef.inline:  # an unlabeled block call is named by position
            scope = self._open(label, span, naming, "block", bdef.name, bound)
            inner = naming.inner(scope)
        outer = self.frame
        self.frame = Frame(self.program.env.child(**bound), inner.prefix, current,
                           outer.call_sites + ((bdef.name, span),))
        try:
            out = self.body(bdef.body, current, inner)
        except SpecError as exc:
            exc.sites = getattr(exc, "sites", []) + [(bdef.name, span)]  # type: ignore[attr-defined]
            raise
        finally:
            self.frame = outer
        if scope is not None:
            scope.output = out
        assert out is not None
        return out

    def _bind(self, bdef: ast.BlockDef, args: list[Any], kwargs: dict[str, Any], span: Span,
              env: Env) -> dict[str, Any]:
        kind = "network" if bdef.is_network else "block"
        params = bdef.params
        if len(args) > len(params):
            raise SpecError(f"{kind} '{bdef.name}' takes {len(params)} argument"
                            f"{'s' if len(params) != 1 else ''}, got {len(args)}", "arg", span,
                            help=f"signature: {_signature(bdef)}")
        names = {p.name for p in params}
        for key in kwargs:
            if key not in names:
                raise SpecError(f"{kind} '{bdef.name}' has no parameter '{key}'", "arg", span,
                                help=did_you_mean(key, names) or
                                f"signature: {_signature(bdef)}")
        bound: dict[str, Any] = {}
        scope = env.child()
        for i, p in enumerate(params):
            if i < len(args):
                if p.name in kwargs:
                    raise SpecError(f"parameter '{p.name}' given twice", "arg", span)
                value = args[i]
            elif p.name in kwargs:
                value = kwargs[p.name]
            elif p.default is not None:
                value = self.evaluator.eval(p.default, scope, symbols=True)
            else:
                raise SpecError(f"{kind} '{bdef.name}' needs parameter '{p.name}'", "arg", span,
                                help=f"signature: {_signature(bdef)}")
            if p.type is not None:
                value = _check_type(bdef.name, p, value, span)
            bound[p.name] = value
            scope.vars[p.name] = value
        return bound

    # ------------------------------------------------------------ merges

    def merge(self, m: ast.Merge, label: str | None, span: Span, current: str | None,
              naming: Naming) -> str:
        current = self._need_input(current, span)
        if m.func == "residual":
            return self.residual(m, label, span, current, naming)
        cls = REGISTRY.get(m.func)
        if cls is None or not cls.variadic:
            known = sorted(n for n, c in REGISTRY.items() if c.variadic) + ["residual"]
            raise SpecError(f"'{m.func}' does not take a body of paths", "arg", m.func_span,
                            help=did_you_mean(m.func, known) or
                            f"merges with a body: {', '.join(known)}")
        args, kwargs = self.evaluator.arguments(m.args, self.frame.env, symbols=True)
        if args:
            raise SpecError(f"'{m.func}' with a body takes keyword arguments only", "arg", span)
        scope, inner = self._scoped(label, span, naming, "merge")
        paths = self.paths(m.body, current, inner)
        if not paths:
            raise SpecError(f"'{m.func}' has no paths", "arg", span)
        if len(paths) == 1:
            out = paths[0]
        else:
            try:
                operator = cls.from_args([], kwargs)
            except SpecError as exc:
                exc.span = exc.span or span
                raise
            out = self._node(inner.take(None, span), operator, paths, span, inner)
        if scope is not None:
            scope.output = out
        return out

    def paths(self, stmts: tuple[ast.Stmt, ...], start: str, naming: Naming) -> list[str]:
        """Each chain statement of a merge body is one path from `start`."""
        out: list[str] = []
        for stmt in stmts:
            if isinstance(stmt, ast.Chain):
                result = self.chain(stmt, start, naming)
                assert result is not None
                out.append(result)
            elif isinstance(stmt, ast.If):
                out.extend(self.paths(self._branch(stmt) or (), start, naming))
            elif isinstance(stmt, ast.For):
                values = self._iterate(stmt)
                for i, value in enumerate(values):
                    self.program.budget.iterate(stmt.span, "for")
                    self.frame.env.vars[stmt.var] = value
                    with self._repetition(i, len(values)):
                        out.extend(self.paths(stmt.body, start, naming))
            elif isinstance(stmt, (ast.Assign, ast.Def)):
                self.statement(stmt, start, naming)
            else:
                raise SpecError("only paths, values, `if` and `for` go inside a merge", "name",
                                stmt.span)
        return out

    def residual(self, m: ast.Merge, label: str | None, span: Span, current: str,
                 naming: Naming) -> str:
        """`residual(when = c) { body }`: body + identity when c holds, else just the body."""
        args, kwargs = self.evaluator.arguments(m.args, self.frame.env)
        unknown = set(kwargs) - {"when"}
        if args or unknown:
            raise SpecError("'residual' takes one argument, when = <condition>", "arg", span)
        when = kwargs.get("when", True)
        if not isinstance(when, bool):
            raise SpecError(f"'residual' when must be true or false, got {show(when)}", "type",
                            span)
        scope, inner = self._scoped(label, span, naming, "merge")
        out = self.body(m.body, current, inner)
        assert out is not None
        if when:
            operator = REGISTRY["add"].from_args([], {})
            out = self._node(inner.take(None, span), operator, [current, out], span, inner)
        if scope is not None:
            scope.output = out
        return out


# Argument types that compare equal only to values of the same type once the type is in the key
# (1, 1.0 and true are equal in Python but not as arguments: a float channel count is an error).
_SCALARS = frozenset({int, float, bool, str, Symbol, type(None)})


def _call_key(cls: type[Op], args: list[Any], kwargs: dict[str, Any]) -> tuple | None:
    """What makes two operator calls the same operator; None when an argument is not a plain
    scalar (a list, a tensor), and the call is built on its own."""
    key: list[Any] = [cls]
    for value in args:
        if type(value) not in _SCALARS:
            return None
        key += (type(value), value)
    for name, value in kwargs.items():
        if type(value) not in _SCALARS:
            return None
        key += (name, type(value), value)
    return tuple(key)


def _shown(name: str) -> str:
    return name if len(name) <= 80 else name[:60] + "..."


def _about(n: int) -> str:
    return f"{n:,}" if n < 10 ** 15 else f"{float(n):.1e}"


def _signature(bdef: ast.BlockDef) -> str:
    """For the help of an argument error (built only then: blocks are called per unit)."""
    return f"{bdef.name}({', '.join(_param_text(p) for p in bdef.params)})"


def _param_text(p: ast.Param) -> str:
    return p.name + (f": {p.type}" if p.type else "") + (" = ..." if p.default else "")


def _check_type(block: str, p: ast.Param, value: Any, span: Span) -> Any:
    allowed = _TYPES.get(p.type or "")
    if allowed is None:
        raise SpecError(f"unknown type '{p.type}' for parameter '{p.name}'", "type", p.span,
                        help=did_you_mean(p.type or "", _TYPES) or f"types: {', '.join(_TYPES)}")
    if isinstance(value, bool) and p.type != "bool":
        ok = False
    else:
        ok = isinstance(value, allowed)
    if not ok or (p.type == "str" and isinstance(value, TensorValue)):
        raise SpecError(f"'{block}' parameter '{p.name}' must be {p.type}, got "
                        f"{type_name(value)} {show(value)}", "type", span)
    return float(value) if p.type == "float" else value


def _describe(chain: ast.Chain) -> str:
    first = chain.elements[0].value
    if isinstance(first, ast.Name):
        return first.id
    if isinstance(first, ast.From):
        return ".".join(first.path)
    return "path"


def _tensor_misuse(value: TensorValue, arg: ast.Arg) -> Any:
    raise SpecError(f"the tensor '{value.label}' is not a value here", "type", arg.span,
                    help=f"to use its size, write {value.label}.c, {value.label}.h or "
                         f"{value.label}.w")
