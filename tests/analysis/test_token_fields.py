"""Receptive fields of tensors that are not channels-first images, against autograd: the input
positions whose gradient is non-zero for one output element are the positions it reads.

A token of a flattened patch grid keeps its patch's field along both image axes; attention over
all tokens is global; causal attention reads tokens 0..i; Swin's window attention reads its
window (shifted windows: the part of it on the same side of the map's wrap-around), so the
field reported is the union over the outputs, with the smallest output's as min_size.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netdsl
from netdsl.analysis import analyse
from netdsl.ops.attention import _window_span


def field(body: str, shape: tuple[int, ...]):
    dims = ", ".join(map(str, shape))
    rf = netdsl.load(f"network n {{\n input x: [{dims}]\n{body}\n}}\n").stats().layers[-1].rf
    return rf if isinstance(rf, str) or rf is None else rf.as_dict()


def constant(module: nn.Module, value: float = 0.1) -> nn.Module:
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(value)
    return module.eval()


def read(model: nn.Module, shape: tuple[int, ...], index: tuple[int, ...]) -> torch.Tensor:
    """Which input elements output element `index` (batch excluded) depends on; weights of
    e^-100 (Swin's mask) count as none."""
    x = torch.ones(1, *shape, dtype=torch.float64, requires_grad=True)
    model.double()(x)[(0, *index)].sum().backward()
    return x.grad[0].abs() > 1e-30


class Tokens(nn.Module):
    """A conv patch embedding, flattened into a token sequence [tokens, dim]: ViT's stem."""

    def __init__(self, dim: int, patch: int, then: nn.Module):
        super().__init__()
        self.conv = nn.Conv2d(1, dim, patch, patch)
        self.then = then

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.then(self.conv(x).flatten(2).transpose(1, 2))


def test_a_token_sees_its_patch():
    """conv 4/4 -> flatten -> permute -> linear: token t of the 6 x 6 grid reads its 4 x 4
    patch; the field's stride is the patch's."""
    model = constant(Tokens(8, 4, nn.Linear(8, 8)))
    seen = read(model, (1, 24, 24), (2 * 6 + 3,))[0]  # the token at grid position (2, 3)
    rows, cols = seen.nonzero().unbind(1)
    assert (int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())) == (8, 11, 12, 15)
    rf = field("conv(8, 4, s=4) -> flatten(1) -> permute([1, 0]) -> linear(8)", (1, 24, 24))
    assert (rf["size"], rf["stride"], rf["padding"]) == ([4, 4], [4, 4], [0, 0])
    assert rf["layout"] == [[0, 1], []]


class _ChannelsLast(nn.Module):
    """A linear layer on a channels-last [H, W, C] map, then channels first and a 3x3 conv."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 4)
        self.conv = nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.linear(x).permute(0, 3, 1, 2))


def test_an_input_its_readers_take_on_the_last_axis_is_laid_out_channels_last():
    """A network input read by linear layers is a channels-last map (or a sequence of
    tokens): its last axis carries the channels, the others the grid. Read as channels first,
    the linear layer mixed the 'W' axis and the conv after the permute had no field."""
    seen = read(constant(_ChannelsLast()), (10, 10, 2), (0, 4, 5)).any(-1)
    rows, cols = seen.nonzero().unbind(1)
    assert (int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())) == (3, 5, 4, 6)
    rf = field("linear(4) -> permute([2, 0, 1]) -> conv(1, 3, p=1)", (10, 10, 2))
    assert (rf["size"], rf["stride"], rf["padding"]) == ([3, 3], [1, 1], [1, 1])
    assert "layout" not in rf  # channels first again
    assert field("linear(4)", (10, 10, 2))["layout"] == [[0], [1], []]
    tokens = field("linear(4)", (7, 2))  # each token's features alone
    assert (tokens["size"], tokens["layout"]) == ([1], [[0], []])
    assert field("conv(4, 3, p=1)", (2, 10, 10))["size"] == [3, 3]  # channels first


class _PreNorm(nn.Module):
    """A pre-norm residual on a sequence, after a dropout: how a transformer's encoder starts.
    The sum and the dropout read the input too, but indifferent to its layout."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.linear = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.dropout(x, 0.1, training=False)
        return x + self.linear(self.norm(x))


@pytest.mark.parametrize("body", [
    "dropout(0.1) -> add { identity; { layernorm -> linear(4) } }",
    "relu -> add { identity; { layernorm -> linear(4) } }",
    "add { identity; { layernorm -> linear(4) } }",
    "scale(-1) -> shift(1) -> add { identity; { layernorm -> linear(4) } }",  # 1 - x
    "b",  # the same inside a block, whose caller reads its output with a linear layer
])
def test_layers_indifferent_to_the_layout_let_the_layers_after_them_decide(body):
    """A residual sum, a dropout or an activation reads a sequence as it is: the layers after
    them tell its layout. Read as channels first, the sum made the linear layer mix the token
    axis, and each token's field was `global` (autograd: the token alone)."""
    seen = read(constant(_PreNorm(4)), (6, 4), (2, 0)).any(-1)
    assert seen.nonzero().flatten().tolist() == [2]
    spec = ("block b { add { identity; relu } }\n"
            f"network n {{\n input x: [6, 4]\n{body}\n linear(4)\n}}\n")
    network = netdsl.load(spec)
    for row in network.stats().layers[1:]:  # the analysis over the blocks
        assert row.rf.as_dict()["size"] == [1], (row.name, row.rf)
    analyse(network.graph)  # and over the flat layer graph
    assert [n.meta["rf"].layout for n in network.graph][-1] == ((0,), ())


