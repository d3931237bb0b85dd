"""Receptive fields per spatial axis, composed along the graph from each operator's rule.

For each node and axis: `size` (input pixels that can affect one output element), `stride`
(the step in input pixels between neighbouring outputs) and `padding` (the effective padding:
output element 0's field starts at input pixel -padding), as in Araujo et al., "Computing
Receptive Fields of Convolutional Neural Networks" (Distill, 2019). Where paths merge, the field
is their union, `min_size` is the smallest path's size, and `aligned` is false when the paths'
centres disagree. After global pooling, flatten or linear every output sees everything: "global".
A merge with a global path (an SE or GC gate) keeps its spatial paths' field, marked
`global_context`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from netdsl.ops import receptive as rules
from netdsl.ops.base import Shape


class Axis(NamedTuple):
    """The field along one spatial axis; a tuple because every strided layer makes new ones."""

    size: Fraction
    stride: Fraction
    start: Fraction  # first input pixel seen by output element 0
    min_size: Fraction

    @property
    def centre(self) -> Fraction:
        return self.start + Fraction(self.size - 1, 2)

    @property
    def doubled_centre(self) -> Fraction:
        """Twice the centre: compares like `centre` without making a Fraction of ints."""
        return 2 * self.start + self.size - 1


@dataclass(frozen=True)
class Field:
    """The receptive field of one node: one `Axis` per spatial axis."""

    axes: tuple[Axis, ...]
    aligned: bool = True
    global_context: bool = False  # a merged path saw the whole input (SE/GC gates)

    def as_dict(self) -> dict[str, object]:
        size, stride, padding, min_size = [], [], [], []
        for a in self.axes:
            size.append(_num(a.size))
            stride.append(_num(a.stride))
            padding.append(_num(-a.start))
            min_size.append(_num(a.min_size))
        return {"size": size, "stride": stride, "padding": padding, "min_size": min_size,
                "aligned": self.aligned, "global_context": self.global_context}


GLOBAL = "global"


def _num(x: int | Fraction) -> int | float:
    if type(x) is int:
        return x
    return int(x) if x.denominator == 1 else float(x)


def input_field(shape: Shape) -> Field | None:
    """A network input's field: each element sees itself; None without spatial axes."""
    n = len(shape) - 1
    # ints until an upsampling makes a stride fractional (Fractions are ten times slower)
    return Field(tuple(Axis(1, 1, 0, 1) for _ in range(n))) if n > 0 else None


def compose(rule: rules.Rule, fields: list[Field | str | None]) -> Field | str | None:
    """The field of an operator's output from its rule and its inputs' fields."""
    for f in fields:
        if f is None:
            return None
    if rule is rules.MERGE:
        # A gate (SE's channel weights, GC's context) sees everything; the spatial paths keep
        # their geometry and the field notes the global context.
        spatial = [f for f in fields if isinstance(f, Field)]
        if not spatial:
            return GLOBAL
        return _union(spatial, global_context=len(spatial) < len(fields))
    field = fields[0]
    if isinstance(rule, rules.Unpool):  # the values' and the switches' fields, placed back
        if not all(isinstance(f, Field) for f in fields):
            return GLOBAL
        field = _union(fields)  # type: ignore[arg-type]
    if rule is rules.GLOBAL or not isinstance(field, Field):  # the input is already GLOBAL
        return GLOBAL
    if rule is rules.IDENTITY:
        return field
    return Field(tuple([_apply(rule, i, a) for i, a in enumerate(field.axes)]), field.aligned,
                 field.global_context)


