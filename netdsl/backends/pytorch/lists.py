"""Lists of tensors in a forward, written for any length: a comprehension of layers is an
nn.ModuleList built by a generator expression and applied by a list comprehension (or a loop)
over `zip(self.inner_blocks, features)`; a comprehension of a chain applied to each item, a
list comprehension or a loop that appends; an item picked by index; a spec `for` the forward
runs, with the tensors and lists it carries from one pass to the next.

What cannot be written so (items whose channels the code cannot give, layers made inside a
loop) raises `Specialize` over the lists involved: the block is then written for each length
its calls use, item by item, with a comment saying why.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import replace
from typing import Any

from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch.flow import (
    ITEM,
    Flow,
    ListOwner,
    Scope,
    Tensor,
    TensorList,
)
from netdsl.backends.pytorch.pyexpr import UNKNOWN, Py
from netdsl.backends.pytorch.pystmt import assign, loop_target
from netdsl.backends.pytorch.syntax import over_range, single, walk
from netdsl.backends.pytorch.values import (
    IN,
    ONE,
    SIZE,
    Env,
    NotChain,
    RuntimeOnly,
    Specialize,
    Unsupported,
    Value,
)
from netdsl.syntax import ast as syn

INLINED = 2  # statements a comprehension's body may have and still be one expression


class Lists:
    """Comprehensions over lists of tensors, items picked from them, and loops of a forward."""

    # ------------------------------------------------------------ items

    def pick(self, listed: TensorList, index: syn.Expr, env: Env, flow: Flow | None) -> Tensor:
        """`features[i]`: one item, its channels where the constructor knows the index."""
        try:
            at: Py | None = self.py(index, env, flow, "ctor")
        except RuntimeOnly:
            at = None
        if at is not None and at.known:
            fwd = at
        else:
            fwd = self.py(index, env, flow, "fwd")
        read = ast.Subscript(listed.node, fwd.node, ast.Load())
        return listed.item(at, read)

    def hold(self, tensor: Tensor, scope: Scope, hint: str, temp: bool = True) -> Tensor:
        """A tensor read from a list, in a variable of its own (`lateral = inner_blocks[i]`)."""
        if tensor.var is not None:
            return tensor
        if scope.fwd is None:
            raise NotChain
        var = self.fnames.reserve(hint)
        if temp:
            self.temps[var] = hint
        scope.fwd.append(assign(var, tensor.node))
        return replace(tensor, var=var, read=None, owned=temp)

    def listed_value(self, tensors: tuple[Tensor, ...], var: str, scope: Scope,
                     deps: frozenset[str] = frozenset(), rank: int = 1) -> TensorList:
        """A list known item by item, made one forward list (`merged = [last]`); an empty
        one holds tensors of `rank` axes, channels unknown."""
        assert scope.fwd is not None
        scope.fwd.append(assign(var, ast.List([t.node for t in tensors], ast.Load())))
        shape = joined_shape([t.shape for t in tensors]) if tensors else (None,) * rank
        return TensorList(var, shape, P.lit(len(tensors)), deps=deps,
                          caxis=tensors[0].caxis if tensors else 0)

    def join_lists(self, sides: list[Any]) -> Value:
        """`[last] + merged`: lists joined, at least one of them of any length."""
        nodes: list[ast.expr] = []
        shapes = []
        length: Py | None = P.lit(0)
        deps: frozenset[str] = frozenset()
        for side in sides:
            if isinstance(side, TensorList):
                nodes.append(side.node)
                shapes.append(side.shape)
                deps |= side.deps
                length = None if length is None or side.length is None else \
                    P.simplify(P.binop("+", length, side.length))
            else:
                nodes.append(ast.List([t.node for t in side], ast.Load()))
                shapes += [t.shape for t in side]
                length = None if length is None else P.simplify(
                    P.binop("+", length, P.lit(len(side))))
        node = nodes[0]
        for other in nodes[1:]:
            node = ast.BinOp(node, ast.Add(), other)
        return Value(None, listed=TensorList(None, joined_shape(shapes), length, deps=deps,
                                             read=node))

    def assign_list(self, name: str, value: Value, scope: Scope, env: Env) -> None:
        """`merged = [last] + merged`: the list in the forward variable of that name."""
        if scope.fwd is None:
            raise NotChain
        listed: TensorList = value.listed
        before = env.find(name)
        if listed.var is not None:
            env.vars[name] = value  # another name for the same list
            return
        var = before.listed.var if before is not None and before.listed is not None and \
            before.listed.var is not None else self.fnames.reserve(name)
        scope.fwd.append(assign(var, listed.node))
        env.vars[name] = Value(None, listed=replace(listed, var=var, read=None, whole=False))

    def whole_result(self, info: Any, label: str, scope: Scope, flow: Flow,
                     shapes: list[tuple]) -> None:
        """`body = self.body(x)`: a call of several outputs whose label the body uses as a
        list (`fpn(body)`, `body[i - 1]`), kept in one variable; `body.layer1` reads an
        item."""
        assert scope.fwd is not None
        last = scope.fwd[-1]
        assert isinstance(last, ast.Assign)
        var = self.fnames.reserve(label)
        self.label_vars.add(var)
        last.targets = [ast.Name(var, ast.Store())]
        items = tuple(Tensor(shape, None, read=_index(var, k)) for k, shape in enumerate(shapes))
        for name, item in zip(info.out_names, items, strict=True):
            flow.labels[f"{label}.{name}"] = item
        listed = TensorList(var, joined_shape(shapes), P.lit(len(items)), items=items,
                            whole=True)
        flow.groups[label] = listed
        flow.results = list(items)
        flow.current = items[0]
        flow.listed = items

    def tensor_comprehension_any(self, e: syn.Comprehension, element: syn.Expr,
                                 iterable: Py, env: Env, flow: Flow | None) -> Value:
        """`[body[i - 1] for i in returned]` over values only the constructor knows: the
        forward's list comprehension, and the constructor's of the items' channels."""
        if e.condition is not None:
            raise Unsupported("a comprehension of tensors with a condition")
        ctor_var = e.var if P.is_identifier(e.var) else self.locals.reserve(e.var, "item")
        fwd_var = self.fnames.reserve(e.var, "item")
        inner = env.child()
        inner.vars[e.var] = Value(P.name(ctor_var, iterable.deps), runtime=P.name(fwd_var))
        self.lists_tensors = True
        try:
            value = self.expr(element, inner, flow, "ctor")
        finally:
            self.lists_tensors = False
        if value.tensors is None or len(value.tensors) != 1:
            raise Unsupported("a comprehension of tensors and values")
        item = value.tensors[0]
        channels = item.shape[item.caxis]
        deps = iterable.deps - {IN, SIZE}
        if channels is None:
            raise Specialize(deps, "a list of tensors is made over it")
        fwd_iter = self.py(e.iterable, env, flow, "fwd")
        read = ast.ListComp(item.node, [ast.comprehension(ast.Name(fwd_var, ast.Store()),
                                                          fwd_iter.node, [], 0)])
        made = ast.ListComp(channels.node, [ast.comprehension(ast.Name(ctor_var, ast.Store()),
                                                              iterable.node, [], 0)])
        listed = TensorList(None, _general(item.shape, item.caxis), P.simplify(
            P.call("len", [iterable])), deps=deps, caxis=item.caxis, read=read,
            channels_list=Py(made, UNKNOWN, channels.deps | iterable.deps))
        return Value(None, listed=listed)

    # ------------------------------------------------------------ comprehensions

    def iterated(self, e: syn.Comprehension, env: Env, flow: Flow) -> Value | None:
        """What a comprehension runs over, when the class writes it for any length: a list of
        tensors of any length, or values only the constructor knows (`range(n)`)."""
        try:
            iterable = self.decided(self.expr(e.iterable, env, flow, "ctor"))
        except RuntimeOnly:
            return None
        if iterable.listed is not None:
            return iterable
        if iterable.tensors is None and iterable.py is not None and not iterable.py.known:
            return iterable
        return None

    def applied_list_any(self, stmt: syn.Assign, iterable: Value, scope: Scope, flow: Flow,
                         env: Env) -> None:
        """`rows = [from f -> conv -> cls_logits for f in features]`: the chain written once,
        applied to each item by a list comprehension, or by a loop that appends."""
        e = stmt.value
        assert isinstance(e, syn.Comprehension) and scope.fwd is not None
        if e.condition is not None:
            raise Unsupported("a comprehension of tensors with a condition")
        over: TensorList | None = iterable.listed
        deps = self.list_deps(iterable)
        item_var = self.fnames.reserve(e.var, "item")
        inner_env = env.child()
        if over is not None:
            item = Tensor(representative(over), item_var, caxis=over.caxis)
            inner_env.vars[e.var] = Value(None, tensors=(item,))
            fwd_iter: ast.expr = over.node
        else:
            item = flow.current.shared() if flow.current else None  # type: ignore[assignment]
            inner_env.vars[e.var] = Value(None, runtime=P.name(item_var))
            fwd_iter = self.py(e.iterable, env, flow, "fwd").node
        body: list[ast.stmt] = []
        ctor: list[ast.stmt] = []
        inner = scope.nested(ctor, body)
        sub = flow.fork(item, hint="x")
        self._s_Chain(e.element, inner, sub, inner_env)
        if any(not _is_registration(s) for s in ctor):
            raise Specialize(deps, "a comprehension makes layers for each item")
        scope.ctor.extend(ctor)
        self.count_passes(scope, inner.counter, length_of(over, iterable), deps)
        result = sub.current
        assert result is not None
        var = self.fnames.reserve(stmt.name)
        scope.fwd.extend(list_statements(var, body, result.node, ast.Name(item_var, ast.Store()),
                                         fwd_iter))
        listed = TensorList(var, _general(result.shape, result.caxis),
                            length_of(over, iterable), deps=deps, caxis=result.caxis)
        env.vars[stmt.name] = Value(None, listed=listed)
        flow.current = listed.item(P.lit(-1), _index(var, -1))
        flow.listed = listed

    def layer_list_any(self, e: syn.Comprehension, label: str, iterable: Value, scope: Scope,
                       flow: Flow, env: Env) -> None:
        """`inner_blocks: [from f -> conv_layer(width, 1) for f in features]`: one layer per
        item in an nn.ModuleList made by a generator expression
        (`nn.ModuleList(ConvLayer(in_channels, width, 1) for in_channels in in_channels_list)`),
        applied over `zip(self.inner_blocks, features)`, or by index over `range(n)`."""
        if e.condition is not None:
            raise Unsupported("a comprehension of layers with a condition")
        assert scope.fwd is not None
        self.check_child(label)
        attr = scope.owner.ref(label)
        over: TensorList | None = iterable.listed
        deps = self.list_deps(iterable)
        item_var = self.fnames.reserve(e.var, "item")
        inner_env = env.child()
        if over is not None:
            ctor_target, ctor_iter, channels = self.channels_loop(over)
            module_var = self.fnames.reserve(_singular(label))
            item = Tensor(over.shape[:over.caxis] + (channels,) + over.shape[over.caxis + 1:],
                          item_var, caxis=over.caxis)
            if _calls(e.element, set(self.shared)):  # a shared module sees every item alike
                item = Tensor(representative(over), item_var, caxis=over.caxis)
            inner_env.vars[e.var] = Value(None, tensors=(item,))
            targets: ast.expr = ast.Tuple([ast.Name(module_var, ast.Store()),
                                           ast.Name(item_var, ast.Store())], ast.Store())
            fwd_iter: ast.expr = ast.Call(ast.Name("zip", ast.Load()), [attr, over.node],
                                          [ast.keyword("strict", ast.Constant(True))])
            owner = ListOwner(attr, ast.Name(module_var, ast.Load()))
            start = flow.current.shared() if flow.current else None
        else:
            assert iterable.py is not None
            ctor_var = self.locals.reserve(e.var, "comprehension")
            ctor_target, ctor_iter = ctor_var, iterable.py.node
            inner_env.vars[e.var] = Value(P.name(ctor_var, iterable.py.deps),
                                          runtime=P.name(item_var))
            targets, fwd_iter, owner = self.values_loop(e, label, attr, item_var, env, flow)
            start = flow.current.shared() if flow.current else None
        body: list[ast.stmt] = []
        ctor: list[ast.stmt] = []
        sub = flow.fork(start, hint="x")
        self.body((e.element,), Scope("module", owner, ctor, body), sub, inner_env)
        if len(owner.modules) > 1 or any(not isinstance(s, ast.Pass) for s in ctor):
            raise Specialize(deps, "a list of layers whose items are not one layer each")
        if owner.modules:
            loop = ast.comprehension(ast.Name(ctor_target, ast.Store()), ctor_iter, [], 0)
            made = ast.Call(P.dotted("nn.ModuleList"),
                            [ast.GeneratorExp(owner.modules[0].node, [loop])], [])
            scope.ctor.append(scope.owner.register(label, Py(made)))
            scope.registered.append(label)
        elif over is not None:  # the items call a shared module: no layers of their own
            targets, fwd_iter = ast.Name(item_var, ast.Store()), over.node
        if fwd_iter is None:  # layers made over values: zipped with them where it reads them
            targets, fwd_iter = self.zipped(e, attr, owner, item_var, body, sub, env, flow)
        scope.take()
        result = sub.current
        assert result is not None
        var = self.fnames.reserve(label)
        scope.fwd.extend(list_statements(var, body, result.node, targets, fwd_iter))
        length = length_of(over, iterable)
        shape, per_item = _per_item(result, ctor_target, over)
        listed = TensorList(var, shape, length, per_item=per_item, deps=deps, caxis=result.caxis)
        env.vars[label] = Value(None, listed=listed)
        flow.current = listed.item(P.lit(-1), _index(var, -1))
        flow.listed = listed

    def values_loop(self, e: syn.Comprehension, label: str, attr: ast.expr, item_var: str,
                    env: Env, flow: Flow) -> tuple[ast.expr, ast.expr | None, ListOwner]:
        """How a forward runs a list of layers made over values (`for k in ks`): item i's
        layer is the list's item i, not item k. Only over `range(n)` are the two the same
        (`self.blocks[i]`); else the layers are the loop's items, and what else it runs over
        (None here) waits for the body, which may not read the values (`zipped`)."""
        iterable = e.iterable
        if isinstance(iterable, syn.Call) and over_range(iterable, env) and \
                len(iterable.args) == 1:
            return ast.Name(item_var, ast.Store()), self.py(e.iterable, env, flow, "fwd").node, \
                ListOwner(attr, ast.Subscript(attr, ast.Name(item_var, ast.Load()), ast.Load()))
        module_var = self.fnames.reserve(_singular(label))
        return ast.Name(module_var, ast.Store()), None, \
            ListOwner(attr, ast.Name(module_var, ast.Load()))

    def zipped(self, e: syn.Comprehension, attr: ast.expr, owner: ListOwner, item_var: str,
               body: list[ast.stmt], sub: Flow, env: Env,
               flow: Flow) -> tuple[ast.expr, ast.expr]:
        """The loop over a list of layers and the values it was made over: the layers alone
        (`for block in self.blocks`) when the forward does not read the values, else zipped
        with them."""
        assert isinstance(owner.item, ast.Name) and sub.current is not None
        reads = item_var in P.names_in(ast.Module([*body, ast.Expr(sub.current.node)], []))
        layer = ast.Name(owner.item.id, ast.Store())
        if owner.modules and not reads:
            return layer, attr
        values = self.py(e.iterable, env, flow, "fwd").node
        if not owner.modules:  # the items call a shared module: the values alone
            return ast.Name(item_var, ast.Store()), values
        zipped = ast.Call(ast.Name("zip", ast.Load()), [attr, values],
                          [ast.keyword("strict", ast.Constant(True))])
        return ast.Tuple([layer, ast.Name(item_var, ast.Store())], ast.Store()), zipped

    def channels_loop(self, over: TensorList) -> tuple[str, ast.expr, Py]:
        """How a constructor runs over a list's items: the generator's variable, what it runs
        over, and an item's channels (`in_channels for in_channels in in_channels_list`)."""
        uniform = over.shape[over.caxis]
        if uniform is not None:
            if over.length is None:
                raise Specialize(over.deps, "a list of layers is made over a list whose length "
                                            "only the forward knows")
            source = over.channels()
            iterable = source.node if source is not None and not isinstance(
                source.node, ast.BinOp) else P.call("range", [over.length]).node
            return "_", iterable, uniform
        source = over.channels()
        if source is None:
            raise Specialize(over.deps, "a list of layers is made over items whose channels "
                                        "the constructor cannot give")
        taken = {p.py for p in self.info.params}
        name = "in_channels" if "in_channels" not in taken else "channels"
        return name, source.node, P.name(name, over.deps)

    def list_deps(self, value: Value) -> frozenset[str]:
        if value.listed is not None:
            return value.listed.deps
        return value.py.deps - {IN, SIZE} if value.py is not None else frozenset()

    def count_passes(self, scope: Scope, after: int, length: Py | None,
                     deps: frozenset[str]) -> None:
        """Positions the items took (each pass's unlabeled layers): known when the length is."""
        per_pass = after - scope.counter
        if not per_pass:
            return
        if length is not None and type(length.const) is int:
            scope.counter += per_pass * length.const
        else:
            scope.dynamic = (scope.dynamic or frozenset()) | deps | {"loop"}

    # ------------------------------------------------------------ loops

    def forward_loop(self, stmt: syn.For, iterable: Value, scope: Scope, flow: Flow,
                     env: Env) -> None:
        """A spec `for` the forward runs (`for i in range(n - 2, -1, -1)`): its body written
        once; the tensors and lists it reassigns keep one variable across passes."""
        assert scope.fwd is not None and iterable.py is not None
        deps = iterable.py.deps - {IN, SIZE}
        fwd_iter = self.py(stmt.iterable, env, flow, "fwd")
        pre: list[ast.stmt] = []
        tensors, lists = self.carried(stmt, scope, flow, env, pre, deps)
        var = self.fnames.reserve(stmt.var, "item")
        makes = _computed_labels(stmt.body)  # layers named by the pass: the constructor's loop
        ctor_var = self.locals.reserve(stmt.var, "loop") if makes else None
        env.vars[stmt.var] = Value(P.name(ctor_var, deps) if ctor_var else None,
                                   runtime=P.name(var), exact_str=over_range(stmt.iterable, env))
        marks = {}
        for name, listed in lists.items():
            marks[name] = P.name(f"__length_{name}__")
            env.vars[name] = Value(None, listed=replace(listed, length=marks[name]))
        body: list[ast.stmt] = []
        ctor: list[ast.stmt] = []
        inner = scope.nested(ctor, body)
        if ctor_var is not None:  # a layer named by its position would take one name per pass
            inner.dynamic = (inner.dynamic or frozenset()) | deps | {"loop"}
        start = len(scope.registered)
        entry = flow.current
        try:
            self.body(stmt.body, inner, flow, env)
        except Unsupported:  # a value of the pass the constructor needs (a computed label)
            raise Specialize(deps, "a forward loops over it") from None
        if (ctor or len(scope.registered) != start) and ctor_var is None:
            raise Specialize(deps, "a forward loops over it, making layers")
        if ctor:  # `for i in range(stacks - 1): self.add_module("stack" + str(i + 1), ...)`
            scope.ctor.append(ast.For(ast.Name(ctor_var, ast.Store()), iterable.py.node, ctor,
                                      []))
        current = flow.current
        named = next((n for n in tensors if current is not None and (
            flow.labels[n] is current or flow.labels[n].var == current.var)), None)
        for name, before in tensors.items():
            flow.labels[name] = self.keep_variable(name, before, flow.labels[name], body, deps)
            if env.find(name) is not None and env.find(name).tensors is not None:
                env.vars[name] = Value(None, tensors=(flow.labels[name],))
        if named is not None:  # the chain goes on from a tensor the loop names (`t`)
            flow.current = flow.labels[named]
        elif ctor_var is not None:
            self.carry_current(entry, flow, body, deps)
        passes = range_passes(stmt.iterable, self, env, flow)
        for name, listed in lists.items():
            after = env.find(name)
            if after is None or after.listed is None or after.listed.var != listed.var or \
                    not _same_channels(after.listed, listed):
                raise Specialize(deps | listed.deps, f"the list '{name}' changes in a loop")
            env.vars[name] = Value(None, listed=replace(
                listed, length=_grown(listed.length, after.listed.length, marks[name], passes)))
        self.count_passes(scope, inner.counter, passes, deps)
        scope.fwd.extend(pre)
        scope.fwd.append(ast.For(loop_target(ast.Name(var, ast.Store()), body), fwd_iter.node,
                                 body, []))

    def carried(self, stmt: syn.For, scope: Scope, flow: Flow, env: Env, pre: list[ast.stmt],
                deps: frozenset[str]) -> tuple[dict[str, Tensor], dict[str, TensorList]]:
        """The tensors and lists a loop reassigns that exist before it: the lists made forward
        variables (`merged = [last]`) before the loop."""
        tensors: dict[str, Tensor] = {}
        lists: dict[str, TensorList] = {}
        for name in _assigned(stmt.body):
            value = env.find(name)
            if value is not None and value.listed is not None:
                lists[name] = value.listed
            elif value is not None and value.tensors is not None and name not in flow.labels:
                made = Scope(scope.mode, scope.owner, [], pre)
                lists[name] = self.listed_value(value.tensors, self.fnames.reserve(name), made,
                                                deps)
                env.vars[name] = Value(None, listed=lists[name])
            elif value is not None and value.py is not None and value.py.const == () and \
                    flow.current is not None:  # `heatmaps = []`, which the loop fills
                made = Scope(scope.mode, scope.owner, [], pre)
                lists[name] = self.listed_value((), self.fnames.reserve(name), made, deps,
                                                rank=len(flow.current.shape))
                env.vars[name] = Value(None, listed=lists[name])
            elif name in flow.labels:
                held = flow.labels[name]
                if held.var is None:
                    raise Specialize(deps, f"a loop reassigns '{name}'")
                if held.var != name and P.is_identifier(name) and \
                        any(k != name and t.var == held.var for k, t in flow.labels.items()):
                    # `inter = r5`: the loop's variable is the spec's name for it
                    var = self.fnames.reserve(name)
                    pre.append(assign(var, held.node))
                    held = replace(held, var=var)
                    flow.labels[name] = held
                tensors[name] = held
            elif value is not None:
                raise Specialize(deps, f"a forward loops over it, changing the value '{name}'")
        return tensors, lists

    def carry_current(self, entry: Tensor | None, flow: Flow, body: list[ast.stmt],
                      deps: frozenset[str]) -> None:
        """The chain's tensor after a loop that makes layers: the next pass starts from it, so
        it stays in the variable it had before the loop (`x = cat(x, out)` each pass, as
        the loop's named tensors do), with the same channels, which the layers made in the
        constructor's loop were built for."""
        after = flow.current
        if after is None or after is entry:
            return
        if entry is None or entry.var is None or after.var != entry.var and any(
                t.var == entry.var for t in flow.labels.values()):
            raise Specialize(deps, "a forward loops over it, making layers")
        flow.current = self.keep_variable(None, entry, after, body, deps)

    def keep_variable(self, name: str | None, entry: Tensor, after: Tensor,
                      body: list[ast.stmt], deps: frozenset[str]) -> Tensor:
        """A tensor a loop reassigns (`last`; None: the chain's), in the variable it had
        before the loop."""
        what = f"'{name}'" if name is not None else "the chain's tensor"
        if after.var != entry.var:
            if after.var is None or not _renamable(body, after.var, entry.var):
                raise Specialize(deps, f"a loop reassigns {what}")
            for s in body:
                for n in ast.walk(s):
                    if isinstance(n, ast.Name) and n.id == after.var:
                        n.id = entry.var  # type: ignore[assignment]
        channels = [t.shape[t.caxis] for t in (entry, after)]
        if None in channels or not P.same(channels[0], channels[1]):  # type: ignore[arg-type]
            raise Specialize(deps, f"the channels of {what} change in a loop")
        return replace(entry, shape=_general(entry.shape, entry.caxis))


