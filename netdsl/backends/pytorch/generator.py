"""The generated module: one class per spec block used (once per specialisation where a block
needs it), then the network's class; the spec's global tables as module constants, its `def`s
and the builtins it calls as small functions, and the run-time helpers its operators use.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

from netdsl.backends.pytorch import ops as lowering
from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch import render
from netdsl.backends.pytorch.classinfo import ClassInfo
from netdsl.backends.pytorch.facts import Facts
from netdsl.backends.pytorch.names import METHOD_NAMES, Namespace
from netdsl.backends.pytorch.pyexpr import UNKNOWN, Py
from netdsl.backends.pytorch.translate import ClassTranslator
from netdsl.backends.pytorch.values import (
    IN,
    IN_CHANNELS,
    SIZE,
    SIZES,
    Env,
    NotChain,
    Specialize,
    Unsupported,
    Value,
)
from netdsl.elaborate.budget import Budget
from netdsl.elaborate.builtins import BUILTINS
from netdsl.elaborate.constructs import layer_construct, passes_input
from netdsl.elaborate.values import Evaluator, Function, LayerRef, Resolver, arithmetic
from netdsl.errors import Diagnostic, NetdslError, SpecError
from netdsl.ops import REGISTRY
from netdsl.syntax import ast as syn

RUNTIME = Path(__file__).with_name("runtime.py")
# spec builtins and the Python that computes them in generated code
PYTHON_BUILTINS = {"min": "min", "max": "max", "round": "round", "abs": "abs", "int": "int",
                   "float": "float", "len": "len", "sum": "sum", "range": "range", "str": "str",
                   "ceil": "math.ceil", "floor": "math.floor", "sqrt": "math.sqrt",
                   "log": "math.log", "log2": "math.log2", "log10": "math.log10",
                   "exp": "math.exp", "make_divisible": "make_divisible"}


RUNTIME_BUILTINS = frozenset({"make_divisible"})  # builtins written by a run-time helper


class _Layers(Resolver):
    def __init__(self, gen: Generator):
        self.gen = gen

    def is_layer(self, name: str) -> bool:
        return self.gen.is_layer_name(name)


class Generator:
    """Translates a loaded network into the source of a Python module."""

    BUILTINS = frozenset(BUILTINS)

    def __init__(self, network: Any):
        self.network = network
        self.program = network.program
        self.facts = Facts(network.graph)
        self.source_name = Path(network.source_path).name
        self.globals: dict[str, str] = {}  # spec global -> Python name, in first-use order
        self.functions: dict[str, str] = {}  # spec global def -> Python name
        self.function_sources: dict[str, str] = {}  # Python name -> its definition
        self.module = Namespace(_runtime_names() | {"make_divisible", "partial"} | METHOD_NAMES
                                | render.WRAPPED.keys())
        self.global_names = {name: self.module.reserve(name, "global")
                             for name in self._program_globals()}
        self.classes: list[ClassInfo] = []
        self.variants: dict[str, list[ClassInfo]] = {}
        self.keys: dict[str, frozenset[str]] = {}
        self.size_dependent = False
        self.made_for_size = 0  # calls of classes made for one input size, so far
        self.class_names: dict[str, list[str]] = {}
        self.helpers: set[str] = set()  # run-time helpers the rows used declare
        # the steps evaluating and folding constants may spend in all, as a load may: past
        # it a constant stays the spec's expression (branches never taken are folded too)
        self.budget = Budget()

    @property
    def module_names(self) -> set[str]:
        return set(self.module.taken)

    def _program_globals(self) -> list[str]:
        return [n for n, v in self.program.env.vars.items()
                if not (isinstance(v, Function) and v.builtin is not None)]

    # ------------------------------------------------------------ values

    def evaluate(self, expr: syn.Expr) -> Any:
        return Evaluator(_Layers(self), self.budget).eval(expr, self.program.env, symbols=True)

    def is_layer_name(self, name: str) -> bool:
        """An operator, a block of the spec, or a construct that stands where a layer can."""
        return name in REGISTRY or name in self.program.blocks or \
            layer_construct(name) is not None

    def apply_builtin(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return BUILTINS[name](self.budget, *args, **kwargs)

    def apply_function(self, name: str, args: list[Any], call: syn.Call) -> Any:
        """A spec `def` on constants, as the elaborator computes it; UNKNOWN where it
        refuses (the generated code then calls it as written)."""
        try:
            return Evaluator(_Layers(self), self.budget).apply(self.program.env.vars[name],
                                                               args, {}, call)
        except SpecError:
            return UNKNOWN

    def arithmetic(self, op: str, a: Any, b: Any) -> Any:
        """The language's `a op b` on constants, UNKNOWN where it is refused or too costly."""
        try:
            return arithmetic(op, a, b, None, self.budget)
        except SpecError:
            return UNKNOWN

    def builtin_name(self, name: str) -> str:
        if name in RUNTIME_BUILTINS:
            self.helpers.add(name)
        return PYTHON_BUILTINS[name]

    def global_value(self, name: str) -> Value | None:
        value = self.program.env.vars.get(name)
        if value is None or isinstance(value, Function):
            return None
        if isinstance(value, LayerRef):
            return Value(self.layer_factory(value, 2), layers=(value,))
        py_name = self.global_names[name]
        self.globals.setdefault(name, py_name)
        return Value(P.name(py_name, frozenset(), value))

    def global_function(self, name: str) -> str | None:
        value = self.program.env.vars.get(name)
        if not isinstance(value, Function) or value.builtin is not None:
            return None
        py_name = self.global_names[name]
        self.functions.setdefault(name, py_name)
        return py_name

    def layer_factory(self, ref: LayerRef, rank: int) -> Py:
        """A layer used as a value, as Python: None for identity, an nn class or a partial of
        it for an operator, a generated class or a partial of it for a block."""
        if passes_input(ref.name):
            return P.lit(None)
        if ref.name in REGISTRY:
            cls = REGISTRY[ref.name]
            table = cls.parameters()
            attrs: dict[str, Py] = {}
            for f, value in zip(table.positional, ref.args, strict=False):
                attrs[f.name] = P.lit(value)
            for key, value in ref.kwargs:
                attrs[table.by_name[key].name] = P.lit(value)
            given = set(attrs)
            for f in table.fields:
                attrs.setdefault(f.name, P.lit(None if f.default is dataclasses.MISSING
                                               else f.default))
            x = lowering.Input()
            x.rank = rank
            self.helpers.update(lowering.lowering(ref.name).helpers)
            return lowering.factory(ref.name, attrs, given, x)
        info, args = self.layer_class(ref, rank)
        bound = {p.py: args[p.spec].py for p in info.params if p.spec in args}
        cls = P.name(info.name)
        return P.call("partial", [cls], bound) if bound else cls

    def layer_class(self, ref: LayerRef, rank: int, probe: bool = False,
                    sizes: tuple[Py | None, ...] = (), channels: Py | None = None,
                    ) -> tuple[ClassInfo, dict[str, Value]]:
        """The class a block used as a value stands for, with the arguments it is bound to
        (`unit(n=3)`): the one its factory names, and so the one whose output channels a
        caller that applies it reads."""
        bdef = self.program.blocks[ref.name]
        params = [p.name for p in bdef.params]
        args = {params[i]: Value(self._const(v, rank)) for i, v in enumerate(ref.args)}
        args.update({k: Value(self._const(v, rank)) for k, v in ref.kwargs})
        return self.variant(bdef, args, rank, probe=probe, sizes=sizes,
                            channels=channels), args

    def _const(self, value: Any, rank: int) -> Py:
        if isinstance(value, LayerRef):
            made = self.layer_factory(value, rank)
            return Py(made.node, value)
        return P.lit(value)

    # ------------------------------------------------------------ classes

    def variant_name(self, bdef: syn.BlockDef) -> str:
        """`Bottleneck` for a block's first class, `Bottleneck2` ... for its specialisations;
        a name that a failed attempt reserved is given again."""
        names = self.class_names.setdefault(bdef.name, [])
        index = sum(1 for v in self.variants.get(bdef.name, []) if v.twin is None)
        while len(names) <= index:
            stem = _camel(bdef.name)
            names.append(self.module.reserve(stem if not names else f"{stem}{len(names) + 1}"))
        return names[index]

    def reason(self, name: str, bindings: list[dict[str, Any]]) -> str:
        """The comment above a specialised class: for which values (of each binding it is
        written for), and why."""
        fixed = [", ".join(f"{k}={_show(v)}" for k, v in b.items() if k != SIZES)
                 for b in bindings]
        if len(set(fixed)) == 1 and SIZES in bindings[0]:  # differing in sizes at most
            sizes = _listed(["x".join(map(str, b[SIZES])) for b in bindings])
            values = f"{fixed[0]} for {sizes} inputs" if fixed[0] else f"for {sizes} inputs"
        else:
            values = "; ".join(f"with {f}" + (f" for {'x'.join(map(str, b[SIZES]))} inputs"
                                                if SIZES in b else "")
                               for f, b in zip(fixed, bindings, strict=True))
        whys = sorted({why for _, why in getattr(self, "reasons", {}).get(name, [])})
        return f"`{name}` {values}: {'; '.join(whys)}"

    def variant(self, bdef: syn.BlockDef, args: dict[str, Value], rank: int,
                probe: bool = False, sizes: tuple[Py | None, ...] = (),
                caxis: int | None = None, channels: Py | None = None) -> ClassInfo:
        """The class of a call of `bdef` with `args` on an input of `rank` spatial axes (whose
        `sizes` a class made for one input size is made for, and `channels` one made for one
        number of input channels) whose channels are on axis `caxis` (as the caller's flow
        tracked them; by default as the analysis finds them)."""
        name = bdef.name
        axis = self.facts.channel_axis(name) if caxis is None else caxis
        params = {p.name for p in bdef.params} | {SIZES, IN_CHANNELS}
        while True:
            keys = self.keys.get(name, frozenset())
            binding = {}
            for key in sorted(keys):
                if key in (SIZES, IN_CHANNELS):
                    binding[key] = _sizes(name, sizes, probe) if key == SIZES else \
                        _channels(name, channels, probe)
                    if binding[key] is None:
                        break
                    continue
                value = args.get(key)
                const = _layer_or_const(value) if value is not None else UNKNOWN
                if const is UNKNOWN and value is None:
                    const = self._default(bdef, key)
                if const is UNKNOWN:
                    deps = value.py.deps if value is not None and value.py is not None \
                        else frozenset()
                    if probe:
                        break
                    raise Specialize(deps, f"'{name}' is written once per value of '{key}'")
                binding[key] = const
            if SIZES in binding:
                self.made_for_size += 1
            for info in self.variants.get(name, []):
                if (info.rank, info.channel_axis) == (rank, axis) and all(
                        _equal(info.binding.get(k), v) for k, v in binding.items()) and \
                        set(info.binding) <= set(binding) | set(info.binding):
                    if all(k in binding and _equal(binding[k], v)
                           for k, v in info.binding.items()):
                        return info
                    if probe:
                        return info
            info = ClassInfo(self.variant_name(bdef), bdef, binding, rank,
                             channel_axis=axis,
                             out_axis=self.facts.channel_axis(name, output=True))
            if binding:
                info.why = self.reason(name, [binding])
            self.variants.setdefault(name, []).append(info)
            try:
                self.translate(info)
            except Specialize as exc:
                self.variants[name].remove(info)
                new = exc.names & params
                if not new - keys:
                    raise Unsupported(f"block '{name}': {exc.why}") from None
                self.keys[name] = keys | new
                self._why(name, exc)
                continue
            except BaseException:
                self.variants[name].remove(info)
                raise
            self._join_twin(info)
            return info

    def _join_twin(self, info: ClassInfo) -> None:
        """A specialisation that came out as an earlier one of its block (a size or value
        that changes nothing the class writes) is that class, named once in the file."""
        if not info.binding:
            return
        text = _class_text(info)
        for other in self.variants[info.bdef.name]:
            if other is info or other.twin is not None or other.in_progress or \
                    (other.rank, other.channel_axis) != (info.rank, info.channel_axis) or \
                    _class_text(other) != text:
                continue
            info.twin, info.name = other, other.name
            self.classes.remove(info)
            other.also.append(info.binding)
            other.why = self.reason(info.bdef.name, [other.binding, *other.also])
            return

    def _why(self, name: str, exc: Specialize) -> None:
        self.reasons = getattr(self, "reasons", {})
        self.reasons.setdefault(name, []).append((sorted(exc.names), exc.why))

    def _default(self, bdef: syn.BlockDef, key: str) -> Any:
        for p in bdef.params:
            if p.name == key and p.default is not None:
                try:
                    return self.evaluate(p.default)
                except Exception:  # noqa: BLE001 - a default that needs other parameters
                    return UNKNOWN
        return UNKNOWN

    def translate(self, info: ClassInfo) -> None:
        sequence = info.rank == 1 and info.channel_axis == 1  # [tokens, features]
        channels = "in_features" if info.rank == 0 or sequence else "in_channels"
        info.channels = channels
        lists = frozenset(p.name for p in info.bdef.params
                          if p.type == "tensors" and p.name not in info.binding)
        for mode in ("chain", "tail", "module"):
            try:
                translator = ClassTranslator(self, info, mode)
                translator.run()
            except NotChain:
                continue
            except Unsupported as exc:
                if not lists:
                    raise
                # written for each length of its lists instead, item by item
                names = ", ".join(f"'{n}'" for n in sorted(lists))
                raise Specialize(lists, f"it cannot be written for any length of {names} "
                                        f"({exc})") from None
            if translator.size_dependent or SIZES in info.binding:
                self.size_dependent = True
                info.built_for_size = True
            info.in_progress = False
            self.classes.append(info)
            return
        raise Unsupported(f"block '{info.bdef.name}'")

    def network_class(self) -> ClassInfo:
        bdef = self.program.networks[self.facts.name]
        binding: dict[str, Any] = {}
        reasons: list[str] = []
        while True:
            shapes = list(self.facts.input_shapes().values())
            rank = len(shapes[0]) - 1 if shapes else 0  # of layer values the body names
            info = ClassInfo(self.module.reserve(_camel(bdef.name), "network"), bdef, binding,
                             rank=rank)
            try:
                self.translate(info)
                if reasons:
                    info.why = " ".join(reasons)
                return info
            except Specialize as exc:
                new = {n for n in exc.names if n in self.facts.params} - set(binding)
                if not new:
                    error = Unsupported(f"network '{bdef.name}': {exc.why}")
                    error.span = bdef.span  # raised between statements: the network's header
                    raise error from None
                for n in sorted(new):
                    binding[n] = self.facts.params[n]
                fixed = " and ".join(f"{n} = {_show(binding[n])}" for n in sorted(new))
                them = "them" if len(new) > 1 else "it"
                reasons.append(f"Written for {fixed} (as the spec sets {them}): {exc.why}.")

    def check_exports(self) -> None:
        """Every class whose callers read its output channels can say them: a class that
        cannot (a concatenation of a list whose items' channels only the forward knows) is
        an error here, never a constructor that fails."""
        for info in self.classes:
            if info.exports and info.outs_expr is None and info.out_expr is None and \
                    not info.out_list:
                exc = Unsupported(f"the output channels of block '{info.bdef.name}', which "
                                  f"its caller needs, are known only as it runs")
                exc.span = info.bdef.span
                raise exc

    def define_functions(self) -> None:
        """Each spec `def` the classes call, written once, and those its body reads in turn
        (writing a body registers the `def`s and constants it reads): the module is rendered
        from tables that are complete."""
        while pending := [n for n in self.functions
                          if self.functions[n] not in self.function_sources]:
            for name in pending:
                py = self.functions[name]
                self.function_sources[py] = render.render_function(self, name, py)

    # ------------------------------------------------------------ the module

    def run(self) -> str:
        try:
            top = self.network_class()
            self.check_exports()
            self.define_functions()
        except Unsupported as exc:
            raise NetdslError(Diagnostic(f"cannot compile '{self.facts.name}' to PyTorch: {exc}",
                                         exc.span, "value",
                                         help="the generator cannot write this construct "
                                              "yet; `netdsl stats` and `render` still work"),
                              ) from None
        except OverflowError:  # `range(2 ** 255)` in a branch loading never took
            bdef = self.program.networks[self.facts.name]
            raise NetdslError(Diagnostic(
                f"cannot compile '{self.facts.name}' to PyTorch: a number in it is too large "
                "for Python to loop over or index with", bdef.span, "limit",
                help="a branch the network does not take is written too: keep its numbers "
                     "small")) from None
        if self.size_dependent:
            top.size_check = top.size_check or {}
        else:
            top.size_check = None
        return render.module(self, top)


