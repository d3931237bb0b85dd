"""hypothesis: random networks written as .net text (sequences, blocks, branches, concat,
residual add, grouped/dilated/transposed convs, pools): the torch module holds under each
layer name of the IR the parameters and buffers the operators' rules count, and its output has
the IR's shape."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netdsl
from tests.backends.pytorch.conftest import assert_state_matches_ir

BLOCK = """
block unit(width: int, s: int = 1) {
    conv(width, 3, s=s, p=1, bias=false) -> bn -> relu
}
"""


@st.composite
def networks(draw) -> str:
    channels = draw(st.integers(1, 4))
    size = draw(st.integers(8, 16))
    lines = [f"    input x: [{channels}, {size}, {size}]"]
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["conv", "group", "dilated", "up", "pool", "residual",
                                     "concat", "block", "act"]))
        if kind == "conv":
            out, k = draw(st.integers(1, 8)), draw(st.sampled_from([1, 3, 5]))
            s = 2 if size >= 8 and draw(st.booleans()) else 1
            lines.append(f"    c{i}: conv({out}, {k}, s={s}, p={k // 2})")
            channels, size = out, (size + 2 * (k // 2) - k) // s + 1
        elif kind == "group":
            g = draw(st.sampled_from([1, 2, 4]))
            out = g * draw(st.integers(1, 3))
            lines.append(f"    conv({channels * g}, 1) -> conv({out}, 3, p=1, groups={g})")
            channels = out
        elif kind == "dilated":
            lines.append(f"    conv({channels + 1}, 3, p=2, d=2, bias=false)")
            channels += 1
        elif kind == "up" and size <= 16:
            lines.append(f"    up{i}: conv_transpose({channels}, 2, s=2)")
            size *= 2
        elif kind == "pool" and size >= 4:
            pool = draw(st.sampled_from(["maxpool(2)", "avgpool(3, s=2, p=1)"]))
            lines.append(f"    {pool}")
            size = size // 2 if pool == "maxpool(2)" else (size + 2 - 3) // 2 + 1
        elif kind == "residual":
            lines.append(f"    r{i}: add {{\n        identity\n        conv({channels}, 3, p=1)"
                         f" -> bn\n    }}\n    relu")
        elif kind == "concat":
            a, b = draw(st.integers(1, 4)), draw(st.integers(1, 4))
            lines.append(f"    concat {{\n        conv({a}, 1)\n        conv({b}, 3, p=1)\n"
                         f"        maxpool(3, s=1, p=1)\n    }}")
            channels = a + b + channels
        elif kind == "block":
            width = draw(st.integers(1, 6))
            lines.append(f"    b{i}: unit({width})")
            channels = width
        else:
            lines.append(f"    {draw(st.sampled_from(['relu', 'bn', 'sigmoid', 'relu6']))}")
    if draw(st.booleans()):
        lines.append("    avgpool(global) -> flatten\n    head: linear(3)")
    return BLOCK + "network random {\n" + "\n".join(lines) + "\n}\n"


RANDOM = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(parent=RANDOM, max_examples=15)
@given(networks())
def test_random_network_lowers_exactly(text: str) -> None:
    lowers_exactly(text)


@pytest.mark.slow  # the long run of the test above
@settings(parent=RANDOM, max_examples=150)
@given(networks())
def test_many_random_networks_lower_exactly(text: str) -> None:
    lowers_exactly(text)


def lowers_exactly(text: str) -> None:
    network = netdsl.load(text)
    torch.manual_seed(0)
    model = netdsl.build(network).eval()
    assert_state_matches_ir(model, network)
    x = torch.randn(2, *network.graph["x"].shape)
    with torch.no_grad():
        out = model(x)
    (last,) = network.graph.outputs.values() or [list(network.graph.nodes)[-1]]
    assert tuple(out.shape[1:]) == network.graph[last].shape