# ---------------------------------------------------------------- helpers


def _calls(element: syn.Chain, names: set[str]) -> bool:
    """Whether a chain calls one of `names` (a shared module)."""
    return any(isinstance(n, syn.Name) and n.id in names or
               isinstance(n, syn.Call) and n.func in names for n in walk((element,)))


def _computed_labels(body: tuple[syn.Stmt, ...]) -> bool:
    """Whether a loop's body names layers by computed labels (`("stack" + str(i + 1)): ...`),
    which the constructor's loop makes and the forward's reads back by name."""
    return any(isinstance(n, syn.Element) and n.label is not None and
               not isinstance(n.label, str) for n in walk(body))


def representative(over: TensorList) -> tuple:
    """An item's shape for a chain written once for all items: where the items' channels
    differ, the first item's, marked (only a shared module, whose calls must all see the same
    channels, may take them)."""
    channels = over.shape[over.caxis]
    if channels is None and over.per_item is not None:
        first = over.channels_at(P.lit(0))
        channels = Py(first.node, UNKNOWN, first.deps | {ONE}) if first is not None else None
    return over.shape[:over.caxis] + (channels,) + over.shape[over.caxis + 1:]


def _general(shape: tuple, caxis: int) -> tuple:
    """A shape for every item or pass: channels, unless they stand for one item; sizes None."""
    channels = shape[caxis] if caxis < len(shape) else None
    if channels is not None and ONE in channels.deps:
        channels = None
    out = [None] * len(shape)
    if caxis < len(shape):
        out[caxis] = channels
    return tuple(out)


