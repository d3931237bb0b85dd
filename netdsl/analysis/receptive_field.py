"""Receptive fields per spatial axis, composed along the graph from each operator's rule.

For each node and axis: `size` (input pixels that can affect one output element), `stride`
(the step in input pixels between neighbouring outputs) and `padding` (the effective padding:
output element 0's field starts at input pixel -padding), as in Araujo et al., "Computing
Receptive Fields of Convolutional Neural Networks" (Distill, 2019). Where paths merge, the field
is their union, `min_size` is the smallest path's size, and `aligned` is false when the paths'
centres disagree. After global pooling, flatten or linear every output sees everything: "global".
A merge with a global path (an SE or GC gate) keeps its spatial paths' field, marked
`global_context`.

Tensors that are not channels-first images (token sequences, channels-last maps) keep their
field per *grid axis*, the network input's spatial axes, with a layout saying which tensor axes
carry which grid axes (see `netdsl.ops.receptive`): a token of ViT's flattened 14 x 14 patch
grid keeps its patch's field along both image axes. A parameter's output sees nothing
("constant") and adds nothing to a merge. Where a layout cannot be followed (a split of a
flattened axis, a convolution over a token axis) the field is not computed (None).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from typing import NamedTuple

from netdsl.analysis.phases import Phases, regular, union
from netdsl.ops import receptive as rules
from netdsl.ops.base import Op, Shape


class Axis(NamedTuple):
    """The field along one spatial axis; a tuple because every strided layer makes new ones."""

    size: Fraction
    stride: Fraction
    start: Fraction  # first input pixel seen by output element 0
    min_size: Fraction
    # after an upsampling, what each phase of the outputs sees exactly (the figures above are
    # their union); None where every output sees alike, or after a resize by a fraction
    phases: Phases | None = None

    @property
    def centre(self) -> Fraction:
        return self.start + Fraction(self.size - 1, 2)

    @property
    def doubled_centre(self) -> Fraction:
        """Twice the centre: compares like `centre` without making a Fraction of ints."""
        return 2 * self.start + self.size - 1


Layout = tuple[tuple[int, ...], ...]


class Field(NamedTuple):
    """The receptive field of one node: one `Axis` per grid axis (the input's spatial axes).

    `layout` gives, per tensor axis, the grid axes it carries (row-major when several are
    flattened into it); None for channels first, the layout of every image network, where axis
    0 carries none and axis i + 1 carries grid axis i. A tuple, as `Axis` is: a deep network
    has a field per layer and per call, each made and hashed at the cost of a tuple."""

    axes: tuple[Axis, ...]
    aligned: bool = True
    global_context: bool = False  # a merged path saw the whole input (SE/GC gates)
    layout: Layout | None = None
    causal: bool = False  # one axis of tokens: each sees every token up to itself (GPT)

    def carried(self) -> Layout:
        """The layout, spelt out also for channels first."""
        return self.layout if self.layout is not None else channels_first(len(self.axes))

    def as_dict(self) -> dict[str, object]:
        size, stride, padding, min_size = [], [], [], []
        for a in self.axes:
            size.append(_num(a.size))
            stride.append(_num(a.stride))
            padding.append(_num(-a.start))
            min_size.append(_num(a.min_size))
        out: dict[str, object] = {"size": size, "stride": stride, "padding": padding,
                                  "min_size": min_size, "aligned": self.aligned,
                                  "global_context": self.global_context}
        if self.layout is not None:
            out["layout"] = [list(axes) for axes in self.layout]
        if self.causal:
            out["causal"] = True
        return out


GLOBAL = "global"
CONSTANT = "constant"  # a parameter's output: it sees no input at all


def channels_first(n: int) -> Layout:
    """The layout of a [C, *spatial] tensor with n spatial axes."""
    return ((),) + tuple((i,) for i in range(n))


def _num(x: int | Fraction) -> int | float:
    if type(x) is int:
        return x
    return int(x) if x.denominator == 1 else float(x)


def input_field(shape: Shape, readers: Iterable[Op] = ()) -> Field | None:
    """A network input's field: each element sees itself; None without spatial axes. The
    input is channels first unless the layers reading it all take their channels from its
    last axis (`Op.channel_axis`: a linear, a layer norm): a channels-last map or a sequence
    of tokens, whose other axes are the grid."""
    n = len(shape) - 1
    if n <= 0:
        return None
    # ints until an upsampling makes a stride fractional (Fractions are ten times slower)
    axes = tuple(Axis(1, 1, 0, 1) for _ in range(n))
    ops = list(readers)
    if ops and all(op.channel_axis == -1 for op in ops):
        return Field(axes, layout=tuple((i,) for i in range(n)) + ((),))
    return Field(axes)


def compose(rule: rules.Rule, fields: list[Field | str | None]) -> Field | str | None:
    """The field of an operator's output from its rule and its inputs' fields."""
    if rule is rules.CONSTANT:
        return CONSTANT
    if type(rule) is rules.Merge:
        return _merge(fields, rule.gates)
    field = fields[0]
    if type(rule) is rules.Embed:
        return _embed(rule, field)
    for f in fields:
        if f is None:
            return None
    if field == CONSTANT:  # anything computed from a parameter alone
        return CONSTANT
    if isinstance(rule, rules.Unpool):  # the values' and the switches' fields, placed back
        if not all(isinstance(f, Field) for f in fields):
            return GLOBAL
        field = _union(fields)  # type: ignore[arg-type]
    if rule is rules.GLOBAL or not isinstance(field, Field):  # the input is already GLOBAL
        return GLOBAL
    if rule is rules.IDENTITY:
        return field
    relayout = _RELAYOUT.get(type(rule))
    if relayout is not None:
        return relayout(rule, field)
    if field.layout is not None or field.causal:  # a channels-first operator on another layout
        return _on_axes(rule, tuple(range(1, _rank(rule) + 1)), field, channels=True)
    return Field(tuple([_apply(rule, i, a) for i, a in enumerate(field.axes)]), field.aligned,
                 field.global_context)


def _merge(fields: list[Field | str | None],
           gates: tuple[int, ...] | None) -> Field | str | None:
    """Several inputs aligned elementwise: the union of their fields. A gate (SE's channel
    weights, GC's context) sees everything; the spatial paths keep their geometry and the field
    notes the global context. A global input that is no gate (attention's output, added to its
    input) makes the union global. A parameter (ViT's class token) adds nothing."""
    if gates is not None and any(f == GLOBAL and i not in gates for i, f in enumerate(fields)):
        return GLOBAL
    fields = [f for f in fields if f != CONSTANT]
    if not fields:
        return CONSTANT
    for f in fields:
        if f is None:
            return None
    spatial = [f for f in fields if isinstance(f, Field)]
    if not spatial:
        return GLOBAL
    if any(f.layout != spatial[0].layout for f in spatial[1:]):
        return None
    causal = _causal_union(spatial)
    if causal is not None:
        return causal
    return _union(spatial, global_context=len(spatial) < len(fields))


def _rank(rule: rules.Rule) -> int:
    """How many axes a channels-first geometric rule describes."""
    if isinstance(rule, (rules.Window, rules.Transposed)):
        return len(rule.kernel)
    if isinstance(rule, rules.Resample):
        return len(rule.scale)
    if isinstance(rule, rules.Spread):
        return len(rule.ratio)
    if isinstance(rule, rules.Shift):
        return len(rule.offset)
    raise AssertionError(rule)


def _relaid(field: Field, layout: Layout, axes: tuple[Axis, ...] | None = None) -> Field:
    """The field with a new layout (None again when it is channels first)."""
    standard = layout == channels_first(len(field.axes))
    return field._replace(axes=field.axes if axes is None else axes,
                          layout=None if standard else layout)


def _on_axes(rule: rules.Rule, tensor_axes: tuple[int, ...], field: Field,
             channels: bool = False) -> Field | None:
    """A geometric rule whose axis i is tensor axis `tensor_axes[i]`; None when such an axis
    carries several grid axes, or (`channels`) when the channel axis carries one."""
    layout = field.carried()
    if channels and layout[0]:
        return None
    axes = list(field.axes)
    for i, t in enumerate(tensor_axes):
        grid = layout[t]
        if len(grid) > 1:
            return None
        if grid:
            axes[grid[0]] = _apply(rule, i, axes[grid[0]])
    return field._replace(axes=tuple(axes), causal=False)


def _embed(rule: rules.Embed, field: Field | str | None) -> Field | str | None:
    """Token ids become vectors: the ids' axes are positions, each token sees itself."""
    if field is None:
        start = Axis(1, 1, 0, 1)
        return Field((start,) * rule.rank, layout=tuple((i,) for i in range(rule.rank)) + ((),))
    if not isinstance(field, Field):
        return field
    return _relaid(field, field.carried() + ((),))


def _permute(rule: rules.Permute, field: Field) -> Field:
    layout = field.carried()
    return _relaid(field, tuple(layout[i] for i in rule.order))


def _regroup(rule: rules.Regroup, field: Field) -> Field | None:
    """Merged axes carry all their grid axes; a split of an axis that carries positions is not
    followed (None)."""
    layout = field.carried()
    new: list[tuple[int, ...]] = [()] * rule.rank
    for old_axes, new_axes in rule.groups:
        carried = tuple(g for a in old_axes for g in layout[a])
        if len(new_axes) == 1:
            new[new_axes[0]] = carried
        elif carried:
            return None
    return _relaid(field, tuple(new))


def _select(rule: rules.Select, field: Field) -> Field | str:
    """The chosen element's grid axes are carried by no axis any more. The last token of a
    causal sequence has seen every token."""
    layout = field.carried()
    if field.causal and layout[rule.axis]:
        if rule.index == rule.length - 1:
            return GLOBAL
        field = field._replace(causal=False)
    return _relaid(field, layout[:rule.axis] + layout[rule.axis + 1:])


def _attend(rule: rules.Attend, field: Field) -> Field | str | None:
    """Each output reads a neighbourhood along some tensor axes: the union over the outputs.
    Global when every grid axis is read whole by every output."""
    if _is_causal(rule, field):
        if field.causal:  # tokens that saw all tokens before them, read up to itself: the same
            return field
        return field._replace(axes=(_spread(field.axes[0], rule.lo[0], 0, 1),), causal=True,
                              aligned=True)
    layout = field.carried()
    axes = list(field.axes)
    covered: set[int] = set()
    unknown = False
    for t, length, lo, hi, least in zip(rule.axes, rule.lengths, rule.lo, rule.hi, rule.least,
                                         strict=True):
        grid = layout[t]
        whole = lo == -(length - 1) and hi == length - 1 and least == length
        if whole:
            covered.update(grid)
        if len(grid) == 1:
            axes[grid[0]] = _spread(axes[grid[0]], lo, hi, least)
        elif grid:
            unknown = unknown or not whole  # a flattened axis read in part: not followed
    if len(covered) == len(axes):
        return GLOBAL
    if unknown or any(len(layout[t]) > 1 for t in rule.axes):
        return None
    changed = any(layout[t] for t in rule.axes)
    return field._replace(axes=tuple(axes), causal=field.causal and not changed)


def _is_causal(rule: rules.Attend, field: Field) -> bool:
    """Causal attention over the one grid axis of a token sequence whose tokens see nothing
    after themselves: token i then sees every token up to i (the field's bound is i - (T - 1)
    .. i, clipped at 0), and a second such layer sees no more."""
    if len(field.axes) != 1 or len(rule.axes) != 1 or field.layout is None:
        return False
    (t,), (length,), (lo,), (hi,) = rule.axes, rule.lengths, rule.lo, rule.hi
    axis = field.axes[0]
    return (field.layout[t] == (0,) and lo == 1 - length and hi == 0 and axis.stride == 1
            and (field.causal or axis.start + axis.size - 1 <= 0))


def _causal_union(fields: list[Field]) -> Field | None:
    """A causal field merged with fields that see nothing after their token (a residual) is
    that causal field; None when no input is causal that way."""
    causal = next((f for f in fields if f.causal), None)
    if causal is None:
        return None
    ahead = [f for f in fields if f is not causal and (
        len(f.axes) != 1 or not (f.causal or f.axes[0].start + f.axes[0].size - 1 <= 0))]
    return None if ahead else causal


def _spread(a: Axis, lo: int, hi: int, least: int) -> Axis:
    """The field after each output reads inputs i + lo .. i + hi (at least `least` of them)."""
    return Axis(a.size + (hi - lo) * a.stride, a.stride, a.start + lo * a.stride,
                a.min_size + (least - 1) * a.stride)


def _channels_last(rule: rules.OnAxes, field: Field) -> Field | None:
    return _on_axes(rule.rule, rule.axes, field)


def _normalize(rule: rules.Normalize, field: Field) -> Field:
    """Statistics over axes that carry the grid: the element's field, with global context."""
    layout = field.carried()
    if any(layout[t] for t in rule.axes):
        return field._replace(global_context=True)
    return field


def _reduce(rule: rules.Reduce, field: Field) -> Field | str | None:
    """Every output reads the whole axis; the axis then goes, as a selected one does."""
    read = _attend(rule.over, field)
    if rule.keep or not isinstance(read, Field):
        return read
    return _select(rules.Select(rule.axis, 0, rule.length), read)


_RELAYOUT = {rules.Permute: _permute, rules.Regroup: _regroup, rules.Select: _select,
             rules.Attend: _attend, rules.OnAxes: _channels_last, rules.Normalize: _normalize,
             rules.Reduce: _reduce}


def _apply(rule: rules.Rule, i: int, a: Axis) -> Axis:
    if isinstance(rule, rules.Window):
        k = rule.dilation[i] * (rule.kernel[i] - 1) + 1
        if a.phases is not None:
            return _axis(a.phases.window(k, rule.stride[i], rule.padding[i]))
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
    if isinstance(rule, rules.Spread):
        grow = (rule.hi[i] - rule.lo[i]) * a.stride
        return Axis(a.size + grow, a.stride * rule.ratio[i], a.start + rule.lo[i] * a.stride,
                    a.min_size + (rule.least[i] - 1) * a.stride)
    if isinstance(rule, rules.Shift):
        if a.phases is not None:
            return _axis(a.phases.window(1, 1, -rule.offset[i]))
        return Axis(a.size, a.stride, a.start + rule.offset[i] * a.stride, a.min_size)
    raise AssertionError(rule)


def _phases(a: Axis, s: int, windows: list[tuple[int, int]]) -> Axis:
    """The field after an upsampling by s whose output q*s + r reads inputs q+lo .. q+hi, with
    (lo, hi) = windows[r]. Output o's field is the union over the s phases, placed at o/s:
    every output's field lies inside it, and phases that are mirror images keep the centre
    where it is (the original U-Net's crops are centred). `min_size` is the smallest phase.
    The phases themselves are kept (`Axis.phases`) where the input's field is exact."""
    exact = _exact(a)
    upsampled = exact.upsampled(s, windows) if exact is not None else None
    if upsampled is not None:
        return _axis(upsampled)
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


def _exact(a: Axis) -> Phases | None:
    """The field's phases: one where every output sees alike a whole number of pixels;
    None after a resize by a fraction (the figures are then a continuous bound)."""
    if a.phases is not None:
        return a.phases
    if all(type(x) is int or x.denominator == 1 for x in (a.size, a.stride, a.start, a.min_size)):
        return regular(int(a.size), int(a.stride), int(a.start), int(a.min_size))
    return None


def _axis(exact: Phases) -> Axis:
    """The figures of an exact field: its one phase's, or the union over its phases, each
    placed at its own output's position (the stride the mean step between outputs)."""
    if exact.period == 1 and exact.seen[0] is not None:
        first, last, least = exact.seen[0]
        return Axis(last - first + 1, exact.advance, first, least)
    stride = Fraction(exact.advance, exact.period)
    placed = [(s[0] - r * stride, s[1] - r * stride, s[2])
              for r, s in enumerate(exact.seen) if s is not None]
    first = min(p[0] for p in placed)
    last = max(p[1] for p in placed)
    return Axis(_whole(last - first + 1), _whole(stride), _whole(first),
                min(p[2] for p in placed), exact)


def _whole(x: Fraction) -> int | Fraction:
    return int(x) if x.denominator == 1 else x


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
    return Field(tuple(axes), aligned, global_context, fields[0].layout)


def _union_axis(parts: tuple[Axis, ...]) -> tuple[Axis, bool]:
    """The union of the paths' fields along one axis, and whether they share centre and stride.

    One loop rather than a comprehension per figure: a merge every few layers makes this a hot
    path of deep networks. Ties keep the first path's value, as `min` and `max` do. Fields
    kept per phase are united per phase, where their strides agree."""
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
    if any(a.phases is not None for a in parts):
        exact = [_exact(a) for a in parts]
        united = union(exact) if None not in exact else None  # type: ignore[arg-type]
        if united is not None:
            return _axis(united), aligned
    return Axis(end - start, stride, start, min_size), aligned


# ---------------------------------------------------------------- over definitions


_new = tuple.__new__  # an Axis or a Field without NamedTuple's Python-level __new__ (hot path)


def square(field: Field | str | None) -> Field | str | None:
    """`field` with its two axes one object where they are equal (a square image's), so that
    `compose_relative` makes and places one axis for both. Equality is unchanged."""
    if type(field) is Field and len(field[0]) == 2:
        first, second = field[0]
        if first is not second and first == second:
            return field._replace(axes=(first, first))
    return field


def _placed_axis(b: Axis, r: Axis) -> Axis:
    """Axis `r` of a relative field, placed on axis `b` of its input's field."""
    bs, bj, b0, bm, bp = b
    rs, rj, r0, rm, rp = r
    if bp is not None or rp is not None:
        raise AssertionError("fields kept per phase are walked, not composed")
    return _new(Axis, (bs + (rs - 1) * bj, bj * rj, b0 + r0 * bj, bm + (rm - 1) * bj, None))


def compose_relative(base: Field | str | None, rel: Field | str | None) -> Field | str | None:
    """The field of a tensor whose field relative to a block's input is `rel` (computed from an
    input that sees only itself), when that input's own field is `base`.

    Every rule maps an input field affinely (sizes and starts grow by multiples of the input's
    stride), so composing relative fields equals walking the layers again: a block's fields are
    computed once per definition and placed at each call. `base` is a channels-first field
    (the analysis walks a definition from any other field instead), and `rel` the field of
    a walk from an input of that layout.
    """
    if type(base) is Field and type(rel) is Field:  # the common case first: a hot path
        b_axes, r_axes = base[0], rel[0]  # by index: NamedTuple's attributes cost a call
        if len(b_axes) == 2 and b_axes[0] is b_axes[1] and len(r_axes) == 2 \
                and r_axes[0] is r_axes[1]:  # a square image's (see `square`): placed once
            axis = _placed_axis(b_axes[0], r_axes[0])
            axes: tuple[Axis, ...] = (axis, axis)
        else:  # not strict: both are over the network input's grid axes
            axes = tuple([_placed_axis(b, r) for b, r in zip(b_axes, r_axes, strict=False)])
        return _new(Field, (axes, base[1] and rel[1], base[2] or rel[2], rel[3], False))
    if base is None:
        return None
    if rel == CONSTANT:  # a parameter, whatever the input
        return CONSTANT
    if not isinstance(base, Field):  # a field that is already global stays global
        return GLOBAL
    return None if rel is None else GLOBAL  # rel: a field already global
