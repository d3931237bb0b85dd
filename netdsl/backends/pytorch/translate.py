"""One spec block (or the network) -> one Python class, translated from its syntax tree.

The block's parameters become the constructor's, with `in_channels` first; its value
statements, `if` and `for` become constructor-time Python that chooses and builds submodules;
repeats become loops. A body that is a plain chain of layers becomes an nn.Sequential subclass
(no forward of its own); any other body gets a forward that mirrors it, with the spec's labels
as variable names and constructor-time choices read back from attributes
(`if self.downsample is not None`). Layer names follow the spec's naming rules, so state dicts
line up with the elaborated network's layer names.

Where a class cannot be written once for every value of some parameters (the position that
names a layer depends on them, say), translation raises `Specialize` and the generator writes
one class per value, with a comment saying why.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from netdsl.backends.pytorch import liveness
from netdsl.backends.pytorch import ops as lowering
from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch.classinfo import ClassInfo, Param
from netdsl.backends.pytorch.flow import Flow, ModuleOwner, Scope, SequentialOwner, Tensor
from netdsl.backends.pytorch.names import MODULE_ATTRIBUTES, Namespace
from netdsl.backends.pytorch.pyexpr import UNKNOWN, Py
from netdsl.backends.pytorch.shapes import Shape
from netdsl.backends.pytorch.values import (
    Env,
    NotChain,
    RuntimeOnly,
    Specialize,
    Unsupported,
    Value,
)
from netdsl.elaborate.values import LayerRef
from netdsl.errors import SpecError
from netdsl.ops import REGISTRY
from netdsl.ops.base import REQUIRED, Symbol
from netdsl.syntax import ast as syn

if TYPE_CHECKING:
    from netdsl.backends.pytorch.generator import Generator

RT = "@rt"  # a dependency: a value only the forward knows
SPATIAL = "@sz"  # a dependency: a block input's spatial size, a placeholder for its callers
SIZE = "@size"  # a dependency: the value holds a size of the input the network was built for
IN = "@in"  # a dependency: the block's input channels
_STEM = re.compile(r"^(.+?)_\d+[a-z]?$")


RUNTIME = Py(ast.Name("RUNTIME", ast.Load()), UNKNOWN, frozenset({RT}))


class Input(lowering.Input):
    """The lowering's view of the first input of a layer."""

    def __init__(self, translator: ClassTranslator, tensor: Tensor, span: Any = None):
        self.translator = translator
        self.tensor = tensor
        self.rank = tensor.rank
        self.span = span

    def dim(self, axis: int) -> Py:
        value = self.tensor.shape[axis]
        if value is None or SPATIAL in value.deps:
            value = self.translator.built_size(self.span, axis)
        if SIZE in value.deps:
            self.translator.size_dependent = True
        return value


