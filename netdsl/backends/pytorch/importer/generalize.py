"""The instances of one module class as one block: the parameters that vary between them, and
`if`s for the parts only some of them have.

The bodies of the instances are aligned element by element (by kind, operator and label; an
element some instances lack is optional). Every argument that differs between instances is a
*hole*; a hole equal to the input's channels is `in.c`, one equal to another hole where both are
defined is the same parameter, one that is a fixed multiple of a parameter is written so
(`out * 4`); the rest are the block's parameters, with the value most instances take as default.
An optional part is guarded by the simplest condition on the parameters and `in.c` that holds
exactly for the instances that have it (`if in.c != out * 4 { downsample: ... }`), or by a
flag parameter when none does.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from netdsl.backends.pytorch.importer.elements import (
    Call,
    Comment,
    Element,
    Expr,
    For,
    From,
    Group,
    If,
    Merge,
    Op,
    Output,
    Repeat,
    Shared,
    Use,
)
from netdsl.backends.pytorch.importer.mapping import OpCall, Word
from netdsl.backends.pytorch.importer.passes import text
from netdsl.names import spec_name
from netdsl.ops import REGISTRY

ABSENT = object()  # a keyword argument left at its default


@dataclass
class Hole:
    """An argument, by instance (only those that have the element)."""

    values: dict[int, Any]
    hint: str
    default: Any = ABSENT  # the operator's or block's default, for instances that omit it


@dataclass
class Slot:
    """An element of the aligned body and the instances that have it."""

    element: Any
    present: set[int]


@dataclass
class Param:
    name: str
    values: dict[int, Any]
    default: Any = ABSENT

    def value(self, i: int) -> Any:
        """Its value for instance i; one that does not use it takes the default, or the value
        most instances take."""
        if i in self.values:
            return self.values[i]
        if self.default is not ABSENT:
            return self.default
        best = Counter(repr(v) for v in self.values.values()).most_common(1)[0][0]
        return next(v for v in self.values.values() if repr(v) == best)


@dataclass
class Block:
    """A block made from instances: its parameters, body, and each instance's arguments."""

    name: str
    params: list[Param]
    body: list[Element]
    inputs: list[str]  # tensor parameters ([] for a block on `in`)
    args: list[list[tuple[str | None, Any]]] = field(default_factory=list)

    def call_args(self, i: int) -> list[tuple[str | None, Any]]:
        out: list[tuple[str | None, Any]] = []
        for p in self.params:
            if p.default is ABSENT:
                out.append((None, p.value(i)))
            elif i in p.values and p.values[i] != p.default:
                out.append((p.name, p.values[i]))
        return out


# ---------------------------------------------------------------- alignment


def _call_head(call: Any) -> tuple[str, int]:
    """The operator and number of positional arguments of a call, or of its template."""
    if isinstance(call, tuple):
        return call[0], len(call[1])
    return call.name, len(call.args)


def _key(e: Element) -> tuple[Any, ...]:
    if isinstance(e, Op):
        return ("op", e.label, *_call_head(e.call))
    if isinstance(e, Call):
        return ("call", e.label, e.block, tuple(e.tensors))
    if isinstance(e, Group):
        return ("group", e.label)
    if isinstance(e, Merge):
        return ("merge", e.label, _call_head(e.call)[0], len(e.branches))
    if isinstance(e, Repeat):
        return ("repeat",) + _key(e.element)
    if isinstance(e, For):
        return ("for", e.var, tuple(_key(x) for x in e.body))
    if isinstance(e, Shared):
        return ("shared", e.name) + _key(e.layer)
    if isinstance(e, (From, Output, Comment, Use)):
        return ("text", text(e))
    raise AssertionError(type(e))