def joined_shape(shapes: list[tuple]) -> tuple:
    """The shape items of several shapes share: channels written the same, sizes None."""
    if not shapes:
        return (None,)
    first = shapes[0]
    rank = len(first)
    channels = first[0]
    if any(len(s) != rank for s in shapes) or channels is None or \
            any(s[0] is None or not P.same(s[0], channels) for s in shapes):
        channels = None
    return (channels,) + (None,) * (rank - 1)


def _per_item(result: Tensor, target: str, over: TensorList | None) -> tuple[tuple, Py | None]:
    """The items' shape and, where their channels depend on the generator's variable, their
    channels per item."""
    shape = _general(result.shape, result.caxis)
    channels = shape[result.caxis]
    if channels is None or target not in P.names_in(channels.node):
        return shape, None
    if over is not None:  # in terms of the channels of the item it was made from
        source = over.channels()
        assert source is not None
        item = Py(ast.Subscript(source.node, ast.Name(ITEM, ast.Load()), ast.Load()))
    else:
        item = P.name(ITEM)
    per_item = P.substitute(channels, {target: item})
    return shape[:result.caxis] + (None,) + shape[result.caxis + 1:], per_item


def length_of(over: TensorList | None, iterable: Value) -> Py | None:
    if over is not None:
        return over.length
    if iterable.py is None:
        return None
    return P.simplify(P.call("len", [iterable.py]))


