"""Operator attributes that torch would refuse at build or forward time are refused by `netdsl
check`, located at the argument; what torch takes, netdsl takes, down to the boundary. Each case
proves torch's side with torch itself."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models.convnext import LayerNorm2d

import netdsl
from netdsl.limits import FLOAT32_MAX

torch.set_num_threads(1)

PAST_FLOAT32 = math.nextafter(FLOAT32_MAX, math.inf)


def spec(op: str, shape: str = "[3, 8, 8]") -> str:
    return f"network n {{\n    input x: {shape}\n    {op}\n}}\n"


def refusal(op: str, shape: str = "[3, 8, 8]") -> tuple[str, int]:
    """netdsl's message for `op` and the column it points at (line 3 is the layer's)."""
    with pytest.raises(netdsl.NetdslError) as caught:
        netdsl.load(spec(op, shape))
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.span.line == 3
    return diagnostic.message, diagnostic.span.col


def column_of(op: str, argument: str) -> int:
    """The column of `argument` in the layer line `    OP`."""
    return 5 + op.index(argument)


def forward(op: str, shape: tuple[int, ...] = (3, 8, 8)) -> torch.Tensor:
    model = netdsl.build(spec(op, str(list(shape))))
    with torch.no_grad():
        return model(torch.randn(2, *shape))


# ---------------------------------------------------------------- an int where a list is meant

@pytest.mark.parametrize("op, shape, torch_form", [
    ("l: reshape(192)", (3, 8, 8), lambda x: x.reshape(x.shape[0], 192)),
    ("l: reshape(-1)", (3, 8, 8), lambda x: x.reshape(x.shape[0], -1)),
    ("l: reshape(192.0)", (3, 8, 8), lambda x: x.reshape(x.shape[0], 192)),
    ("reshape([4, 2]) -> l: reshape(8)", (8,), lambda x: x),
    ("flatten -> l: permute(0)", (5,), lambda x: x.permute(0, 1)),
])
def test_an_int_is_a_one_entry_list_in_analysis_and_code(op, shape, torch_form):
    """torch's `x.reshape(n, 192)`: the stats and the built module agree with torch."""
    net = netdsl.load(spec(op, str(list(shape))))
    x = torch.randn(2, *shape)
    expected = torch_form(x)
    assert net.stats().row("l").as_dict()["output"] == list(expected.shape[1:])
    model = netdsl.build(net)
    with torch.no_grad():
        assert torch.equal(model(x), expected)


def test_an_int_is_a_one_entry_shape_of_a_parameter():
    stats = netdsl.load(spec("add { identity; p: parameter(8) }", "[8]")).stats()
    assert stats.row("p").as_dict()["output"] == [8] == list(nn.Parameter(torch.zeros(8)).shape)


# ---------------------------------------------------------------- floats torch makes float32

# attributes torch converts to float32 (a tensor, a parameter or a kernel's scalar), with the
# input they take and the torch code that converts a value (an eps is positive: only one sign)
FLOAT32_ATTRIBUTES = [
    ("leaky_relu({})", "[3, 8, 8]", (1, -1), lambda v: F.leaky_relu(torch.ones(1), v)),
    ("elu({})", "[3, 8, 8]", (1, -1), lambda v: F.elu(torch.ones(1), v)),
    ("prelu(init={})", "[3, 8, 8]", (1, -1), lambda v: nn.PReLU(init=v)),
    ("parameter([3], value={})", "[3]", (1, -1),
     lambda v: nn.init.constant_(torch.empty(3), v)),
    ("l2norm(eps={})", "[3, 8, 8]", (1,), lambda v: F.normalize(torch.ones(1, 3), dim=1, eps=v)),
]


@pytest.mark.parametrize("op, shape, signs, make", FLOAT32_ATTRIBUTES,
                         ids=[a[0] for a in FLOAT32_ATTRIBUTES])
def test_a_float_past_float32_is_refused_as_torch_refuses_it(op, shape, signs, make):
    before = op[:op.index("{}")]
    argument = before[max(before.rfind("("), before.rfind(" ")) + 1:] or "{}"
    for sign in signs:
        with pytest.raises(RuntimeError, match="cannot be converted to type float"):
            make(sign * PAST_FLOAT32)
        call = op.format(repr(sign * PAST_FLOAT32))
        message, col = refusal(call, shape)
        assert "float32" in message and col == column_of(op, argument)
        make(sign * FLOAT32_MAX)  # the largest float32: torch takes it, and so does netdsl
        netdsl.load(spec(op.format(repr(sign * FLOAT32_MAX)), shape))


def test_the_float32_bound_is_every_float_attribute_s():
    """One bound for every float attribute: a spec's float is a float32 to torch's default
    dtype (`scale(1e39)` would make every non-zero element infinite)."""
    assert torch.isinf(torch.ones(1) * 1e39).all()
    message, col = refusal("scale(1e39)")
    assert "float32" in message and col == column_of("scale(1e39)", "1e39")


# ---------------------------------------------------------------- eps and std