class Aligner:
    """Builds the aligned body of several instances' bodies."""

    def template(self, body: list[Element], i: int) -> list[Slot]:
        return [Slot(self._lift(e, i), {i}) for e in body]

    def add(self, slots: list[Slot], body: list[Element], i: int) -> list[Slot]:
        keys = [_key(s.element) for s in slots]
        new = [_key(e) for e in body]
        out: list[Slot] = []
        matcher = difflib.SequenceMatcher(None, keys, new, autojunk=False)
        for tag, a0, a1, b0, b1 in matcher.get_opcodes():
            if tag == "equal":
                for s, e in zip(slots[a0:a1], body[b0:b1], strict=True):
                    self._unify(s.element, e, i, set(s.present))
                    s.present.add(i)
                    out.append(s)
            else:
                out += slots[a0:a1]
                out += [Slot(self._lift(e, i), {i}) for e in body[b0:b1]]
        return out

    # the template of one element: its values as holes of one instance
    def _lift(self, e: Element, i: int) -> Any:
        if isinstance(e, Op):
            names = _op_names(e.call)
            args = tuple(Hole({i: v}, names[k]) for k, v in enumerate(e.call.args))
            kwargs = {k: Hole({i: v}, k, _op_default(e.call.name, k)) for k, v in e.call.kwargs}
            return replace(e, call=(e.call.name, args, kwargs))
        if isinstance(e, Call):
            given = _call_values(e)
            return replace(e, args={k: Hole({i: v}, k, e.defaults.get(k, ABSENT))
                                    for k, v in given.items()})
        if isinstance(e, Group):
            return replace(e, body=self.template(e.body, i))
        if isinstance(e, Merge):
            kwargs = {k: Hole({i: v}, k, _op_default(e.call.name, k)) for k, v in e.call.kwargs}
            return replace(e, call=(e.call.name, (), kwargs),
                           branches=[self.template(b, i) for b in e.branches])
        if isinstance(e, Repeat):
            return replace(e, element=self._lift(e.element, i), count=Hole({i: e.count}, "n"))
        if isinstance(e, For):
            return replace(e, count=Hole({i: e.count}, "n"),
                           body=[self._lift(x, i) for x in e.body])
        if isinstance(e, Shared):
            return replace(e, layer=self._lift(e.layer, i))
        return e

    def _unify(self, t: Any, e: Element, i: int, earlier: set[int]) -> None:
        """Adds instance i's element `e` to the template `t` of the instances `earlier`."""
        if isinstance(e, Op):
            for hole, v in zip(t.call[1], e.call.args, strict=True):
                hole.values[i] = v
            _keywords(t.call[2], dict(e.call.kwargs), i, earlier,
                      lambda k: _op_default(e.call.name, k))
        elif isinstance(e, Call):
            _keywords(t.args, _call_values(e), i, earlier, lambda k: e.defaults.get(k, ABSENT))
        elif isinstance(e, Group):
            t.body = self.add(t.body, e.body, i)
        elif isinstance(e, Merge):
            _keywords(t.call[2], dict(e.call.kwargs), i, earlier,
                      lambda k: _op_default(e.call.name, k))
            t.branches = [self.add(tb, b, i) for tb, b in zip(t.branches, e.branches,
                                                               strict=True)]
        elif isinstance(e, Repeat):
            t.count.values[i] = e.count
            self._unify(t.element, e.element, i, earlier)
        elif isinstance(e, For):
            t.count.values[i] = e.count
            for tx, x in zip(t.body, e.body, strict=True):
                self._unify(tx, x, i, earlier)
        elif isinstance(e, Shared):
            self._unify(t.layer, e.layer, i, earlier)


def _keywords(holes: dict[str, Hole], given: dict[str, Any], i: int, earlier: set[int],
              default: Any) -> None:
    """Keyword arguments of instance i; one an instance leaves out takes its default."""
    for k, v in given.items():
        if k not in holes:
            holes[k] = Hole(dict.fromkeys(earlier, ABSENT), k, default(k))
        holes[k].values[i] = v
    for k, hole in holes.items():
        if k not in given:
            hole.values[i] = ABSENT


def _call_values(e: Call) -> dict[str, Any]:
    """A block call's arguments by parameter name (positional ones in parameter order)."""
    out: dict[str, Any] = {}
    for k, (name, value) in enumerate(e.args):
        out[name if name is not None else e.param_names[k]] = value
    return out


