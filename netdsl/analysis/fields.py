"""Receptive fields over the hierarchy: each definition with one input is walked once, from an
input that sees only itself, and its relative fields are placed at every call by
`compose_relative`; a definition with several inputs is walked per call, from its inputs'
fields (their union at a merge needs them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from netdsl.analysis.annotate import node_figures
from netdsl.analysis.receptive_field import Field, compose, compose_relative, input_field
from netdsl.ir import Call, Definition, Node, port
from netdsl.ops import Op

Fields = dict[str, Any]  # reference -> Field, GLOBAL or None


def walk(d: Definition, inputs: list[Any]) -> Fields:
    """The field of every reference of `d`, from its ports' fields."""
    fields: Fields = {port(i): f for i, f in enumerate(inputs)}
    for item in d.items.values():
        if isinstance(item, Call):
            outs = call_fields(item, [fields[r] for r in item.inputs])
            for ref, f in zip(item.outputs, outs, strict=True):
                fields.setdefault(ref, f)
        elif item.op is None:
            fields[item.name] = input_field(item.meta["shape"], readers(d, item.name))
        else:
            fields[item.name] = compose(node_figures(item).rule,
                                        [fields[i] for i in item.inputs])
    return fields


def readers(d: Definition, ref: str) -> list[Op]:
    """The operators of the layers that decide the layout of `ref` of `d`: those that read it,
    inside the blocks it is passed to too, and, past a layer indifferent to the layout (an
    activation, a sum), that layer's readers, out of the block it ends if need be."""
    found: list[Op] = []
    seen: set[tuple[int, str]] = set()
    todo: list[tuple[Definition, str, tuple[tuple[Definition, Call], ...]]] = [(d, ref, ())]
    while todo:
        where, value, callers = todo.pop()
        if (id(where), value) in seen:
            continue
        seen.add((id(where), value))
        for item in _users(where).get(value, ()):
            if isinstance(item, Call):
                todo.append((item.definition, port(item.inputs.index(value)),
                             (*callers, (where, item))))
            elif item.op.channel_axis is None:
                todo.append((where, item.name, callers))
            else:
                found.append(item.op)
        if callers and value in where.outputs:
            caller, call = callers[-1]
            todo.append((caller, call.outputs[where.outputs.index(value)], callers[:-1]))
    return found


def _users(d: Definition) -> dict[str, list[Node | Call]]:
    """The items of `d` that read each reference (kept in `d.meta`)."""
    found = d.meta.get("users")
    if found is None:
        found = d.meta["users"] = {}
        for item in d.items.values():
            for ref in dict.fromkeys(item.inputs):
                found.setdefault(ref, []).append(item)
    return found


def relative(d: Definition) -> Fields | None:
    """The fields of a one-input definition relative to its input (kept in `d.meta`); None
    when they cannot be placed by composition (a causal field depends on where it starts; a
    field kept per phase, after an upsampling, depends on the phase its input starts at)."""
    if "fields" not in d.meta:
        fields = walk(d, [input_field(d.inputs[0])])
        d.meta["fields"] = fields if all(map(composable, fields.values())) else None
    return d.meta["fields"]


def relative_for(callee: Definition, inputs: list[Any]) -> Fields | None:
    """The callee's relative fields, if its one input's field is a channels-first image
    field (the layout its relative walk assumes); None: walk it from the input's field."""
    if len(callee.inputs) != 1:
        return None
    base = inputs[0]
    if not isinstance(base, Field) or base.layout is not None or not composable(base):
        return None
    return relative(callee)


def composable(f: Any) -> bool:
    """Whether a field can be placed by `compose_relative`: not causal (it depends on where
    it starts) and not kept per phase (it depends on the phase its input starts at)."""
    return not isinstance(f, Field) or not (f.causal or any(a.phases is not None
                                                                for a in f.axes))


def walked(d: Definition, inputs: list[Any]) -> Fields:
    """`walk`, kept per distinct input fields (after attention every call sees `global`)."""
    memo = d.meta.setdefault("walks", {})
    key = tuple(inputs)
    found = memo.get(key)
    if found is None:
        found = memo[key] = walk(d, inputs)
    return found


def call_fields(call: Call, inputs: list[Any]) -> list[Any]:
    """The fields of a call's outputs, from its inputs' fields."""
    callee = call.definition
    rel = relative_for(callee, inputs)
    if rel is not None:
        base = inputs[0]
        if call.count > 1:  # a run: its members' input fields, then the last one's outputs
            base = compose_relative(base, power(rel[callee.outputs[0]], call.count - 1))
        return [compose_relative(base, rel[ref]) for ref in callee.outputs]
    for _ in range(call.count - 1):  # a run, one call after the other
        inputs = [walked(callee, inputs)[callee.outputs[0]]]
    inner = walked(callee, inputs)
    return [inner[ref] for ref in callee.outputs]


def power(step: Any, times: int) -> Any:
    """A relative field applied `times` times in a row (a run), by repeated squaring: the
    composition of relative fields is associative."""
    result = None
    while times:
        if times & 1:
            result = step if result is None else compose_relative(result, step)
        times >>= 1
        if times:
            step = compose_relative(step, step)
    return result


def inside(call: Call, inputs: list[Any], member: int = 0) -> Any:
    """A function giving the field of any reference inside a call (member `member` of a
    run), for the per-layer rows."""
    callee = call.definition
    rel = relative_for(callee, inputs)
    if rel is not None:
        base = inputs[0]
        if member:
            base = compose_relative(base, power(rel[callee.outputs[0]], member))
        return lambda ref: compose_relative(base, rel[ref])
    for _ in range(member):
        inputs = [walked(callee, inputs)[callee.outputs[0]]]
    return walked(callee, inputs).__getitem__


def members(call: Call, inputs: list[Any]) -> Iterator[Any]:
    """`inside` for each member of a run in turn, each from the one before: one composition
    a member, where `inside(call, inputs, k)` alone takes log k (or k walks)."""
    callee = call.definition
    rel = relative_for(callee, inputs)
    if rel is not None:
        step = rel[callee.outputs[0]]
        base = inputs[0]
        for k in range(call.count):
            yield lambda ref, base=base: compose_relative(base, rel[ref])
            if k + 1 < call.count:
                base = compose_relative(base, step)
        return
    for _ in range(call.count):
        fields = walked(callee, inputs)
        yield fields.__getitem__
        inputs = [fields[callee.outputs[0]]]


def top_fields(top: Definition) -> Fields:
    """The network's own fields (its inputs are nodes), kept in `top.meta`."""
    found = top.meta.get("fields")
    if found is None:
        found = top.meta["fields"] = walk(top, [])
    return found