def range_passes(e: syn.Expr, translator: Any, env: Env, flow: Flow) -> Py | None:
    """How many times a loop over `range(a, b, step)` runs, where the step is 1 or -1 (the
    range not empty or just so: `range(n - 2, -1, -1)` runs n - 1 times for n >= 1)."""
    if not isinstance(e, syn.Call) or e.func != "range" or not 1 <= len(e.args) <= 3 or \
            any(a.name is not None for a in e.args):
        try:
            iterable = translator.py(e, env, flow, "ctor")
        except Unsupported:
            return None
        return P.simplify(P.call("len", [iterable]))
    try:
        args = [translator.py(single(a.value), env, flow, "ctor") for a in e.args]
    except Unsupported:
        return None
    if len(args) == 1:
        args = [P.lit(0), *args]
    step = args[2].const if len(args) == 3 else 1
    if step == 1:
        return P.simplify(P.binop("-", args[1], args[0]))
    if step == -1:
        return P.simplify(P.binop("-", args[0], args[1]))
    return None


def _grown(before: Py | None, after: Py | None, mark: Py, passes: Py | None) -> Py | None:
    """A list's length after a loop that adds the same number of items at each pass."""
    if before is None or after is None or passes is None:
        return None
    delta = P.simplify(P.binop("-", after, mark))
    if not delta.known or type(delta.const) is not int:
        return None
    return P.simplify(P.binop("+", before, P.binop("*", delta, passes)))


