"""Operator, block and layer-value calls: the modules they construct and how a forward
applies them."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from netdsl.backends.pytorch import ops as lowering
from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch.classinfo import ClassInfo
from netdsl.backends.pytorch.expressions import coerce_attribute
from netdsl.backends.pytorch.flow import (
    Flow,
    Scope,
    Tensor,
    TensorList,
    as_computed,
    as_samples,
)
from netdsl.backends.pytorch.pyexpr import UNKNOWN, Py
from netdsl.backends.pytorch.pystmt import assign
from netdsl.backends.pytorch.shapes import Shape, with_found_sizes
from netdsl.backends.pytorch.syntax import dotted_path, reads_block_input, single
from netdsl.backends.pytorch.values import (
    IN,
    RT,
    RUNTIME,
    SIZE,
    SIZES,
    SPATIAL,
    Env,
    NotChain,
    RuntimeOnly,
    Specialize,
    Unsupported,
    Value,
)
from netdsl.elaborate.blocks import TENSOR_TYPES
from netdsl.elaborate.constructs import passes_input
from netdsl.elaborate.values import LayerRef, reads_size
from netdsl.ops import REGISTRY
from netdsl.ops.base import REQUIRED, WHOLE_KINDS, Op, whole
from netdsl.syntax import ast as syn
from netdsl.syntax.tree import walk

if TYPE_CHECKING:
    pass



class Input(lowering.Input):
    """The lowering's view of the first input of a layer."""

    def __init__(self, translator: Any, tensor: Tensor, span: Any = None,
                 batched: bool | None = None):
        self.translator = translator
        self.tensor = tensor
        self.rank = tensor.rank
        self.span = span
        self.batched = tensor.batched if batched is None else batched

    def dim(self, axis: int) -> Py:
        value = self.tensor.shape[axis]
        if value is None or SPATIAL in value.deps:
            value = self.translator.built_size(self.span, axis)
        if SIZE in value.deps:
            self.translator.size_dependent = True
        return value

    def may_be_word(self, name: str) -> bool:
        bdef = getattr(self.translator, "bdef", None)
        param = next((p for p in bdef.params if p.name == name), None) if bdef else None
        return param is not None and param.type is None and not isinstance(
            param.default, (syn.Number, syn.ListExpr))


