"""Where layers are registered and how a forward reads and names their results."""

from __future__ import annotations

import ast
from collections.abc import Iterator, MutableMapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch.flow import (
    ComputedLabel,
    Flow,
    ModuleOwner,
    NamedChild,
    Offset,
    Position,
    Scope,
    SequentialOwner,
    Tensor,
    as_computed,
    as_samples,
)
from netdsl.backends.pytorch.names import MODULE_ATTRIBUTES
from netdsl.backends.pytorch.pyexpr import Py
from netdsl.backends.pytorch.pystmt import (
    assign,
    is_append,
    is_named_registration,
    numbered,
    registration_pair,
    retarget_last,
)
from netdsl.backends.pytorch.shapes import Shape
from netdsl.backends.pytorch.values import (
    IN,
    SIZE,
    NotChain,
    Specialize,
    Unsupported,
)

if TYPE_CHECKING:
    pass



class DottedLabels(MutableMapping[str, Tensor]):
    """The labels a labeled group's body binds: by their names, as the group's body reads them
    (`tree1`), and by their dotted paths in every enclosing body (`level3.tree1`), which the
    group's body may read as well as the code after it (`rpn.head.objectness_rows`)."""

    def __init__(self, outer: MutableMapping[str, Tensor], prefix: str) -> None:
        self.outer, self.prefix = outer, prefix
        self.labels: MutableMapping[str, Tensor] = outer.labels \
            if isinstance(outer, DottedLabels) else outer  # the body's, where all are kept

    def __getitem__(self, name: str) -> Tensor:
        return self.labels[name]

    def __setitem__(self, name: str, tensor: Tensor) -> None:
        self.labels[name] = tensor
        self.outer[f"{self.prefix}.{name}"] = tensor

    def __delitem__(self, name: str) -> None:
        del self.labels[name]
        self.outer.pop(f"{self.prefix}.{name}", None)

    def __iter__(self) -> Iterator[str]:
        return iter(self.labels)

    def __len__(self) -> int:
        return len(self.labels)


