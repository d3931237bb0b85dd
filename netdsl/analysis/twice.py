"""Merges that take one tensor twice: `concat([x] + ys)` right after `x` takes `x` as the
current tensor and again as an item of its list, and silently doubles it. The elaborator
records where each of a merge's inputs came from (`Layers.note_twice`); this says it."""

from __future__ import annotations

from netdsl.analysis.unused import definitions, once_each
from netdsl.errors import Diagnostic
from netdsl.ir import Definition, Node


def twice_warnings(top: Definition) -> list[Diagnostic]:
    """One warning per merge in the spec that takes a tensor twice, in source order."""
    return once_each(Diagnostic(*item.meta["twice"][:1], item.span, "twice", severity="warning",
                                help=item.meta["twice"][1])
                     for d in definitions(top) for item in d.items.values()
                     if isinstance(item, Node) and "twice" in item.meta and item.span)
