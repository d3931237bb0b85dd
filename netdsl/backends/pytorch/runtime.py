"""Run-time pieces that torch.nn lacks: LeNet-5's connection-table convolution and
trainable subsampling, TensorFlow's SAME padding, cropping, L2 normalisation with a
learned scale, channel shuffle, stochastic depth, a permutation module, ConvNeXt's
channels-first layer norm, the causal mask of GPT's attention, Swin's shifted window
attention, and max unpooling in a form the exporters take.

Each definition here uses only `torch`, `nn` and `F`, because codegen copies the source
of the ones a network uses into the standalone model file (so the file imports only
torch), which is held to the generated files' lint: 88 columns.

The generated modules are traceable by torch.fx, as torchvision's are: a function
whose Python branches on its input's size at run time is `@torch.fx.wrap`ped (as
torchvision's shifted_window_attention is), which records it as one call.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F


class TableConv(nn.Module):
    """A convolution in which output map i sees only the input maps in table[i].

    Output maps are grouped by fan-in; each group gathers its input channels and runs
    one grouped convolution, so the module holds exactly the table's weights (no masked
    dense kernel).
    """

    def __init__(self, table: list[list[int]], kernel_size: int, stride: int = 1,
                 padding: int = 0, dilation: int = 1, bias: bool = True) -> None:
        super().__init__()
        fan_ins = sorted({len(row) for row in table})
        self.gathers: list[list[int]] = []
        maps: list[int] = []
        convs = []
        for fan_in in fan_ins:
            rows = [i for i, row in enumerate(table) if len(row) == fan_in]
            self.gathers.append([c for i in rows for c in table[i]])
            maps += rows
            convs.append(nn.Conv2d(fan_in * len(rows), len(rows), kernel_size,
                                   stride=stride, padding=padding, dilation=dilation,
                                   groups=len(rows), bias=bias))
        self.convs = nn.ModuleList(convs)
        self.order = [maps.index(i) for i in range(len(table))]

    def forward(self, x: Tensor) -> Tensor:
        parts = [conv(x[:, self.gathers[i]]) for i, conv in enumerate(self.convs)]
        return torch.cat(parts, dim=1)[:, self.order]


class Subsample(nn.Module):
    """LeNet-5's trainable subsampling: the sum of each window times one weight, plus
    one bias, per map."""

    def __init__(self, channels: int, kernel_size: int = 2) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.weight = nn.Parameter(torch.empty(channels))
        self.bias = nn.Parameter(torch.empty(channels))
        bound = 1 / math.sqrt(kernel_size * kernel_size)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        window = self.kernel_size * self.kernel_size
        total = F.avg_pool2d(x, self.kernel_size) * window
        return total * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class Permute(nn.Module):
    """Reorders the axes of x, the batch's included (as torchvision.ops.Permute), so
    that an nn.Sequential can move between channels first and channels last."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        return torch.permute(x, self.dims)