def _same_channels(a: TensorList, b: TensorList) -> bool:
    ca, cb = a.shape[a.caxis], b.shape[b.caxis]
    if ca is None or cb is None:
        return ca is None and cb is None and a.per_item is None and b.per_item is None
    return P.same(ca, cb)


def _assigned(body: tuple[syn.Stmt, ...]) -> list[str]:
    """Names a loop body binds: assignments and labels, in order."""
    out: list[str] = []
    for node in walk(body):
        names: tuple[str, ...] = ()
        if isinstance(node, syn.Assign):
            names = (node.name,)
        elif isinstance(node, syn.Unpack):
            names = node.names
        elif isinstance(node, syn.Element) and isinstance(node.label, str):
            names = (node.label,)
        out += [n for n in names if n not in out]
    return out


def _renamable(body: list[ast.stmt], new: str, old: str) -> bool:
    """Whether the variable a loop's pass made can take the name the loop carries: made once,
    and the old one not read after it."""
    made = [i for i, s in enumerate(body) if any(
        isinstance(n, ast.Name) and n.id == new and isinstance(n.ctx, ast.Store)
        for n in ast.walk(s))]
    if len(made) != 1:
        return False
    return not any(isinstance(n, ast.Name) and n.id == old and isinstance(n.ctx, ast.Load)
                   for s in body[made[0] + 1:] for n in ast.walk(s))


