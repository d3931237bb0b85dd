"""Which drawn blocks are alike, from the IR's hierarchy: the key of each block call.

Two calls may share an "x n" box when they are calls of the same `Definition` (same block, same
arguments, same input shapes: the IR made one definition for both), or when one statement made
both (a `for` loop or a repeat) and they have the same structure: the same operators with the
same attributes, wired the same way, only the sizes that follow from the input differing
(DenseNet's dense layers, each seeing 32 more channels). A stage's first block with a
downsample path has another structure than the rest; Inception-v3's two `conv 3x3, 96` of one
branch are two statements on inputs of different sizes: neither is merged.
"""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.ir import Call, Definition


@dataclass(frozen=True)
class CallKey:
    definition: int  # id of the Definition called
    structure: int  # index of the structure among those seen
    site: tuple[str, int, int] | None  # the statement that made the call


def call_keys(top: Definition) -> dict[str, CallKey]:
    """The key of every block call, by its dotted name in the flat graph."""
    keys: dict[str, CallKey] = {}
    structures: dict[tuple, int] = {}
    memo: dict[int, int] = {}

    def structure(d: Definition) -> int:
        if id(d) not in memo:
            memo[id(d)] = structures.setdefault(_signature(d, structure), len(structures))
        return memo[id(d)]

    def walk(d: Definition, prefix: str) -> None:
        for call in d.calls():
            key = CallKey(id(call.definition), structure(call.definition), _site(call))
            for member in call.members():
                keys[prefix + member] = key
                walk(call.definition, f"{prefix}{member}.")

    walk(top, "")
    return keys


def alike(a: CallKey, b: CallKey) -> bool:
    """Whether two calls are drawn as one run (see the module's docstring)."""
    if a.definition == b.definition:
        return True
    return a.site is not None and a.site == b.site and a.structure == b.structure


def _signature(d: Definition, structure) -> tuple:
    items = []
    for name, item in d.items.items():
        if isinstance(item, Call):
            items.append((name, "call", structure(item.definition), item.count,
                          tuple(item.inputs)))
        else:
            items.append((name, repr(item.op), tuple(item.inputs)))
    scopes = tuple((name, s.kind, tuple(s.children)) for name, s in d.scopes.items())
    return d.block, repr(sorted(d.args.items())), tuple(items), scopes, tuple(d.outputs)


def _site(call: Call) -> tuple[str, int, int] | None:
    span = call.span
    return None if span is None else (span.path, span.line, span.col)