class ClassTranslator:
    """Translates one block definition, with some parameters bound, into `info`."""

    def __init__(self, gen: Generator, info: ClassInfo, mode: str):
        self.gen = gen
        self.info = info
        self.bdef = info.bdef
        self.mode = mode
        self.attrs = Namespace(MODULE_ATTRIBUTES | _labels(self.bdef.body))
        self.locals = Namespace(gen.module_names | {"self", "in_channels", "in_features"})
        self.fnames = Namespace(gen.module_names | {"self"})
        self.stores: dict[str, str] = {}  # value store key -> attribute
        self.store_values: list[tuple[str, ast.expr]] = []
        self.flags: dict[str, str] = {}
        self.size_dependent = False
        self.referenced = _referenced_labels(self.bdef.body)
        self.uses_input = _uses_block_input(self.bdef.body)
        self.lenient = False
        self.temps: dict[str, str] = {}  # forward temporaries and the name they would like
        self.label_vars: set[str] = set()
        self.multi = {label for label, n in _label_counts(self.bdef.body).items() if n > 1}

    # ------------------------------------------------------------ the class

    def run(self) -> None:
        info = self.info
        info.inputs = []
        info.size_check = None
        env = Env()
        self.bind_params(env)
        ctor: list[ast.stmt] = []
        if info.is_network:
            fwd: list[ast.stmt] | None = [] if self.mode == "module" else None
            owner = SequentialOwner("self") if self.mode == "chain" else \
                ModuleOwner(ast.Name("self", ast.Load()))
            scope = Scope(self.mode, owner, ctor, fwd)
            flow = Flow(None)
        else:
            channels = P.name(info.channels, frozenset({IN}))
            shape: Shape = (channels,) + tuple(P.name(f"__size{i}__", frozenset({SPATIAL}))
                                               for i in range(info.rank))
            x = "x"
            self.fnames.reserve(x)
            entry = Tensor(shape, x, owned=not self.uses_input)
            fwd = [] if self.mode == "module" else None
            owner = SequentialOwner("self") if self.mode == "chain" else \
                ModuleOwner(ast.Name("self", ast.Load()))
            scope = Scope(self.mode, owner, ctor, fwd)
            flow = Flow(entry, block_input=entry.shared())
            info.inputs = [x]
        self.body(self.bdef.body, scope, flow, env)
        if flow.current is None:
            raise Unsupported("the body has no input")
        info.base = "nn.Sequential" if self.mode == "chain" else "nn.Module"
        info.ctor = ctor
        info.fwd = fwd
        if fwd is not None:
            fwd.append(_return(flow.outputs or [("", flow.current)]))
            liveness.coalesce(fwd, info.inputs, self.temps)
            fwd[:] = liveness.inline_returns(fwd)
            held = set(self.label_vars) - set(info.inputs)
            fwd[:] = liveness.release(fwd, info.inputs, _all_names(fwd) - held)
        self.finish_out(flow.current)
        info.ctor = self.store_lines() + ctor if False else ctor
        self.info.stores = self.store_values  # type: ignore[attr-defined]

    def bind_params(self, env: Env) -> None:
        """Parameters: those bound by specialisation are constants; the rest are the
        constructor's, with their spec defaults."""
        info = self.info
        info.params = []
        for p in self.bdef.params:
            if p.name in info.binding:
                value = info.binding[p.name]
                env.vars[p.name] = self.constant_value(value)
                continue
            py_name = self.locals.reserve(p.name)
            default = None
            if p.default is not None:
                default_value = self.expr(p.default, env, None, "ctor")
                default = self.default_node(p, default_value, info)
            if info.is_network and p.name in self.gen.facts.params:
                loaded = self.gen.facts.params[p.name]
                if default is None or not _equal(default_value.const, loaded):
                    default = self.default_node(p, self.constant_value(loaded), info)
            layers = None
            if p.type == "layer" or _is_layer(getattr(default, "_layers", None)):
                layers = self.candidates(p, env)
            py = P.name(py_name, frozenset({p.name}))
            env.vars[p.name] = Value(py, layers=layers)
            info.params.append(Param(p.name, py_name, default, _hint(p.type, layers)))

    def default_node(self, p: syn.Param, value: Value, info: ClassInfo) -> ast.expr:
        if value.layers is not None:
            return value.py.node if value.py is not None else ast.Constant(None)
        assert value.py is not None
        if isinstance(value.py.const, tuple):
            return P.literal_node(value.py.const)
        return value.py.node

    def constant_value(self, value: Any) -> Value:
        if isinstance(value, LayerRef):
            return Value(self.gen.layer_factory(value, self.info.rank), layers=(value,))
        return Value(P.lit(value))

    def candidates(self, p: syn.Param, env: Env) -> tuple[LayerRef, ...]:
        """The layers a layer-typed parameter stands for: every instance's argument and the
        default."""
        found: list[LayerRef] = []
        for value in self.gen.facts.arguments(self.bdef.name, p.name) + self.gen.extra_candidates(
                self.bdef.name, p.name):
            if isinstance(value, LayerRef) and value not in found:
                found.append(value)
        if p.default is not None:
            try:
                value = self.gen.evaluate(p.default)
            except SpecError:
                value = None
            if isinstance(value, LayerRef) and value not in found:
                found.append(value)
        return tuple(found)

    def finish_out(self, current: Tensor) -> None:
        """The block's output channels as an expression of its parameters, when they are one."""
        info = self.info
        if info.is_network:
            return
        info.out_shape = tuple(current.shape[1:])
        out = current.shape[0] if current.shape else None
        if out is None:
            info.out = None
            return
        info.out_expr = out.node
        names = set(P.names_in(out.node))
        params = {p.py for p in info.params} | {info.channels}
        if names <= params and not out.deps & {SIZE} and not _has_attribute(out.node):
            info.out = out
        else:
            info.out = None

    def store_lines(self) -> list[ast.stmt]:
        return []

    # ------------------------------------------------------------ values

    def store(self, key: str, value: Py) -> Py:
        """The attribute the forward reads a constructor value from (`self.s`)."""
        if value.known and P._foldable(value.const):
            return P.lit(value.const)
        if key not in self.stores:
            attribute = self.attrs.reserve(key)
            self.stores[key] = attribute
            self.store_values.append((attribute, value.node))
        return Py(ast.Attribute(ast.Name("self", ast.Load()), self.stores[key], ast.Load()))

    def read(self, name: str, value: Value, where: str) -> Value:
        if where == "fwd":
            if value.runtime is not None:
                return Value(value.runtime)
            if value.py is None:
                raise Unsupported(f"'{name}' has no value in the forward")
            if value.layers is not None:
                return value
            return Value(self.store(name, value.py))
        if value.py is None:
            raise RuntimeOnly(f"'{name}' is known only when the network runs")
        return value

    def expr(self, e: syn.Expr, env: Env, flow: Flow | None, where: str) -> Value:
        method = getattr(self, "_e_" + type(e).__name__, None)
        if method is None:
            raise Unsupported(f"a {type(e).__name__} as a value")
        return method(e, env, flow, where)

    def lenient_expr(self, e: syn.Expr, env: Env, flow: Flow | None, where: str) -> Value:
        """In an operator's attributes, a part only the forward knows stands for itself
        (`RUNTIME`), so that the rest (a reshape's rank and constant sizes) is still known."""
        if not self.lenient or where != "ctor":
            return self.expr(e, env, flow, where)
        try:
            value = self.expr(e, env, flow, where)
        except RuntimeOnly:
            return Value(RUNTIME)
        return value if value.py is not None else Value(RUNTIME)

    def py(self, e: syn.Expr, env: Env, flow: Flow | None, where: str = "ctor") -> Py:
        value = self.expr(e, env, flow, where)
        if value.py is None:
            raise RuntimeOnly("a value that is known only when the network runs")
        return value.py

    def _e_Number(self, e: syn.Number, env: Env, flow: Flow | None, where: str) -> Value:
        return Value(P.lit(e.value))

    def _e_String(self, e: syn.String, env: Env, flow: Flow | None, where: str) -> Value:
        return Value(P.lit(e.value))

    def _e_Bool(self, e: syn.Bool, env: Env, flow: Flow | None, where: str) -> Value:
        return Value(P.lit(e.value))

    def _e_Name(self, e: syn.Name, env: Env, flow: Flow | None, where: str) -> Value:
        value = env.find(e.id)
        if value is not None:
            return self.read(e.id, value, where)
        found = self.gen.global_value(e.id)
        if found is not None:
            return found
        if flow is not None and e.id in flow.labels:
            raise Unsupported(f"the tensor '{e.id}' as a value")
        if e.id == "identity" or e.id in REGISTRY or e.id in self.gen.program.blocks:
            ref = LayerRef(e.id)
            return Value(self.gen.layer_factory(ref, self._rank(flow)), layers=(ref,))
        return Value(P.lit(Symbol(e.id)))

    def _rank(self, flow: Flow | None) -> int:
        if flow is not None and flow.current is not None:
            return flow.current.rank
        return self.info.rank

    def _e_BlockInput(self, e: syn.BlockInput, env: Env, flow: Flow | None, where: str) -> Value:
        raise Unsupported("`in` as a value")

    def _e_Attribute(self, e: syn.Attribute, env: Env, flow: Flow | None, where: str) -> Value:
        tensor, var = self.tensor_of(e.value, flow)
        if tensor is None:
            raise Unsupported(f"the attribute '{e.attr}'")
        if where == "fwd":
            if e.attr == "c" and isinstance(e.value, syn.BlockInput):
                return Value(self.store("in_channels", tensor.shape[0]))
            assert var is not None
            shape = P.attr(P.name(var), "shape")
            axis = {"c": 1, "h": -2, "w": -1, "d": -3, "l": -1}.get(e.attr)
            if axis is not None:
                return Value(P.subscript(shape, P.lit(axis)))
            if e.attr == "shape":
                return Value(Py(ast.Subscript(shape.node, ast.Slice(ast.Constant(1), None),
                                              ast.Load())))
            if e.attr == "rank":
                return Value(P.lit(tensor.rank + 1))
            raise Unsupported(f"the tensor attribute '{e.attr}'")
        dims = tensor.shape
        index = {"c": 0, "h": -2, "w": -1, "d": -3, "l": -1}.get(e.attr)
        if index is not None:
            value = dims[index]
            if value is None or SPATIAL in value.deps:
                return Value(None, runtime=None)
            return Value(value)
        if e.attr == "shape":
            if any(d is None or SPATIAL in d.deps for d in dims):
                return Value(None)
            return Value(P.tuple_of(list(dims)))  # type: ignore[arg-type]
        if e.attr == "rank":
            return Value(P.lit(tensor.rank + 1))
        raise Unsupported(f"the tensor attribute '{e.attr}'")

    def tensor_of(self, e: syn.Expr, flow: Flow | None) -> tuple[Tensor | None, str | None]:
        if flow is None:
            return None, None
        if isinstance(e, syn.BlockInput):
            t = flow.block_input
            return t, t.var if t is not None else None
        path = _dotted_path(e)
        if path is not None and path in flow.labels:
            t = flow.labels[path]
            return t, t.var
        return None, None

    def _e_Index(self, e: syn.Index, env: Env, flow: Flow | None, where: str) -> Value:
        base = self.py(e.value, env, flow, where)
        index = self.py(e.index, env, flow, where)
        return Value(P.subscript(base, index))

    def _e_ListExpr(self, e: syn.ListExpr, env: Env, flow: Flow | None, where: str) -> Value:
        items = [self.lenient_expr(i, env, flow, where) for i in e.items]
        if any(i.layers is not None for i in items):
            raise Unsupported("a list of layers")
        return Value(P.tuple_of([i.py for i in items]))  # type: ignore[misc]

    def _e_BinOp(self, e: syn.BinOp, env: Env, flow: Flow | None, where: str) -> Value:
        left = self.py(e.left, env, flow, where)
        right = self.py(e.right, env, flow, where)
        const = UNKNOWN
        if left.known and right.known:
            const = _spec_arith(e.op, left.const, right.const)
        return Value(P.binop(e.op, left, right, const))

    def _e_Unary(self, e: syn.Unary, env: Env, flow: Flow | None, where: str) -> Value:
        operand = self.py(e.operand, env, flow, where)
        if e.op == "+":
            return Value(operand)
        if operand.known and isinstance(operand.const, (int, float)):
            return Value(P.folded(ast.UnaryOp(ast.USub(), operand.node), -operand.const,
                                  operand.deps))
        return Value(Py(ast.UnaryOp(ast.USub(), operand.node), UNKNOWN, operand.deps))

    def _e_Compare(self, e: syn.Compare, env: Env, flow: Flow | None, where: str) -> Value:
        operands = [self.py(o, env, flow, where) for o in e.operands]
        return Value(P.compare(list(e.ops), operands))

    def _e_BoolOp(self, e: syn.BoolOp, env: Env, flow: Flow | None, where: str) -> Value:
        left = self.py(e.left, env, flow, where)
        if left.known and isinstance(left.const, bool):
            if e.op == "and" and not left.const:
                return Value(P.lit(False))
            if e.op == "or" and left.const:
                return Value(P.lit(True))
        right = self.py(e.right, env, flow, where)
        return Value(P.boolop(e.op, left, right))

    def _e_Not(self, e: syn.Not, env: Env, flow: Flow | None, where: str) -> Value:
        return Value(P.negate(self.py(e.operand, env, flow, where)))

    def _e_Conditional(self, e: syn.Conditional, env: Env, flow: Flow | None,
                       where: str) -> Value:
        test = self.py(e.cond, env, flow, where)
        if test.known and isinstance(test.const, bool):
            return self.expr(e.then if test.const else e.otherwise, env, flow, where)
        then = self.expr(e.then, env, flow, where)
        otherwise = self.expr(e.otherwise, env, flow, where)
        if then.layers is not None or otherwise.layers is not None:
            layers = (then.layers or ()) + (otherwise.layers or ())
            return Value(P.conditional(test, then.py, otherwise.py), layers=layers)
        return Value(P.conditional(test, then.py, otherwise.py))  # type: ignore[arg-type]

    def _e_Call(self, e: syn.Call, env: Env, flow: Flow | None, where: str) -> Value:
        bound = env.find(e.func)
        if bound is not None and bound.function is not None:
            args = [self.py(_single(a.value), env, flow, where) for a in e.args]
            name = bound.py.text() if bound.py is not None else e.func
            return Value(P.call(name, args))
        if bound is not None and bound.layers is not None:
            return self.layer_value(e, bound, env, flow)
        glob = self.gen.global_function(e.func)
        if glob is not None:
            args = [self.py(_single(a.value), env, flow, where) for a in e.args]
            return Value(P.call(glob, args))
        if e.func in self.gen.BUILTINS:
            return self.builtin(e, env, flow, where)
        if e.func == "identity" or e.func in REGISTRY or e.func in self.gen.program.blocks:
            return self.layer_value(e, None, env, flow)
        raise Unsupported(f"the function '{e.func}'")

    def builtin(self, e: syn.Call, env: Env, flow: Flow | None, where: str) -> Value:
        args = [self.py(_single(a.value), env, flow, where) for a in e.args if a.name is None]
        kwargs = {a.name: self.py(_single(a.value), env, flow, where) for a in e.args if a.name}
        const = UNKNOWN
        if all(a.known for a in args) and all(v.known for v in kwargs.values()):
            try:
                const = self.gen.apply_builtin(e.func, [a.const for a in args],
                                               {k: v.const for k, v in kwargs.items()})
            except SpecError:
                const = UNKNOWN
        func = self.gen.builtin_name(e.func)
        made = P.call(func, args, kwargs)
        return Value(P.folded(made.node, const, made.deps))

    def layer_value(self, e: syn.Call, bound: Value | None, env: Env, flow: Flow | None) -> Value:
        """`leaky_relu(0.2)`, `bottleneck(groups=32)`: a layer with arguments bound."""
        args, kwargs = [], {}
        for a in e.args:
            value = self.expr(_single(a.value), env, flow, "ctor")
            const = value.layers[0] if value.layers is not None and len(value.layers) == 1 \
                else value.const
            if const is UNKNOWN:
                raise Unsupported("a layer value with arguments known only at construction")
            if a.name is None:
                args.append(const)
            else:
                kwargs[a.name] = const
        if bound is None:
            ref = LayerRef(e.func, tuple(args), tuple(kwargs.items()))
        else:
            assert bound.layers is not None
            if len(bound.layers) != 1:
                raise Unsupported("arguments bound to a layer parameter")
            base = bound.layers[0]
            ref = LayerRef(base.name, base.args + tuple(args), base.kwargs + tuple(kwargs.items()))
        return Value(self.gen.layer_factory(ref, self._rank(flow)), layers=(ref,))

    # ------------------------------------------------------------ statements

    def body(self, stmts: tuple[syn.Stmt, ...], scope: Scope, flow: Flow, env: Env) -> None:
        for stmt in stmts:
            self.statement(stmt, scope, flow, env)

    def statement(self, stmt: syn.Stmt, scope: Scope, flow: Flow, env: Env) -> None:
        method = getattr(self, "_s_" + type(stmt).__name__)
        method(stmt, scope, flow, env)

    def _s_Chain(self, stmt: syn.Chain, scope: Scope, flow: Flow, env: Env) -> None:
        for element in stmt.elements:
            self.element(element, scope, flow, env)

    def _s_Expect(self, stmt: syn.Expect, scope: Scope, flow: Flow, env: Env) -> None:
        pass

    def _s_Assign(self, stmt: syn.Assign, scope: Scope, flow: Flow, env: Env) -> None:
        try:
            value = self.expr(stmt.value, env, flow, "ctor")
        except RuntimeOnly:
            value = Value(None)
        if value.py is not None and SIZE not in value.py.deps:
            local = self.locals.reserve(stmt.name, "value")
            scope.ctor.append(_assign(local, value.py.node))
            env.vars[stmt.name] = Value(P.name(local, value.py.deps, value.py.const),
                                        layers=value.layers)
            return
        if scope.fwd is None:
            raise NotChain
        runtime = self.expr(stmt.value, env, flow, "fwd")
        assert runtime.py is not None
        local = self.fnames.reserve(stmt.name, "value")
        scope.fwd.append(_assign(local, runtime.py.node))
        env.vars[stmt.name] = Value(value.py, runtime=P.name(local))

    def _s_Def(self, stmt: syn.Def, scope: Scope, flow: Flow, env: Env) -> None:
        local = self.locals.reserve(stmt.name)
        inner = env.child()
        params = [self.locals.reserve(p) for p in stmt.params]
        for p, py_name in zip(stmt.params, params, strict=True):
            inner.vars[p] = Value(P.name(py_name))
        body = self.py(stmt.body, inner, flow, "ctor")
        func = ast.FunctionDef(local, ast.arguments([], [ast.arg(p) for p in params], None, [],
                                                    [], None, []),
                               [ast.Return(body.node)], [], None, None)
        func.lineno = 0  # type: ignore[attr-defined]
        scope.ctor.append(func)
        env.vars[stmt.name] = Value(P.name(local), function=stmt)

    def _s_Output(self, stmt: syn.Output, scope: Scope, flow: Flow, env: Env) -> None:
        if scope.fwd is None:
            raise NotChain
        for path in stmt.names:
            dotted = ".".join(path)
            tensor = flow.labels.get(dotted)
            if tensor is None:
                raise Unsupported(f"the output '{dotted}'")
            flow.outputs.append((dotted, tensor))

    def _s_Input(self, stmt: syn.Input, scope: Scope, flow: Flow, env: Env) -> None:
        shapes = self.gen.facts.input_shapes()
        concrete = shapes[stmt.name]
        spec = self.expr(stmt.shape, env, flow, "ctor").py
        channels: Py = P.lit(concrete[0])
        if spec is not None and isinstance(spec.node, ast.Tuple) and spec.node.elts:
            first = Py(spec.node.elts[0], spec.const[0] if spec.known else UNKNOWN, spec.deps)
            if not first.known or first.const == concrete[0]:
                channels = first
        sizes = tuple(Py(ast.Constant(d), d, frozenset({SIZE})) for d in concrete[1:])
        var = self.fnames.reserve(stmt.name)
        tensor = Tensor((channels, *sizes), var, owned=stmt.name not in self.referenced)
        self.info.inputs.append(var)
        if self.info.size_check is None:
            self.info.size_check = {}
        self.info.size_check[var] = concrete[1:]
        flow.current = tensor
        flow.labels[stmt.name] = tensor.shared()
        if len(self.info.inputs) > 1 and scope.mode == "chain":
            raise NotChain

    # ------------------------------------------------------------ if and for

    def _s_If(self, stmt: syn.If, scope: Scope, flow: Flow, env: Env) -> None:
        tests: list[Py] = []
        bodies: list[tuple[syn.Stmt, ...]] = []
        for cond, body in stmt.branches:
            test = self.py(cond, env, flow, "ctor")
            if test.known and isinstance(test.const, bool):
                if test.const:
                    tests.append(P.lit(True))
                    bodies.append(body)
                    break
                continue
            tests.append(test)
            bodies.append(body)
        else:
            tests.append(P.lit(True))
            bodies.append(stmt.otherwise or ())
        if tests and tests[0].const is True:
            self.body(bodies[0], scope, flow, env)
            return
        self.branches(tests, bodies, scope, flow, env, paths=None)

    def branches(self, tests: list[Py], bodies: list[tuple[syn.Stmt, ...]], scope: Scope,
                 flow: Flow, env: Env, paths: Tensor | None) -> list[Tensor] | None:
        """Translate an `if` whose branches are chosen at construction time: the constructor
        gets a Python `if`; a forward, an `if` on what the constructor recorded. With `paths`
        (the entry of a merge), each branch yields merge paths instead of a current tensor."""
        start = flow.current
        results = []
        envs: list[Env] = []
        for body in bodies:
            ctor: list[ast.stmt] = []
            fwd: list[ast.stmt] | None = [] if scope.fwd is not None else None
            inner = scope.nested(ctor, fwd)
            inner.registered = []
            branch_flow = flow.fork(self.entry(start, scope) if paths is None else start)
            branch_flow.labels = flow.labels
            branch_env = env.child()
            if paths is not None:
                ends = self.paths(body, paths, inner, branch_flow, branch_env)
            else:
                self.body(body, inner, branch_flow, branch_env)
                ends = [branch_flow.current]
            if len(branch_flow.outputs) > len(flow.outputs) and fwd is not None:
                fwd.append(_return(branch_flow.outputs))  # an `output` in the branch
                ends = []
            results.append((ctor, fwd, inner, branch_flow, ends))
            envs.append(branch_env)
        _merge_envs(env, envs)
        counters = {r[2].counter for r in results}
        if len(counters) > 1:
            deps = frozenset().union(*(t.deps for t in tests))
            scope.dynamic = (scope.dynamic or frozenset()) | deps
            scope.counter = max(counters)
        else:
            scope.counter = counters.pop()
            if any(r[2].dynamic for r in results):
                scope.dynamic = frozenset().union(*(r[2].dynamic or frozenset() for r in results))
        registered = [r[2].registered for r in results]
        for names in registered:
            scope.registered.extend(names)
        # the tensors after the `if` (of the branches that go on)
        returned = [r for r in results if not r[4] and paths is None]
        going = [r for r in results if r not in returned]
        if not going:
            raise Unsupported("every branch ends in an `output`")
        counts = {len(r[4]) for r in going}
        if len(counts) > 1:
            raise Specialize(frozenset().union(*(t.deps for t in tests)) - {IN, SIZE},
                             "the number of paths of a merge depends on it")
        n = counts.pop()
        ends: list[Tensor] = []
        for i in range(n):
            ends.append(self.join([r[4][i] for r in going], [r[0] for r in going],
                                  [r[1] for r in going], scope,
                                  hint="identity" if paths is not None else flow.hint,
                                  start=start))
        # the constructor
        ctor_if = _if_chain(tests, [r[0] for r in results])
        if scope.fwd is not None:
            fwd_bodies = [r[1] for r in results]
            if any(fwd_bodies):
                ftests = self.forward_tests(tests, registered, scope, ctor_if)
                scope.fwd.extend(_if_chain(ftests, fwd_bodies))
        scope.ctor.extend(ctor_if)
        if paths is not None:
            return ends
        flow.current = ends[0]
        return None

    def entry(self, start: Tensor | None, scope: Scope) -> Tensor | None:
        return start

    def join(self, ends: list[Tensor], ctors: list[list[ast.stmt]],
             fwds: list[list[ast.stmt] | None], scope: Scope, hint: str,
             start: Tensor | None) -> Tensor:
        """One tensor from the branches' tensors: channels agreed on (or a running variable),
        and in a forward one variable every branch assigns."""
        shape = self.join_shapes([e.shape for e in ends], ctors, fresh=hint == "identity")
        if scope.fwd is None:
            return Tensor(shape)
        vars_ = [e.var for e in ends]
        if len(set(vars_)) == 1:
            same = ends[0]
            return replace(same, shape=shape, fresh=all(e.fresh for e in ends))
        # a variable every branch ends in: one made in a branch, renamed; an older one, copied
        made = [v for v, f in zip(vars_, fwds, strict=True) if f and _assigns(f, v)
                and not _defined_before(v, scope)]
        target = made[0] if made else self.fnames.reserve(hint)
        if not made:
            self.temps[target] = hint
        hoisted = None
        for var, fwd in zip(vars_, fwds, strict=True):
            assert fwd is not None
            if var == target:
                continue
            if fwd and _assigns(fwd, var) and not _defined_before(var, scope):
                _rename(fwd, var, target)
            elif hoisted is None and not fwd:
                hoisted = var
            else:
                fwd.append(_assign(target, ast.Name(var, ast.Load())))
        if hoisted is not None:
            scope.fwd.append(_assign(target, ast.Name(hoisted, ast.Load())))
        return Tensor(shape, target, owned=True, fresh=False)

    def join_shapes(self, shapes: list[Shape], ctors: list[list[ast.stmt]],
                    fresh: bool = False) -> Shape:
        first = shapes[0]
        if any(len(s) != len(first) for s in shapes):
            raise Unsupported("branches that end in tensors of different ranks")
        out: list[Py | None] = []
        for axis in range(len(first)):
            dims = [s[axis] for s in shapes]
            if all(d is not None for d in dims) and all(P.same(d, dims[0]) for d in dims):
                out.append(dims[0])
            elif axis == 0 and all(d is not None for d in dims):
                # a merge path's channels are a value of their own; the flow's, the running one
                var = self.locals.reserve("channels", None if fresh else "channels")
                for ctor, d in zip(ctors, dims, strict=True):
                    if not (isinstance(d.node, ast.Name) and d.node.id == var):
                        ctor.append(_assign(var, d.node))
                out.append(P.name(var, frozenset().union(*(d.deps for d in dims))))
            else:
                out.append(None)
        return tuple(out)

    def forward_tests(self, tests: list[Py], registered: list[list[str]], scope: Scope,
                      ctor_if: list[ast.stmt]) -> list[Py]:
        """How the forward tells which branch the constructor took."""
        out = []
        for i, test in enumerate(tests):
            if test.const is True:
                out.append(test)
                continue
            names = registered[i]
            others = [n for j, r in enumerate(registered) if j != i for n in r]
            if len(tests) <= 2 and len(names) == 1 and not others and names[0] not in self.multi \
                    and _is_identifier(names[0]) and i == 0:
                label = names[0]
                ctor_if.insert(0, ast.Assign([_self_attr(label, ast.Store())],
                                             ast.Constant(None)))
                out.append(Py(ast.Compare(_self_attr(label), [ast.IsNot()],
                                          [ast.Constant(None)])))
                continue
            out.append(self.flag(test, names))
        return out

    def flag(self, test: Py, names: list[str]) -> Py:
        """A constructor-time condition as the forward reads it: a parameter or value it names
        (stored: `self.s == 1`), or a flag of its own."""
        free = [n for n in P.names_in(test.node)]
        if len(set(free)) == 1 and free[0] not in ("in_channels", "in_features"):
            var = free[0]
            stored = self.store(var, P.name(var))
            return P.substitute(test, {var: stored})
        key = f"use_{names[0]}" if names else "use_branch"
        return self.store(key, test)

    def _s_For(self, stmt: syn.For, scope: Scope, flow: Flow, env: Env) -> None:
        iterable = self.expr(stmt.iterable, env, flow, "ctor")
        if iterable.py is None:
            raise Unsupported("a loop over values known only when the network runs")
        if scope.mode == "module" or scope.fwd is not None:
            self.unroll(stmt, iterable.py, scope, flow, env)
            return
        var = self.locals.reserve(stmt.var, "loop")
        inner_env = env.child()
        inner_env.vars[stmt.var] = Value(P.name(var, iterable.py.deps))
        self.loop(ast.Name(var, ast.Store()), iterable.py, stmt.body, scope, flow, inner_env)

    def unroll(self, stmt: syn.For, iterable: Py, scope: Scope, flow: Flow, env: Env) -> None:
        if not iterable.known or not isinstance(iterable.const, tuple):
            raise Specialize(iterable.deps - {IN, SIZE}, "a forward loops over it")
        for value in iterable.const:
            env.vars[stmt.var] = self.constant_value(value)
            self.body(stmt.body, scope, flow, env)

    def loop(self, target: ast.expr, iterable: Py, body: tuple[syn.Stmt, ...] | syn.Element,
             scope: Scope, flow: Flow, env: Env) -> None:
        """A constructor loop (in a chain); the channels it changes become a running
        variable."""
        _forget(env, body)
        start = flow.current
        assert start is not None
        placeholder = "__channels__"
        trial_ctor: list[ast.stmt] = []
        inner = scope.nested(trial_ctor, None)
        inner_flow = flow.fork(replace(start, shape=(P.name(placeholder),) + start.shape[1:]))
        self._loop_body(body, inner, inner_flow, env)
        end = inner_flow.current.shape[0] if inner_flow.current else None
        same = end is not None and start.shape[0] is not None and \
            placeholder not in P.names_in(end.node) and P.same(end, start.shape[0])
        if end is not None and (end.is_name(placeholder) or same):
            # the channels do not change: the body reads the channels from before the loop
            _substitute(trial_ctor, placeholder, start.shape[0])
            scope.ctor.append(ast.For(target, iterable.node, trial_ctor or [ast.Pass()], []))
            flow.current = replace(start, shape=(start.shape[0],) + inner_flow.current.shape[1:])
            return
        var = self.locals.reserve("channels", "channels")
        if end is not None and not end.is_name(var):
            trial_ctor.append(_assign(var, end.node))
        _substitute(trial_ctor, placeholder, P.name(var))
        if start.shape[0] is None or not start.shape[0].is_name(var):
            scope.ctor.append(_assign(var, start.shape[0].node))
        scope.ctor.append(ast.For(target, iterable.node, trial_ctor, []))
        flow.current = replace(start, shape=(P.name(var, (end.deps if end else frozenset())),)
                               + tuple(None for _ in start.shape[1:]))

    def _loop_body(self, body: Any, scope: Scope, flow: Flow, env: Env) -> None:
        if isinstance(body, syn.Element):
            self.element(body, scope, flow, env)
        else:
            self.body(body, scope, flow, env)

    # ------------------------------------------------------------ elements

    def element(self, el: syn.Element, scope: Scope, flow: Flow, env: Env) -> None:
        label = self.label_of(el, env, flow)
        value = el.value
        if isinstance(value, syn.Merge):
            self.merge(value, label, el.span, scope, flow, env)
        elif isinstance(value, syn.Group):
            self.group(value.body, label, scope, flow, env)
        elif isinstance(value, syn.From):
            self.from_(value, flow, scope)
        elif isinstance(value, syn.BinOp) and value.op == "*" and self.is_layer_expr(value.left,
                                                                                    env):
            self.repeat(value, label, el, scope, flow, env)
        else:
            self.call(value, label, el.span, scope, flow, env)
        if isinstance(label, str):
            self.bind_label(label, flow, scope)

    def bind_label(self, label: str, flow: Flow, scope: Scope) -> None:
        current = flow.current
        assert current is not None
        if scope.fwd is not None and label in self.referenced and current.var is not None:
            if current.owned:
                var = self.fnames.reserve(label)
                self.label_vars.add(var)
                if current.var != var:
                    _retarget_last(scope.fwd, current.var, var)
                current = replace(current, var=var, owned=False, fresh=False)
                flow.current = current
        flow.labels[label] = current.shared()

    def label_of(self, el: syn.Element, env: Env, flow: Flow) -> str | Py | None:
        if el.label is None or isinstance(el.label, str):
            return el.label
        value = self.py(el.label, env, flow, "ctor")
        if value.known and isinstance(value.const, str):
            return str(value.const)
        return value

    def is_layer_expr(self, e: syn.Expr, env: Env) -> bool:
        if isinstance(e, (syn.Group, syn.Merge)):
            return True
        name = e.id if isinstance(e, syn.Name) else e.func if isinstance(e, syn.Call) else None
        if name is None:
            return False
        bound = env.find(name)
        if bound is not None:
            return bound.layers is not None
        return name == "identity" or name in REGISTRY or name in self.gen.program.blocks

    def from_(self, value: syn.From, flow: Flow, scope: Scope) -> None:
        if scope.fwd is None:
            raise NotChain
        dotted = ".".join(value.path)
        if dotted == "in":
            flow.current = flow.block_input
        else:
            tensor = flow.labels.get(dotted)
            if tensor is None:
                raise Unsupported(f"the tensor '{dotted}'")
            flow.current = tensor.shared()

    def group(self, body: tuple[syn.Stmt, ...], label: str | Py | None, scope: Scope, flow: Flow,
              env: Env) -> None:
        if label is None:
            self.body(body, scope, flow, env)
            return
        self.child_scope(label, scope, flow,
                         lambda inner, inner_flow: self.body(body, inner, inner_flow, env))

    def child_scope(self, label: str | Py, scope: Scope, flow: Flow, fill: Any) -> None:
        """A labeled group, merge or repeat: an nn.Sequential when it is a chain, else (in a
        module) a ModuleDict of its layers wired by the enclosing forward."""
        start = flow.current
        try:
            made, end = self.sequential(label, start, flow, fill)
        except NotChain:
            if scope.fwd is None:
                raise
            self.namespace(label, scope, flow, fill)
            return
        made_ctor, module = made
        scope.ctor.extend(made_ctor)
        self.register(label, module, scope)
        if scope.fwd is not None:
            ref = scope.owner.ref(label) if isinstance(label, str) else None
            if ref is None:
                raise Unsupported("a computed label in a forward")
            self.apply_call(Py(ref), [start], end.shape, scope, flow, overwritable=False)
        else:
            flow.current = end

    def sequential(self, label: str | Py, start: Tensor | None, flow: Flow,
                   fill: Any) -> tuple[tuple[list[ast.stmt], Py], Tensor]:
        """A labeled chain as one nn.Sequential expression (built in a list when the
        constructor chooses or repeats its layers)."""
        base = label if isinstance(label, str) and _is_identifier(label) else "layers"
        var = self.locals.reserve("layers" if base == "layers" else base, "seq")
        ctor: list[ast.stmt] = []
        labeled = _has_labels(fill)
        owner = SequentialOwner(var, is_list=True)
        inner = Scope("chain", owner, ctor, None)
        inner_flow = flow.fork(start)
        inner_flow.labels = dict(flow.labels)
        try:
            fill(inner, inner_flow)
        except AssertionError:
            labeled = True
        if labeled or any(_is_named_registration(s) for s in ctor):
            owner = SequentialOwner(var)
            ctor = []
            inner = Scope("chain", owner, ctor, None)
            inner_flow = flow.fork(start)
            inner_flow.labels = dict(flow.labels)
            fill(inner, inner_flow)
            if all(_is_named_registration(s) or _is_append(s, var) for s in ctor):
                items = [_registration_pair(s) for s in ctor]
                pairs = ast.List([ast.Tuple([ast.Constant(k), v], ast.Load())
                                  for k, v in _numbered(items)], ast.Load())
                module = P.call("nn.Sequential", [P.call("OrderedDict", [Py(pairs)])])
                return ([], module), inner_flow.current
            setup = [_assign(var, P.call("nn.Sequential").node)]
            return (setup + ctor, P.name(var)), inner_flow.current
        if all(_is_append(s, var) for s in ctor):
            items = [s.value.args[0] for s in ctor]  # type: ignore[attr-defined]
            return ([], P.call("nn.Sequential", [Py(i) for i in items])), inner_flow.current
        setup = [_assign(var, ast.List([], ast.Load()))]
        starred = Py(ast.Starred(ast.Name(var, ast.Load()), ast.Load()))
        return (setup + ctor, P.call("nn.Sequential", [starred])), inner_flow.current

    def namespace(self, label: str | Py, scope: Scope, flow: Flow, fill: Any) -> None:
        """A labeled non-chain scope in a module: its layers in a ModuleDict."""
        if not isinstance(label, str):
            raise Unsupported("a computed label on a group that is not a chain")
        self.check_child(label)
        attr = scope.owner.ref(label)
        start = len(scope.ctor)
        scope.take()
        owner = ModuleOwner(attr, is_dict=True)
        inner = Scope("module", owner, scope.ctor, scope.fwd)
        fill(inner, flow)
        if inner.registered:  # a group of layers without parameters needs no container
            scope.ctor.insert(start, ast.Assign([_store(attr)], P.call("nn.ModuleDict").node))
            scope.registered.append(label)

    def repeat(self, value: syn.BinOp, label: str | Py | None, el: syn.Element, scope: Scope,
               flow: Flow, env: Env) -> None:
        count = self.py(value.right, env, flow, "ctor")
        item = syn.Element(value.left.span, None, None, value.left)

        def fill(inner: Scope, inner_flow: Flow) -> None:
            if inner.fwd is None and inner.mode == "chain":
                self.loop(ast.Name("_", ast.Store()), P.call("range", [count]), item, inner,
                          inner_flow, env)
                return
            if type(count.const) is not int:
                raise Specialize(count.deps - {IN, SIZE}, "a forward repeats a layer that many "
                                                          "times")
            for _ in range(count.const):
                self.element(item, inner, inner_flow, env)

        if label is None:
            fill(scope, flow)
        else:
            self.child_scope(label, scope, flow, fill)

    # ------------------------------------------------------------ merges

    def merge(self, m: syn.Merge, label: str | Py | None, span: Any, scope: Scope, flow: Flow,
              env: Env) -> None:
        if scope.fwd is None:
            raise NotChain
        if m.func == "residual":
            self.residual(m, label, scope, flow, env)
            return

        def fill(inner: Scope, inner_flow: Flow) -> None:
            entry = inner_flow.current
            assert entry is not None
            paths = self.paths(m.body, entry.shared(), inner, inner_flow, env)
            if len(paths) == 1:
                inner_flow.current = paths[0]
                return
            attrs = self.op_attrs(m.func, m.args, (), {}, env, inner_flow, "ctor")[0]
            self.apply_op(m.func, attrs, {}, paths, None, inner, inner_flow, span)
            result = inner_flow.current
            if entry.owned and entry.var not in self.info.inputs and result is not None and \
                    result.var != entry.var and inner.fwd:
                # the merge's result takes the name of the tensor it branched from
                _retarget_last(inner.fwd, result.var, entry.var)  # type: ignore[arg-type]
                inner_flow.current = replace(result, var=entry.var)

        if label is None:
            fill(scope, flow)
        else:
            self.namespace(label, scope, flow, fill)

    def paths(self, stmts: tuple[syn.Stmt, ...], entry: Tensor, scope: Scope, flow: Flow,
              env: Env) -> list[Tensor]:
        """Each chain of a merge's body is one path from `entry`."""
        out: list[Tensor] = []
        for stmt in stmts:
            if isinstance(stmt, syn.Chain):
                path_flow = flow.fork(entry.shared(), hint=self.path_hint(stmt, len(out)))
                path_flow.labels = flow.labels
                self._s_Chain(stmt, scope, path_flow, env)
                assert path_flow.current is not None
                out.append(path_flow.current)
            elif isinstance(stmt, syn.If):
                tests, bodies = [], []
                for cond, body in stmt.branches:
                    test = self.py(cond, env, flow, "ctor")
                    if test.known and test.const is False:
                        continue
                    tests.append(test)
                    bodies.append(body)
                    if test.const is True:
                        break
                else:
                    tests.append(P.lit(True))
                    bodies.append(stmt.otherwise or ())
                if tests[0].const is True:
                    out += self.paths(bodies[0], entry, scope, flow, env)
                    continue
                ends = self.branches(tests, bodies, scope, flow, env, paths=entry)
                out += ends or []
            elif isinstance(stmt, syn.For):
                iterable = self.py(stmt.iterable, env, flow, "ctor")
                if not iterable.known or not isinstance(iterable.const, tuple):
                    raise Specialize(iterable.deps - {IN, SIZE}, "a merge's paths loop over it")
                for value in iterable.const:
                    env.vars[stmt.var] = self.constant_value(value)
                    out += self.paths(stmt.body, entry, scope, flow, env)
            elif isinstance(stmt, (syn.Assign, syn.Def)):
                self.statement(stmt, scope, flow, env)
            else:
                raise Unsupported("a statement in a merge")
        return out

    def path_hint(self, chain: syn.Chain, index: int) -> str:
        """A merge path's variable: named after the block or group its first label names
        (`branch1`; `branch5x5_1` -> `branch5x5`, as torchvision names them), else `out`."""
        first = chain.elements[0]
        if len(chain.elements) == 1 and isinstance(first.label, str):
            return first.label
        label = _first_label(chain, self.gen.program.blocks)
        if label is None:
            return "out"
        m = _STEM.match(label)
        return m.group(1) if m else label

    def residual(self, m: syn.Merge, label: str | Py | None, scope: Scope, flow: Flow,
                 env: Env) -> None:
        when = P.lit(True)
        for a in m.args:
            if a.name == "when":
                when = self.py(_single(a.value), env, flow, "ctor")

        def fill(inner: Scope, inner_flow: Flow) -> None:
            entry = inner_flow.current
            assert entry is not None
            body_flow = inner_flow.fork(entry.shared(), hint="out")
            body_flow.labels = inner_flow.labels
            self.body(m.body, inner, body_flow, env)
            result = body_flow.current
            assert result is not None
            if when.const is False:
                inner_flow.current = result
                return
            if when.const is not True:
                inner.dynamic = (inner.dynamic or frozenset()) | (when.deps - {IN, SIZE})
            shape = result.shape  # what the body makes: what the block makes without the sum
            if when.const is True:
                inner.take()
            added = lowering.invoke("add", {"broadcast": P.lit(False)},
                                    [P.name(entry.var), P.name(result.var)], Input(self, entry),
                                    P.lit(False))
            target = result.var if result.owned else self.fnames.reserve(inner_flow.hint)
            if when.const is True:
                inner.fwd.append(_assign(target, added.node))  # type: ignore[union-attr]
                inner_flow.current = Tensor(shape, target, owned=True, fresh=True)
                return
            test = self.flag_named(when, "use_residual")
            if not result.owned:
                inner.fwd.append(_assign(target, ast.Name(result.var, ast.Load())))  # type: ignore
            inner.fwd.append(ast.If(test.node, [_assign(target, added.node)], []))  # type: ignore
            inner_flow.current = Tensor(shape, target, owned=True, fresh=False)

        if label is None:
            fill(scope, flow)
        else:
            self.namespace(label, scope, flow, fill)

    def flag_named(self, test: Py, key: str) -> Py:
        free = set(P.names_in(test.node))
        if len(free) == 1 and not free & {"in_channels", "in_features"}:
            var = free.pop()
            return P.substitute(test, {var: self.store(var, P.name(var))})
        return self.store(key, test)

    # ------------------------------------------------------------ calls

    def call(self, value: syn.Expr, label: str | Py | None, span: Any, scope: Scope, flow: Flow,
             env: Env) -> None:
        if isinstance(value, syn.Name):
            func, arg_asts = value.id, ()
        elif isinstance(value, syn.Call):
            func, arg_asts = value.func, value.args
        else:
            layer = self.expr(value, env, flow, "ctor")
            if layer.layers is None:
                raise Unsupported("a value where a layer was expected")
            self.layer_call(layer, (), label, span, scope, flow, env)
            return
        bound = env.find(func)
        if bound is not None and bound.layers is not None:
            self.layer_call(bound, arg_asts, label, span, scope, flow, env)
            return
        self.direct_call(func, arg_asts, (), {}, label, span, scope, flow, env)

    def direct_call(self, func: str, arg_asts: tuple[syn.Arg, ...], args: tuple[Any, ...],
                    kwargs: dict[str, Any], label: str | Py | None, span: Any, scope: Scope,
                    flow: Flow, env: Env) -> None:
        if func == "identity":
            return
        if func in self.gen.program.blocks:
            self.block_call(self.gen.program.blocks[func], arg_asts, args, kwargs, label, span,
                            scope, flow, env)
            return
        if func not in REGISTRY:
            raise Unsupported(f"the layer '{func}'")
        attrs, given, tensors = self.op_attrs(func, arg_asts, args, kwargs, env, flow, "ctor")
        inputs = [flow.current] + [self.tensor_path(t, scope, flow, env) for t in tensors]
        self.apply_op(func, attrs, given, inputs, label, scope, flow, span,
                      arg_asts=arg_asts, args=args, kwargs=kwargs, env=env)

    def tensor_path(self, chain: syn.Chain, scope: Scope, flow: Flow, env: Env) -> Tensor:
        """A tensor argument: a label, `in`, or a chain run from the current tensor."""
        if scope.fwd is None:
            raise NotChain
        if len(chain.elements) == 1 and chain.elements[0].label is None:
            v = chain.elements[0].value
            if isinstance(v, syn.Name) and v.id in flow.labels:
                return flow.labels[v.id]
            if isinstance(v, syn.BlockInput):
                assert flow.block_input is not None
                return flow.block_input
            path = _dotted_path(v)
            if path is not None and path in flow.labels:
                return flow.labels[path]
        sub = flow.fork(flow.current.shared() if flow.current else None, hint="out")
        sub.labels = flow.labels
        self._s_Chain(chain, scope, sub, env)
        assert sub.current is not None
        return sub.current

    def op_attrs(self, func: str, arg_asts: tuple[syn.Arg, ...], args: tuple[Any, ...],
                 kwargs: dict[str, Any], env: Env, flow: Flow, where: str,
                 ) -> tuple[dict[str, Py], set[str], list[syn.Chain]]:
        """An operator call's attributes by field, with the op's defaults; tensor arguments
        apart."""
        cls = REGISTRY[func]
        table = cls.parameters()
        values: dict[str, Py] = {}
        tensors: list[syn.Chain] = []
        index = 0
        for value in args:
            values[table.positional[index].name] = self.const_py(value)
            index += 1
        for key, value in kwargs.items():
            values[table.by_name[key].name] = self.const_py(value)
        for a in arg_asts:
            if a.name is None:
                if cls.variadic:
                    tensors.append(a.value)
                    continue
                f = table.positional[index]
                index += 1
            else:
                f = table.by_name[a.name]
            if f.name in table.tensors:
                tensors.append(a.value)
                values[f.name] = P.lit(True)
                continue
            self.lenient = True
            try:
                v = self.lenient_expr(_single(a.value), env, flow, where)
            finally:
                self.lenient = False
            values[f.name] = _coerce(f, v.py)
        given = set(values)
        for f in table.fields:
            if f.name not in values:
                default = None if f.default is REQUIRED else f.default
                values[f.name] = P.lit(default)
        return values, given, tensors

    def const_py(self, value: Any) -> Py:
        if isinstance(value, LayerRef):
            return self.gen.layer_factory(value, self.info.rank)
        return P.lit(value)

    def apply_op(self, func: str, attrs: dict[str, Py], given: set[str], inputs: list[Tensor],
                 label: str | Py | None, scope: Scope, flow: Flow, span: Any, take: bool = True,
                 arg_asts: tuple[syn.Arg, ...] = (), args: tuple[Any, ...] = (),
                 kwargs: dict[str, Any] | None = None, env: Env | None = None) -> None:
        row = lowering.lowering(func)
        cls = REGISTRY[func]
        for name, f in ((f.name, f) for f in cls.parameters().fields):
            attrs.setdefault(name, P.lit(None if f.default is REQUIRED else f.default))
        shape = self.out_shape(func, attrs, inputs, span)
        x = Input(self, inputs[0], span)
        if scope.mode == "chain":
            if len(inputs) > 1:
                raise NotChain
            inplace = row.inplace and self.previous_overwritable(scope)
            if any(v.deps & {RT, SIZE} for v in attrs.values()):
                raise NotChain
            module = lowering.construct(func, attrs, x, inplace)
            if module is None:
                raise NotChain
            if SIZE in module.deps:
                self.size_dependent = True
            self.gen.helpers.update(row.helpers)
            self.register(label, module, scope, overwritable=row.overwritable)
            flow.current = Tensor(shape)
            return
        # an attribute read from a tensor's size is the forward's to compute, not baked in
        runtime = any(v.deps & {RT, SIZE} for v in attrs.values())
        if not runtime and (lowering.holds_state(func, attrs) or not row.has_function() or
                            label is not None and row.has_module()):
            inplace = row.inplace and len(inputs) == 1 and inputs[0].fresh and inputs[0].owned
            module = lowering.construct(func, attrs, x, inplace)
            if module is None:
                raise Unsupported(f"'{func}' has no module form")
            if SIZE in module.deps:
                self.size_dependent = True
            self.gen.helpers.update(row.helpers)
            name = self.register(label, module, scope)
            ref = scope.owner.ref(name)
            self.apply_call(Py(ref), inputs, shape, scope, flow,
                            overwritable=row.overwritable)
            return
        if take:
            scope.take()
        if lowering.does_nothing(func, attrs):
            flow.current = replace(inputs[0], shape=shape)
            return
        fattrs = attrs
        if env is not None and (arg_asts or args or kwargs):
            fattrs = self.op_attrs(func, arg_asts, args, kwargs or {}, env, flow, "fwd")[0]
            for name, f in ((f.name, f) for f in cls.parameters().fields):
                fattrs.setdefault(name, P.lit(None if f.default is REQUIRED else f.default))
        elif any(not v.known for v in attrs.values()):
            fattrs = {k: (v if v.known else self.store(k, v)) for k, v in attrs.items()}
        inplace = row.inplace and len(inputs) == 1 and inputs[0].fresh and inputs[0].owned
        training = Py(ast.Attribute(ast.Name("self", ast.Load()), "training", ast.Load()))
        vars_ = [P.name(t.var) for t in inputs]  # type: ignore[arg-type]
        result = lowering.invoke(func, fattrs, vars_, x, training, inplace)
        self.gen.helpers.update(row.helpers)
        self.assign_result(result, inputs, shape, scope, flow, row.overwritable)

    def out_shape(self, func: str, attrs: dict[str, Py], inputs: list[Tensor],
                  span: Any) -> Shape:
        row = lowering.lowering(func)
        return row.shape(attrs, [t.shape for t in inputs])

    def built_size(self, span: Any, axis: int) -> Py:
        """A size the constructor needs but only the input knows: the size the network was
        built with, when every instance of the layer saw the same one."""
        sizes = self.gen.facts.input_sizes(span, axis) if span is not None else set()
        if len(sizes) != 1:
            raise Unsupported("a layer whose construction depends on its input's size, which "
                              "differs between its instances")
        size = sizes.pop()
        return Py(ast.Constant(size), 1 if size == 1 else UNKNOWN, frozenset({SIZE}))

    def previous_overwritable(self, scope: Scope) -> bool:
        return getattr(scope, "last_overwritable", False)

    def register(self, label: str | Py | None, module: Py, scope: Scope,
                 overwritable: bool = False) -> str:
        """Register a child module under its label or position; its name."""
        owner = scope.owner
        if owner.sequential:
            name: str | Py | None = label
            scope.ctor.append(owner.register(name, module))
            scope.take()
            scope.last_overwritable = overwritable  # type: ignore[attr-defined]
            return label if isinstance(label, str) else ""
        if label is None:
            if scope.dynamic:
                raise Specialize(scope.dynamic, "the positions that name its layers depend on it")
            name = str(scope.take())
        elif isinstance(label, str):
            name = label
            scope.take()
        else:
            raise Specialize(label.deps - {IN, SIZE}, "a computed label names a layer")
        self.check_child(name)
        scope.ctor.append(owner.register(name, module))
        scope.registered.append(name)
        return name

    def check_child(self, name: str) -> None:
        if name in MODULE_ATTRIBUTES:
            raise Unsupported(f"the label '{name}' would shadow the torch.nn.Module attribute "
                              f"of that name; rename it")

    def apply_call(self, func: Py, inputs: list[Tensor], shape: Shape, scope: Scope, flow: Flow,
                   overwritable: bool) -> None:
        result = P.call(func, [P.name(t.var) for t in inputs])  # type: ignore[arg-type]
        self.assign_result(result, inputs, shape, scope, flow, overwritable)

    def assign_result(self, value: Py, inputs: list[Tensor], shape: Shape, scope: Scope,
                      flow: Flow, overwritable: bool) -> None:
        """`var = value` in the forward: the first input's variable when no one else reads it
        (`x = f(x)`), else a new one."""
        assert scope.fwd is not None
        first = inputs[0]
        if first.owned and first.var is not None:
            var = first.var
        else:
            var = self.fnames.reserve(flow.hint)
            self.temps[var] = flow.hint
        scope.fwd.append(_assign(var, value.node))
        flow.current = Tensor(shape, var, owned=True, fresh=overwritable)

    # ------------------------------------------------------------ blocks

    def block_call(self, bdef: syn.BlockDef, arg_asts: tuple[syn.Arg, ...], args: tuple[Any, ...],
                   kwargs: dict[str, Any], label: str | Py | None, span: Any, scope: Scope,
                   flow: Flow, env: Env) -> None:
        bound = self.bind_call(bdef, arg_asts, args, kwargs, env, flow)
        current = flow.current
        assert current is not None
        if bdef.inline and label is None:
            self.inline(bdef, bound, scope, flow)
            return
        info = self.gen.variant(bdef, {k: v for k, (v, _) in bound.items()}, current.rank)
        module = self.instantiate(info, bound, current)
        shape = self.block_out(info, bound, current)
        self.apply_module(module, label, shape, scope, flow, info)

    def bind_call(self, bdef: syn.BlockDef, arg_asts: tuple[syn.Arg, ...], args: tuple[Any, ...],
                  kwargs: dict[str, Any], env: Env, flow: Flow
                  ) -> dict[str, tuple[Value, str | None]]:
        """The call's arguments by parameter name: the value, and how the spec gave it
        ("pos", "kw", or None for a default)."""
        params = [p.name for p in bdef.params]
        out: dict[str, tuple[Value, str | None]] = {}
        index = 0
        for value in args:
            out[params[index]] = (self.constant_value(value), "pos")
            index += 1
        for key, value in kwargs.items():
            out[key] = (self.constant_value(value), "kw")
        for a in arg_asts:
            v = self.expr(_single(a.value), env, flow, "ctor")
            if a.name is None:
                out[params[index]] = (v, "pos")
                index += 1
            else:
                out[a.name] = (v, "kw")
        defaults = Env()
        for p in bdef.params:
            if p.name in out:
                defaults.vars[p.name] = out[p.name][0]
            elif p.default is not None:
                v = self.expr(p.default, defaults, None, "ctor")
                out[p.name] = (v, None)
                defaults.vars[p.name] = v
        return out

    def instantiate(self, info: ClassInfo, bound: dict[str, tuple[Value, str | None]],
                    current: Tensor) -> Py:
        """`Block(in_channels, arg, ..., key=arg)`: the spec's arguments as the spec gave
        them, positionally while they line up with the class's parameters."""
        channels = current.shape[0]
        if channels is None:
            raise Unsupported("a block on a tensor whose channels only the forward knows")
        positional: list[Py] = [channels]
        named: dict[str, Py] = {}
        in_line = True
        py_names = {p.spec: p.py for p in info.params}
        for p in info.bdef.params:
            value, how = bound.get(p.name, (None, None))
            if p.name not in py_names or how is None:
                in_line = False  # a positional argument cannot skip a parameter
                continue
            assert value is not None and value.py is not None
            if how == "pos" and in_line:
                positional.append(value.py)
            else:
                in_line = False
                named[py_names[p.name]] = value.py
        return P.call(info.name, positional, named)

    def block_out(self, info: ClassInfo, bound: dict[str, tuple[Value, bool]],
                  current: Tensor) -> Shape:
        """The shape a block call makes: the class's output shape with the call's arguments
        and the input's sizes put in (None where the forward alone knows it)."""
        mapping: dict[str, Py | None] = {p.py: bound[p.spec][0].py for p in info.params}
        mapping[info.channels] = current.shape[0]
        channels = _put(info.out, mapping, None)
        spatial = []
        for axis, dim in enumerate(info.out_shape):
            sizes = {f"__size{i}__": d for i, d in enumerate(current.shape[1:])}
            spatial.append(_put(dim, {**mapping, **sizes}, axis, len(info.out_shape)))
        return (channels, *spatial)

    def apply_module(self, module: Py, label: str | Py | None, shape: Shape, scope: Scope,
                     flow: Flow, info: ClassInfo | None, candidates_out: bool = False) -> None:
        current = flow.current
        assert current is not None
        if SIZE in module.deps:
            self.size_dependent = True
        name = self.register(label, module, scope)
        dynamic_out = shape[0] is None
        if dynamic_out:
            if info is not None:
                info.exports = True
            shape = (self.child_channels(name, scope),) + shape[1:]
        if scope.fwd is not None:
            self.apply_call(Py(scope.owner.ref(name)), [current], shape, scope, flow,
                            overwritable=False)
        else:
            flow.current = Tensor(shape)

    def child_channels(self, name: str, scope: Scope) -> Py:
        """The output channels of a child just registered, as the constructor reads them:
        `self.layer1.out_channels`, or in a Sequential being filled a running variable."""
        owner = scope.owner
        if not owner.sequential:
            return P.attr(Py(owner.ref(name)), "out_channels")
        target = owner.target  # type: ignore[attr-defined]
        if name and _is_identifier(name) and not getattr(owner, "is_list", False):
            return P.attr(Py(P.dotted(f"{target}.{name}")), "out_channels")
        var = self.locals.reserve("channels", "channels")
        child = ast.Subscript(ast.Name(target, ast.Load()), P.lit(-1).node, ast.Load())
        scope.ctor.append(_assign(var, ast.Attribute(child, "out_channels", ast.Load())))
        return P.name(var)

    def inline(self, bdef: syn.BlockDef, bound: dict[str, tuple[Value, bool]], scope: Scope,
               flow: Flow) -> None:
        """An unlabeled call of an inline block: its body in the caller's scope."""
        env = Env()
        for p in bdef.params:
            env.vars[p.name] = bound[p.name][0]
        inner_flow = flow.fork(flow.current)
        inner_flow.labels = {}
        inner_flow.block_input = flow.current.shared() if flow.current else None
        inner_flow.outputs = flow.outputs
        self.body(bdef.body, scope, inner_flow, env)
        flow.current = inner_flow.current

    # ------------------------------------------------------------ layer values

    def layer_call(self, value: Value, arg_asts: tuple[syn.Arg, ...], label: str | Py | None,
                   span: Any, scope: Scope, flow: Flow, env: Env) -> None:
        """A call of a layer-valued name (`act`, `unit(width, s)`)."""
        layers = value.layers or ()
        if len(layers) == 1 and value.py is not None and (value.py.known or
                                                          not _is_param(value.py)):
            ref = layers[0]
            if value.const is not UNKNOWN or _is_factory_literal(value.py) or True:
                self.direct_call(ref.name, arg_asts, ref.args, dict(ref.kwargs), label, span,
                                 scope, flow, env)
                return
        real = [r for r in layers if r.name != "identity"]
        if not real:
            return
        kinds = {"block" if r.name in self.gen.program.blocks else "op" for r in real}
        if len(kinds) > 1:
            raise Specialize(value.py.deps if value.py else frozenset(),
                             "its layer parameter takes operators and blocks")
        current = flow.current
        assert current is not None and value.py is not None
        optional = len(real) < len(layers)
        factory = value.py
        if kinds == {"op"}:
            needs = {lowering.needs_input(r.name) for r in real}
            if len(needs) > 1 or arg_asts:
                raise Specialize(factory.deps, "its layer parameter's layers take different "
                                               "arguments")
            x = Input(self, current)
            call_args = [x.channels() if n == "@channels" else x.features()
                         for n in needs.pop()]
            rows = [lowering.lowering(r.name) for r in real]
            inplace_ok = all(r.inplace for r in rows)
            if scope.mode == "chain":
                inplace = inplace_ok and self.previous_overwritable(scope)
            else:
                inplace = inplace_ok and current.fresh and current.owned
            module = P.call(factory, call_args, {"inplace": P.lit(True)} if inplace else {})
            preserves = all(row.shape is lowering.shapes.same for row in rows)
            shape = current.shape if preserves else (None,) * len(current.shape)
            overwritable = False
        else:
            infos = [self.gen.variant(self.gen.program.blocks[r.name], {}, current.rank,
                                      probe=True) for r in real]
            channels = current.shape[0]
            if channels is None:
                raise Unsupported("a block on a tensor whose channels only the forward knows")
            args = [self.py(_single(a.value), env, flow, "ctor") for a in arg_asts
                    if a.name is None]
            kwargs = {a.name: self.py(_single(a.value), env, flow, "ctor") for a in arg_asts
                      if a.name}
            module = P.call(factory, [channels, *args], kwargs)
            preserves = all(i.out is not None and i.out.is_name(i.channels) for i in infos)
            shape = current.shape if preserves else (None,) + (None,) * current.rank
            if not preserves:
                for i in infos:
                    i.exports = True
            overwritable = False
        if optional:
            self.optional_module(factory, module, label, shape, scope, flow)
            return
        if scope.mode == "chain":
            self.register(label, module, scope, overwritable=overwritable)
            if shape[0] is None:
                name = label if isinstance(label, str) else ""
                shape = (self.child_channels(name, scope),) + shape[1:]
            flow.current = Tensor(shape)
            return
        self.apply_module(module, label, shape, scope, flow, None)

    def optional_module(self, factory: Py, module: Py, label: str | Py | None, shape: Shape,
                        scope: Scope, flow: Flow) -> None:
        """A layer parameter that may be `identity` (None): registered only when given."""
        current = flow.current
        assert current is not None
        test = Py(ast.Compare(factory.node, [ast.IsNot()], [ast.Constant(None)]))
        if scope.mode == "chain":
            inner: list[ast.stmt] = []
            nested = scope.nested(inner, None)
            self.register(label, module, nested)
            scope.ctor.append(ast.If(test.node, inner, []))
            flow.current = replace(current, shape=shape)
            return
        if not isinstance(label, str):
            raise Specialize(factory.deps, "a layer it names may be identity, which takes no position")
        attr = scope.owner.ref(label)
        self.check_child(label)
        scope.take()
        scope.registered.append(label)
        scope.ctor.append(ast.Assign([_store(attr)], ast.IfExp(
            test.node, module.node, P.call("nn.Identity").node)))
        self.apply_call(Py(attr), [current], shape, scope, flow, overwritable=False)


