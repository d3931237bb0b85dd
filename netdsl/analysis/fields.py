"""Receptive fields over the hierarchy: each definition with one input is walked once, from an
input that sees only itself, and its relative fields are placed at every call by
`compose_relative`; a definition with several inputs is walked per call, from its inputs'
fields (their union at a merge needs them)."""

from __future__ import annotations

from typing import Any

from netdsl.analysis.annotate import node_figures
from netdsl.analysis.receptive_field import compose, compose_relative, input_field
from netdsl.ir import Call, Definition, port

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
            fields[item.name] = input_field(item.meta["shape"])
        else:
            fields[item.name] = compose(node_figures(item).rule,
                                        [fields[i] for i in item.inputs])
    return fields


def relative(d: Definition) -> Fields:
    """The fields of a one-input definition relative to its input (kept in `d.meta`)."""
    found = d.meta.get("fields")
    if found is None:
        found = d.meta["fields"] = walk(d, [input_field(d.inputs[0])])
    return found


def call_fields(call: Call, inputs: list[Any]) -> list[Any]:
    """The fields of a call's outputs, from its inputs' fields."""
    callee = call.definition
    if len(callee.inputs) == 1:
        rel = relative(callee)
        base = inputs[0]
        if call.count > 1:  # a run: its members' input fields, then the last one's outputs
            base = compose_relative(base, power(rel[callee.outputs[0]], call.count - 1))
        return [compose_relative(base, rel[ref]) for ref in callee.outputs]
    inner = walk(callee, inputs)
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
    if len(callee.inputs) == 1:
        rel, base = relative(callee), inputs[0]
        if member:
            base = compose_relative(base, power(rel[callee.outputs[0]], member))
        return lambda ref: compose_relative(base, rel[ref])
    return walk(callee, inputs).__getitem__


def top_fields(top: Definition) -> Fields:
    """The network's own fields (its inputs are nodes), kept in `top.meta`."""
    found = top.meta.get("fields")
    if found is None:
        found = top.meta["fields"] = walk(top, [])
    return found