def _class_text(info: ClassInfo) -> str:
    """A class as written, but for its name and comment: what makes two classes one.
    (Rendering prunes the constructor's statements in place: a copy of them is rendered.)"""
    return render.render_class(dataclasses.replace(
        info, name="_", why=None, ctor=copy.deepcopy(info.ctor), fwd=copy.deepcopy(info.fwd)))


def _listed(items: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _show(value: Any) -> str:
    if isinstance(value, LayerRef):
        return value.bound_text()
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _camel(name: str) -> str:
    parts = re.split(r"[^A-Za-z0-9]+", name)
    text = "".join(p[:1].upper() + p[1:] for p in parts if p)
    return text if text and not text[0].isdigit() else "Block" + text


def _runtime_names() -> set[str]:
    return set(render.runtime_definitions())


def _layer_or_const(value: Value) -> Any:
    if value.layers is not None and len(value.layers) == 1 and value.py is not None and \
            (value.py.known or not value.py.deps):
        return value.layers[0]
    return value.const


def _equal(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


__all__ = ["Generator", "Env"]


def blocks_reached(program: Any, network: str) -> list[str]:
    """The blocks a network's text names, directly or through the blocks it names (as calls
    or as values, in every branch), in first-reached order; inline blocks, whose unlabeled
    calls open no scope of their own, are passed through but not listed."""
    from netdsl.backends.pytorch.syntax import walk
    seen: list[str] = []
    pending = [program.networks[network]]
    visited: set[str] = set()
    while pending:
        bdef = pending.pop(0)
        defaults = tuple(p.default for p in bdef.params if p.default is not None)
        nodes = list(walk(bdef.body + defaults))
        local = {p.name for p in bdef.params} | {  # names that shadow a block's
            n.name if isinstance(n, (syn.Assign, syn.Def)) else n.var for n in nodes
            if isinstance(n, (syn.Assign, syn.Def, syn.For))}
        for node in nodes:
            name = node.id if isinstance(node, syn.Name) else \
                node.func if isinstance(node, syn.Call) else None
            block = program.blocks.get(name) if name not in local else None
            if block is None or name in visited:
                continue
            visited.add(name)
            pending.append(block)
            if not block.inline:
                seen.append(name)
    return seen


def _channels(name: str, channels: Py | None, probe: bool) -> int | None:
    """The input channels a class made for one number of them is made for; a caller that
    does not know them is made per value of what they come from (None when probing)."""
    if channels is not None and type(channels.const) is int:
        return channels.const
    if probe:
        return None
    if channels is None:
        raise Unsupported(f"'{name}' is made for one number of input channels, which its use "
                          f"as a layer value does not give")
    deps = channels.deps - {SIZE}
    raise Specialize(deps - {IN} | ({IN_CHANNELS} if IN in deps else set()),
                     f"'{name}' is made for one number of input channels, and so is a block "
                     f"that calls it")


def _sizes(name: str, sizes: tuple[Py | None, ...], probe: bool) -> tuple[int, ...] | None:
    """The input sizes a class made for one size is made for; a caller that does not know
    them (itself a block) is made per size too (None when probing)."""
    if sizes and all(d is not None and type(d.const) is int for d in sizes):
        return tuple(d.const for d in sizes)  # type: ignore[union-attr]
    if probe:
        return None
    raise Specialize(frozenset({SIZES}), f"'{name}' is made for one size of its input, and so "
                                         f"is a block that calls it")
