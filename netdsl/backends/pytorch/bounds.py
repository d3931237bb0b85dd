"""The memory a built module will take, refused before torch is asked for it.

A spec can ask for any size (`linear(2 ** 31)`, an input of 3x60000x60000); torch then either
fails in its allocator or takes the machine's memory. The figures are the analyses' (weights:
parameters and buffers; running: the example input and the activations live at the busiest
layer), at float32, the type torch builds in; the refusal points at the layer that asks most.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from netdsl.analysis.memory import DTYPE_BYTES
from netdsl.backends.table import human_bytes
from netdsl.errors import Diagnostic, NetdslError, Span
from netdsl.limits import BYTES_HELP, BYTES_OPTION

_BUILT = "float32"


def refuse_oversized(network: Any, max_bytes: int, running: bool = False) -> None:
    """Raise a located error when building `network` (and, `running`, running it once on an
    example input, as an export does) would take more than `max_bytes`."""
    stats = network.stats(_BUILT)
    weights = (stats.params + stats.buffers) * DTYPE_BYTES[_BUILT]
    activations = stats.peak_activation_bytes if running else 0
    total = weights + activations
    if total <= max_bytes:
        return
    what = (f"the network's weights would take {human_bytes(total)}" if not running else
            f"running the network on an example input would take {human_bytes(total)} "
            f"({human_bytes(weights)} of weights, {human_bytes(activations)} of activations)")
    where = _busiest(network) if activations > weights else _heaviest(network)
    raise NetdslError(Diagnostic(
        f"{what}: {total:,} bytes at {_BUILT}, more than the bound of {max_bytes:,}", where,
        "limit", help=BYTES_HELP))


def _heaviest(network: Any) -> Span | None:
    """Where the layer with the most parameters and buffers is made."""
    layers = [row for row in network.stats(_BUILT).layers if not row.is_block]
    row = max(layers, key=lambda r: r.params + r.buffers, default=None)
    return _span(network, row.name if row else None)


def _busiest(network: Any) -> Span | None:
    """Where the layer is made while whose run the most activations are alive."""
    curve = network.memory_curve(dtype=_BUILT)
    return _span(network, max(curve, key=lambda point: point[1])[0] if curve else None)


def _span(network: Any, layer: str | None) -> Span | None:
    node = network.graph.nodes.get(layer) if layer else None
    return node.span if node is not None and node.span else network.top.span


@contextmanager
def allocating(what: str) -> Iterator[None]:
    """torch's allocator refusing memory (the machine has less than the bound allows) as a
    NetdslError: torch raises RuntimeError ("can't allocate memory") for the CPU, its
    OutOfMemoryError for a device."""
    try:
        yield
    except (MemoryError, RuntimeError) as exc:
        if not isinstance(exc, MemoryError) and "allocate" not in str(exc):
            raise
        raise NetdslError(Diagnostic(
            f"torch could not allocate the memory {what}: {str(exc).splitlines()[0]}", None,
            "limit", help=f"the machine has less memory than the network needs; "
                          f"{BYTES_OPTION} bounds what netdsl asks torch for")) from None
