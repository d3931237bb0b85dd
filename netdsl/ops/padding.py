"""Padding of sliding windows (conv, pooling): symmetric, asymmetric and TensorFlow's SAME.

A `padding` attribute is an int (every side), one entry per spatial axis, each an int or a
`[before, after]` pair (Keras's ZeroPadding2D(((0, 1), (0, 1))) is `p=[[0, 1], [0, 1]]`),
`valid` (none) or `same`. `same` is TensorFlow's rule at every stride: the output has
ceil(L / stride) positions, and the total padding this needs, max((out - 1) * s + (k - 1) * d
+ 1 - L, 0), is split with the odd pixel after (bottom/right). At stride 1 this is also torch's
`padding="same"`; at a larger stride it depends on the input's size.
"""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.ops.base import Shape, per_axis, window_out


@dataclass(frozen=True)
class Pads:
    """Pixels added before and after each spatial axis, for one input size."""

    before: tuple[int, ...]
    after: tuple[int, ...]
    dynamic: bool = False  # SAME at a stride > 1: another input size needs other amounts

    @property
    def symmetric(self) -> bool:
        return self.before == self.after


def is_pair(value: object) -> bool:
    return isinstance(value, tuple)


def resolve(padding: object, x: Shape, kernel: tuple[int, ...], stride: tuple[int, ...],
            dilation: tuple[int, ...]) -> Pads:
    """The pads of a window of `kernel`/`stride`/`dilation` on an input of shape `x`."""
    n = len(kernel)
    if padding == "valid":
        return Pads((0,) * n, (0,) * n)
    if padding == "same":
        before, after = [], []
        for length, k, s, d in zip(x[1:], kernel, stride, dilation, strict=True):
            total = max((-(-length // s) - 1) * s + (k - 1) * d + 1 - length, 0)
            before.append(total // 2)
            after.append(total - total // 2)
        return Pads(tuple(before), tuple(after), dynamic=any(s > 1 for s in stride))
    sides = per_axis(padding, n, "padding")  # type: ignore[arg-type]
    before = tuple(p[0] if is_pair(p) else p for p in sides)
    after = tuple(p[1] if is_pair(p) else p for p in sides)
    return Pads(before, after)


def window_length(length: int, kernel: int, stride: int, before: int, after: int,
                  dilation: int = 1, ceil: bool = False) -> int:
    """Output length of a window over an axis padded by `before` and `after`.

    Symmetric padding follows torch's own rule (ceil_mode drops a last window that starts in
    the right padding); asymmetric padding is added to the input first (F.pad), as the
    PyTorch lowering does, and the window then slides over the padded input without padding.
    """
    if before == after:
        return window_out(length, kernel, stride, before, dilation, ceil)
    return window_out(length + before + after, kernel, stride, 0, dilation, ceil)