class Calls:
    """Operator, block and layer-value calls: the modules they construct and how a forward"""

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
        if func in self.shared and bound is None:
            self.shared_call(func, arg_asts, label, span, scope, flow, env)
            return
        self.direct_call(func, arg_asts, (), {}, label, span, scope, flow, env)

    def shared_call(self, name: str, arg_asts: tuple[syn.Arg, ...], label: str | Py | None,
                    span: Any, scope: Scope, flow: Flow, env: Env) -> None:
        """A call of a shared module: its first makes `self.<name>`; every call applies it."""
        if scope.fwd is None:  # an nn.Sequential being filled: only a forward can call it
            raise NotChain
        if label is not None:
            raise Unsupported(f"a label on a call of the shared module '{name}'")
        value = self.shared[name].value
        func = value.id if isinstance(value, syn.Name) else \
            value.func if isinstance(value, syn.Call) else None
        decl_args = value.args if isinstance(value, syn.Call) else ()
        if name not in self.shared_made:
            if func in REGISTRY:
                self.shared_op_call(name, func, decl_args + arg_asts, span, scope, flow, env)
                return
            if func is None or func not in self.gen.program.blocks:
                raise Unsupported("a shared module that is neither an operator nor a block")
        if self.shared_made.get(name, ("block",))[0] == "op":
            self.shared_op_call(name, *self.shared_made[name][1:], span, scope, flow, env)
            return
        # the declaration's arguments, and this call's tensors (`head(p3)`, then `head(p4)`)
        bdef, bound, tensors = self.bind_call(self.gen.program.blocks[func],
                                              decl_args + arg_asts, (), {}, env, flow,
                                              tensors=scope)
        current = flow.current
        assert current is not None
        inputs = [t if t is not None else current for t in tensors(flow, scope, env)]
        info = self.gen.variant(bdef, {k: v for k, (v, _) in bound.items()}, current.rank,
                                sizes=self.call_sizes(bdef, current, span),
                                caxis=current.caxis, channels=current.shape[current.caxis])
        made = info.twin or info  # the class its first call made it of
        if self.shared_made.setdefault(name, ("block", made))[1] is not made:
            raise Unsupported(f"the shared module '{name}' on an input for which its block "
                              f"is another class (made for one size of its input)")
        info = info.for_call(_arguments(info, bound))
        several = inputs if info.channel_params else None
        inputs = inputs or [current]
        shape = self.block_out(info, bound, inputs[0], several)
        home = self.shared_home(name, scope)
        if name not in home.registered:
            self.check_child(name)
            home.ctor.append(home.owner.register(name, self.instantiate(info, bound, current,
                                                                        several)))
            home.registered.append(name)
        at = info.out_axis
        if shape and shape[at] is None and not info.out_names and not info.out_list:
            info.export()  # its channels only the built module knows
            shape = shape[:at] + (self.child_channels(name, home),) + shape[at + 1:]
        self.apply_call(Py(home.owner.ref(name)), inputs, shape, home, flow, False)
        self.several_outputs(info, name, home, flow)

    def shared_home(self, name: str, scope: Scope) -> Scope:
        """Where a shared module lives: the scope that declared it (`self.head`, not an item
        of the list a comprehension that calls it makes), with this call's forward."""
        home = self.shared_homes.get(name, scope)
        if home is scope:
            return scope
        view = Scope(home.mode, home.owner, home.ctor, scope.fwd, scope.counter,
                     scope.dynamic, scope.offset, home.registered)
        return view

    def shared_op_call(self, name: str, func: str, arg_asts: tuple[syn.Arg, ...], span: Any,
                       scope: Scope, flow: Flow, env: Env) -> None:
        """A shared operator: its first call makes `self.<name>` as a labeled layer would;
        every later call applies that module (an operator without state is simply called
        again)."""
        home = self.shared_home(name, scope)
        if name not in self.shared_made:
            position = home.counter
            self.direct_call(func, arg_asts, (), {}, name, span, home, flow, env)
            scope.counter = position  # an application takes no position: it has the name
            if name in home.registered:
                self.shared_made[name] = ("op", func, arg_asts)
            return
        current = flow.current
        assert current is not None
        attrs, _, _ = self.op_attrs(func, arg_asts, (), {}, env, flow, "ctor")
        cls = REGISTRY[func]
        for field_name, f in ((f.name, f) for f in cls.parameters().fields):
            attrs.setdefault(field_name, P.lit(None if f.default is REQUIRED else f.default))
        shape = self.out_shape(func, attrs, [current], span)
        self.apply_call(Py(home.owner.ref(name)), [current], shape, scope, flow, False)

    def direct_call(self, func: str, arg_asts: tuple[syn.Arg, ...], args: tuple[Any, ...],
                    kwargs: dict[str, Any], label: str | Py | None, span: Any, scope: Scope,
                    flow: Flow, env: Env) -> None:
        if passes_input(func):
            return
        if func in self.gen.program.blocks:
            self.block_call(self.gen.program.blocks[func], arg_asts, args, kwargs, label, span,
                            scope, flow, env)
            return
        if func not in REGISTRY:
            raise Unsupported(f"the layer '{func}'")
        attrs, given, tensors = self.op_attrs(func, arg_asts, args, kwargs, env, flow, "ctor")
        if lowering.lowering(func).reads is not None:
            self.read_results(func, tensors, scope, flow, span)
            return
        variadic = REGISTRY[func].variadic
        listed = self.listed_current if variadic else None
        # a merge after a list takes every tensor of it, then its tensor arguments, each
        # argument that is a list with every tensor of it
        parts: list[Tensor | TensorList] = list(listed) if isinstance(listed, tuple) else \
            [listed or flow.current]  # type: ignore[list-item]
        for t in tensors:
            spread = self.tensor_list_arg(t, env, flow) if variadic else None
            if spread is None:
                parts.append(self.tensor_path(t, scope, flow, env))
            elif isinstance(spread, TensorList):
                parts.append(spread)
            else:
                parts += [self.hold(item.shared(), scope, "out") for item in spread]
        if func != "concat":  # another merge takes a list's items one by one, when known
            parts = [item for p in parts for item in (
                p.known_items() or (p,) if isinstance(p, TensorList) else (p,))]
        if any(isinstance(p, TensorList) for p in parts):
            self.list_op(func, attrs, parts, label, scope, flow, span)
            return
        inputs: list[Tensor] = parts  # type: ignore[assignment]
        self.apply_op(func, attrs, given, inputs, label, scope, flow, span,
                      arg_asts=arg_asts, args=args, kwargs=kwargs, env=env)

    def list_op(self, func: str, attrs: dict[str, Py], parts: list[Tensor | TensorList],
                label: str | Py | None, scope: Scope, flow: Flow, span: Any) -> None:
        """`torch.cat(rows, 1)`, `torch.cat([x, *rows], 1)`: an operator over tensors some of
        which come from lists of any length."""
        lists = [p for p in parts if isinstance(p, TensorList)]
        if func != "concat" or scope.fwd is None:
            raise Specialize(frozenset().union(*(p.deps for p in lists)),
                             f"'{func}' takes each tensor of a list")
        items = [Tensor(p.shape, caxis=p.caxis, read=p.node) if isinstance(p, TensorList)
                 else p for p in parts]
        nodes = [Py(ast.Starred(p.node, ast.Load())) if isinstance(p, TensorList) else Py(p.node)
                 for p in parts]
        result = lowering.invoke(func, attrs, nodes, Input(self, items[0], span), P.lit(False))
        # a list counts as one tensor of all its items' channels (where the constructor
        # can give them), along no other axis
        shape = lowering.shapes.concat(attrs, [
            p.shape[:p.caxis] + (p.total_channels(),) + p.shape[p.caxis + 1:]
            if isinstance(p, TensorList) else p.shape for p in parts])
        axis = attrs["axis"].const
        if axis % len(shape) != items[0].caxis:
            shape = shape[:axis] + (None,) + shape[axis + 1:]
        scope.take()
        self.assign_result(result, items, tuple(shape), scope, flow, True)
        flow.current = replace(flow.current, caxis=items[0].caxis)

    def tensor_list_arg(self, chain: syn.Chain, env: Env, flow: Flow,
                        ) -> tuple[Tensor, ...] | TensorList | None:
        """A merge's argument that is a list of tensors (`rows`, `levels[1:]`, `[a, b]`,
        `rows + [a]`, the label of a call with several outputs): its tensors, or the list
        when its length is not known here; None for anything else."""
        if len(chain.elements) != 1 or chain.elements[0].label is not None:
            return None
        value = chain.elements[0].value
        if not isinstance(value, (syn.Name, syn.Index, syn.ListExpr, syn.BinOp)):
            return None
        if isinstance(value, syn.Name) and env.find(value.id) is None:
            group = flow.groups.get(value.id)
            return tuple(group) if isinstance(group, list) else group
        try:
            found = self.expr(value, env, flow, "ctor")
        except (RuntimeOnly, Unsupported, NotChain):
            return None
        return found.listed if found.listed is not None else found.tensors

    def list_result(self, info: ClassInfo, label: str | None, scope: Scope,
                    flow: Flow) -> None:
        """`fpn = self.fpn(features)`: a call whose outputs hold a list of any length, kept
        whole, its items' channels and number in the caller's terms."""
        if scope.fwd is None:
            raise NotChain
        last = scope.fwd[-1]
        assert isinstance(last, ast.Assign) and flow.current is not None
        var = self.fnames.reserve(label or "outputs")
        last.targets = [ast.Name(var, ast.Store())]
        mapping = dict(self._last_mapping)
        channels: list[Py | None] = []
        length: Py | None = P.lit(0)
        deps: frozenset[str] = frozenset()
        for _, out in info.out_list:
            c = out.shape[out.caxis]
            channels.append(_put(c, mapping, None) if c is not None else None)
            if isinstance(out, TensorList):
                count = _put(out.length, mapping, None, lists=True)
                deps |= frozenset().union(*(m.deps for m in mapping.values() if m is not None))
                length = None if length is None or count is None else \
                    P.simplify(P.binop("+", length, count))
            elif length is not None:
                length = P.simplify(P.binop("+", length, P.lit(1)))
        first = channels[0]
        uniform = first if first is not None and all(
            c is not None and P.same(c, first) for c in channels) else None
        rank = len(info.out_list[0][1].shape)
        listed = TensorList(var, (uniform,) + (None,) * (rank - 1), length,
                            deps=deps - {IN, SIZE}, whole=True)
        if label:
            flow.groups[label] = listed
        flow.results = None
        flow.current = listed.item(P.lit(0), ast.Subscript(ast.Name(var, ast.Load()),
                                                             ast.Constant(0), ast.Load()))
        flow.listed = listed

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
            path = dotted_path(v)
            if path is not None and path in flow.labels:
                return flow.labels[path]
            if isinstance(v, (syn.Index, syn.Name)):  # `add(rev[1])`: an item of a list
                item, _ = self.listed_tensor(v, env, flow)
                if item is not None:
                    return self.hold(item.shared(), scope, "out")
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
            f = table.positional[index]
            values[f.name] = coerce_attribute(f, self.const_py(value))
            index += 1
        for key, value in kwargs.items():
            f = table.by_name[key]
            values[f.name] = coerce_attribute(f, self.const_py(value))
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
            if f.metadata.get("kind") == "weight":  # a tie: the network's class sets it
                values[f.name] = P.lit(None)
                continue
            bare = single(a.value)
            if isinstance(bare, syn.Name) and f.metadata.get("kind") == "choice" and \
                    bare.id in f.metadata["choices"] and env.find(bare.id) is None:
                values[f.name] = P.lit(bare.id)  # gelu(approximate=tanh): a bare word
                continue
            self.lenient = True
            try:
                v = self.lenient_expr(single(a.value), env, flow, where)
            finally:
                self.lenient = False
            values[f.name] = coerce_attribute(f, v.py, a.span in self.gen.program.one_entry)
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
        batched = row.batched(attrs, [t.batched for t in inputs])
        self._apply_op(func, attrs, given, inputs, label, scope, flow, span, take, arg_asts,
                       args, kwargs, env)
        if flow.current is not None:  # where the channels went (permute, transpose)
            axis = row.channel_axis(attrs, inputs[0].caxis, len(inputs[0].shape))
            flow.current = replace(flow.current, caxis=axis if 0 <= axis < len(
                flow.current.shape) else 0, batched=batched)

    def _apply_op(self, func: str, attrs: dict[str, Py], given: set[str], inputs: list[Tensor],
                  label: str | Py | None, scope: Scope, flow: Flow, span: Any, take: bool,
                  arg_asts: tuple[syn.Arg, ...], args: tuple[Any, ...],
                  kwargs: dict[str, Any] | None, env: Env | None) -> None:
        row = lowering.lowering(func)
        cls = REGISTRY[func]
        for name, f in ((f.name, f) for f in cls.parameters().fields):
            attrs.setdefault(name, P.lit(None if f.default is REQUIRED else f.default))
            if f.metadata.get("kind") not in WHOLE_KINDS:
                continue
            if attrs[name].known:
                ints = whole(attrs[name].const)  # `permute([2.0, 1, 0])`, as loading reads it
                if ints is not attrs[name].const:
                    attrs[name] = P.lit(ints)
            elif (span, name) in self.gen.program.whole_floats:  # `64 * w`, w = 1.0
                attrs[name] = P.call("int", [attrs[name]])
        if any(v.deps & {RT, SIZE} for v in attrs.values()) and (
                lowering.holds_state(func, attrs) or not row.has_function()):
            attrs = self.built_attrs(func, attrs, span)
        shape = self.out_shape(func, attrs, inputs, span)
        # a layer whose code needs a batch axis computes a tensor without one as one sample;
        # a merge's axes are its result's (`merged` aligns its inputs on the batch axis)
        as_sample = not row.unbatched and not all(t.batched for t in inputs)
        x = Input(self, inputs[0], span, batched=as_sample or any(
            t.batched for t in (inputs if cls.variadic else inputs[:1])))
        pad = None
        if row.pad is not None:
            try:
                padded = row.pad(attrs, x)
            except NotImplementedError as exc:
                raise Unsupported(f"'{func}': {exc}") from None
            if padded is not None:
                attrs, pad = padded
        if as_sample and row.results(attrs):
            raise Unsupported(f"'{func}' with results on a tensor without a batch axis")
        if scope.mode == "chain":
            if len(inputs) > 1 or pad is not None or row.applies_module or row.results(attrs) \
                    or not inputs[0].batched:
                raise NotChain
            inplace = cls.in_place and self.previous_overwritable(scope)
            if any(v.deps & {RT, SIZE} for v in attrs.values()):
                raise NotChain
            module = self.module_of(func, attrs, x, inplace)
            if module is None:
                raise NotChain
            if SIZE in module.deps:
                self.size_dependent = True
            self.gen.helpers.update(row.helpers)
            self.register(label, module, scope, overwritable=cls.overwritable)
            flow.current = Tensor(shape)
            return
        vars_ = as_samples(inputs) if as_sample else merged(row, inputs, len(shape))
        if pad is not None:
            vars_[0] = pad(vars_[0])
        # an attribute read from a tensor's size is the forward's to compute, not baked in
        runtime = any(v.deps & {RT, SIZE} for v in attrs.values())
        stateful = lowering.holds_state(func, attrs)

        if not runtime and (stateful or not row.has_function() or
                            label is not None and row.has_module() and len(inputs) == 1):
            inplace = cls.in_place and len(inputs) == 1 and inputs[0].fresh and inputs[0].owned \
                and pad is None
            try:
                module = self.module_of(func, attrs, x, inplace)
            except NotImplementedError as exc:
                raise Unsupported(f"'{func}': {exc}") from None
            if module is None and (stateful or not row.has_function()):
                raise Unsupported(f"'{func}' has no module form")
            if module is not None:
                if SIZE in module.deps:
                    self.size_dependent = True
                self.gen.helpers.update(row.helpers)
                name = self.register(label, module, scope)
                ref = Py(scope.owner.ref(name))
                if row.applies_module:
                    result = row.apply(attrs, vars_, x, state=ref)
                else:
                    result = P.call(ref, vars_)
                if as_sample:
                    result = as_computed(result, inputs)
                self.assign_op_result(cls, attrs, label, result, inputs, shape, scope, flow)
                return
        if take:
            scope.take()
        if lowering.does_nothing(func, attrs):
            flow.current = replace(inputs[0], shape=shape)
            return
        fattrs = attrs
        if env is not None and (arg_asts or args or kwargs) and pad is None:
            fattrs = self.op_attrs(func, arg_asts, args, kwargs or {}, env, flow, "fwd")[0]
            for name, f in ((f.name, f) for f in cls.parameters().fields):
                fattrs.setdefault(name, P.lit(None if f.default is REQUIRED else f.default))
        elif any(not v.known for v in attrs.values()):
            fattrs = {k: (v if v.known else self.store(k, v)) for k, v in attrs.items()}
        inplace = cls.in_place and len(inputs) == 1 and inputs[0].fresh and inputs[0].owned \
            and pad is None
        training = Py(ast.Attribute(ast.Name("self", ast.Load()), "training", ast.Load()))
        try:
            result = lowering.invoke(func, fattrs, vars_, x, training, inplace)
        except NotImplementedError as exc:
            raise Unsupported(f"'{func}': {exc}") from None
        if as_sample:
            result = as_computed(result, inputs)
        self.gen.helpers.update(row.helpers)
        self.assign_op_result(cls, attrs, label, result, inputs, shape, scope, flow)

    def assign_op_result(self, cls: type[Op], attrs: dict[str, Py],
                         label: str | Py | None, result: Py, inputs: list[Tensor], shape: Shape,
                         scope: Scope, flow: Flow) -> None:
        """`x = f(x)`; for a layer with results (a max pooling's switches), the input's size
        taken before and `x, indices = f(x)`, kept for the layers that read them."""
        results = lowering.lowering(cls.name).results(attrs)
        if not results:
            self.assign_result(result, inputs, shape, scope, flow, cls.overwritable)
            return
        if not isinstance(label, str) or scope.fwd is None:
            raise Unsupported("a max pooling with indices=true needs a label")
        first = inputs[0]
        size = self.fnames.reserve(f"{label}_size")
        spatial = Py(ast.Slice(ast.Constant(2), None))
        scope.fwd.append(assign(size, P.subscript(P.attr(Py(first.node), "shape"),
                                                  spatial).node))
        self.assign_result(result, inputs, shape, scope, flow, False)
        indices = self.fnames.reserve(f"{label}_indices")
        last = scope.fwd[-1]
        assert isinstance(last, ast.Assign)
        last.targets = [ast.Tuple([last.targets[0], ast.Name(indices, ast.Store())],
                                  ast.Store())]
        self.label_vars.update({size, indices})
        self.switches[label] = (indices, size, attrs)

    def read_results(self, func: str, tensors: list[syn.Chain], scope: Scope, flow: Flow,
                     span: Any) -> None:
        """An operator that reads another layer's results (unpool's switches)."""
        if scope.fwd is None:
            raise NotChain
        path = dotted_path(single(tensors[0])) if tensors else None
        found = self.switches.get(path) if path is not None else None
        if found is None:
            raise Unsupported(f"'{func}' of a tensor that is no labeled max pooling with "
                              f"indices=true in the same block")
        indices, size, pool_attrs = found
        current = flow.current
        assert current is not None and current.var is not None
        result = lowering.invoke(func, pool_attrs, [Py(current.node), P.name(indices),
                                                    P.name(size)], Input(self, current, span),
                                 P.lit(False))
        row = lowering.lowering(func)
        self.gen.helpers.update(row.helpers)
        shape = row.shape({}, [current.shape])
        scope.take()
        self.assign_result(result, [current], shape, scope, flow, False)

    def built_attrs(self, func: str, attrs: dict[str, Py], span: Any) -> dict[str, Py]:
        """A layer with state built from a value of the input's size (ViT's position
        embedding over `in.shape`): the values the network was built with, which the network
        then checks its input against."""
        nodes = self.gen.facts.layers_at(span) if span is not None else []
        out = dict(attrs)
        for key, value in attrs.items():
            if not value.deps & {RT, SIZE}:
                continue
            if RT not in value.deps:  # written with the sizes it was built for, as constants
                out[key] = Py(value.node, value.const, value.deps - {SIZE})
                continue
            built = {repr(getattr(n.op, key)) for n in nodes if n.op.name == func}
            if len(built) != 1:
                raise Unsupported(f"a '{func}' layer built from its input's size, which differs "
                                  f"between its instances")
            out[key] = _built(value, getattr(next(n.op for n in nodes if n.op.name == func), key))
        self.size_dependent = True
        return out

    def module_of(self, func: str, attrs: dict[str, Py], x: Input, inplace: bool) -> Py | None:
        """The layer's module; `nn.Identity()` for one that does nothing with these
        attributes (a drop rate of 0), which keeps its place in the naming."""
        if lowering.does_nothing(func, attrs):
            return P.call("nn.Identity")
        return lowering.construct(func, attrs, x, inplace)

    def out_shape(self, func: str, attrs: dict[str, Py], inputs: list[Tensor],
                  span: Any) -> Shape:
        row = lowering.lowering(func)
        return tuple(None if size is None else P.simplify(size)
                     for size in row.shape(attrs, [t.shape for t in inputs]))

    def built_size(self, span: Any, axis: int) -> Py:
        """A size the constructor needs but only the input knows: the size the network was
        built with, when every instance of the layer saw the same one."""
        sizes = self.gen.facts.input_sizes(span, axis) if span is not None else set()
        if len(sizes) > 1 and getattr(self, "bdef", None) is not None:
            # a block made once per input size, where its instances see different ones
            raise Specialize(frozenset({SIZES}), "a layer in it is built from its input's size")
        if len(sizes) != 1:
            raise Unsupported("a layer whose construction depends on its input's size, which "
                              "differs between its instances")
        size = sizes.pop()
        return Py(ast.Constant(size), 1 if size == 1 else UNKNOWN, frozenset({SIZE}))

    def block_call(self, bdef: syn.BlockDef, arg_asts: tuple[syn.Arg, ...], args: tuple[Any, ...],
                   kwargs: dict[str, Any], label: str | Py | None, span: Any, scope: Scope,
                   flow: Flow, env: Env) -> None:
        bdef_, bound, tensors = self.bind_call(bdef, arg_asts, args, kwargs, env, flow,
                                               tensors=scope)
        current = flow.current
        assert current is not None
        # missing tensor parameters take the current tensors, in order
        listed = self.listed_current
        pending = list(listed) if isinstance(listed, tuple) else \
            list(listed.known_items() or [current]) if isinstance(listed, TensorList) else \
            [current]

        def given(flow: Flow, scope: Scope, env: Env) -> list[Any]:
            return [t if t is not None else pending.pop(0) if pending else current
                    for t in tensors(flow, scope, env)]

        if bdef.inline and label is None:
            self.inline(bdef, bound, scope, flow, given(flow, scope, env))
            return
        rank = current.rank
        inputs = None

        if any(p.type == "tensors" for p in bdef.params):  # the rank of its lists' tensors
            inputs = given(flow, scope, env)
            rank = next(t.rank if isinstance(t, TensorList) else t[0].rank for t in inputs
                        if isinstance(t, TensorList) or isinstance(t, tuple) and t)
        info = self.gen.variant(bdef, {k: v for k, (v, _) in bound.items()}, rank,
                                sizes=self.call_sizes(bdef, current, span), caxis=current.caxis,
                                channels=current.shape[current.caxis])
        info = info.for_call(_arguments(info, bound))
        if info.channel_params:  # a block of tensor parameters: called on them
            if inputs is None:
                inputs = given(flow, scope, env)
            module = self.instantiate(info, bound, current, inputs)
            first = inputs[0] if isinstance(inputs[0], Tensor) else \
                Tensor(inputs[0].shape, caxis=inputs[0].caxis) \
                if isinstance(inputs[0], TensorList) else inputs[0][0].shared()
            shape = self.block_out(info, bound, first, inputs)
            name = self.register(label, module, scope)
            if scope.fwd is None:
                raise NotChain
            args = [P.list_of([Py(i.node) for i in t]) if isinstance(t, tuple)
                    else Py(t.node)
                    for t in inputs]
            self.assign_result(P.call(Py(scope.owner.ref(name)), args), [first], shape, scope,
                               flow, False)
        else:
            module = self.instantiate(info, bound, current)
            shape = self.block_out(info, bound, current)
            self.apply_module(module, label, shape, scope, flow, info)
        flow.current = replace(flow.current, caxis=info.out_axis)
        self.several_outputs(info, label if isinstance(label, str) else None, scope, flow)

    def call_sizes(self, bdef: syn.BlockDef, current: Tensor, span: Any) -> tuple[Py | None, ...]:
        """The sizes of the input of a block call, but its channels': as the flow knows them,
        or, in the network (written for its inputs' sizes), as the analysis found them where
        the flow lost them (after a crop), for a class made for one size."""
        sizes = _spatial(current)
        if None not in sizes or not self.info.is_network or span is None:
            return sizes
        return with_found_sizes(sizes, self.gen.facts.call_sizes(bdef.name, span))

    def several_outputs(self, info: ClassInfo, label: str | None, scope: Scope,
                        flow: Flow) -> None:
        """`lo, hi = self.s(x)`: a call of several outputs, each named `<label>.<output>`."""
        if info.out_list:
            self.list_result(info, label, scope, flow)
            return
        if not info.out_names:
            flow.results = None
            return
        if scope.fwd is None:
            raise NotChain
        last = scope.fwd[-1]
        assert isinstance(last, ast.Assign) and flow.current is not None
        results = []
        targets = []
        shapes = []
        module = scope.owner.ref(label) if label else None
        for index, (name, channels) in enumerate(zip(info.out_names, info.outs, strict=True)):
            if channels is None and info.outs_expr is not None and module is not None:
                channels = Py(ast.Subscript(ast.Attribute(module, "out_channels", ast.Load()),
                                            ast.Constant(index), ast.Load()))
            var = self.fnames.reserve(f"{label}_{name}" if label else name)
            self.label_vars.add(var)
            targets.append(ast.Name(var, ast.Store()))
            mapping = dict(self._last_mapping)
            # channels only the forward knows stay unknown: a layer that needs them says so
            shape = (None if channels is None else _put(channels, mapping, None)
                     if channels.deps or P.names_in(channels.node) != ["self"] else channels,
                     ) + (None,) * flow.current.rank
            shapes.append(shape)
            tensor = Tensor(shape, var)
            results.append(tensor)
            if label:
                flow.labels[f"{label}.{name}"] = tensor
        if label and label in self.whole:
            self.whole_result(info, label, scope, flow, shapes)
            return
        last.targets = [ast.Tuple(targets, ast.Store())]
        if label:
            flow.groups[label] = results
        flow.results = results
        flow.current = results[0]
        flow.listed = tuple(results)  # a merge or a block that follows takes them all

    def bind_call(self, bdef: syn.BlockDef, arg_asts: tuple[syn.Arg, ...], args: tuple[Any, ...],
                  kwargs: dict[str, Any], env: Env, flow: Flow, tensors: Any = None) -> Any:
        """The call's arguments by parameter name: the value, and how the spec gave it
        ("pos", "kw", or None for a default)."""
        params = [p.name for p in bdef.params]
        kinds = {p.name: p.type for p in bdef.params}
        out: dict[str, tuple[Value, str | None]] = {}
        chains: dict[str, syn.Chain] = {}
        lists: dict[str, tuple[Tensor, ...]] = {}
        index = 0
        for value in args:
            out[params[index]] = (self.constant_value(value), "pos")
            index += 1
        for key, value in kwargs.items():
            out[key] = (self.constant_value(value), "kw")
        for a in arg_asts:
            name = a.name
            if name is None:
                while index < len(params) and kinds[params[index]] == "tensor" and \
                        not self.is_tensor_arg(a.value, env, flow):
                    index += 1  # a missing first tensor is the current one
                if index >= len(params):
                    raise Unsupported(f"the arguments of this call of '{bdef.name}'")
                name = params[index]
                index += 1
            if kinds.get(name) == "tensor":
                chains[name] = a.value
                continue
            try:
                v = self.expr(single(a.value), env, flow, "ctor")
            except RuntimeOnly as exc:
                if not bdef.inline:
                    self.made_for_size(exc, f"'{bdef.name}', which it calls, takes a value "
                                            f"read from its input's size")
                # `anchor_rows(anchors[i], 4)` in a loop the forward runs: its forward's value
                v = Value(None, runtime=self.py(single(a.value), env, flow, "fwd"))
            if kinds.get(name) == "tensors":
                if v.listed is not None:
                    lists[name] = v.listed
                    continue
                if v.tensors is None:
                    raise Unsupported(f"'{name}' of '{bdef.name}' is not a list of tensors")
                lists[name] = v.tensors
                continue
            out[name] = (v, "pos" if a.name is None else "kw")
        defaults = Env()
        for p in bdef.params:
            if p.name in out:
                defaults.vars[p.name] = out[p.name][0]
            elif p.default is not None:
                v = self.expr(p.default, defaults, None, "ctor")
                out[p.name] = (v, None)
                defaults.vars[p.name] = v
        if tensors is None:
            return out
        wanted = [p.name for p in bdef.params if p.type in TENSOR_TYPES]

        def tensor_args(flow: Flow, scope: Scope, env: Env) -> list[Any]:
            return [lists[n] if n in lists else
                    self.tensor_path(chains[n], scope, flow, env) if n in chains else None
                    for n in wanted]
        bound = {k: v for k, v in out.items() if kinds.get(k) not in TENSOR_TYPES}
        bound.update({k: (Value(_count(v)), None) for k, v in lists.items()})
        return bdef, bound, tensor_args

    def is_tensor_arg(self, chain: syn.Chain, env: Env, flow: Flow) -> bool:
        """Whether an argument gives tensors, as the analysis decides: a chain of layers,
        `in`, a label (`g.a`, not `g.c`), a name bound to tensors (a comprehension's item),
        an item or a list of them (`xs[0]`, `[a, b]`, the label of a call of several
        outputs)."""
        if len(chain.elements) != 1 or chain.elements[0].label is not None:
            return True
        value = chain.elements[0].value
        if isinstance(value, (syn.From, syn.BlockInput)):
            return True
        if isinstance(value, syn.Name) and env.find(value.id) is not None:
            bound = env.find(value.id)
            return bound.tensors is not None or bound.listed is not None
        path = dotted_path(value)
        if path is not None and (path in flow.labels or isinstance(value, syn.Attribute) and
                                 path.partition(".")[0] in flow.labels and
                                 not reads_size(value)):
            return True
        return self.tensor_list_arg(chain, env, flow) is not None

    def instantiate(self, info: ClassInfo, bound: dict[str, tuple[Value, str | None]],
                    current: Tensor, inputs: list[Tensor] | None = None) -> Py:
        """`Block(in_channels, arg, ..., key=arg)`: the spec's arguments as the spec gave
        them, positionally while they line up with the class's parameters."""
        positional: list[Py] = []
        for tensor in inputs or [current]:
            if isinstance(tensor, (tuple, TensorList)):  # a list of tensors: its channels
                channels_list = _channels_list(tensor)
                if channels_list is None and isinstance(tensor, TensorList):
                    raise Specialize(tensor.deps, "a block is called on a list whose items' "
                                                  "channels the constructor cannot give")
                if channels_list is None:
                    raise Unsupported("a block on tensors whose channels only the forward "
                                      "knows")
                positional.append(channels_list)
                continue
            axis = info.channel_axis if inputs is None else tensor.caxis
            channels = tensor.shape[axis] if tensor.shape else None
            if channels is None:
                raise Unsupported("a block on a tensor whose channels only the forward knows")
            positional.append(channels)
        named: dict[str, Py] = {}
        in_line = True
        py_names = {p.spec: p.py for p in info.params}
        for p in info.bdef.params:
            value, how = bound.get(p.name, (None, None))
            if p.name not in py_names or how is None:
                in_line = False  # a positional argument cannot skip a parameter
                continue
            if value is None or value.py is None:
                raise Unsupported(f"the argument '{p.name}' of '{info.bdef.name}' as a value")
            if how == "pos" and in_line:
                positional.append(value.py)
            else:
                in_line = False
                named[py_names[p.name]] = value.py
        return P.call(info.name, positional, named)

    def check_built_size(self, info: ClassInfo, current: Tensor) -> None:
        """A block class built for the sizes of its input, called by the network on a tensor
        whose sizes its parameters set (ViT's encoder, made for 197 tokens, on `image` and
        `patch_size`): the network is written for those parameters' values, not for any."""
        if not (info.built_for_size and self.info.is_network):
            return
        deps = frozenset().union(*(d.deps for d in _spatial(current) if d is not None))
        names = deps & frozenset(self.gen.facts.params)
        if names:
            raise Specialize(names, f"block '{info.bdef.name}' is built for one size of its "
                                    f"input")

    def block_out(self, info: ClassInfo, bound: dict[str, tuple[Value, bool]],
                  current: Tensor, inputs: list[Tensor] | None = None) -> Shape:
        """The shape a block call makes: the class's output shape with the call's arguments
        and the input's sizes put in (None where the forward alone knows it)."""
        if info.in_progress:  # a block calling itself: only the built module knows
            return (None,) * len(current.shape)
        self.check_built_size(info, current)
        mapping: dict[str, Py | None] = {p.py: bound[p.spec][0].py for p in info.params}
        at = info.channel_axis
        mapping[info.channels] = current.shape[at]
        for name, tensor in zip(info.channel_params, inputs or [], strict=False):
            if isinstance(tensor, (tuple, TensorList)):
                mapping[name] = _channels_list(tensor)
                continue
            mapping[name] = tensor.shape[tensor.caxis] if tensor.shape else None
        self._last_mapping = mapping
        channels = _put(info.out, mapping, None)
        spatial = []
        sizes = {f"__size{i}__": d
                 for i, d in enumerate(current.shape[:at] + current.shape[at + 1:])}
        for axis, dim in enumerate(info.out_shape):
            spatial.append(_put(dim, {**mapping, **sizes}, axis, len(info.out_shape)))
        spatial.insert(info.out_axis, channels)
        return tuple(spatial)

    def apply_module(self, module: Py, label: str | Py | None, shape: Shape, scope: Scope,
                     flow: Flow, info: ClassInfo | None, candidates_out: bool = False) -> None:
        current = flow.current
        assert current is not None
        if SIZE in module.deps:
            self.size_dependent = True
        name = self.register(label, module, scope)
        at = info.out_axis if info is not None else 0
        if shape and shape[at] is None:
            if info is not None:
                info.export()
            shape = shape[:at] + (self.child_channels(name, scope),) + shape[at + 1:]
        if scope.fwd is not None:
            self.apply_call(Py(scope.owner.ref(name)), [current], shape, scope, flow,
                            overwritable=False)
        elif not current.batched:  # a forward gives it a batch of one
            raise NotChain
        else:
            flow.current = Tensor(shape, caxis=current.caxis)

    def inline(self, bdef: syn.BlockDef, bound: dict[str, tuple[Value, bool]], scope: Scope,
               flow: Flow, tensors: list[Any]) -> None:
        """An unlabeled call of an inline block: its body in the caller's scope, from the
        current tensor (its `in`), its tensor parameters names of the tensors given (`from
        b`, `add(b)`)."""
        env = Env()
        given = [p for p in bdef.params if p.type in TENSOR_TYPES]
        for p in bdef.params:
            if p not in given:
                env.vars[p.name] = bound[p.name][0]
        for p, tensor in zip(given, tensors, strict=True):
            env.vars[p.name] = Value(None, listed=tensor) if isinstance(tensor, TensorList) \
                else Value(None, tensors=tuple(t.shared() for t in tensor)) \
                if isinstance(tensor, tuple) else Value(None, tensors=(tensor.shared(),))
        # a body that reads its input tensor again must not overwrite it in place
        inner_flow = flow.fork(flow.current.shared() if reads_block_input(bdef.body) and
                               flow.current else flow.current)
        inner_flow.labels = flow.labels  # an inline block's labels are the caller's
        inner_flow.block_input = flow.current.shared() if flow.current else None
        inner_flow.outputs = []  # its `output` names the call's value, not the caller's outputs
        if any(isinstance(node, syn.Output) for stmt in bdef.body
               if not isinstance(stmt, syn.Output) for node in walk(stmt)):
            raise Unsupported("an `output` inside an `if` of an inline block")
        if bdef.name in self.inlining:  # its body would be written into itself without end
            raise Unsupported("an inline block that calls itself")
        self.inlining.add(bdef.name)
        try:
            self.body(bdef.body, scope, inner_flow, env)
        finally:
            self.inlining.discard(bdef.name)
        inline_value(inner_flow, flow)

    def layer_call(self, value: Value, arg_asts: tuple[syn.Arg, ...], label: str | Py | None,
                   span: Any, scope: Scope, flow: Flow, env: Env) -> None:
        """A call of a layer-valued name (`act`, `unit(width, s)`)."""
        layers = value.layers or ()
        if len(layers) == 1 and value.py is not None and (value.py.known or
                                                          not _is_param(value.py)):
            ref = layers[0]
            self.direct_call(ref.name, arg_asts, ref.args, dict(ref.kwargs), label, span,
                             scope, flow, env)
            return
        real = [r for r in layers if not passes_input(r.name)]
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
            inplace_ok = all(REGISTRY[r.name].in_place for r in real)
            if scope.mode == "chain":
                inplace = inplace_ok and self.previous_overwritable(scope)
            else:
                inplace = inplace_ok and current.fresh and current.owned
            module = P.call(factory, call_args, {"inplace": P.lit(True)} if inplace else {})
            preserves = all(row.shape is lowering.shapes.same for row in rows)
            shape = current.shape if preserves else (None,) * len(current.shape)
            overwritable = False
        else:
            infos = [self.gen.layer_class(r, current.rank, probe=True, sizes=_spatial(current),
                                          channels=current.shape[current.caxis])[0]
                     for r in real]
            channels = current.shape[0]
            if channels is None:
                raise Unsupported("a block on a tensor whose channels only the forward knows")
            args = [self.py(single(a.value), env, flow, "ctor") for a in arg_asts
                    if a.name is None]
            kwargs = {a.name: self.py(single(a.value), env, flow, "ctor") for a in arg_asts
                      if a.name}
            given = self.given_after_bound(real, infos, len(args), factory)
            for r, info, names in zip(real, infos, given, strict=True):
                if (set(names) | set(kwargs)) & set(info.binding):
                    raise Specialize(factory.deps, f"block '{r.name}', which it takes, is "
                                                   f"written for one value of an argument "
                                                   f"the call gives")
            if any(r.args for r in real):  # a partial binds the first ones: name the rest
                named = dict(zip(_py_names(infos[0], given[0]), args, strict=True))
                module = P.call(factory, [channels], {**named, **kwargs})
            else:
                module = P.call(factory, [channels, *args], kwargs)
            preserves = all(i.out is not None and i.out.is_name(i.channels) for i in infos)
            shape = current.shape if preserves else (None,) + (None,) * current.rank
            if not preserves:
                for i in infos:
                    i.export()
            overwritable = False
        if optional:
            self.optional_module(factory, module, label, shape, scope, flow)
            return
        if scope.mode == "chain":
            if not current.batched:  # a forward gives it a batch of one
                raise NotChain
            self.register(label, module, scope, overwritable=overwritable)
            if shape[0] is None:
                name = label if isinstance(label, str) else ""
                shape = (self.child_channels(name, scope),) + shape[1:]
            flow.current = Tensor(shape, caxis=current.caxis)
            return
        self.apply_module(module, label, shape, scope, flow, None)

    def given_after_bound(self, refs: list[LayerRef], infos: list[ClassInfo], count: int,
                          factory: Py) -> list[list[str]]:
        """The parameters a call's `count` positional arguments fill in each value a layer
        parameter may take: those after the ones the value binds (`unit(4)` then `u(16)` gives
        n=16, as functools.partial would). Where any value binds some, the forward passes
        them by name, so every value must name them alike."""
        given = []
        for r in refs:
            params = [p.name for p in self.gen.program.blocks[r.name].params
                      if p.type not in TENSOR_TYPES]
            given.append(params[len(r.args):len(r.args) + count])
        if any(r.args for r in refs) and len({tuple(_py_names(i, g))
                                              for i, g in zip(infos, given, strict=True)}) > 1:
            raise Specialize(factory.deps, "the values its layer parameter takes give the "
                                           "call's arguments to different parameters")
        return given

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
            raise Specialize(factory.deps, "a layer it names may be identity, which takes no "
                                           "position")
        attr = scope.owner.ref(label)
        self.check_child(label)
        scope.take()
        scope.registered.append(label)
        scope.ctor.append(scope.owner.register(label, Py(ast.IfExp(
            test.node, module.node, P.call("nn.Identity").node))))
        self.apply_call(Py(attr), [current], shape, scope, flow, overwritable=False)