_POSITIONAL_NAMES = {"conv": ("out", "k"), "conv_transpose": ("out", "k"), "linear": ("out",),
                     "maxpool": ("k",), "avgpool": ("k",), "slice": ("start", "stop")}


def _op_names(call: OpCall) -> tuple[str, ...]:
    names = _POSITIONAL_NAMES.get(call.name, ())
    return tuple(names[k] if k < len(names) else f"{call.name}{k}" for k in range(
        len(call.args)))


def _op_default(op: str, keyword: str) -> Any:
    """The operator's default for a keyword argument (ABSENT when it has none)."""
    cls = REGISTRY.get(op)
    field_ = cls.parameters().by_name.get(keyword) if cls is not None else None
    if field_ is None or field_.default is dataclasses.MISSING:
        return ABSENT
    return field_.default


# ---------------------------------------------------------------- parameters


@dataclass
class Instances:
    """What the generaliser knows of each instance: its first input's channels, and the name of
    that input in the block (`in`, or its first tensor parameter's)."""

    count: int
    channels: list[int | None]
    entry: str = "in"

    @property
    def in_channels(self) -> str:
        return f"{self.entry}.c"


class Parameters:
    """Turns holes into literals, `in.c`, parameters and expressions of parameters."""

    def __init__(self, instances: Instances, reserved: set[str]) -> None:
        self.instances = instances
        self.params: list[Param] = []
        self.reserved = set(reserved)
        self.expressions: list[tuple[str, dict[int, Any]]] = []  # int expressions, for ifs

    def resolve(self, hole: Hole) -> Any:
        values = {i: (hole.default if v is ABSENT else v) for i, v in hole.values.items()}
        distinct = {repr(v) for v in values.values()}
        if len(distinct) == 1:
            return next(iter(values.values()))
        if _all_ints(values):
            found = self._derived(values)
            if found is not None:
                return found
        for p in self.params:
            if _compatible(p.values, values):
                p.values.update(values)
                return Expr(p.name)
        param = Param(self._name(hole.hint), dict(values))
        self.params.append(param)
        if _all_ints(values):
            self.expressions.append((param.name, param.values))
        return Expr(param.name)

    def _derived(self, values: dict[int, int]) -> Expr | None:
        channels = self.instances.channels
        sources = [(p.name, p.values) for p in self.params if _all_ints(p.values)]
        known = {i: channels[i] for i in values if channels[i] is not None}
        sources += [(self.instances.in_channels, known)]
        for name, base in sources:
            if not all(i in base for i in values):
                continue
            for text_, f in _relations(name):
                if all(f(base[i]) == v for i, v in values.items()):
                    self.expressions.append((text_, {i: f(base[i]) for i in base}))
                    return Expr(text_)
        return None

    def _name(self, hint: str) -> str:
        base = {"s": "s", "p": "p", "d": "d", "k": "k"}.get(hint, hint)
        name, k = base, 1
        while name in self.reserved or name in {p.name for p in self.params}:
            k += 1
            name = f"{base}{k}"
        return name

    def choose_defaults(self) -> None:
        for p in self.params:
            counts = Counter(repr(v) for v in p.values.values())
            best, n = counts.most_common(1)[0]
            if n * 2 > self.instances.count:
                p.default = next(v for v in p.values.values() if repr(v) == best)