# ---------------------------------------------------------------- helpers


def _assign(name: str, value: ast.expr) -> ast.stmt:
    return ast.Assign([ast.Name(name, ast.Store())], value)


def _self_attr(name: str, ctx: ast.expr_context | None = None) -> ast.expr:
    return ast.Attribute(ast.Name("self", ast.Load()), name, ctx or ast.Load())


def _store(node: ast.expr) -> ast.expr:
    node = copy.deepcopy(node)
    node.ctx = ast.Store()  # type: ignore[attr-defined]
    return node


def _is_identifier(name: str) -> bool:
    return P.is_identifier(name)


def _single(chain: syn.Chain) -> syn.Expr:
    if len(chain.elements) != 1 or chain.elements[0].label is not None or \
            isinstance(chain.elements[0].value, syn.Merge):
        raise Unsupported("a chain of layers as a value")
    return chain.elements[0].value  # type: ignore[return-value]


def _put(value: Py | None, mapping: dict[str, Py | None], axis: int | None,
         n: int = 0) -> Py | None:
    """A callee's expression in the caller's terms; None if it needs what the caller does not
    know. A per-axis argument (`k=[1, 7]`) puts in its value for `axis`."""
    if value is None:
        return None
    names = set(P.names_in(value.node))
    put: dict[str, Py] = {}
    for name in names:
        if name not in mapping:
            if name.startswith("__size"):
                return None
            continue
        given = mapping[name]
        if given is None:
            return None
        if isinstance(given.const, tuple):
            if axis is None or len(given.const) != n:
                return None
            given = P.lit(given.const[axis])
        put[name] = given
    return P.substitute(value, put)


