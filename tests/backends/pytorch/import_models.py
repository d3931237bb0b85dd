"""Small PyTorch models for `netdsl import`'s tests: one that imports, one with a call no
operator describes, one torch.fx cannot trace, one whose auxiliary head is never called."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torchvision.models.detection.fcos import FCOSHead
from torchvision.models.detection.retinanet import RetinaNetHead


class Residual(nn.Module):
    def __init__(self, c: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c * stride, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c * stride)
        self.down = nn.Conv2d(c, c * stride, 1, stride=stride) if stride > 1 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x if self.down is None else self.down(x)
        return torch.relu(self.bn(self.conv(x)) + skip)


class TinyNet(nn.Module):
    def __init__(self, width: int = 8, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.stage1 = nn.Sequential(*[Residual(width) for _ in range(3)])
        self.stage2 = nn.Sequential(Residual(width, 2), Residual(width * 2), Residual(width * 2))
        self.head = nn.Linear(width * 2, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage2(self.stage1(self.stem(x)))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class Unmapped(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.erfinv(torch.sigmoid(self.conv(x)) * 0.5)
        return torch.special.i0(y)


class Branchy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Sequential(nn.Conv2d(3, 8, 3), Gate())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


class Gate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return x
        return -x


class WithAux(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.aux = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.training:
            return self.aux(y.mean((2, 3)))
        return y


def tiny_net(width: int = 8) -> TinyNet:
    return TinyNet(width)


class Unit(nn.Module):
    """A residual unit whose shortcut is its input unless the caller gives another (timm's
    DlaBasic): its instances take one tensor or two."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor, shortcut: torch.Tensor | None = None) -> torch.Tensor:
        if shortcut is None:
            shortcut = x
        return torch.relu(self.bn(self.conv(x)) + shortcut)


class Root(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, maps: list[torch.Tensor]) -> torch.Tensor:
        return torch.relu(self.conv(torch.cat(maps, 1)))


class Tree(nn.Module):
    """timm's DlaTree in small: two units and a root over their maps, or (levels=2) a tree of
    two trees, the second taking the maps the first level passes down."""

    def __init__(self, levels: int, c_in: int, c_out: int, stride: int = 1,
                 level_root: bool = False, root_in: int = 0) -> None:
        super().__init__()
        root_in = (root_in or 2 * c_out) + (c_in if level_root else 0)
        self.downsample = nn.MaxPool2d(stride) if stride > 1 else nn.Identity()
        self.project = nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False),
                                     nn.BatchNorm2d(c_out)) if c_in != c_out else nn.Identity()
        if levels == 1:
            self.tree1, self.tree2 = Unit(c_in, c_out, stride), Unit(c_out, c_out)
            self.root: Root | None = Root(root_in, c_out)
        else:
            self.project = nn.Identity()
            self.tree1 = Tree(1, c_in, c_out, stride)
            self.tree2 = Tree(1, c_out, c_out, root_in=root_in + c_out)
            self.root = None
        self.level_root = level_root

    def forward(self, x: torch.Tensor, shortcut: torch.Tensor | None = None,
                children: list[torch.Tensor] | None = None) -> torch.Tensor:
        children = [] if children is None else children
        bottom = self.downsample(x)
        if self.level_root:
            children.append(bottom)
        x1 = self.tree1(x, self.project(bottom))
        if self.root is not None:
            return self.root([self.tree2(x1), x1] + children)
        children.append(x1)
        return self.tree2(x1, None, children)


class TreeNet(nn.Module):
    """Deep layer aggregation in small: trees of one and two levels."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.level1 = Tree(1, 8, 16, stride=2)
        self.level2 = Tree(2, 16, 32, stride=2, level_root=True)
        self.level3 = Tree(1, 32, 32, level_root=True)
        self.fc = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.level3(self.level2(self.level1(self.stem(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class Network(nn.Module):
    """Python names that are reserved words of the language: the class, its input, a module."""

    def __init__(self) -> None:
        super().__init__()
        self.input = nn.Conv2d(3, 8, 3)

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 - the point
        return self.input(input)


class Tower(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


class Fuse(nn.Module):
    """Two tensors in: called at two sites with its tensors swapped."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * torch.sigmoid(y)