def merged(row: lowering.Lowering, inputs: list[Tensor], rank: int) -> list[Py]:
    """The forward's values of a layer's inputs, those of a merge aligned on the batch axis:
    a batched tensor of fewer axes than the broadcast result gets them after its batch
    (`x[:, None]`, as the analysis pads a shape on the left), and a concatenation's tensor
    without a batch axis is expanded to the batch of one that has it."""
    values = [Py(t.node) for t in inputs]
    if row.shape is lowering.shapes.broadcast:
        return [v if not t.batched or len(t.shape) == rank else Py(ast.Subscript(
            v.node, ast.Tuple([ast.Slice(), *[ast.Constant(None)] * (rank - len(t.shape))],
                              ast.Load()), ast.Load()))
                for t, v in zip(inputs, values, strict=True)]
    batch = next((v for t, v in zip(inputs, values, strict=True) if t.batched), None)
    if row.shape is not lowering.shapes.concat or batch is None:
        return values
    size = P.subscript(P.attr(batch, "shape"), P.lit(0))
    return [v if t.batched else P.call(P.attr(v, "expand"), [size, *[P.lit(-1)] * len(t.shape)])
            for t, v in zip(inputs, values, strict=True)]


def _put(value: Py | None, mapping: dict[str, Py | None], axis: int | None,
         n: int = 0, lists: bool = False) -> Py | None:
    """A callee's expression in the caller's terms; None if it needs what the caller does not
    know. A per-axis argument (`k=[1, 7]`) puts in its value for `axis`; with `lists`, a list
    argument is put in whole (a list's length: `len(returned) + 2`)."""
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
        if isinstance(given.const, tuple) and not lists:
            if axis is None or len(given.const) != n:
                return None
            given = P.lit(given.const[axis])
        put[name] = given
    return P.substitute(value, put)


