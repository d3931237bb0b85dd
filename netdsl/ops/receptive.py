"""Receptive-field rules: what an operator does to the geometry of its inputs' receptive fields.

An operator returns one of these from `receptive_field`; `netdsl.analysis.receptive_field`
composes them along the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Rule:
    """Base of the rules."""


@dataclass(frozen=True)
class Window(Rule):
    """A sliding window per spatial axis: convolution, pooling."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]


@dataclass(frozen=True)
class Transposed(Rule):
    """A transposed convolution: stride divides the step between outputs."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]


@dataclass(frozen=True)
class Unpool(Transposed):
    """Max unpooling: output o receives the value of input q only if o lies in pooling window q,
    and whether it does depends on the switches, which the pooled map chose inside that window.
    So both the values (input 0) and the pooled map (input 1) reach o through the transposed
    window: the field is their union, then a transposed convolution's."""


@dataclass(frozen=True)
class Resample(Rule):
    """Upsampling by `scale` per axis; `extra` more input pixels seen (1 for bilinear), of which
    `before` lie before output 0's source pixel (bilinear without align_corners reads pixel -1,
    clamped, for output 0)."""

    scale: tuple[float, ...]
    extra: int = 0
    before: int = 0


@dataclass(frozen=True)
class Spread(Rule):
    """A resize by a fraction: along each axis, output i reads input pixels from
    i * ratio + lo to i * ratio + hi at most, and at least `least` of them. Made by `pooled`
    and `cornered` below, from the windows torch reads."""

    ratio: tuple[Fraction, ...]
    lo: tuple[Fraction, ...]
    hi: tuple[Fraction, ...]
    least: tuple[int, ...]


