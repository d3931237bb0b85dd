"""Attention: multi-head self-attention over a token sequence (ViT, GPT-2), and Swin's shifted
window attention over a channels-last map.

MACs count what torch multiplies, as FlopCounterMode counts it: the input projections (q, k
and v), the two attention products (q k^T and the weighted sum of v, heads x queries x keys x
head dim each) and the output projection. A causal mask does not reduce them (the kernels and
FlopCounterMode's formula compute the full products). Elementwise FLOPs: bias additions, the
scaling of q, the softmax (3 per score), Swin's position bias (1 per score).

Memory: `attention` is lowered to torch's fused scaled_dot_product_attention, which need not
materialise the [heads, tokens, tokens] matrix: none is counted (`memory_note` says so, and
`netdsl stats` prints it). In a training step it keeps what nn.MultiheadAttention's fused path
keeps, and its backward's busiest moment is counted (exact for what autograd keeps, and the
step within 4% of torch's, in tests/analysis/test_training.py).
`window_attention` computes its scores explicitly, as torchvision does; its workspace is what
the compiled module's implementation holds at its busiest (the windows' q, k and v, the scores
and the copies torch's matmul makes), step by step, and in a training step it keeps what those
steps keep for backward.
"""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.errors import SpecError
from netdsl.notation import shape_text
from netdsl.ops import receptive as rf
from netdsl.ops.base import Op, ShapeError, attr, per_axis


def _heads_divide(op: str, dim: int, heads: int) -> None:
    if dim % heads:
        raise ShapeError(f"{op} with {heads} heads needs a width divisible by {heads}, got "
                         f"{dim}")


@dataclass(frozen=True)
class Attention(Op):
    """Multi-head self-attention over the tokens of a [tokens, dim] sequence."""

    name = "attention"
    channel_axis = -1
    family = "attention"

    heads: int = attr(kind="size")
    causal: bool = attr(False, kind="bool", doc="token i attends to tokens 0..i only (GPT)")
    bias: bool = attr(True, kind="bool", doc="biases of the projections")
    dropout: float = attr(0.0, kind="prob", doc="on the attention weights, while training")

    def infer_shape(self, inputs):
        (x,) = inputs
        if len(x) != 2:
            raise ShapeError("attention needs a sequence [tokens, dim], got "
                             f"{shape_text(x, 'list')}")
        _heads_divide("attention", x[1], self.heads)
        return x

    def params(self, inputs, out):
        d = inputs[0][1]
        return 4 * d * d + (4 * d if self.bias else 0)

    def macs(self, inputs, out):
        t, d = inputs[0]
        return 4 * t * d * d + 2 * t * t * d  # q, k, v and output projections; q k^T and a v

    def flops(self, inputs, out):
        t, d = inputs[0]
        return (4 * t * d if self.bias else 0) + t * d + 3 * self.heads * t * t

    def receptive_field(self, inputs, out):
        t = inputs[0][0]
        if self.causal:
            return rf.Attend((0,), (t,), (1 - t,), (0,), (1,))
        return rf.mix((0,), inputs[0])

    def saved(self, inputs, out):
        return ()  # the input projection keeps a copy of it, made inside (`saved_inside`)

    def saved_inside(self, inputs, out):
        """What autograd keeps of nn.MultiheadAttention's fused path (batch first, weights
        not returned): the input projection's copy of its input (tokens first), q, k and v
        (one tensor), the attention's output (which the output projection reads as is) and
        the kernel's log-sum-exp, one per head and query."""
        t, d = inputs[0]
        return t * d + 3 * t * d + t * d + self.heads * t

    def backward_peak(self, inputs, out):
        """The busiest step: the gradients of q, k and v, each put back into a [3, tokens,
        dim] tensor of zeros where the forward selected it, and summed (buffer, addend and
        sum), one of the three still waiting; the kernel has freed q, k, v, its output and its
        log-sum-exp, and only the output projection's weights have gradients."""
        t, d = inputs[0]
        return 10 * t * d - (4 * t * d + self.heads * t), d * d + (d if self.bias else 0)

    memory_note = ("[heads, tokens, tokens] matrices not counted: the fused kernel "
                   "(scaled_dot_product_attention) need not materialise them")

    def summary(self, inputs):
        return f"attention {self.heads} heads" + (", causal" if self.causal else "")