def _arguments(info: ClassInfo, bound: dict[str, tuple[Value, str | None]]
               ) -> dict[str, Py | None]:
    """A call's arguments by the class's Python names."""
    return {p.py: bound[p.spec][0].py for p in info.params if p.spec in bound}


def _count(listed: tuple[Tensor, ...] | TensorList) -> Py:
    """A list argument's length: what a class written for one length is chosen by."""
    if isinstance(listed, tuple):
        return P.lit(len(listed))
    if listed.length is not None and listed.length.known:
        return listed.length
    deps = listed.deps | (listed.length.deps if listed.length is not None else frozenset())
    return Py(ast.Name("__length__", ast.Load()), UNKNOWN, deps)


def _channels_list(listed: tuple[Tensor, ...] | TensorList) -> Py | None:
    """The channels of a list's items, as one constructor list."""
    if isinstance(listed, TensorList):
        return listed.channels()
    channels = [t.shape[t.caxis] for t in listed]
    if any(c is None for c in channels):
        return None
    return P.list_of(channels)  # type: ignore[arg-type]


def _is_param(value: Py) -> bool:
    return isinstance(value.node, ast.Name) and bool(value.deps)


def _spatial(tensor: Tensor) -> tuple[Py | None, ...]:
    """A tensor's sizes but its channels'."""
    at = tensor.caxis
    return tuple(tensor.shape[:at]) + tuple(tensor.shape[at + 1:])


