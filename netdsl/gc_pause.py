"""A pause of the cyclic garbage collector while a large structure is built.

Parsing, elaborating and analysing a big spec allocate millions of small objects and free
almost none, so each allocation burst makes CPython's collector walk a heap that only grows: on
a 100,000-line spec that was 40% of the parse time and a quarter of elaboration, and the reason
time grew faster than the spec. Nothing built here is garbage worth reclaiming mid-build; cycles
made meanwhile are collected once the collector resumes, in the state it was in.

The pause is taken at the public entry points that build such structures, and only there:
`netdsl.load` (parsing and elaboration), `Network.stats`, `Network.graph` and `Stats.layers`.
Parsing alone (`netdsl.syntax.parser.parse`, which the formatter and the language server call
in a long-lived process) runs with the collector as it is.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector for the block; restore its previous state after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