def _relations(name: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [(name, lambda x: x)]
    for k in (2, 3, 4, 6, 8):
        out.append((f"{name} * {k}", lambda x, k=k: x * k))
    for k in (2, 3, 4, 6, 8, 16):
        out.append((f"{name} // {k}", lambda x, k=k: x // k if x % k == 0 else None))
    return out


def _all_ints(values: dict[int, Any]) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values.values())


def _compatible(a: dict[int, Any], b: dict[int, Any]) -> bool:
    common = set(a) & set(b)
    return bool(common) and all(repr(a[i]) == repr(b[i]) for i in common) and len(
        {repr(v) for v in {**a, **b}.values()}) > 1


# ---------------------------------------------------------------- conditions


def condition(present: set[int], among: set[int], params: Parameters,
              names: dict[str, Any]) -> str | None:
    """The simplest condition on the parameters and `in.c` that holds, of the instances
    `among`, exactly for those in `present`. `names` maps a parameter's name to its
    effective value per instance."""
    n = params.instances.count
    rows = sorted(among)
    want = [i in present for i in rows]
    atoms = [(t, [v[i] for i in rows]) for t, v in _atoms(params, names)]
    for text_, truth in atoms:
        if truth == want:
            return text_
    for a, (ta, va) in enumerate(atoms):
        for tb, vb in atoms[a + 1:]:
            if [x or y for x, y in zip(va, vb, strict=True)] == want:
                return f"{ta} or {tb}"
            if [x and y for x, y in zip(va, vb, strict=True)] == want:
                return f"{ta} and {tb}"
    del n
    return None


def _atoms(params: Parameters, names: dict[str, Any]) -> list[tuple[str, list[bool]]]:
    n = params.instances.count
    atoms: list[tuple[str, list[bool]]] = []
    channels = params.instances.channels
    entry = params.instances.in_channels
    for name, values in names.items():
        vals = [values[i] for i in range(n)]
        if all(isinstance(v, bool) for v in vals):
            atoms += [(name, vals), (f"not {name}", [not v for v in vals])]
            continue
        for v in sorted({repr(v): v for v in vals}.values(), key=repr)[:6]:
            if isinstance(v, (int, float, str)):
                from netdsl.backends.pytorch.importer.writer import value_text
                atoms.append((f"{name} != {value_text(v)}", [x != v for x in vals]))
                atoms.append((f"{name} == {value_text(v)}", [x == v for x in vals]))
    if None not in channels:
        seen = set()
        for text_, values in params.expressions:
            if text_ in seen or text_.startswith(entry) or not all(i in values for i in range(n)):
                continue
            seen.add(text_)
            vals = [values[i] for i in range(n)]
            atoms.append((f"{entry} != {text_}", [c != v for c, v in zip(channels, vals,
                                                                         strict=True)]))
            atoms.append((f"{entry} == {text_}", [c == v for c, v in zip(channels, vals,
                                                                         strict=True)]))
    return atoms


# ---------------------------------------------------------------- the block


class Generalizer:
    """Makes a block of the bodies of a class's instances."""

    def __init__(self, name: str, bodies: list[list[Element]], instances: Instances,
                 inputs: list[str]) -> None:
        self.name = name
        self.instances = instances
        aligner = Aligner()
        slots = aligner.template(bodies[0], 0)
        for i, body in enumerate(bodies[1:], 1):
            slots = aligner.add(slots, body, i)
        self.slots = slots
        self.params = Parameters(instances, reserved=set(inputs) | {"in", "i"})
        self.inputs = inputs
        self.flags: list[Param] = []

    def run(self) -> Block:
        self._resolve_holes(self.slots)
        self.params.choose_defaults()
        body = self._elements(self.slots, set(range(self.instances.count)))
        params = self.params.params + self.flags
        params.sort(key=lambda p: p.default is not ABSENT)  # required ones first
        return Block(self.name, params, body, self.inputs)

    # holes first, in document order, so that names and relations read naturally
    def _resolve_holes(self, slots: list[Slot]) -> None:
        for s in slots:
            self._resolve_in(s.element)

    def _resolve_in(self, e: Any) -> None:
        if isinstance(e, Op):
            name, args, kwargs = e.call
            e.call = (name, [self.params.resolve(h) for h in args],
                      {k: self.params.resolve(h) for k, h in kwargs.items()})
        elif isinstance(e, Call):
            e.args = {k: self.params.resolve(h) for k, h in e.args.items()}
        elif isinstance(e, Group):
            self._resolve_holes(e.body)
        elif isinstance(e, Merge):
            name, _, kwargs = e.call
            e.call = (name, (), {k: self.params.resolve(h) for k, h in kwargs.items()})
            for b in e.branches:
                self._resolve_holes(b)
        elif isinstance(e, Repeat):
            e.count = self.params.resolve(e.count)
            self._resolve_in(e.element)
        elif isinstance(e, For):
            e.count = self.params.resolve(e.count)
            for x in e.body:
                self._resolve_in(x)
        elif isinstance(e, Shared):
            self._resolve_in(e.layer)

    def _effective(self) -> dict[str, dict[int, Any]]:
        out = {}
        for p in self.params.params + self.flags:
            out[p.name] = {i: p.values.get(i, p.default if p.default is not ABSENT
                                           else p.value(i)) for i in range(self.instances.count)}
        return out

    def _elements(self, slots: list[Slot], everyone: set[int]) -> list[Element]:
        """The elements of aligned slots, within a part that the instances `everyone` have."""
        out: list[Element] = []
        k = 0
        while k < len(slots):
            s = slots[k]
            if s.present == everyone:
                out.append(self._element(s.element, everyone))
                k += 1
                continue
            run = [s]
            while k + len(run) < len(slots) and slots[k + len(run)].present == s.present:
                run.append(slots[k + len(run)])
            rest = slots[k + len(run):]
            other: list[Slot] = []
            if rest and rest[0].present == everyone - s.present:
                other = [rest[0]]
                while len(other) < len(rest) and rest[len(other)].present == rest[0].present:
                    other.append(rest[len(other)])
            out.append(self._guard(s.present, run, other, everyone))
            k += len(run) + len(other)
        return out

    def _guard(self, present: set[int], then: list[Slot], orelse: list[Slot],
               everyone: set[int]) -> If:
        cond = condition(present, everyone, self.params, self._effective())
        if cond is None:
            label = next((s.element.label for s in then if getattr(s.element, "label", None)),
                         "part")
            flag = Param(self.params._name(spec_name(f"with_{label}")),
                         {i: i in present for i in range(self.instances.count)})
            flag.default = Counter(flag.values.values()).most_common(1)[0][0]
            self.flags.append(flag)
            self.params.reserved.add(flag.name)
            cond = flag.name
        return If(cond, [self._element(s.element, s.present) for s in then],
                  [self._element(s.element, s.present) for s in orelse])

    def _element(self, e: Any, present: set[int]) -> Element:
        if isinstance(e, Op):
            name, args, kwargs = e.call
            return replace(e, call=OpCall(name, tuple(args), _kept(name, kwargs)))
        if isinstance(e, Call):
            return replace(e, args=_call_args(e, e.args))
        if isinstance(e, Group):
            return replace(e, body=self._elements(e.body, present))
        if isinstance(e, Merge):
            name, _, kwargs = e.call
            return replace(e, call=OpCall(name, (), _kept(name, kwargs)),
                           branches=[self._elements(b, present) for b in e.branches])
        if isinstance(e, Repeat):
            return replace(e, element=self._element(e.element, present))
        if isinstance(e, For):
            return replace(e, body=[self._element(x, present) for x in e.body])
        if isinstance(e, Shared):
            return replace(e, layer=self._element(e.layer, present))
        return e


def _kept(op: str, kwargs: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Keyword arguments other than the operator's default, in the operator's order."""
    kept = [(k, v) for k, v in kwargs.items()
            if isinstance(v, Expr) or _op_default(op, k) is ABSENT
            or repr(_plain(v)) != repr(_plain(_op_default(op, k)))]
    cls = REGISTRY.get(op)
    if cls is not None:
        table = cls.parameters()
        order = {f.name: k for k, f in enumerate(table.fields)}
        kept.sort(key=lambda kv: order.get(table.by_name[kv[0]].name, 99)
                  if kv[0] in table.by_name else 99)
    return tuple(kept)


def _plain(v: Any) -> Any:
    if isinstance(v, Word):
        return str(v)
    if isinstance(v, tuple):
        return list(v)
    return v


def _call_args(e: Call, values: dict[str, Any]) -> list[tuple[str | None, Any]]:
    """The arguments of a block call: required ones by position, others by name when they
    differ from the default."""
    out: list[tuple[str | None, Any]] = []
    for name in e.param_names:
        if name not in values:
            continue
        v = values[name]
        if name not in e.defaults:
            out.append((None, v))
        elif isinstance(v, Expr) or repr(_plain(v)) != repr(_plain(e.defaults[name])):
            out.append((name, v))
    return out