class _Attend(nn.Module):
    def __init__(self, dim: int, causal: bool):
        super().__init__()
        self.causal = causal
        self.attention = nn.MultiheadAttention(dim, 2, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.causal:
            return self.attention(x, x, x, need_weights=False)[0]
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1], dtype=x.dtype)
        return self.attention(x, x, x, attn_mask=mask, need_weights=False)[0]


def test_attention_over_all_tokens_is_global():
    model = constant(Tokens(8, 4, _Attend(8, causal=False)))
    assert bool(read(model, (1, 16, 16), (0,)).all())
    assert field("conv(8, 4, s=4) -> flatten(1) -> permute([1, 0]) -> attention(2)",
                 (1, 16, 16)) == "global"


def test_causal_attention_reads_the_tokens_before():
    """Token i reads tokens 0..i: the window i - (T - 1) .. i clipped at 0, i.e. size T and
    padding T - 1; token 0 reads only itself (min_size 1). Tokens are ids embedded first. A
    second causal layer after a residual reads no more (the field is marked causal)."""
    tokens = 9
    model = nn.Sequential(_Embed(), _Attend(4, causal=True))
    constant(model)
    for i in (0, 4, 8):
        seen = read(model, (tokens, 4), (i,)).any(1)
        assert seen.nonzero().flatten().tolist() == list(range(i + 1))
    one = "embedding(50, 4) -> attention(2, causal=true)"
    rf = field(one, (tokens,))
    assert (rf["size"], rf["stride"], rf["padding"], rf["min_size"], rf["causal"]) == \
        ([tokens], [1], [tokens - 1], [1], True)
    two = field(f"{one}\nadd {{ identity; attention(2, causal=true) -> linear(4) }}", (tokens,))
    assert two == rf
    assert field(f"{one}\nselect(-1)", (tokens,)) == "global"  # the last token saw them all
    assert field(f"{one}\nattention(2)", (tokens,)) == "global"


class _Embed(nn.Module):
    """Stands for an embedding in the autograd probe: token i's vector depends on token i."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class _Windows(nn.Module):
    """Channels last: linear -> torchvision's shifted window attention -> linear."""

    def __init__(self, window: int, shift: int):
        super().__init__()
        from torchvision.models.swin_transformer import ShiftedWindowAttention
        self.embed = nn.Linear(1, 4)
        self.attention = ShiftedWindowAttention(4, [window, window], [shift, shift], 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention(self.embed(x.permute(0, 2, 3, 1))).sum(-1)


WINDOWS = [(14, 7, 0), (14, 7, 3), (12, 4, 2), (13, 4, 2), (10, 4, 0), (7, 7, 3), (9, 3, 1)]


@pytest.mark.parametrize("length, window, shift", WINDOWS)
def test_window_attention_reads_its_window(length, window, shift):
    """Every output along a row, probed: the span of offsets read and the fewest read equal the
    rule's, including the windows the shift wraps around and a map padded to whole windows."""
    model = constant(_Windows(window, shift))
    middle = length // 2
    offsets, counts = [], []
    for i in range(length):
        seen = read(model, (1, length, length), (middle, i))[0, middle]
        where = seen.nonzero().flatten()
        offsets += [int(where.min()) - i, int(where.max()) - i]
        counts.append(len(where))
    padded = -(-length // window) * window
    shift_kept = shift if window < padded else 0
    assert (min(offsets), max(offsets), min(counts)) == \
        _window_span(length, window, shift_kept, padded)
    rf = field(f"permute([1, 2, 0]) -> linear(4) -> window_attention(2, {window}, "
               f"shift={shift})", (1, length, length))
    whole = min(counts) == length
    if whole:
        assert rf == "global"
    else:
        assert rf["size"][1] == max(offsets) - min(offsets) + 1
        assert rf["padding"][1] == -min(offsets) and rf["min_size"][1] == min(counts)


def test_two_windowed_layers_widen_the_field():
    """A shifted-window layer after a plain one reads the windows its window's tokens read:
    the union grows by the second layer's span, as two stacked convolutions' does."""
    one = field("permute([1, 2, 0]) -> window_attention(2, 4)", (4, 16, 16))
    two = field("permute([1, 2, 0]) -> window_attention(2, 4) -> "
                "window_attention(2, 4, shift=2)", (4, 16, 16))
    assert one["size"] == [7, 7] and two["size"] == [13, 13]
    assert two["min_size"] == [4 + 2 - 1] * 2


def test_a_split_of_flattened_positions_is_not_followed():
    """Reshaping a flattened grid back into rows and columns is not traced: no field rather
    than a wrong one."""
    assert field("flatten(1) -> reshape([4, 4, 2])", (2, 4, 4)) is None
    assert field("flatten(1) -> permute([1, 0])", (2, 4, 4))["layout"] == [[0, 1], []]