class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of each position of x [N, C, H, W] (ConvNeXt):
    the map is made channels last for F.layer_norm and put back."""

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


def causal_mask(x: Tensor) -> Tensor:
    """True where token i would attend to a later token: the mask of causal
    attention over the tokens of x [N, tokens, dim]."""
    length = x.shape[1]
    return x.new_ones(length, length, dtype=torch.bool).triu(1)


class ShiftedWindowAttention(nn.Module):
    """Multi-head self-attention within windows of a channels-last map x [N, H, W, C],
    the windows shifted cyclically by `shift`, with a learned bias per relative
    position in a window (Liu et al. 2021, Swin Transformer); the weights are named
    as torchvision's.

    The map is padded to whole windows; where one window covers an axis it is not
    shifted; the positions a shift wraps around attend only among themselves (a mask
    of -100)."""

    def __init__(self, dim: int, window: list[int], shift: list[int], heads: int,
                 bias: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        self.window, self.shift, self.heads = window, shift, heads
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim, bias=bias)
        self.proj = nn.Linear(dim, dim, bias=bias)
        rows, cols = window
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * rows - 1) * (2 * cols - 1), heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        r, c = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
        r, c = r.flatten(), c.flatten()
        dr = r[:, None] - r[None, :] + rows - 1  # row offset of two tokens, from 0
        dc = c[:, None] - c[None, :] + cols - 1
        index = (dr * (2 * cols - 1) + dc).flatten()
        self.register_buffer("relative_position_index", index)

    def forward(self, x: Tensor) -> Tensor:
        return shifted_window_attention(
            x, self.qkv.weight, self.qkv.bias, self.proj.weight, self.proj.bias,
            self.relative_position_bias_table, self.relative_position_index,
            self.window, self.shift, self.heads, self.dropout, self.training)


@torch.fx.wrap
def shifted_window_attention(x: Tensor, qkv_weight: Tensor, qkv_bias: Tensor | None,
                             proj_weight: Tensor, proj_bias: Tensor | None,
                             bias_table: Tensor, bias_index: Tensor, window: list[int],
                             shift: list[int], heads: int, dropout: float = 0.0,
                             training: bool = False) -> Tensor:
    """ShiftedWindowAttention's computation, from its weights (a function, as
    torchvision's, since its padding and shifts follow the map's size at run time)."""
    n, height, width, dim = x.shape
    rows, cols = window
    tokens = rows * cols
    pad_h, pad_w = -height % rows, -width % cols
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    ph, pw = height + pad_h, width + pad_w
    shift = [shift[0] if rows < ph else 0, shift[1] if cols < pw else 0]
    if any(shift):
        x = torch.roll(x, (-shift[0], -shift[1]), dims=(1, 2))
    x = x.view(n, ph // rows, rows, pw // cols, cols, dim).transpose(2, 3)
    x = F.linear(x.reshape(-1, tokens, dim), qkv_weight, qkv_bias)
    x = x.view(-1, tokens, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
    q, k, v = x.unbind(0)
    del x  # q, k and v hold it
    scores = (q * (dim // heads) ** -0.5) @ k.transpose(-2, -1)
    del q, k
    bias = bias_table[bias_index]
    scores += bias.view(tokens, tokens, -1).permute(2, 0, 1)
    del bias
    if any(shift):
        scores.view(n, -1, heads, tokens, tokens).add_(
            shift_mask((ph, pw), window, shift, scores)[None, :, None])
    scores = F.dropout(scores.softmax(-1), dropout, training)
    x = scores @ v
    del scores, v
    x = F.linear(x.transpose(1, 2).reshape(-1, tokens, dim), proj_weight, proj_bias)
    x = x.view(n, ph // rows, pw // cols, rows, cols, dim).transpose(2, 3)
    x = x.reshape(n, ph, pw, dim)
    if any(shift):
        x = torch.roll(x, (shift[0], shift[1]), dims=(1, 2))
    return x[:, :height, :width].contiguous() if pad_h or pad_w else x


def shift_mask(size: tuple[int, int], window: list[int], shift: list[int],
               like: Tensor) -> Tensor:
    """[windows, tokens, tokens]: -100 between positions of a window that the shift
    brought together from opposite edges of the map, else 0."""
    labels = []
    for length, extent, by in zip(size, window, shift, strict=True):
        region = torch.zeros(length, device=like.device)
        if by:
            region[length - extent:length - by] = 1
            region[length - by:] = 2
        labels.append(region)
    grid = labels[0][:, None] * 3 + labels[1][None, :]
    rows, cols = window
    grid = grid.view(size[0] // rows, rows, size[1] // cols, cols).transpose(1, 2)
    grid = grid.reshape(-1, rows * cols)
    apart = grid[:, None, :] != grid[:, :, None]
    return apart.to(like.dtype).mul_(-100.0)


def patch_merge(x: Tensor, factor: int) -> Tensor:
    """Gather each factor x factor patch of a channels-last map x [N, H, W, C] into
    the channels, the row offset fastest (Swin's patch merging); odd sizes are padded
    with zeros."""
    x = F.pad(x, (0, 0, 0, -x.shape[2] % factor, 0, -x.shape[1] % factor))
    offsets = [(row, col) for col in range(factor) for row in range(factor)]
    return torch.cat([x[:, row::factor, col::factor] for row, col in offsets], -1)


def run_layers(layers: nn.Sequential, x: Tensor) -> Tensor:
    """x through `layers` in turn, as `layers(x)` does, for a slice of a network's
    nn.Sequential (`self.backbone[:5]`): the slice is a new module, installed nowhere,
    which torch.fx cannot call; the layers it holds are the network's own."""
    for layer in layers:
        x = layer(x)
    return x


def center_crop(x: Tensor, size: list[int]) -> Tensor:
    """Crop the spatial axes of x to `size`, keeping the centre (U-Net's skips)."""
    for axis, length in enumerate(size):
        dim = axis + 2
        x = x.narrow(dim, (x.shape[dim] - length) // 2, length)
    return x


@torch.fx.wrap
def pad_same(x: Tensor, kernel_size: int | list[int], stride: int | list[int],
             dilation: int | list[int] = 1, value: float = 0.0) -> Tensor:
    """Pad the spatial axes of x as TensorFlow's SAME does, from x's own size (timm's
    Conv2dSame): a window of stride s then gives ceil(size / s) outputs, and an odd
    total puts its extra pixel after (bottom, right)."""
    sizes = x.shape[2:]
    n = len(sizes)
    kernel_size = [kernel_size] * n if isinstance(kernel_size, int) else kernel_size
    stride = [stride] * n if isinstance(stride, int) else stride
    dilation = [dilation] * n if isinstance(dilation, int) else dilation
    pads: list[int] = []
    for size, k, s, d in zip(reversed(sizes), reversed(kernel_size), reversed(stride),
                             reversed(dilation), strict=True):
        total = max((-(size // -s) - 1) * s + (k - 1) * d + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value)


@torch.fx.wrap
def avg_pool_valid(x: Tensor, kernel_size: int | list[int], stride: int | list[int],
                   pads: list[int] | None, ceil_mode: bool = False) -> Tensor:
    """Average pooling over padding that torch's own layer cannot add (`pads` in
    F.pad's order, or None for TensorFlow's SAME), dividing each window by its pixels
    inside the input (count_include_pad=False, as TensorFlow's average pooling does)."""
    n = x.dim() - 2
    pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[n - 1]
    ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
    if pads is None:
        x, ones = pad_same(x, kernel_size, stride), pad_same(ones, kernel_size, stride)
    else:
        x, ones = F.pad(x, pads), F.pad(ones, pads)
    return pool(x, kernel_size, stride, ceil_mode=ceil_mode) / pool(
        ones, kernel_size, stride, ceil_mode=ceil_mode)


def max_unpool(x: Tensor, indices: Tensor, size: torch.Size) -> Tensor:
    """F.max_unpool{1,2,3}d to `size`, the pooled input's spatial size: each value put
    back where its pool's `indices` took it from, zeros elsewhere. Written as the
    scatter it is because torch's own fails under torch.jit.trace (its size check reads
    a traced size) and has no ONNX form: this one exports to both."""
    shape = x.shape[:2] + size
    out = x.new_zeros(shape).flatten(2)
    return out.scatter_(2, indices.flatten(2), x.flatten(2)).view(shape)

def crop_at(x: Tensor, size: list[int], offset: list[int]) -> Tensor:
    """Crop the spatial axes of x to `size` from `offset` (Caffe's crop layer)."""
    for axis, (length, start) in enumerate(zip(size, offset, strict=True)):
        x = x.narrow(axis + 2, start, length)
    return x


class L2Norm(nn.Module):
    """L2 normalisation over the channels at each position, times a learned per-channel
    weight that starts at `scale` (ParseNet; SSD's conv4_3 starts it at 20)."""

    def __init__(self, channels: int, scale: float = 1.0, eps: float = 1e-12) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.full((channels,), float(scale)))

    def forward(self, x: Tensor) -> Tensor:
        shape = [1, -1] + [1] * (x.dim() - 2)
        return F.normalize(x, dim=1, eps=self.eps) * self.weight.view(shape)


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """Interleave the channels of `groups` groups (ShuffleNet)."""
    return x.unflatten(1, (groups, -1)).transpose(1, 2).flatten(1, 2)


def stochastic_depth(x: Tensor, p: float, mode: str = "row",
                     training: bool = False) -> Tensor:
    """Drop x per sample ("row") or as a whole ("batch") with probability p, in
    training."""
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    shape = [x.shape[0]] + [1] * (x.dim() - 1) if mode == "row" else [1] * x.dim()
    noise = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x * noise / keep if keep > 0.0 else x * noise


class StochasticDepth(nn.Module):
    """Drops its input per sample ("row") or as a whole ("batch") with probability p
    while training (Huang et al. 2016), as torchvision.ops.StochasticDepth."""

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        return stochastic_depth(x, self.p, self.mode, training=self.training)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round `value` to the nearest multiple of `divisor`, not below 90% of it (the rule
    of the MobileNet and EfficientNet reference code)."""
    new = max(divisor if min_value is None else min_value,
              int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def spec_str(value: object, inner: bool = False) -> str:
    """`str(value)` as netdsl writes values: a string as itself, `true`, `none`, and
    lists as `[1, "a", [true]]`, where Python's `str` writes `True`, `None` and
    `(1, 'a', (True,))`."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(spec_str(v, inner=True) for v in value) + "]"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        quoted = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}"' if inner else value
    return str(value)