def _is_registration(stmt: ast.stmt) -> bool:
    """`self.conv = ConvTower(...)`: a shared module made at its first call."""
    return isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Attribute)


def _index(var: str, index: int) -> ast.expr:
    return ast.Subscript(ast.Name(var, ast.Load()), P.lit(index).node, ast.Load())


def _singular(label: str) -> str:
    """`inner_blocks` -> `inner_block`: the name of one item of a list of layers."""
    if label.endswith("s") and not label.endswith("ss") and len(label) > 2:
        return label[:-1]
    return "layer"


def list_statements(var: str, body: list[ast.stmt], result: ast.expr, target: ast.expr,
                    iterable: ast.expr) -> list[ast.stmt]:
    """`var = [expr for target in iterable]` when the body is one expression of the item,
    else `var = []` and a loop that appends each item's result."""
    expr = _as_expression(body, result)
    if expr is not None:
        loop = ast.comprehension(target, iterable, [], 0)
        return [assign(var, ast.ListComp(expr, [loop]))]
    body = list(body)
    last = body[-1] if body else None
    if isinstance(last, ast.Assign) and isinstance(result, ast.Name) and \
            isinstance(last.targets[0], ast.Name) and last.targets[0].id == result.id:
        body.pop()
        result = last.value
    append = ast.Expr(ast.Call(ast.Attribute(ast.Name(var, ast.Load()), "append", ast.Load()),
                               [result], []))
    return [assign(var, ast.List([], ast.Load())), ast.For(target, iterable, body + [append], [])]


