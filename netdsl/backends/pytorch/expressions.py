"""Spec expressions as Python: in the constructor, or in the forward (where a constructor
value is read back from an attribute and a size from a tensor)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch.control import Unroll
from netdsl.backends.pytorch.flow import Flow, Tensor, TensorList
from netdsl.backends.pytorch.pyexpr import UNKNOWN, Py
from netdsl.backends.pytorch.syntax import dotted_path, over_range, single, walk
from netdsl.backends.pytorch.values import (
    IN,
    ONE,
    RT,
    RUNTIME,
    SIZE,
    SPATIAL,
    Env,
    RuntimeOnly,
    Specialize,
    Unsupported,
    Value,
)
from netdsl.elaborate.values import LayerRef, reads_size
from netdsl.errors import SpecError
from netdsl.ops.base import FLOAT_KINDS, INT_KINDS, Symbol, one_entry, whole
from netdsl.syntax import ast as syn

if TYPE_CHECKING:
    pass



class Expressions:
    """Spec expressions as Python: in the constructor, or in the forward (where a constructor"""

    def constant_value(self, value: Any) -> Value:
        if isinstance(value, LayerRef):
            return Value(self.gen.layer_factory(value, self.info.rank), layers=(value,))
        return Value(P.lit(value))

    def store(self, key: str, value: Py) -> Py:
        """The attribute the forward reads a constructor value from (`self.s`)."""
        if value.known and P._foldable(value.const):
            return P.lit(value.const)
        stored = f"{key}={ast.dump(value.node)}"  # one name may stand for several values
        if stored not in self.stores:
            attribute = self.attrs.reserve(key)
            self.stores[stored] = attribute
            self.store_values.append((attribute, value.node))
        return Py(ast.Attribute(ast.Name("self", ast.Load()), self.stores[stored], ast.Load()))

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
        if value is not None and (value.tensors is not None or value.listed is not None):
            return value
        if value is not None:
            return self.read(e.id, value, where)
        found = self.gen.global_value(e.id)
        if found is not None:
            return found
        if flow is not None and e.id in flow.groups and where == "ctor":
            group = flow.groups[e.id]  # `body`: its outputs, in order
            if isinstance(group, TensorList):
                return Value(None, listed=group)
            return Value(None, tensors=tuple(group))
        if flow is not None and e.id in flow.labels:
            if where == "ctor" and self.lists_tensors:
                return Value(None, tensors=(flow.labels[e.id],))
            raise Unsupported(f"the tensor '{e.id}' as a value")
        if self.gen.is_layer_name(e.id):
            ref = LayerRef(e.id)
            return Value(self.gen.layer_factory(ref, self._rank(flow)), layers=(ref,))
        return Value(P.lit(Symbol(e.id)))

    def _rank(self, flow: Flow | None) -> int:
        if flow is not None and flow.current is not None:
            return flow.current.rank
        return self.info.rank

    def _e_BlockInput(self, e: syn.BlockInput, env: Env, flow: Flow | None, where: str) -> Value:
        if flow is not None and flow.block_input is not None and where == "ctor" and \
                self.lists_tensors:  # `[in, t]`: a tensor, as a label is
            return Value(None, tensors=(flow.block_input,))
        raise Unsupported("`in` as a value")

    def _e_Attribute(self, e: syn.Attribute, env: Env, flow: Flow | None, where: str) -> Value:
        labeled = self.labeled_tensor(e, flow)
        if labeled is not None:  # `[s.lo, s.hi]`: a label inside a group or a call's output
            if where == "ctor" and self.lists_tensors:
                return Value(None, tensors=(labeled,))
            raise Unsupported(f"the tensor '{dotted_path(e)}' as a value")
        tensor, var = self.tensor_of(e.value, flow)
        if tensor is None and isinstance(e.value, (syn.Index, syn.Name)) and flow is not None:
            tensor, var = self.listed_tensor(e.value, env, flow)
        if tensor is None:
            raise Unsupported(f"the attribute '{e.attr}'")
        if where == "fwd":
            if e.attr == "c" and isinstance(e.value, syn.BlockInput):
                return Value(self.store("in_channels", tensor.shape[0]))
            shape = P.attr(Py(tensor.node), "shape")
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
            if value is None or SPATIAL in value.deps or ONE in value.deps:
                return Value(None, runtime=None)
            return Value(value)
        if e.attr == "shape":
            if any(d is None or SPATIAL in d.deps for d in dims):
                if where == "ctor":
                    # the known axes stay readable (`in.shape[-1]`); the others only the
                    # forward knows
                    return Value(P.tuple_of([RUNTIME if d is None or SPATIAL in d.deps else d
                                             for d in dims]))
                return Value(None)
            return Value(P.tuple_of(list(dims)))  # type: ignore[arg-type]
        if e.attr == "rank":
            return Value(P.lit(tensor.rank + 1))
        raise Unsupported(f"the tensor attribute '{e.attr}'")

    def listed_tensor(self, e: syn.Expr, env: Env, flow: Flow) -> tuple[Tensor | None,
                                                                       str | None]:
        """`features[0]`, `lateral`: one tensor of a list the generator knows item by item."""
        try:
            value = self.expr(e, env, flow, "ctor")
        except Unsupported:
            return None, None
        if value.tensors is None or len(value.tensors) != 1:
            return None, None
        return value.tensors[0], value.tensors[0].var

    @staticmethod
    def labeled_tensor(e: syn.Attribute, flow: Flow | None) -> Tensor | None:
        """The tensor a dotted path names (`g.a`, `s.lo`); the tensor attributes (`g.c`)
        keep their meaning unless quoted, as in the analysis."""
        if flow is None or reads_size(e):
            return None
        path = dotted_path(e)
        return flow.labels.get(path) if path is not None else None

    def tensor_of(self, e: syn.Expr, flow: Flow | None) -> tuple[Tensor | None, str | None]:
        if flow is None:
            return None, None
        if isinstance(e, syn.BlockInput):
            t = flow.block_input
            return t, t.var if t is not None else None
        path = dotted_path(e)
        if path is not None and path in flow.labels:
            t = flow.labels[path]
            return t, t.var
        return None, None

    def _e_Index(self, e: syn.Index, env: Env, flow: Flow | None, where: str) -> Value:
        if isinstance(e.index, syn.Slice):
            return self.sliced(e.value, e.index, env, flow, where)
        listed = self.expr(e.value, env, flow, where) if where == "ctor" else None
        if listed is not None and listed.listed is not None:  # `inner_blocks[i]`
            return Value(None, tensors=(self.pick(listed.listed, e.index, env, flow),))
        if listed is not None and listed.tensors is not None:
            index = self.py(e.index, env, flow, where)
            if type(index.const) is not int and self.constructor_loops:
                raise Unroll  # a pass's variable picks the tensor: the passes written out
            if type(index.const) is not int or \
                    not -len(listed.tensors) <= index.const < len(listed.tensors):
                raise Unsupported("an index into a list of tensors known only at construction")
            return Value(None, tensors=(listed.tensors[index.const],))
        base = self.py(e.value, env, flow, where)
        index = self.py(e.index, env, flow, where)
        if isinstance(base.node, ast.Tuple) and type(index.const) is int and \
                -len(base.node.elts) <= index.const < len(base.node.elts):
            item = base.node.elts[index.const]
            if isinstance(item, ast.Name) and item.id == "RUNTIME":
                raise RuntimeOnly("a size that is known only when the network runs")
            const = base.const[index.const] if isinstance(base.const, tuple) else UNKNOWN
            return Value(Py(item, const, base.deps - {RT}))
        if RT in base.deps:
            raise RuntimeOnly("a size that is known only when the network runs")
        return Value(P.subscript(base, index))

    def sliced(self, value: syn.Expr, cut: syn.Slice, env: Env, flow: Flow | None,
               where: str) -> Value:
        """`features[1:]`, `inner[::-1]`: the chosen tensors of a list, item by item; or a
        slice of a constructor value (`widths[:-1]`)."""
        bounds = [None if b is None else self.py(b, env, flow, "ctor")
                  for b in (cut.start, cut.stop, cut.step)]
        listed = self.expr(value, env, flow, where) if where == "ctor" else None
        if listed is not None and (listed.tensors is not None or listed.listed is not None):
            if any(b is not None and type(b.const) is not int for b in bounds):
                raise Unsupported("a slice of a list of tensors whose bounds the constructor "
                                  "does not know")
            chosen = slice(*(None if b is None else b.const for b in bounds))
            items = listed.tensors if listed.tensors is not None else \
                self.items_of(listed.listed)
            return Value(None, tensors=items[chosen])
        base = self.py(value, env, flow, where)
        node = ast.Subscript(base.node, ast.Slice(*(None if b is None else b.node
                                                     for b in bounds)), ast.Load())
        known = [None if b is None else b.const for b in bounds]
        const = base.const[slice(*known)] if isinstance(base.const, tuple) and \
            all(k is None or type(k) is int for k in known) else UNKNOWN
        deps = base.deps.union(*(b.deps for b in bounds if b is not None))
        return Value(Py(node, const, deps))

    def items_of(self, listed: TensorList) -> tuple[Tensor, ...]:
        """A list's tensors one by one, where the constructor knows how many there are."""
        if listed.items is not None:
            return listed.items
        if listed.length is None or type(listed.length.const) is not int:
            raise Specialize(listed.deps - {IN, SIZE}, "a slice of a list of tensors is "
                                                       "written item by item")
        return tuple(listed.item(P.lit(k), ast.Subscript(listed.node, ast.Constant(k),
                                                         ast.Load()))
                     for k in range(listed.length.const))

    def _e_ListExpr(self, e: syn.ListExpr, env: Env, flow: Flow | None, where: str) -> Value:
        if any(isinstance(item, syn.Chain) for item in e.items):  # only as a statement's value
            raise Unsupported("a list of chains other than a name's value (ys = [...])")
        tensors = self.tensor_list(e, env, flow)
        if tensors is not None:
            return tensors
        items = [self.lenient_expr(i, env, flow, where) for i in e.items]
        if any(i.layers is not None for i in items):
            raise Unsupported("a list of layers")
        return Value(P.tuple_of([i.py for i in items]))  # type: ignore[misc]

    def tensor_list(self, e: syn.ListExpr, env: Env, flow: Flow | None) -> Value | None:
        """`[out]`, `[last] + merged`: a list of the forward's tensors, known item by item
        when the class is written."""
        if flow is None or not e.items:
            return None
        self.lists_tensors = True
        try:
            items = [self.expr(i, env, flow, "ctor") for i in e.items]
        except Unsupported:
            return None
        finally:
            self.lists_tensors = False
        if not all(i.tensors is not None for i in items):
            return None
        return Value(None, tensors=tuple(t for i in items for t in i.tensors or ()))

    def _e_Comprehension(self, e: syn.Comprehension, env: Env, flow: Flow | None,
                         where: str) -> Value:
        """`[ceil(r[4] * depth) for r in B0]` over a list the generator knows: its items,
        one by one (the whole folds to a constant when they do)."""
        element = single(e.element)
        iterable = self.py(e.iterable, env, flow, where)
        if not iterable.known or not isinstance(iterable.const, tuple):
            if self.names_tensors(element, flow):
                return self.tensor_comprehension_any(e, element, iterable, env, flow)
            if iterable.known:  # a constant that is not a list: the spec's error, not ours
                raise Unsupported("a comprehension over a value that is not a list")
            return self.python_comprehension(e, element, iterable, env, flow, where)
        if self.names_tensors(element, flow):
            return self.tensor_comprehension(e, element, iterable.const, env, flow)
        items = []
        decided = True  # every item's condition known here
        for item in iterable.const:
            inner = env.child()
            inner.vars[e.var] = self.constant_value(item)
            if e.condition is not None:
                test = self.py(e.condition, inner, flow, where)
                if not test.known:
                    decided = False
                    break
                if not test.const:
                    continue
            value = self.expr(element, inner, flow, where)
            if value.py is None or value.layers is not None:
                raise Unsupported("a comprehension of values known only at run time")
            items.append(value.py)
        made = P.tuple_of(items) if decided else None
        if made is not None and len(items) <= P.FOLDED_ITEMS and \
                (made.known or not isinstance(iterable.node, ast.Name) or
                 e.condition is not None):
            return Value(made)
        try:
            written = self.python_comprehension(e, element, iterable, env, flow, where)
        except Unsupported:
            if made is None:
                raise
            return Value(made)  # an element only its items' values can write
        if made is None or not made.known:
            return written
        # a longer list stays the spec's expression, its value known all the same
        return Value(Py(written.py.node, made.const, written.py.deps))  # type: ignore[union-attr]

    def python_comprehension(self, e: syn.Comprehension, element: syn.Expr, iterable: Py,
                             env: Env, flow: Flow | None, where: str) -> Value:
        """The comprehension as the spec wrote it, for the constructor to compute: over a
        named list (`[math.ceil(r[4] * depth) for r in B0]`), over a parameter's list
        (`sum([w * 2 for w in widths])`), or with a condition the constructor decides
        (`[w * m for m in (1, 2) if m * w < 9]`)."""
        # a comprehension's variable is its own scope in Python: the spec's name, unreserved
        var = e.var if P.is_identifier(e.var) and e.var not in _MODULE_NAMES else \
            self.locals.reserve(e.var, "comprehension")
        inner = env.child()
        inner.vars[e.var] = Value(P.name(var, iterable.deps),
                                  exact_str=over_range(e.iterable, env))
        body = self.py(element, inner, flow, where)
        conditions = [] if e.condition is None else [self.py(e.condition, inner, flow, where)]
        loop = ast.comprehension(ast.Name(var, ast.Store()), iterable.node,
                                 [c.node for c in conditions], 0)
        deps = body.deps | iterable.deps | frozenset().union(*(c.deps for c in conditions))
        return Value(P.spec_list(ast.GeneratorExp(body.node, [loop]), UNKNOWN, deps))

    def names_tensors(self, element: syn.Expr, flow: Flow | None) -> bool:
        """Whether an expression names a labeled tensor or a labeled call's outputs."""
        if flow is None:
            return False
        return any(isinstance(n, syn.Name) and (n.id in flow.labels or n.id in flow.groups)
                   for n in walk((element,)))

    def tensor_comprehension(self, e: syn.Comprehension, element: syn.Expr, items: tuple,
                             env: Env, flow: Flow | None) -> Value:
        """`[body[i - 1] for i in returned]` over a list the generator knows: the tensors, one
        by one."""
        made: tuple = ()
        for item in items:
            inner = env.child()
            inner.vars[e.var] = self.constant_value(item)
            if e.condition is not None:
                test = self.py(e.condition, inner, flow, "ctor")
                if not test.known:
                    raise Unsupported("a comprehension whose condition only the network knows")
                if not test.const:
                    continue
            self.lists_tensors = True
            try:
                value = self.expr(element, inner, flow, "ctor")
            finally:
                self.lists_tensors = False
            if value.tensors is None:
                raise Unsupported("a comprehension of tensors and values")
            made += value.tensors
        return Value(None, tensors=made)

    def _e_BinOp(self, e: syn.BinOp, env: Env, flow: Flow | None, where: str) -> Value:
        if e.op == "+":
            joined = self.joined_tensors(e, env, flow, where)
            if joined is not None:
                return joined
        left = self.py(e.left, env, flow, where)
        right = self.py(e.right, env, flow, where)
        const = UNKNOWN
        if left.known and right.known:
            const = self.gen.arithmetic(e.op, left.const, right.const)
        return Value(P.binop(e.op, left, right, const))

    def joined_tensors(self, e: syn.BinOp, env: Env, flow: Flow | None,
                       where: str) -> Value | None:
        """`heatmaps + [out]`: lists of tensors joined (an empty list is one)."""
        sides = []
        for side in (e.left, e.right):
            if isinstance(side, syn.ListExpr) and not side.items:
                sides.append(())
                continue
            if not isinstance(side, (syn.ListExpr, syn.Name, syn.BinOp)):
                return None
            try:
                value = self.expr(side, env, flow, where)
            except Unsupported:
                return None
            if value.listed is not None:
                sides.append(value.listed)
                continue
            if value.tensors is None:
                if value.py is not None and value.py.const == ():
                    sides.append(())
                    continue
                return None
            sides.append(value.tensors)
        if any(isinstance(s, TensorList) for s in sides):
            return self.join_lists(sides)
        if all(not s for s in sides):
            return None
        return Value(None, tensors=sides[0] + sides[1])

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
            args = [self.py(single(a.value), env, flow, where) for a in e.args]
            name = bound.py.text() if bound.py is not None else e.func
            return Value(self.applied(P.call(name, args), args, lambda known: self.local_def(
                bound, known, flow, where)))
        if bound is not None and bound.layers is not None:
            return self.layer_value(e, bound, env, flow)
        glob = self.gen.global_function(e.func)
        if glob is not None:
            args = [self.py(single(a.value), env, flow, where) for a in e.args]
            return Value(self.applied(P.call(glob, args), args, lambda known: (
                self.gen.apply_function(e.func, known, e))))
        if e.func in self.gen.BUILTINS:
            return self.builtin(e, env, flow, where)
        if self.gen.is_layer_name(e.func):
            return self.layer_value(e, None, env, flow)
        if e.func in self.shared:  # `c = sh(a, b)`: tensors bound to a name
            raise Unsupported(f"a call of the shared module '{e.func}' as a value (a group "
                              f"names what it makes: `c: {{ {e.func}(...) }}`)")
        raise Unsupported(f"the function '{e.func}'")

    @staticmethod
    def applied(call: Py, args: list[Py], value_of: Callable[[list[Any]], Any]) -> Py:
        """A call of a spec `def`, written as the call; its value known where its arguments
        are (`nodes[f(k)]` in a pass of an unrolled loop picks one tensor)."""
        if not all(a.known for a in args):
            return call
        return Py(call.node, value_of([a.const for a in args]), call.deps)

    def local_def(self, function: Value, args: list[Any], flow: Flow | None, where: str) -> Any:
        """A `def` of the body on constants: its body, in the scope it was made in, with its
        parameters bound to them."""
        stmt = function.function
        assert stmt is not None and function.closure is not None
        if len(args) != len(stmt.params):
            return UNKNOWN
        inner = function.closure.child()
        for p, value in zip(stmt.params, args, strict=True):
            inner.vars[p] = Value(P.lit(value))
        try:
            return self.py(stmt.body, inner, flow, where).const
        except (Unsupported, RuntimeOnly):
            return UNKNOWN

    def builtin(self, e: syn.Call, env: Env, flow: Flow | None, where: str) -> Value:
        if e.func == "len" and len(e.args) == 1 and e.args[0].name is None:
            listed = self.expr(single(e.args[0].value), env, flow, "ctor")
            if listed.tensors is not None:  # a list of tensors: its length is known
                return Value(P.lit(len(listed.tensors)))
            if listed.listed is not None:  # as the constructor and the forward count it
                return Value(listed.listed.length, runtime=P.call(
                    "len", [P.name(listed.listed.var)]))
        args = [self.py(single(a.value), env, flow, where) for a in e.args if a.name is None]
        kwargs = {a.name: self.py(single(a.value), env, flow, where) for a in e.args if a.name}
        const = UNKNOWN
        if all(a.known for a in args) and all(v.known for v in kwargs.values()):
            try:
                const = self.gen.apply_builtin(e.func, [a.const for a in args],
                                               {k: v.const for k, v in kwargs.items()})
            except SpecError:
                const = UNKNOWN
        func = self.gen.builtin_name(e.func)
        if e.func == "str" and const is UNKNOWN and \
                not all(self.exact_str(single(a.value), env) for a in e.args):
            func = "spec_str"  # a bool or a list written as the spec writes it
            self.gen.helpers.add(func)
        made = P.call(func, args, kwargs)
        if e.func == "range":  # `for _ in range(4)` as the spec says, not `in (0, 1, 2, 3)`
            return Value(P.spec_list(made.node, const, made.deps))
        return Value(P.folded(made.node, const, made.deps))

    def exact_str(self, e: syn.Expr, env: Env) -> bool:
        """Whether Python's `str` of `e` is the language's: `e` is surely an int, a float or
        a string (`str(i + 1)` over a range loop's `i`), not a bool, a list or none."""
        if isinstance(e, (syn.Number, syn.String)):
            return True
        if isinstance(e, syn.Name):
            value = env.find(e.id)
            return value is not None and value.exact_str
        if isinstance(e, syn.BinOp):
            return e.op in _ARITHMETIC and self.exact_str(e.left, env) and \
                self.exact_str(e.right, env)
        if isinstance(e, syn.Unary):
            return e.op == "-" and self.exact_str(e.operand, env)
        if isinstance(e, syn.Call):
            return e.func in _NUMBER_BUILTINS and env.find(e.func) is None
        return isinstance(e, syn.Attribute) and isinstance(e.value, syn.BlockInput) and \
            e.attr in ("c", "h", "w")

    def layer_value(self, e: syn.Call, bound: Value | None, env: Env, flow: Flow | None) -> Value:
        """`leaky_relu(0.2)`, `bottleneck(groups=32)`: a layer with arguments bound."""
        args, kwargs = [], {}
        for a in e.args:
            value = self.expr(single(a.value), env, flow, "ctor")
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


def coerce_attribute(f: Any, value: Py, single: bool = False) -> Py:
    """An attribute as loading reads it for its kind: an int where a float is meant (`1` as
    `1.0`), a number where a list is (`reshape(192)` as `[192]`; `single`: loading found one
    in an expression, `reshape(k)`)."""
    kind = f.metadata.get("kind")
    if kind in FLOAT_KINDS and type(value.const) is int:
        return P.lit(float(value.const))
    if value.known and one_entry(f, value.const):
        return P.lit((whole(value.const),))
    if single and not value.known:
        return Py(ast.Tuple([value.node], ast.Load()), deps=value.deps)
    if kind in INT_KINDS:  # `slice(i * width, (i + 1) * width)` in a loop unrolled: i = 0
        return P.simplify(value)
    return value


_ARITHMETIC = frozenset({"+", "-", "*", "/", "//", "%", "**"})
# builtins whose value is a number or a string, whatever their arguments
_NUMBER_BUILTINS = frozenset({"len", "int", "float", "round", "abs", "floor", "ceil", "sqrt",
                              "log", "log2", "log10", "exp", "str", "make_divisible"})


# names the generated file imports or a method reads, which a comprehension must not shadow
_MODULE_NAMES = frozenset({"self", "nn", "F", "torch", "math", "Tensor"})
