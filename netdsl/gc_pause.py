"""A pause of the cyclic garbage collector while a large structure is built.

Parsing and elaborating a big spec allocate millions of small objects and free almost none, so
CPython's collector keeps rescanning a heap that only grows: on a 100,000-line spec that was 40%
of the parse time, and the reason time grew faster than the spec. Nothing built here relies on
the collector (reference counting frees it all), so the pause loses nothing.
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