def _as_expression(body: list[ast.stmt], result: ast.expr) -> ast.expr | None:
    """A short chain of assignments, each reading the one before once, as one expression."""
    if len(body) > INLINED:
        return None
    expr: ast.expr | None = None
    previous = None
    for i, stmt in enumerate(body):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and
                isinstance(stmt.targets[0], ast.Name)):
            return None
        value = copy.deepcopy(stmt.value)
        if previous is not None:
            reads = [n for n in ast.walk(value) if isinstance(n, ast.Name) and n.id == previous]
            later = [n for s in body[i + 1:] for n in ast.walk(s)
                     if isinstance(n, ast.Name) and n.id == previous and
                     isinstance(n.ctx, ast.Load)]
            if len(reads) != 1 or later:
                return None
            value = _put(value, previous, expr)  # type: ignore[arg-type]
        expr, previous = value, stmt.targets[0].id
    if expr is None:
        return copy.deepcopy(result)
    if not (isinstance(result, ast.Name) and result.id == previous):
        return None
    return expr


def _put(node: ast.expr, name: str, value: ast.expr) -> ast.expr:
    class Put(ast.NodeTransformer):
        def visit_Name(self, n: ast.Name) -> ast.expr:
            return copy.deepcopy(value) if n.id == name else n
    return Put().visit(node)
