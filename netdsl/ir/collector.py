"""Keeps Python's cyclic garbage collector out of the way while a graph is built or analysed.

Elaboration allocates several container objects per layer and keeps nearly all of them. Each
allocation burst triggers collections, and a full collection walks every live object, so with
the collector running a 100,000-layer network paid for about a dozen walks over a growing heap
(a quarter of its time, and growing faster than the layer count). The graph holds no garbage
cycles worth reclaiming mid-build; the collector resumes, as it was, as soon as the work ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collection_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block; re-enable it after, if it was enabled."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