def _first_label(chain: syn.Chain, blocks: Any) -> str | None:
    """The first label in a path on a block call or a group (not on a single operator)."""
    for el in chain.elements:
        value = el.value
        name = value.id if isinstance(value, syn.Name) else \
            value.func if isinstance(value, syn.Call) else None
        if isinstance(el.label, str) and (isinstance(value, syn.Group) or name in blocks):
            return el.label
        if isinstance(el.label, str):
            return None
        if isinstance(value, syn.Group):
            for stmt in value.body:
                if isinstance(stmt, syn.Chain):
                    found = _first_label(stmt, blocks)
                    if found is not None:
                        return found
    return None


def _dotted_path(e: syn.Expr) -> str | None:
    parts = []
    while isinstance(e, syn.Attribute):
        parts.append(e.attr)
        e = e.value
    if isinstance(e, syn.Name):
        parts.append(e.id)
        return ".".join(reversed(parts))
    return None


def _if_chain(tests: list[Py], bodies: list[list[ast.stmt]]) -> list[ast.stmt]:
    """`if / elif / else` from tests (the last may be True: the else), dropping empty
    branches at the end and negating a lone test whose branch is empty."""
    pairs = list(zip(tests, bodies, strict=True))
    while pairs and not pairs[-1][1]:
        pairs.pop()
    if not pairs:
        return []
    if len(pairs) == 2 and not pairs[0][1] and pairs[1][0].const is True:
        return [ast.If(P.negate(pairs[0][0]).node, pairs[1][1], [])]
    orelse: list[ast.stmt] = []
    for test, body in reversed(pairs):
        if test.const is True:
            orelse = body
            continue
        orelse = [ast.If(test.node, body or [ast.Pass()], orelse)]
    return orelse