def _built(value: Py, built: Any) -> Py:
    """`value` with the built network's values where only the forward knows them: a shape
    keeps the axes its constructor can compute (`(197, in_channels)`, not `(197, 768)`)."""
    node = value.node
    if isinstance(node, ast.Tuple) and isinstance(built, tuple) and len(built) == len(node.elts):
        items = [P.literal_node(b) if RUNTIME.text() in P.names_in(e) else e
                 for e, b in zip(node.elts, built, strict=True)]
        return Py(ast.Tuple(items, ast.Load()), UNKNOWN, value.deps - {RT, SIZE})
    return P.lit(built)


def _py_names(info: ClassInfo, names: list[str]) -> list[str]:
    """The Python names of the class's parameters for the spec's parameter `names`."""
    by_spec = {p.spec: p.py for p in info.params}
    return [by_spec.get(n, n) for n in names]


def inline_value(inner: Flow, flow: Flow) -> None:
    """The value of an inline call, as the elaborator gives it: the tensors its `output`
    names (one tensor; several, as a call of several outputs gives them; a list), or the
    tensor its body ends at."""
    made = [t for _, t in inner.outputs]
    if not made:
        flow.current = inner.current
    elif len(made) == 1 and isinstance(made[0], Tensor):
        flow.current, flow.results, flow.listed = made[0], None, None
    elif all(isinstance(t, Tensor) for t in made):
        flow.current, flow.results, flow.listed = made[0], made, tuple(made)
    else:
        raise Unsupported("an inline block whose `output` is a list of any length")
