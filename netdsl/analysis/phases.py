"""Exact receptive fields after an upsampling, per phase of the output grid.

After an upsampling by s (nearest, bilinear, a transposed convolution) neighbouring outputs
read different windows, so one (size, stride, padding) cannot describe every output exactly:
`Axis` then reports their union over the phases (see `netdsl.analysis.receptive_field`).
Composing that union again loses what a later strided layer recovers: after `upsample(2)` and
a stride-2 convolution every output sees the same window again, smaller than the union says.
So the field keeps its phases too: with a period of P outputs, output P*m + r sees input
pixels lo[r] + A*m .. hi[r] + A*m, its smallest path least[r] of them. Every rule here maps
phases to phases exactly (fields are non-decreasing in the output index, so a window's field
is the union of its first and last outputs' that read anything), and a strided layer whose
stride the period divides brings the field back to one phase.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from netdsl.limits import MAX_FIELD_PHASES

Seen = tuple[int, int, int]  # (first pixel, last pixel, smallest path's size) of one output


class Phases(NamedTuple):
    """Output P*m + r sees `seen[r]` shifted by A*m pixels (None: it reads nothing, as an
    output of a transposed convolution whose kernel is smaller than its stride)."""

    period: int
    advance: int
    seen: tuple[Seen | None, ...]

    def at(self, j: int) -> Seen | None:
        """What output j sees (any integer j: the phases repeat beyond the map's borders)."""
        q, r = divmod(j, self.period)
        found = self.seen[r]
        if found is None:
            return None
        shift = self.advance * q
        return found[0] + shift, found[1] + shift, found[2]

    def reads(self, first: int, last: int) -> Seen | None:
        """What an output reading outputs first .. last of this field sees."""
        low = high = None
        for j in range(first, min(last, first + self.period - 1) + 1):
            low = self.at(j)
            if low is not None:
                break
        for j in range(last, max(first, last - self.period + 1) - 1, -1):
            high = self.at(j)
            if high is not None:
                break
        if low is None or high is None:
            return None
        return low[0], high[1], high[0] - low[0] + high[2]

    def window(self, kernel: int, stride: int, padding: int) -> Phases:
        """Output i reads outputs i*stride - padding .. + kernel - 1 (kernel dilated)."""
        step = math.gcd(self.period, stride)
        period = self.period // step
        seen = tuple(self.reads(r * stride - padding, r * stride - padding + kernel - 1)
                     for r in range(period))
        return _reduced(period, self.advance * (stride // step), seen)

    def upsampled(self, s: int, windows: list[tuple[int, int]]) -> Phases | None:
        """Output q*s + r reads outputs q + windows[r][0] .. q + windows[r][1] (none when
        the window is empty); None past `MAX_FIELD_PHASES` phases."""
        if self.period * s > MAX_FIELD_PHASES:
            return None
        seen = tuple(self.reads(q + lo, q + hi) if lo <= hi else None
                     for q in range(self.period) for lo, hi in windows)
        return _reduced(self.period * s, self.advance, seen)


def regular(size: int, stride: int, start: int, min_size: int) -> Phases:
    """A field every output sees alike: one phase."""
    return Phases(1, stride, ((start, start + size - 1, min_size),))


def union(parts: list[Phases]) -> Phases | None:
    """The union of fields at a merge, per output; None when their strides differ (their
    phases do not line up) or the union would have more than `MAX_FIELD_PHASES` phases."""
    period = math.lcm(*(p.period for p in parts))
    if period > MAX_FIELD_PHASES:
        return None
    advances = {p.advance * (period // p.period) for p in parts}
    if len(advances) != 1:
        return None
    seen = []
    for r in range(period):
        found = [s for s in (p.at(r) for p in parts) if s is not None]
        seen.append((min(s[0] for s in found), max(s[1] for s in found),
                     min(s[2] for s in found)) if found else None)
    return _reduced(period, advances.pop(), tuple(seen))


def _reduced(period: int, advance: int, seen: tuple[Seen | None, ...]) -> Phases:
    """The same field with the shortest period that describes it."""
    for p in range(1, period):
        if period % p or (advance * p) % period:
            continue
        shift = advance * p // period
        if all(_shifted(seen[r], shift) == seen[r + p] for r in range(period - p)):
            return Phases(p, shift, seen[:p])
    return Phases(period, advance, seen)


def _shifted(seen: Seen | None, by: int) -> Seen | None:
    return None if seen is None else (seen[0] + by, seen[1] + by, seen[2])