class Scoping:
    """Where layers are registered and how a forward reads and names their results."""

    def bind_label(self, label: str, flow: Flow, scope: Scope) -> None:
        current = flow.current
        assert current is not None
        if scope.fwd is not None and label in self.referenced and current.var is not None:
            if current.owned:  # a position is named with its path: `o_1`, not `_1`
                var = self.fnames.reserve(full_path(flow.labels, label) if label.isdigit()
                                          else label)
                self.label_vars.add(var)
                if current.var != var:
                    retarget_last(scope.fwd, current.var, var)
                current = replace(current, var=var, owned=False, fresh=False)
                flow.current = current
        flow.labels[label] = current.shared()
        if scope.owner.sequential:
            tapped = any(r == label or r.endswith(f".{label}") for r in self.tensor_reads)
            if tapped:
                current = self.frozen_channels(label, current, scope)
            scope.marks[label] = None if scope.dynamic else (scope.counter, current.shared())
            if tapped:
                scope.last_overwritable = False  # a tap the body reads: not overwritten

    def frozen_channels(self, label: str, tap: Tensor, scope: Scope) -> Tensor:
        """A tap of a Sequential being filled, its channels read into a variable of its own
        when they are the running `channels`, which the layers after it reassign
        (`backbone_4_channels = channels`: LR-ASPP's low-level features)."""
        running = self.locals.keys.get(("channels", "channels"))
        channels = tap.shape[tap.channel_axis]
        if running is None or channels is None or not channels.is_name(running):
            return tap
        var = self.locals.reserve(f"{scope.owner.target}_{label}_channels")
        scope.ctor.append(assign(var, channels.node))
        return tap.with_channels(P.name(var, channels.deps))

    def child_scope(self, label: str | Py, scope: Scope, flow: Flow, fill: Any) -> None:
        """A labeled group, merge or repeat: an nn.Sequential when it is a chain, else (in a
        module) a ModuleDict of its layers wired by the enclosing forward."""
        start = flow.current
        path = self.chain_path(label, scope, flow)
        try:
            made, end, chain = self.sequential(label, start, flow, fill, path)
        except NotChain:
            if scope.fwd is None:
                raise
            self.namespace(label, scope, flow, fill)
            return
        if scope.fwd is None and path is not None and \
                any(f"{path}.{inner}" in self.paths_read for inner in chain.marks):
            raise NotChain  # a layer the forward reads inside a chain in a chain: the outer
            # one becomes a ModuleDict, and this one is called in parts
        made_ctor, module = made
        scope.ctor.extend(made_ctor)
        self.register(label, module, scope)
        if scope.fwd is not None:
            ref = scope.owner.ref(label) if isinstance(label, str) else None
            if ref is None:
                raise Unsupported("a computed label in a forward")
            taps = self.taps(label, chain.marks)
            if taps:
                self.apply_in_parts(label, Py(ref), start, taps, (end, chain), scope, flow)
            else:
                self.apply_call(Py(ref), [start], end.shape, scope, flow, overwritable=False)
        else:
            flow.current = end

    @staticmethod
    def chain_path(label: str | Py, scope: Scope, flow: Flow) -> str | None:
        """The full path of a labeled chain, as the body reads its layers (`head.g`)."""
        if not isinstance(label, str):
            return None
        if scope.fwd is not None:
            return full_path(flow.labels, label)
        return f"{scope.path}.{label}" if scope.path is not None else None

    def sequential(self, label: str | Py, start: Tensor | None, flow: Flow, fill: Any,
                   path: str | None = None) -> tuple[tuple[list[ast.stmt], Py], Tensor, Scope]:
        """A labeled chain as one nn.Sequential: `nn.Sequential(a, b)`, or built in a list
        when the constructor chooses or repeats its layers; with named layers, an
        OrderedDict or a Sequential filled by name."""
        base = label if isinstance(label, str) and P.is_identifier(label) else "layers"
        var = self.locals.reserve(base, "seq")
        if var in self.filling:  # inside a Sequential of that name being built: one of its own
            var = self.locals.reserve(base)
        try:
            ctor, end, chain = self._filled(SequentialOwner(var, is_list=True), start, flow,
                                            fill, path)
        except NamedChild:
            ctor, end, chain = self._filled(SequentialOwner(var), start, flow, fill, path)
            reads_itself = any(var in P.names_in(arg) for s in ctor for arg in (
                [s.value] if isinstance(s, ast.Assign) else
                s.value.args if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                else []))
            if not reads_itself and all(is_named_registration(s) or is_append(s, var)
                                        for s in ctor):
                pairs = ast.List([ast.Tuple([ast.Constant(k), v], ast.Load())
                                  for k, v in numbered([registration_pair(s) for s in ctor])],
                                 ast.Load())
                return ([], P.call("nn.Sequential", [P.call("OrderedDict", [Py(pairs)])])), end, \
                    chain
            return ([assign(var, P.call("nn.Sequential").node)] + ctor, P.name(var)), end, chain
        if all(is_append(s, var) for s in ctor):
            items = [Py(s.value.args[0]) for s in ctor]  # type: ignore[attr-defined]
            return ([], P.call("nn.Sequential", items)), end, chain
        starred = Py(ast.Starred(ast.Name(var, ast.Load()), ast.Load()))
        return ([assign(var, ast.List([], ast.Load()))] + ctor,
                P.call("nn.Sequential", [starred])), end, chain

    def _filled(self, owner: SequentialOwner, start: Tensor | None, flow: Flow,
                fill: Any, path: str | None) -> tuple[list[ast.stmt], Tensor, Scope]:
        ctor: list[ast.stmt] = []
        inner_flow = flow.fork(start)
        inner_flow.labels = dict(flow.labels)
        chain = Scope("chain", owner, ctor, None, path=path)
        self.filling.add(owner.target)
        try:
            fill(chain, inner_flow)
        finally:
            self.filling.discard(owner.target)
        assert inner_flow.current is not None
        return ctor, inner_flow.current, chain

    def taps(self, label: str, marks: dict) -> list[tuple[str, int, Tensor]]:
        """The layers of a chain whose results the body reads (`from backbone.4`, `output
        extra.0`): the chain is called in parts that end at them."""
        taps = []
        for inner, mark in marks.items():
            if f"{label}.{inner}" not in self.tensor_reads:
                continue
            if mark is None:
                raise Unsupported(f"the tensor '{label}.{inner}', after layers whose number "
                                  f"the constructor chooses")
            taps.append((inner, *mark))
        return sorted(taps, key=lambda t: t[1])

    def apply_in_parts(self, label: str, chain: Py, start: Tensor | None, taps: list,
                       made: tuple[Tensor, Scope], scope: Scope, flow: Flow) -> None:
        """`backbone_4 = run_layers(self.backbone[:5], x)`, then `x = run_layers(
        self.backbone[5:], backbone_4)`: an nn.Sequential's slice shares its layers, so the
        state dict keeps its names, and `run_layers` calls them one by one, which torch.fx
        traces (it cannot call the slice, a module installed nowhere)."""
        assert start is not None
        end, chain_scope = made
        first = 0
        current = start
        for inner, position, tensor in taps:
            flow.current = current
            self.apply_part(chain, first, position, current, tensor.shape, scope, flow)
            self.bind_label(f"{label}.{inner}", flow, scope)
            current = flow.current.shared()
            first = position
        flow.current = current
        if chain_scope.dynamic or first < chain_scope.counter:
            self.apply_part(chain, first, None, current, end.shape, scope, flow)

    def apply_part(self, chain: Py, first: int, stop: int | None, current: Tensor,
                   shape: Shape, scope: Scope, flow: Flow) -> None:
        """The layers first..stop of a chain on `current`: `self.features[2](x)` for one,
        `run_layers(self.features[2:5], x)` for several."""
        if stop == first + 1:
            self.apply_call(P.subscript(chain, P.lit(first)), [current], shape, scope, flow,
                            overwritable=False)
            return
        bounds = ast.Slice(ast.Constant(first) if first else None,
                           ast.Constant(stop) if stop is not None else None)
        self.gen.helpers.add("run_layers")
        result = P.call("run_layers", [Py(ast.Subscript(chain.node, bounds, ast.Load())),
                                       Py(current.node)])
        self.assign_result(result, [current], shape, scope, flow, overwritable=False)

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
        for names in (self.referenced, self.tensor_reads):
            for path in [r for r in names if r.startswith(f"{label}.")]:
                parts = path.split(".")[1:]  # read from outside: the inner labels are kept
                names.update(".".join(parts[i:]) for i in range(len(parts)))
        outer = flow.labels
        flow.labels = DottedLabels(outer, label)  # type: ignore[assignment]
        try:
            fill(inner, flow)
        finally:
            flow.labels = outer
        if inner.registered:  # a group of layers without parameters needs no container
            scope.ctor.insert(start, scope.owner.register(label, P.call("nn.ModuleDict")))
            scope.registered.append(label)

    def register(self, label: str | Py | None, module: Py, scope: Scope,
                 overwritable: bool = False) -> str:
        """Register a child module under its label or position; its name."""
        owner = scope.owner
        if owner.sequential:
            name: str | Py | None = label
            scope.ctor.append(owner.register(name, module))
            scope.take()
            scope.last_overwritable = overwritable
            return label if isinstance(label, str) else ""
        if label is None:
            if scope.dynamic:
                raise Specialize(scope.dynamic, "the positions that name its layers depend on it")
            if scope.offset is not None:
                position = self.position(scope)
                scope.ctor.append(owner.register(position, module))
                scope.registered.append(position.text)
                return position  # type: ignore[return-value]
            name = str(scope.take())
        elif isinstance(label, str):
            name = label
            if name in scope.chosen:
                raise Specialize(scope.chosen[name], f"a branch it chooses gives the label "
                                                     f"'{name}' too")
            scope.take()
        else:
            position = self.computed_name(label, scope)
            scope.take()
            scope.ctor.append(owner.register(position, module))
            scope.registered.append(position.text)
            return position  # type: ignore[return-value]
        self.check_child(name)
        scope.ctor.append(owner.register(name, module))
        scope.registered.append(name)
        return name

    def computed_name(self, label: Py, scope: Scope) -> Position:
        """A computed label as a child's name: `self.add_module("stack" + str(i + 1), ...)`
        and `getattr(self, "stack" + str(i + 1))`, the forward computing it as the spec does
        (the constructor's values read back from attributes)."""
        fwd = None
        if isinstance(label, ComputedLabel) and label.source and scope.fwd is not None:
            expr, env, flow = label.source
            try:
                fwd = self.py(expr, env, flow, "fwd")
            except Unsupported:
                fwd = None
        if fwd is None:
            raise Specialize(label.deps - {IN, SIZE}, "a computed label names a layer")
        return Position(label.node, fwd.node, ast.unparse(label.node))

    def position(self, scope: Scope) -> Position:
        """The next position where an `if` before decides it: `str(position + 2)` in the
        constructor, `str(self.position + 2)` in the forward."""
        offset = scope.offset
        assert offset is not None
        k = scope.take()
        ctor = P.name(self.offset_variable(offset))
        fwd = self.store(offset.var, ctor)
        if k:
            ctor, fwd = P.binop("+", ctor, P.lit(k)), P.binop("+", fwd, P.lit(k))
        return Position(P.call("str", [ctor]).node, P.call("str", [fwd]).node,
                        f"{offset.var}+{k}")

    def offset_variable(self, offset: Offset) -> str:
        """The variable holding an offset's value, assigned right after the `if` that decides
        it when it is first asked for."""
        if offset.var is None:
            offset.var = self.locals.reserve("position")
            at = 0 if offset.anchor is None else \
                next(i for i, s in enumerate(offset.ctor) if s is offset.anchor) + 1
            offset.ctor.insert(at, assign(offset.var, offset.value.node))
        return offset.var

    def check_child(self, name: str) -> None:
        if name in MODULE_ATTRIBUTES:
            raise Unsupported(f"the label '{name}' would shadow the torch.nn.Module attribute "
                              f"of that name; rename it")

    def apply_call(self, func: Py, inputs: list[Tensor], shape: Shape, scope: Scope, flow: Flow,
                   overwritable: bool) -> None:
        """`x = self.block(x)`; a module written for a batch computes a tensor without a
        batch axis as one sample."""
        result = as_computed(P.call(func, as_samples(inputs)), inputs)
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
        scope.fwd.append(assign(var, value.node))
        flow.current = Tensor(shape, var, owned=True, fresh=overwritable, caxis=first.caxis,
                              batched=any(t.batched for t in inputs))

    def child_channels(self, name: str, scope: Scope) -> Py:
        """The output channels of a child just registered, as the constructor reads them:
        `self.layer1.out_channels`, or in a Sequential being filled a running variable."""
        owner = scope.owner
        if not owner.sequential:
            return P.attr(Py(owner.ref(name, ctor=True)), "out_channels")
        target = owner.target  # type: ignore[attr-defined]
        if name and P.is_identifier(name) and not getattr(owner, "is_list", False):
            return P.attr(Py(P.dotted(f"{target}.{name}")), "out_channels")
        var = self.locals.reserve("channels", "channels")
        child = ast.Subscript(ast.Name(target, ast.Load()), P.lit(-1).node, ast.Load())
        scope.ctor.append(assign(var, ast.Attribute(child, "out_channels", ast.Load())))
        return P.name(var)

    def previous_overwritable(self, scope: Scope) -> bool:
        return scope.last_overwritable


def full_path(labels: MutableMapping[str, Tensor], name: str) -> str:
    """`name` as the body around every labeled group it is in reads it (`head.g`)."""
    while isinstance(labels, DottedLabels):
        name = f"{labels.prefix}.{name}"
        labels = labels.outer
    return name