def pooled(x: tuple[int, ...], out: tuple[int, ...]) -> Window | Spread | Attend:
    """Pooling of a [C, *spatial] map x to `out`, adaptive or global. To 1 everywhere, each
    channel's every position (`mix`: global on an image, each token's own on the features of
    a sequence). Otherwise, from length L to o per axis, output i averages (or takes the
    maximum of) pixels floor(i * L / o) .. ceil((i + 1) * L / o) - 1. With L / o = p / q in
    lowest terms, i * L / o falls at every fraction k / q past a whole pixel, so the window
    starts at most (q - 1) / q before it and ends at most (p - 1) / q after it (p - 1 when q
    is 1, a plain window of p pixels)."""
    if all(o == 1 for o in out[1:]):
        return mix(tuple(range(1, len(x))), x)
    ratios = [Fraction(length, o) for length, o in zip(x[1:], out[1:], strict=True)]
    if all(r.denominator == 1 for r in ratios):
        k = tuple(int(r) for r in ratios)
        return Window(k, k, (0,) * len(k), (1,) * len(k))
    return Spread(tuple(ratios), tuple(Fraction(1 - r.denominator, r.denominator) for r in ratios),
                  tuple(Fraction(r.numerator - 1, r.denominator) for r in ratios),
                  tuple(-(-r.numerator // r.denominator) for r in ratios))


def cornered(sizes: list[tuple[int, int]]) -> Spread:
    """Linear resampling with align_corners from length L to o > 1 per axis: output i reads
    around i * (L - 1) / (o - 1), the two pixels on either side of it, or the one it falls on.
    With that ratio p / q in lowest terms the pair starts at most (q - 1) / q before it and
    ends at most as far after it."""
    ratios = [Fraction(length - 1, o - 1) for length, o in sizes]
    reach = tuple(Fraction(r.denominator - 1, r.denominator) for r in ratios)
    return Spread(tuple(ratios), tuple(-x for x in reach), reach, (1,) * len(ratios))


@dataclass(frozen=True)
class Shift(Rule):
    """Cropping: output index 0 is input index `offset`."""

    offset: tuple[int, ...]


@dataclass(frozen=True)
class _Identity(Rule):
    """Elementwise along the spatial axes."""


@dataclass(frozen=True)
class _Global(Rule):
    """Every output sees the whole input (global pooling)."""


@dataclass(frozen=True)
class Merge(Rule):
    """Several inputs aligned elementwise (add, mul, concat): the union of their fields.

    A global input among `gates` (a broadcast one, such as an SE gate [C, 1, 1]) leaves the
    other inputs' field, marked global context; any other global input makes the output global
    (a residual around attention). `gates` None: every global input is a gate (concat, where
    the global input's channels are apart from the others')."""

    gates: tuple[int, ...] | None = None


# One instance each: operators return these, and the analysis tells them apart by identity.
IDENTITY = _Identity()
GLOBAL = _Global()
MERGE = Merge()


# ---------------------------------------------------------------- tensors that are not images
#
# A field is kept per *grid axis*: the spatial axes of the network's input. A tensor's layout
# says which of its axes carry which grid axes: channels first ([C, H, W]: axis 0 carries none,
# axis i + 1 carries grid axis i) until a layout operator moves them, as permute ([H, W, C]),
# flatten ([C, H * W]: one axis carries grid axes 0 and 1) and reshape do. The rules below name
# tensor axes (batch excluded, counted from 0); `netdsl.analysis.receptive_field` maps them to
# grid axes through the layout.


@dataclass(frozen=True)
class Permute(Rule):
    """Output axis i is input axis order[i]."""

    order: tuple[int, ...]


@dataclass(frozen=True)
class Regroup(Rule):
    """A reshape that merges or splits runs of neighbouring axes: `groups` pairs the input axes
    with the output axes they become (axes of size 1 are in no group)."""

    groups: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]
    rank: int  # of the output


@dataclass(frozen=True)
class Select(Rule):
    """Element `index` of `axis` (of `length`) is taken and the axis removed."""

    axis: int
    index: int
    length: int


@dataclass(frozen=True)
class Embed(Rule):
    """Each input element becomes a vector on a new last axis; the input's axes are positions
    (a sequence of token ids)."""

    rank: int  # of the input


@dataclass(frozen=True)
class Attend(Rule):
    """Output position i along tensor axis `axes[k]` reads input positions i + lo[k] .. i + hi[k]
    at most, and every output reads at least `least[k]` of them: attention within windows
    (Swin), causal attention (lo = -(length - 1), hi = 0), or every position (`mix`: linear on
    the last axis, softmax along one, layer norm over trailing axes, attention over the tokens).
    The field is the union over the outputs, as after an upsampling, with the smallest output's
    as `min_size`; global when every grid axis is read whole."""

    axes: tuple[int, ...]
    lengths: tuple[int, ...]  # of those axes
    lo: tuple[int, ...]
    hi: tuple[int, ...]
    least: tuple[int, ...]


@dataclass(frozen=True)
class Normalize(Rule):
    """Each element is normalised by statistics over `axes` (negative: from the end): layer,
    group and instance norm. It keeps its own field and, where those axes carry the grid, sees
    the rest of the map only through the statistics, as through an SE gate: the field is kept
    and marked global context."""

    axes: tuple[int, ...]


@dataclass(frozen=True)
class Reduce(Rule):
    """A reduction along `axis` (of `length`): each output reads the whole axis (`over`), which
    is removed unless `keep`."""

    over: Attend
    axis: int
    length: int
    keep: bool


@dataclass(frozen=True)
class OnAxes(Rule):
    """A geometric rule (`Window`, ...) over chosen tensor axes instead of channels first's
    axes 1..n: a channels-last operator such as Swin's patch merging."""

    rule: Rule
    axes: tuple[int, ...]


@dataclass(frozen=True)
class _Constant(Rule):
    """The output depends on no input element: a learned parameter."""


CONSTANT = _Constant()


def regroup(before: tuple[int, ...], after: tuple[int, ...]) -> Regroup | None:
    """The grouping of a reshape from `before` to `after` (as torch's view pairs runs of axes
    with equal products); None when the element counts differ."""
    old = [i for i, d in enumerate(before) if d != 1]
    new = [i for i, d in enumerate(after) if d != 1]
    groups: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    i = j = 0
    while i < len(old) and j < len(new):
        take_old, take_new = [old[i]], [new[j]]
        a, b = before[old[i]], after[new[j]]
        i, j = i + 1, j + 1
        while a != b:
            if a < b and i < len(old):
                a *= before[old[i]]
                take_old.append(old[i])
                i += 1
            elif b < a and j < len(new):
                b *= after[new[j]]
                take_new.append(new[j])
                j += 1
            else:
                return None
        groups.append((tuple(take_old), tuple(take_new)))
    if i < len(old) or j < len(new):
        return None
    return Regroup(tuple(groups), len(after))


def mix(axes: tuple[int, ...], shape: tuple[int, ...]) -> Attend:
    """Every output reads the whole of each of `axes` (negative: from the end) of a tensor of
    `shape`."""
    axes = tuple(a + len(shape) if a < 0 else a for a in axes)
    lengths = tuple(shape[a] for a in axes)
    return Attend(axes, lengths, tuple(1 - n for n in lengths), tuple(n - 1 for n in lengths),
                  lengths)