def _all_names(body: list[ast.stmt]) -> set[str]:
    return {n.id for s in body for n in ast.walk(s) if isinstance(n, ast.Name)}


def _return(outputs: list[tuple[str, Tensor]]) -> ast.stmt:
    values = [ast.Name(t.var, ast.Load()) for _, t in outputs]
    return ast.Return(values[0] if len(values) == 1 else ast.Tuple(values, ast.Load()))


def _assigns(stmts: list[ast.stmt], var: str | None) -> bool:
    return any(isinstance(n, ast.Name) and n.id == var and isinstance(n.ctx, ast.Store)
               for s in stmts for n in ast.walk(s))


def _defined_before(var: str | None, scope: Scope) -> bool:
    return scope.fwd is not None and _assigns(scope.fwd, var)


def _rename(stmts: list[ast.stmt], old: str | None, new: str | None) -> None:
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Name) and n.id == old:
                n.id = new  # type: ignore[assignment]


def _retarget_last(stmts: list[ast.stmt], old: str | None, new: str) -> None:
    """The last statement that assigned `old` assigns `new` (a label's variable)."""
    for s in reversed(stmts):
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name) and \
                s.targets[0].id == old:
            s.targets[0].id = new
            return
    stmts.append(_assign(new, ast.Name(old, ast.Load())))  # type: ignore[arg-type]