def _apply(rule: rules.Rule, i: int, a: Axis) -> Axis:
    if isinstance(rule, rules.Window):
        k = rule.dilation[i] * (rule.kernel[i] - 1) + 1
        grow = (k - 1) * a.stride
        return Axis(a.size + grow, a.stride * rule.stride[i], a.start - rule.padding[i] * a.stride,
                    a.min_size + grow)
    if isinstance(rule, rules.Transposed):
        k = rule.dilation[i] * (rule.kernel[i] - 1) + 1
        s, p = rule.stride[i], rule.padding[i]
        # output o = q*s + r reads inputs ceil((o+p-k+1)/s) .. floor((o+p)/s)
        return _phases(a, s, [(-((k - 1 - p - r) // s), (r + p) // s) for r in range(s)])
    if isinstance(rule, rules.Resample):
        scale = Fraction(rule.scale[i]).limit_denominator(1000)
        if scale.denominator == 1 and scale > 1 and rule.before == rule.extra:
            s = int(scale)
            # nearest: output q*s + r reads input q; bilinear (half-pixel centres) reads the
            # two inputs around q + (r + 0.5)/s - 0.5, one if that is a whole number
            return _phases(a, s, [_bilinear(r, s) if rule.extra else (0, 0) for r in range(s)])
        grow = rule.extra * a.stride
        start = a.start - rule.before * a.stride if scale > 1 else a.start
        return Axis(a.size + grow, a.stride / scale, start, a.min_size + grow)
    if isinstance(rule, rules.Shift):
        return Axis(a.size, a.stride, a.start + rule.offset[i] * a.stride, a.min_size)
    raise AssertionError(rule)


def _phases(a: Axis, s: int, windows: list[tuple[int, int]]) -> Axis:
    """The field after an upsampling by s whose output q*s + r reads inputs q+lo .. q+hi, with
    (lo, hi) = windows[r]. Output o's field is the union over the s phases, placed at o/s:
    every output's field lies inside it, and phases that are mirror images keep the centre
    where it is (the original U-Net's crops are centred). `min_size` is the smallest phase."""
    first = last = smallest = None
    for r, (lo, hi) in enumerate(windows):
        if hi < lo:  # a phase that reads nothing (kernel smaller than the stride)
            continue
        start, end = lo - Fraction(r, s), hi - Fraction(r, s)
        first = start if first is None else min(first, start)
        last = end if last is None else max(last, end)
        smallest = hi - lo if smallest is None else min(smallest, hi - lo)
    return Axis(a.size + (last - first) * a.stride, Fraction(a.stride) / s,
                a.start + first * a.stride, a.min_size + smallest * a.stride)


def _bilinear(r: int, s: int) -> tuple[int, int]:
    """The inputs, relative to q, that bilinear upsampling by s reads for output q*s + r."""
    source = Fraction(2 * r + 1, 2 * s) - Fraction(1, 2)
    lo = math.floor(source)
    return lo, lo if source == lo else lo + 1


def _union(fields: list[Field], global_context: bool = False) -> Field:
    aligned = all(f.aligned for f in fields)
    global_context = global_context or any(f.global_context for f in fields)
    axes = []
    for parts in zip(*(f.axes for f in fields), strict=True):
        axis, axis_aligned = _union_axis(parts)
        axes.append(axis)
        aligned = aligned and axis_aligned
    return Field(tuple(axes), aligned, global_context)


def _union_axis(parts: tuple[Axis, ...]) -> tuple[Axis, bool]:
    """The union of the paths' fields along one axis, and whether they share centre and stride.

    One loop rather than a comprehension per figure: a merge every few layers makes this a hot
    path of deep networks. Ties keep the first path's value, as `min` and `max` do."""
    first = parts[0]
    start, end = first.start, first.start + first.size
    stride, min_size = first.stride, first.min_size
    aligned = True
    for a in parts[1:]:
        start = min(start, a.start)
        end = max(end, a.start + a.size)
        stride = max(stride, a.stride)
        min_size = min(min_size, a.min_size)
        aligned = aligned and a.doubled_centre == first.doubled_centre and a.stride == first.stride
    return Axis(end - start, stride, start, min_size), aligned


# ---------------------------------------------------------------- over definitions


def compose_relative(base: Field | str | None, rel: Field | str | None) -> Field | str | None:
    """The field of a tensor whose field relative to a block's input is `rel` (computed from an
    input that sees only itself), when that input's own field is `base`.

    Every rule maps an input field affinely (sizes and starts grow by multiples of the input's
    stride), so composing relative fields equals walking the layers again: a block's fields are
    computed once per definition and placed at each call.
    """
    if base is None:
        return None
    if not isinstance(base, Field):  # a field that is already global stays global
        return GLOBAL
    if rel is None:
        return None
    if not isinstance(rel, Field):
        return GLOBAL
    axes = tuple([Axis(b.size + (r.size - 1) * b.stride, b.stride * r.stride,
                       b.start + r.start * b.stride, b.min_size + (r.min_size - 1) * b.stride)
                  for b, r in zip(base.axes, rel.axes, strict=True)])
    return Field(axes, base.aligned and rel.aligned,
                 base.global_context or rel.global_context)