NORMS = [
    ("bn(eps={})", lambda eps: nn.BatchNorm2d(3, eps=eps)),
    ("layernorm(eps={})", lambda eps: nn.LayerNorm(8, eps=eps)),
    ("groupnorm(3, eps={})", lambda eps: nn.GroupNorm(3, 3, eps=eps)),
    ("instancenorm(eps={})", lambda eps: nn.InstanceNorm2d(3, eps=eps)),
    ("layernorm2d(eps={})", lambda eps: LayerNorm2d(3, eps=eps)),
    ("l2norm(eps={})", lambda eps: lambda x: F.normalize(x, dim=1, eps=eps)),
]


def _refuses_or_gives_nan(module, x: torch.Tensor) -> bool:
    try:
        return bool(torch.isnan(module(x)).any())
    except (RuntimeError, ValueError):
        return True


@pytest.mark.parametrize("op, make", NORMS, ids=[n[0] for n in NORMS])
@pytest.mark.parametrize("eps", [0, -1, -1e-5, 1e-30])
def test_an_eps_is_refused_where_torch_refuses_it_or_gives_nan(op, make, eps):
    """torch's batch norm refuses an eps <= 0 while training; the others divide by sqrt(0) or
    by the root of a negative number where the input is constant, and give NaN (instance norm
    takes 0: its kernel leaves a constant channel 0)."""
    torch_refuses = _refuses_or_gives_nan(make(float(eps)), torch.zeros(2, 3, 8, 8))
    call = op.format(eps)
    if not torch_refuses:
        assert torch.isfinite(forward(call)).all()
        return
    message, col = refusal(call)
    assert "eps" in message and ">" in message and col == column_of(call, "eps=")


def test_a_negative_std_is_refused_as_torch_refuses_it():
    with pytest.raises(RuntimeError, match="std >= 0"):
        nn.init.normal_(torch.empty(3), std=-1.0)
    message, col = refusal("parameter([3], std=-1)", "[3]")
    assert ">= 0" in message and col == column_of("parameter([3], std=-1)", "std=")


# ---------------------------------------------------------------- axes out of range

AXES = [  # netdsl's call, the attribute's text, torch's (the batch axis counted)
    ("concat(x, dim=3)", "dim=3", lambda x: torch.cat([x, x], dim=4)),
    ("concat(x, dim=-4)", "dim=-4", None),  # torch's -4 is the batch: netdsl has no such axis
    ("select(0, dim=3)", "dim=3", lambda x: x.select(4, 0)),
    ("slice(0, 1, axis=3)", "axis=3", lambda x: x.narrow(4, 0, 1)),
    ("softmax(3)", "3", lambda x: F.softmax(x, dim=4)),
    ("flatten(3)", "3", lambda x: torch.flatten(x, 4)),
    ("flatten(0, 3)", "3", lambda x: torch.flatten(x, 1, 4)),
    ("transpose(0, 3)", "3", lambda x: x.transpose(1, 4)),
]


@pytest.mark.parametrize("op, argument, torch_form", AXES, ids=[a[0] for a in AXES])
def test_an_axis_out_of_range_is_said_at_the_attribute(op, argument, torch_form):
    if torch_form is not None:
        with pytest.raises(IndexError, match="Dimension out of range"):
            torch_form(torch.zeros(2, 3, 8, 8))
    message, col = refusal(op)
    assert "out of range for a tensor of rank 3" in message
    assert "one rank" not in message  # concat's tensors do have one rank
    assert col == column_of(op, argument)


def test_a_negative_axis_in_range_is_taken_as_torch_takes_it():
    x = torch.randn(2, 3, 8, 8)
    model = netdsl.build(spec("concat(x, dim=-1)"))
    with torch.no_grad():
        assert torch.equal(model(x), torch.cat([x, x], dim=-1))


@pytest.mark.parametrize("op, argument, torch_form", [
    ("conv(8, [3, 3, 3])", "[3, 3, 3]", lambda x: nn.Conv2d(3, 8, (3, 3, 3))(x)),
    ("maxpool(2, s=[2, 2, 2])", "s=", lambda x: nn.MaxPool2d(2, stride=(2, 2, 2))(x)),
])
def test_a_per_axis_attribute_of_the_wrong_length_is_said_at_the_attribute(op, argument,
                                                                            torch_form):
    with pytest.raises(RuntimeError):
        torch_form(torch.zeros(2, 3, 8, 8))
    message, col = refusal(op)
    assert "values for 2 spatial axes" in message and col == column_of(op, argument)


@pytest.mark.parametrize("source", [
    "network n(k: int = 192) {\n    input x: [3, 8, 8]\n    reshape(k)\n}\n",
    "block b(k: int) {\n    reshape(k) -> linear(k)\n}\n"
    "network n {\n    input x: [3, 8, 8]\n    b(192) -> b(192)\n}\n",
])
def test_an_int_given_by_a_parameter_is_a_one_entry_shape_in_code(source):
    """`reshape(k)` with k = 192: the compiled module takes `x.reshape(n, k)`, as the analysis
    reads it (it wrote `*k`, a TypeError at forward)."""
    net = netdsl.load(source)
    model = netdsl.build(net)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        out = model(x)
    assert out.shape == (2, 192)
    if "linear" not in source:
        assert torch.equal(out, x.reshape(2, 192))