def _substitute(stmts: list[ast.stmt], name: str, value: Py) -> None:
    class Sub(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            return copy.deepcopy(value.node) if node.id == name else node
    for i, s in enumerate(stmts):
        stmts[i] = Sub().visit(s)


def _is_append(stmt: ast.stmt, var: str) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and \
        isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == "append" and \
        isinstance(stmt.value.func.value, ast.Name) and stmt.value.func.value.id == var


def _is_named_registration(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Attribute) or (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and
        isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == "add_module" and
        isinstance(stmt.value.args[0], ast.Constant))


def _registration_pair(stmt: ast.stmt) -> tuple[str | None, ast.expr]:
    if isinstance(stmt, ast.Assign):
        return stmt.targets[0].attr, stmt.value  # type: ignore[attr-defined]
    call = stmt.value  # type: ignore[attr-defined]
    if call.func.attr == "append":
        return None, call.args[0]
    return call.args[0].value, call.args[1]


def _numbered(items: list[tuple[str | None, ast.expr]]) -> list[tuple[str, ast.expr]]:
    return [(k if k is not None else str(i), v) for i, (k, v) in enumerate(items)]


def _has_labels(fill: Any) -> bool:
    return False


def _merge_envs(env: Env, branches: list[Env]) -> None:
    """After an `if`: a value a branch assigned is the variable every branch assigns (its
    value no longer a constant); the layers it may hold, all of theirs."""
    names = {n for b in branches for n in b.vars}
    for name in names:
        values = [b.vars[name] for b in branches if name in b.vars]
        first = values[0]
        if first.py is None or first.function is not None:
            env.vars[name] = first
            continue
        deps = frozenset().union(*(v.py.deps for v in values if v.py is not None))
        layers = None
        if any(v.layers is not None for v in values):
            layers = tuple(r for v in values for r in (v.layers or ()))
        env.vars[name] = Value(Py(first.py.node, UNKNOWN, deps), layers=layers,
                               runtime=first.runtime)


def _forget(env: Env, body: Any) -> None:
    """Values a loop or a branch assigns are no longer constants where they are read after
    (the loop's next pass, the code after the `if`)."""
    for node in _walk_stmts(body if isinstance(body, tuple) else (body,)):
        if isinstance(node, syn.Assign):
            found = env.find(node.name)
            if found is not None and found.py is not None and found.py.known:
                found.py = Py(found.py.node, UNKNOWN, found.py.deps)


def _is_param(value: Py) -> bool:
    return isinstance(value.node, ast.Name) and bool(value.deps)


def _is_factory_literal(value: Py) -> bool:
    return True


def _is_layer(value: Any) -> bool:
    return False


def _has_attribute(node: ast.AST) -> bool:
    return any(isinstance(n, (ast.Attribute, ast.Subscript)) for n in ast.walk(node))


def _equal(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _hint(kind: str | None, layers: Any) -> str | None:
    if layers is not None:
        return "Callable[..., nn.Module] | None" if any(
            r.name == "identity" for r in layers) else "Callable[..., nn.Module]"
    return {"int": "int", "float": "float", "bool": "bool", "str": "str",
            "list": "tuple"}.get(kind or "")


def _coerce(f: Any, value: Py) -> Py:
    kind = f.metadata.get("kind")
    if kind in ("float", "prob") and type(value.const) is int:
        return P.lit(float(value.const))
    return value


def _spec_arith(op: str, a: Any, b: Any) -> Any:
    from netdsl.elaborate.values import _arith
    try:
        return _arith(op, a, b, None)
    except SpecError:
        return UNKNOWN


def _walk_stmts(stmts: tuple[syn.Stmt, ...]):
    """Every node of a body's syntax, not entering other blocks."""
    stack: list[Any] = list(stmts)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, syn.Node):
            for value in vars(node).values():
                if isinstance(value, syn.Node):
                    stack.append(value)
                elif isinstance(value, tuple):
                    stack.extend(v for v in value if isinstance(v, (syn.Node, tuple)))
        elif isinstance(node, tuple):
            stack.extend(v for v in node if isinstance(v, (syn.Node, tuple)))


def _labels(stmts: tuple[syn.Stmt, ...]) -> set[str]:
    return {n.label for n in _walk_stmts(stmts) if isinstance(n, syn.Element)
            and isinstance(n.label, str)}


def _label_counts(stmts: tuple[syn.Stmt, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for n in _walk_stmts(stmts):
        if isinstance(n, syn.Element) and isinstance(n.label, str):
            counts[n.label] = counts.get(n.label, 0) + 1
    return counts


def _referenced_labels(stmts: tuple[syn.Stmt, ...]) -> set[str]:
    """Labels a body names as tensors after making them (from, merge arguments, .h)."""
    labels = _labels(stmts)
    out = set()
    for n in _walk_stmts(stmts):
        if isinstance(n, syn.From):
            out.add(".".join(n.path))
            out.add(n.path[0])
        elif isinstance(n, syn.Name) and n.id in labels:
            out.add(n.id)
        elif isinstance(n, syn.Output):
            for path in n.names:
                out.add(".".join(path))
                out.add(path[0])
    return out


def _uses_block_input(stmts: tuple[syn.Stmt, ...]) -> bool:
    """Whether the body reads `in` as a tensor (from in, a merge argument, its sizes)."""
    for n in _walk_stmts(stmts):
        if isinstance(n, syn.From) and n.path == ("in",):
            return True
        if isinstance(n, syn.Attribute) and isinstance(n.value, syn.BlockInput) and \
                n.attr != "c":
            return True
        if isinstance(n, syn.Element) and isinstance(n.value, syn.BlockInput):
            return True
    return False