@dataclass(frozen=True)
class WindowAttention(Op):
    """Swin's multi-head self-attention within windows of a channels-last [H, W, C] map, the
    windows shifted cyclically by `shift`, with a learned relative position bias."""

    name = "window_attention"
    channel_axis = -1
    family = "attention"

    heads: int = attr(kind="size")
    window: int | tuple[int, ...] = attr(7, kind="ints", doc="window size")
    shift: int | tuple[int, ...] = attr(0, kind="padding", doc="cyclic shift (0: none)")
    bias: bool = attr(True, kind="bool", doc="biases of the projections")
    dropout: float = attr(0.0, kind="prob", doc="on the attention weights, while training")

    def validate(self) -> None:
        if isinstance(self.shift, str):
            raise SpecError("'window_attention' shift must be an int or a list of ints", "type")
        for name, value in (("window", self.window), ("shift", self.shift)):
            if isinstance(value, tuple) and len(value) != 2:
                raise SpecError(f"'window_attention' {name} takes one value, or two (rows and "
                                f"columns), got {len(value)}", "arg")
        windows, shifts = per_axis(self.window, 2, "window"), per_axis(self.shift, 2, "shift")
        if any(s >= w for s, w in zip(shifts, windows, strict=True)):
            raise SpecError(f"'window_attention' shift {self.shift} must be smaller than the "
                            f"window {self.window}", "arg", help="Swin shifts by window // 2")

    def geometry(self, shape: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
        """Window, shift and padded size per axis, as torchvision computes them: the map is
        padded to whole windows, and an axis that one window covers is not shifted."""
        windows, shifts = per_axis(self.window, 2, "window"), per_axis(self.shift, 2, "shift")
        padded = tuple(-(-n // w) * w for n, w in zip(shape[:2], windows, strict=True))
        shifts = tuple(0 if w >= p else s for w, p, s in zip(windows, padded, shifts, strict=True))
        return windows, shifts, padded

    def infer_shape(self, inputs):
        (x,) = inputs
        if len(x) != 3:
            raise ShapeError(f"window_attention needs a channels-last map [H, W, C], got "
                             f"{shape_text(x, 'list')}")
        _heads_divide("window_attention", x[2], self.heads)
        return x

    def params(self, inputs, out):
        c = inputs[0][2]
        wh, ww = per_axis(self.window, 2, "window")
        table = (2 * wh - 1) * (2 * ww - 1) * self.heads
        return 4 * c * c + (4 * c if self.bias else 0) + table

    def buffers(self, inputs, out):
        wh, ww = per_axis(self.window, 2, "window")
        return (wh * ww) ** 2  # relative_position_index, one entry per pair of window tokens

    def _sizes(self, inputs) -> tuple[int, int, int]:
        """(tokens of the padded map, tokens of a window, channels)."""
        windows, _, padded = self.geometry(inputs[0])
        return padded[0] * padded[1], windows[0] * windows[1], inputs[0][2]

    def macs(self, inputs, out):
        tokens, n, c = self._sizes(inputs)
        return 4 * tokens * c * c + 2 * tokens * n * c

    def flops(self, inputs, out):
        tokens, n, c = self._sizes(inputs)
        scores = tokens * n * self.heads
        return (4 * tokens * c if self.bias else 0) + tokens * c + 4 * scores

    def workspace(self, inputs, out):
        """What the compiled module's ShiftedWindowAttention holds at its busiest beyond its
        output, step by step as it runs (elements; P a map of the padded size, S the scores
        of every window and head). A copy is counted where torch makes one: reshaping the
        windows out of the map (unless one window spans its width), matmul's copies of q, k
        and v (windows and heads both more than one) and the heads' merge (several heads).
        Exact against torch's live storage at batch 1 (tests/analysis/test_memory.py)."""
        (h, w, c), heads = inputs[0], self.heads
        (rows, cols), shifts, (ph, pw) = self.geometry(inputs[0])
        n, map_tokens = rows * cols, ph * pw
        windows, p, x = map_tokens // n, map_tokens * c, h * w * c
        s = windows * heads * n * n
        pad, shift = (ph, pw) != (h, w), any(shifts)
        window_copy = 0 if pw == cols or rows == 1 else p
        matmul_copy = p if windows > 1 and heads > 1 else 0
        steps = [
            (p if pad else 0) + (p if shift else 0),  # padded, then rolled
            (p if pad or shift else 0) + window_copy + 3 * p,  # the windows' q, k and v
            4 * p + (2 if n > 1 else 1) * matmul_copy + s,  # scaled q, its and k's copies
            3 * p + s + n * n * heads,  # the position bias, gathered
            3 * p + 2 * s,  # the softmax
            4 * p + s + matmul_copy,  # the weighted sum of v (and v's copy)
            2 * p + (p if heads > 1 else 0),  # the heads merged, projected
            p + window_copy,  # the windows put back into the map
            2 * p if shift else 0,  # rolled back
            p + x if pad else 0,  # cropped
        ]
        if shift:  # the mask: two label vectors, a label grid (and its copy), [windows, n, n]
            mask = windows * n * n  # of floats, and of booleans (a byte each)
            steps.append(3 * p + s + ph + pw + max(ph + map_tokens, map_tokens + window_copy // c,
                                                   map_tokens + mask + -(-mask // 4)))
        return max(0, max(steps) - x)

    def _windows_copied(self, inputs) -> bool:
        """Whether the projection of q, k and v reads a tensor made here (the map padded,
        rolled or its windows copied out) rather than a view of the input."""
        (h, w, _), ((rows, cols), shifts, (ph, pw)) = inputs[0], self.geometry(inputs[0])
        return (ph, pw) != (h, w) or any(shifts) or not (pw == cols or rows == 1)

    def saved(self, inputs, out):
        return () if self._windows_copied(inputs) else ("inputs",)

    def saved_inside(self, inputs, out):
        """What autograd keeps of the compiled module in a training step (batch above one):
        the windows the projection reads (if not a view of the input), the scaled q, k and v
        (copies for matmul with several heads, else the projection's output that k and v
        view), the softmax of the scores, and the heads' output the last projection reads."""
        tokens, n, c = self._sizes(inputs)
        p, scores = tokens * c, tokens * n * self.heads
        keys_values = 2 * p if self.heads > 1 else 3 * p
        return (p if self._windows_copied(inputs) else 0) + p + keys_values + scores + p

    def receptive_field(self, inputs, out):
        windows, shifts, padded = self.geometry(inputs[0])
        spans = [_window_span(n, w, s, p) for n, w, s, p in
                 zip(inputs[0][:2], windows, shifts, padded, strict=True)]
        return rf.Attend((0, 1), tuple(inputs[0][:2]), tuple(s[0] for s in spans),
                         tuple(s[1] for s in spans), tuple(s[2] for s in spans))

    def summary(self, inputs):
        window = self.window if isinstance(self.window, int) else "x".join(map(str, self.window))
        shift = self.shift if isinstance(self.shift, int) else max(self.shift)
        return f"{self.name} {window}, {self.heads} heads" + (
            f", shift {self.shift}" if shift else "")


def _window_span(length: int, window: int, shift: int, padded: int) -> tuple[int, int, int]:
    """Along one axis of `length` positions: the offsets (lo, hi) relative to each output that
    the union of what the outputs read spans, and the fewest positions an output reads.

    The map is padded to `padded` (whole windows) and rolled back by `shift`; torchvision's mask
    keeps the positions the roll wrapped around from attending to the others. So the axis is cut
    into intervals that attend within themselves: [0, shift), then windows of `window` from
    `shift`, the last of them window - shift long; padding is no position."""
    if not shift:
        sizes = ({window} if length >= window else set()) | (
            {length % window} if length % window else set())
    else:  # a shift is kept only where there are two windows or more, so length > window
        whole = min((length - shift) // window, padded // window - 1)
        rest = length - shift - whole * window
        sizes = {shift} | ({window} if whole else set()) | ({rest} if rest else set())
    widest = max(sizes)
    return 1 - widest, widest - 1, min(sizes)
