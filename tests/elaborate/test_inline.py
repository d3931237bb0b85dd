"""`inline block`: an unlabeled call names its layers in the caller, as torchvision's ResNet
does (conv1 .. fc at the top level), while a labeled call still opens a scope."""

import torch
import torchvision

import netdsl
from tests.conftest import SPECS

SPEC = """
inline block body(w: int) {
    conv1: conv(w, 3)
    relu
    features: { conv(w, 3) -> relu }
}
network n {
    input x: [3, 32, 32]
    body(8)
    head: body(4)
}
"""


def test_unlabeled_inline_call_names_in_the_caller_and_labeled_call_opens_a_scope():
    graph = netdsl.load(SPEC).graph
    names = [n.name for n in graph if n.op is not None and n.op.name == "conv"]
    assert names == ["conv1", "features.0", "head.conv1", "head.features.0"]
    assert "head" in graph.scopes and graph.scopes["head"].block == "body"
    assert not any(s.block == "body" and s.name != "head" for s in graph.scopes.values())


def test_one_line_resnet18_has_torchvisions_state_dict_keys():
    graph = netdsl.load(SPECS / "resnet18.net").graph
    ours = {n.name for n in graph if n.meta.get("shape") and n.op is not None
            and n.op.name in ("conv", "bn", "linear")}
    theirs = {k.rsplit(".", 1)[0] for k in torchvision.models.resnet18().state_dict()}
    assert ours == theirs


def test_inline_resnet18_keeps_torchvision_parameter_count():
    reference = sum(p.numel() for p in torchvision.models.resnet18().parameters())
    assert netdsl.load(SPECS / "resnet18.net").stats().params == reference
    assert torch.__version__  # torch is the reference here, not netdsl


# An inline block's `output` is the value of its call, as a plain block's is; only where its
# layers are named differs.
TWO = """
{kind} two(x: tensor) {{
    y = from x -> conv(4, 1)
    output x, y
}}
network n {{
    input x: [4, 8, 8]
    p, q = two(x)
    a = two(q)
    from a[1] -> conv(4, 1) -> add(p)
}}
"""


def _convs(model: torch.nn.Module) -> list[torch.nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]


def test_an_inline_block_of_two_outputs_returns_both_as_a_plain_block_does():
    torch.manual_seed(0)
    inline, plain = (netdsl.load(TWO.format(kind=kind)) for kind in ("inline block", "block"))
    assert [n.name for n in inline.graph if n.op is not None and n.op.name == "conv"] == \
        ["0", "1", "2"]
    assert inline.stats().params == plain.stats().params == 3 * (4 * 4 + 4)
    model = netdsl.build(inline).eval()
    c0, c1, c2 = _convs(model)
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():  # p, q = x, c0(x); a = q, c1(q); c2(a[1]) + p
        expected = c2(c1(c0(x))) + x
        assert torch.allclose(model(x), expected, atol=1e-6)


def test_an_inline_block_called_twice_in_one_scope_names_each_calls_outputs():
    spec = TWO.format(kind="inline block").replace(
        "    p, q = two(x)\n    a = two(q)\n    from a[1] -> conv(4, 1) -> add(p)\n",
        "    a = two(x)\n    b = two(x)\n    from a[1] -> add(b[1])\n")
    net = netdsl.load(spec)
    model = netdsl.build(net).eval()
    c0, c1 = _convs(model)
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model(x), c0(x) + c1(x), atol=1e-6)


# U-Net++'s nested rows (Zhou et al. 2018), written recursively: a row is its first node and
# the nodes built on it from the row below. A block's list output is a list even of one tensor,
# so `rest` is always a list.
NESTED = """
{kind} nest_row(x: tensor, i: int, depth: int) {{
    row = [x]
    if i < depth {{
        down = from x -> maxpool(2) -> ("conv" + str(i + 1) + "_0"): conv(8, 3, p=1)
        rest = nest_row(down, i + 1, depth)
        for b in rest {{
            name = "conv" + str(i) + "_" + str(len(row))
            t = from row -> concat(from b -> upsample(2)) -> (name): conv(8, 3, p=1)
            row = row + [t]
        }}
    }}
    output row
}}
network unetpp(depth: int = 2) {{
    input image: [3, 16, 16]
    x00 = from image -> conv0_0: conv(8, 3, p=1)
    row = nest_row(x00, 0, depth)
    from row[depth] -> final: conv(2, 1)
}}
"""


class _NestedUNet(torch.nn.Module):
    """U-Net++ of depth 2 by hand: X[i][j] = conv(cat(X[i][0..j-1], up(X[i+1][j-1])))."""

    def __init__(self):
        super().__init__()
        conv = torch.nn.Conv2d
        self.conv0_0, self.conv1_0, self.conv2_0 = conv(3, 8, 3, padding=1), \
            conv(8, 8, 3, padding=1), conv(8, 8, 3, padding=1)
        self.conv1_1, self.conv0_1 = conv(16, 8, 3, padding=1), conv(16, 8, 3, padding=1)
        self.conv0_2, self.final = conv(24, 8, 3, padding=1), conv(8, 2, 1)

    def forward(self, image):
        pool, up = torch.nn.functional.max_pool2d, torch.nn.Upsample(scale_factor=2)
        x00 = self.conv0_0(image)
        x10 = self.conv1_0(pool(x00, 2))
        x20 = self.conv2_0(pool(x10, 2))
        x11 = self.conv1_1(torch.cat([x10, up(x20)], 1))
        x01 = self.conv0_1(torch.cat([x00, up(x10)], 1))
        x02 = self.conv0_2(torch.cat([x00, x01, up(x11)], 1))
        return self.final(x02)


def test_recursive_list_outputs_make_unet_plus_plus_as_torch_does():
    """The layers, their parameters and the output shape of the hand-written network (the
    generator cannot yet loop over a name given a call's several outputs, `for b in rest`, so
    torch checks the structure)."""
    theirs = _NestedUNet()
    out = theirs(torch.zeros(1, 3, 16, 16))
    for kind in ("inline block", "block"):
        net = netdsl.load(NESTED.format(kind=kind))
        assert net.stats().params == sum(p.numel() for p in theirs.parameters())
        assert net.stats().outputs == {"final": tuple(out.shape[1:])}
        if kind == "inline block":  # named in the caller, as torch names them
            names = {n.name for n in net.graph if n.op is not None and n.op.name == "conv"}
            assert names == {k.rsplit(".", 1)[0] for k in theirs.state_dict()}