class Twice(nn.Module):
    """A convolution applied twice inside a module class used twice."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.relu(self.conv(x)))


class Siamese(nn.Module):
    """One tower (and one projection) applied to two images, their features compared."""

    def __init__(self) -> None:
        super().__init__()
        self.tower = Tower()
        self.proj = nn.Conv2d(8, 8, 1)
        self.fuse = Fuse()
        self.refine = nn.Sequential(Twice(8), Twice(8))
        self.head = nn.Linear(32, 2)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        fa, fb = self.tower(a), self.tower(b)
        pa, pb = self.proj(fa), self.proj(fb)
        ab, ba = self.fuse(pa, fb), self.fuse(pb, fa)
        x = self.refine(ab + ba)
        pooled = torch.cat([x, fa, fb, pa], 1).mean((2, 3))
        return self.head(pooled)


class Looped(nn.Module):
    """Items of a module list and a module dict called by the model's own forward."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3)
        self.layers = nn.ModuleList([nn.Conv2d(8, 8, 3, padding=1) for _ in range(3)])
        self.heads = nn.ModuleDict({"a": nn.Conv2d(8, 4, 1), "b": nn.Conv2d(8, 4, 1)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.layers:
            x = torch.relu(layer(x))
        return self.heads["a"](x) + self.heads["b"](x)


class Interleaved(nn.Module):
    """The items of two module lists called in turn (HRNet's head)."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ModuleList([nn.Conv2d(3, 3, 1) for _ in range(2)])
        self.down = nn.ModuleList([nn.Conv2d(3, 3, 1) for _ in range(2)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for up, down in zip(self.up, self.down, strict=True):
            x = down(up(x))
        return x


class Holder(nn.Module):
    def __init__(self, conv: nn.Module) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class HeldTwice(nn.Module):
    """One convolution held, and called, by two modules."""

    def __init__(self) -> None:
        super().__init__()
        conv = nn.Conv2d(3, 3, 1)
        self.a, self.b = Holder(conv), Holder(conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


class Dashed(nn.Module):
    """Children numbered after a dash, as torchvision's RegNet names its blocks ("block1-0")."""

    def __init__(self) -> None:
        super().__init__()
        self.stage = nn.Sequential(OrderedDict(
            (f"block1-{i}", nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1)) for i in range(4)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stage(x)


class PresetConv(nn.Conv2d):
    """An nn.Conv2d that only presets its arguments (torchvision's Conv3DSimple, 3D)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, 3, padding=1, bias=False)

    @staticmethod
    def stride_of(stride: int) -> int:
        return stride


class ScaledConv(nn.Conv2d):
    """An nn.Conv2d whose forward is its own: not an nn.Conv2d's operator."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * 2


class Subclassed(nn.Module):
    def __init__(self, scaled: bool = False) -> None:
        super().__init__()
        self.conv = ScaledConv(3, 8, 3) if scaled else PresetConv(3, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x))


class ComputedSlice(nn.Module):
    """A slice whose bound the forward computes from a shape (PiT's `x[:, :token_length]`)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        half = x.shape[1] // 2
        return x[:, :half] + x[:, half:]


class Pooled1d(nn.Sequential):
    """Pooling over one axis (NextViT's AvgPool1d once crashed the importer: that class has no
    `divisor_override`)."""

    def __init__(self) -> None:
        super().__init__(nn.Conv1d(4, 8, 3, padding=1), nn.ReLU(), nn.AvgPool1d(2),
                         nn.MaxPool1d(2), nn.Conv1d(8, 8, 1))


class InterpolatedToOneSize(nn.Module):
    """`F.interpolate(x, size=20)`: one int for every axis (a TypeError in the importer)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.interpolate(self.conv(x), size=20, mode="nearest")


class Returning(nn.Module):
    """Outputs a spec cannot say: the input itself, or one tensor twice."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y = self.conv(x)
        return (x, y) if self.what == "input" else (y, y)


class OverwrittenThenRead(nn.Module):
    """`relu(x, inplace=True)` and then `x` again: torch adds relu(2x) to itself."""

    def __init__(self, module: bool) -> None:
        super().__init__()
        self.module = module
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * 2.0
        y = self.act(x) if self.module else nn.functional.relu(x, inplace=True)
        return y + x


class _Inner(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.ReLU()
        self.p = nn.Parameter(torch.randn(1, 4, 8, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.a(x), self.p + x], 1)


class _Mid(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = _Inner()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


class LabelsAtTwoDepths(nn.Module):
    """`a` at two depths: the spec read `from b.a` inside `b.b`, meaning Mid's conv, which
    resolves to the ReLU `b.b.a`; the spec loaded, took the weights and computed other
    numbers (found by fuzzing the importer)."""

    def __init__(self) -> None:
        super().__init__()
        self.b = _Mid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(x)


def _tower(c: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU())


class ConvOnTwo(nn.Module):
    """A child named as an operator (`conv`, as torchvision's FCOS and RetinaNet heads name
    their towers) called on two inputs, and a convolution called on both after it: the
    shared `conv` hid the operator from the declaration of `out`."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = _tower(4)
        self.out = nn.Conv2d(4, 2, 1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.out(self.conv(a)), self.out(self.conv(b))


class ConvTwice(nn.Module):
    """A child named `conv` applied twice, then a convolution of the model's own."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = _tower(4)
        self.out = nn.Conv2d(4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.conv(self.conv(x)))


class _Head(nn.Module):
    """Layers without a forward: the model's forward calls them."""

    def __init__(self) -> None:
        super().__init__()
        self.tower = _tower(4)
        self.logits = nn.Conv2d(4, 2, 1)


class TwoHeadsOnTwo(nn.Module):
    """Two heads, each applied to two inputs by the model's forward: each head's outputs are
    named in its group (`logits_2`, `logits_3`), and the second head's names must not be the
    first's again."""

    def __init__(self) -> None:
        super().__init__()
        self.head = _Head()
        self.other = _Head()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(h.logits(h.tower(x)) for h in (self.head, self.other) for x in (a, b))


class EachOutput(nn.Module):
    """The output of every item of a module list, as SSD's extra layers return them."""

    def __init__(self) -> None:
        super().__init__()
        self.extra = nn.ModuleList([nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 3, stride=2)])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for block in self.extra:
            x = block(x)
            outs.append(x)
        return tuple(outs)


class FcosLevels(FCOSHead):
    """torchvision's FCOS head applied to each level by the model's forward: every tower and
    predictor is called five times (the `conv` towers of both heads too), and its outputs are
    the levels' maps."""

    def __init__(self) -> None:
        super().__init__(64, 1, 5)

    def forward(self, p3: torch.Tensor, p4: torch.Tensor,  # type: ignore[override]
                p5: torch.Tensor) -> tuple[torch.Tensor, ...]:
        c, r = self.classification_head, self.regression_head
        levels = (p3, p4, p5)
        outs = [c.cls_logits(c.conv(x)) for x in levels]
        for x in levels:
            t = r.conv(x)
            outs += [torch.relu(r.bbox_reg(t)), r.bbox_ctrness(t)]
        return tuple(outs)


class RetinaLevels(RetinaNetHead):
    """torchvision's RetinaNet head, its own forward, on three levels."""

    def __init__(self) -> None:
        super().__init__(32, 9, 5)

    def forward(self, p3: torch.Tensor, p4: torch.Tensor,  # type: ignore[override]
                p5: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        found = super().forward([p3, p4, p5])
        return found["cls_logits"], found["bbox_regression"]


class OverTheBatch(nn.Module):
    """A call over the batch axis (dim 0), which mixes the samples: the spec said the same
    call over the channels, which agrees at batch 1, where the import checked itself."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.score = nn.Conv2d(3, 1, 1)
        self.softmax, self.flatten = nn.Softmax(dim=0), nn.Flatten(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.how == "softmax":
            return x * torch.softmax(self.score(x), dim=0)
        if self.how == "cat":
            return torch.cat([x, x * self.score(x)], dim=0)
        if self.how == "module":
            return self.softmax(self.score(x))
        return self.flatten(self.score(x))


class ReturnedInOrder(nn.Module):
    """`return logits, features`: the outputs in the order the forward returns them, nested
    in tuples and dicts too."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x: torch.Tensor) -> object:
        f = self.conv(x)
        if self.how == "swapped":
            return torch.sigmoid(f), f
        if self.how == "nested":
            return f, (torch.relu(f), torch.sigmoid(f))
        return {"features": f, "heads": (torch.sigmoid(f), torch.relu(f))}


class Swapped(nn.Module):
    """Some of the tensors chunk() returns, taken as items or concatenated as they are."""

    def __init__(self, listed: bool) -> None:
        super().__init__()
        self.listed = listed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.listed:
            a, b = torch.relu(x).chunk(3, dim=1)[1:]
            return torch.cat([b, a], dim=1)
        return torch.cat(torch.relu(x).chunk(2, dim=1)[::-1], dim=1)


class NamedLikeTheInput(nn.Module):
    """A child named as the forward's input (`self.x` in `forward(self, x)`)."""

    def __init__(self) -> None:
        super().__init__()
        self.x = nn.Conv2d(3, 4, 1)
        self.input_ = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.input_(self.x(x))


class TiedAutoencoder(nn.Module):
    """The decoder uses the encoder's weight (one tensor); `conv` ties two convolutions, which
    the language cannot."""

    def __init__(self, conv: bool = False) -> None:
        super().__init__()
        kind, c = (nn.Conv2d, (4, 4, 1)) if conv else (nn.Linear, (16, 16))
        self.enc, self.dec = kind(*c, bias=False), kind(*c)
        self.dec.weight = self.enc.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dec(torch.relu(self.enc(x)))


class PooledWithIndices(nn.Module):
    """`y, _ = pool(x)`: only the pooled map is read; an LSTM's states are not."""

    def __init__(self, lstm: bool = False) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.rnn = nn.LSTM(8, 8, batch_first=True) if lstm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rnn is not None:
            y, (h, c) = self.rnn(x)
            return y
        y, _ = self.pool(x)
        return y[..., 0]


class _Odd(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.erfinv(x * 0.5)


class OddTwice(nn.Module):
    """Two instances of a class whose forward makes a call no operator describes."""

    def __init__(self) -> None:
        super().__init__()
        self.first, self.second = _Odd(), _Odd()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x))


class Arithmetic(nn.Module):
    """Each form of elementwise arithmetic real models write: a normalisation `x - mean`, a
    gate `1 - z`, a temperature `x / 3`, a halving `x / 2`, an offset `x + 1.0`, a negation,
    a quotient of two tensors, and torch's function and method spellings."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.gate = nn.Conv2d(8, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = x - x.mean((2, 3), keepdim=True)
        z = torch.sigmoid(self.gate(x))
        x = (1 - z) * x + z * torch.tanh(x)
        x = x / 3 + x / 2
        x = -(x + 1.0) - 0.5
        x = torch.sub(x, z) + torch.rsub(z, 2) + x.sub(z)
        return torch.div(x, z + 1) + x.div(4) + torch.true_divide(x, 0.1)


class OddArithmetic(nn.Module):
    """Arithmetic that is not sub, div, scale or shift: torch.sub's `alpha`, a floor division,
    a number divided by a tensor."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "alpha":
            return torch.sub(x, torch.relu(x), alpha=2)
        if self.kind == "floor":
            return torch.div(x, 2, rounding_mode="floor")
        return 2 / x


class DenseLoop(nn.Module):
    """Each item of a module list merged with the tensor it read, in the loop that calls it:
    DenseNet's growth `torch.cat([x, layer(x)], 1)`, with a `relu` after the convolution, or
    a residual `layer(x) + x`."""

    def __init__(self, how: str, n: int = 3) -> None:
        super().__init__()
        self.how = how
        growth = 0 if how == "residual" else 2
        self.stem = nn.Conv2d(3, 4, 1)
        self.layers = nn.ModuleList([nn.Conv2d(4 + growth * i, 2 if growth else 4, 3, padding=1)
                                     for i in range(n)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.layers:
            if self.how == "cat":
                x = torch.cat([x, layer(x)], 1)
            elif self.how == "cat_relu":
                x = torch.cat([x, torch.relu(layer(x))], 1)
            else:
                x = layer(x) + x
        return x


class _Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)


class BlockTwice(nn.Module):
    """A block called twice under a name a spec cannot give a shared module (`block`, a
    keyword), defined in the file of the model that calls it."""

    def __init__(self) -> None:
        super().__init__()
        self.block = _Block()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.block(x))


class SummedBranches(nn.Module):
    """Python's `sum()` of a module list's outputs (it starts from 0), and arithmetic that
    leaves a tensor as it is."""

    def __init__(self) -> None:
        super().__init__()
        self.branches = nn.ModuleList([nn.Conv2d(3, 4, k, padding=k // 2) for k in (1, 3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = sum(b(x) for b in self.branches)
        return (1 * y - 0) / 1 + 0.0


class PooledAfterLoop(nn.Module):
    """A mean over the spatial axes after the loop over a module list, then a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Conv2d(3, 3, 1) for _ in range(2)])
        self.head = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for b in self.blocks:
            x = torch.relu(b(x))
        x = torch.sigmoid(x)
        return self.head(x.mean((2, 3)))


class GroupNormed(nn.Module):
    """timm's GroupNorm1 (PoolFormer's) and GroupNorm, whose forwards call F.group_norm, and
    F.group_norm called alone; with `passed`, of weights the forward passes in."""

    def __init__(self, passed: bool = False) -> None:
        from timm.layers import GroupNorm, GroupNorm1
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.norm1, self.norm2 = GroupNorm1(4), GroupNorm(4, num_groups=2)
        self.weight = nn.Parameter(torch.rand(4)) if passed else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm2(self.norm1(self.conv(x)))
        return torch.nn.functional.group_norm(x, 2, self.weight, eps=1e-3)
