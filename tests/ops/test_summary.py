"""Operator summaries, the text of tables and diagrams, show the real rank and every unequal
stride. The references are torch's own modules: the kernel and stride tuples that Conv1d/2d/3d,
ConvTranspose and MaxPool2d hold for the same arguments."""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

import netdsl
from netdsl.backends.graphviz import dot_of
from netdsl.backends.table import format_table
from netdsl.ops import REGISTRY


def summary(op: str, shape: tuple[int, ...]) -> str:
    dims = ", ".join(map(str, shape))
    return netdsl.load(f"network n {{\n input x: [{dims}]\n l: {op}\n}}\n").stats().row(
        "l").summary


def sizes(values) -> str:
    return "x".join(map(str, values))


@pytest.mark.parametrize(("op", "shape", "module", "out"), [
    ("conv(8, 5, s=3)", (3, 40), nn.Conv1d(3, 8, 5, stride=3), 8),
    ("conv(8, 5, s=3)", (3, 40, 40), nn.Conv2d(3, 8, 5, stride=3), 8),
    ("conv(8, 3)", (3, 9, 9, 9), nn.Conv3d(3, 8, 3), 8),
    ("conv(8, [1, 7], s=[1, 2])", (3, 20, 20), nn.Conv2d(3, 8, (1, 7), stride=(1, 2)), 8),
    ("conv_transpose(4, 2, s=2)", (3, 9), nn.ConvTranspose1d(3, 4, 2, stride=2), 4),
    ("conv_transpose(4, 2, s=2)", (3, 9, 9, 9), nn.ConvTranspose3d(3, 4, 2, stride=2), 4),
])
def test_convolutions_show_their_rank_and_stride(op, shape, module, out):
    k, s = module.kernel_size, module.stride
    stride = "" if set(s) == {1} else "/" + (str(s[0]) if len(set(s)) == 1 else sizes(s))
    transposed = isinstance(module, nn.ConvTranspose1d | nn.ConvTranspose3d)
    name = "conv_transpose" if transposed else "conv"
    assert summary(op, shape) == f"{name} {sizes(k)}{stride}, {out}"


def test_the_examples_of_the_issue():
    assert summary("conv(8, 5, s=3)", (3, 40)) == "conv 5/3, 8"  # not "conv 5x5/3"
    assert summary("conv(8, 3)", (3, 9, 9, 9)) == "conv 3x3x3, 8"
    assert summary("maxpool([5, 4], s=[4, 3])", (3, 40, 40)) == "maxpool 5x4/4x3"


@pytest.mark.parametrize(("op", "module"), [
    ("maxpool([5, 4], s=[4, 3])", nn.MaxPool2d((5, 4), stride=(4, 3))),
    ("maxpool(3, s=2)", nn.MaxPool2d(3, stride=2)),
    ("avgpool(2)", nn.AvgPool2d(2)),
])
def test_pooling_shows_every_unequal_stride(op, module):
    k = module.kernel_size if isinstance(module.kernel_size, tuple) else (module.kernel_size,) * 2
    s = module.stride if isinstance(module.stride, tuple) else (module.stride,) * 2
    stride = "/" + (str(s[0]) if len(set(s)) == 1 else sizes(s)) if set(s) != {1} else ""
    kind = "max" if isinstance(module, nn.MaxPool2d) else "avg"
    assert summary(op, (3, 40, 40)) == f"{kind}pool {sizes(k)}{stride}"


def test_one_dimensional_pooling_and_adaptive_pooling():
    assert summary("maxpool(3, s=2)", (3, 40)) == "maxpool 3/2"
    side = nn.AdaptiveAvgPool3d(2)(torch.zeros(1, 3, 8, 8, 8)).shape[2:]
    assert summary("adaptive_avgpool(2)", (3, 8, 8, 8)) == f"adaptive_avgpool {sizes(side)}"


def test_bn_is_called_bn():
    """Tables printed `batchnorm`, a name the language does not accept."""
    assert summary("bn", (3, 8, 8)) == "bn"


def test_every_operator_summary_takes_the_input_shapes():
    for cls in REGISTRY.values():
        assert list(inspect.signature(cls.summary).parameters) == ["self", "inputs"], cls.name


def test_tables_and_diagrams_use_the_rank():
    net = netdsl.load("network n {\n input x: [3, 40]\n c: conv(8, 5, s=3)\n}\n")
    assert "conv 5/3, 8" in format_table(net.stats()) and "conv 5/3, 8" in dot_of(net)


def test_every_operator_is_shown_by_its_own_name():
    """Diagrams and tables name each operator as the language does (a `dropout2d` is not a
    `dropout`, stochastic depth is not dropout, `upconv` is no operator): the summary opens
    with the name, except the merges drawn as their symbol."""
    for op, shape, name in [("dropout2d(0.2)", (3, 8, 8), "dropout2d 0.2"),
                            ("stochastic_depth(0.0375)", (3, 8, 8), "stochastic_depth 0.0375"),
                            ("conv_transpose(4, 2, s=2)", (3, 8, 8),
                             "conv_transpose 2x2/2, 4"),
                            ("channel_shuffle(2)", (4, 8, 8), "channel_shuffle g=2"),
                            ("avgpool(global)", (4, 8, 8), "avgpool global")]:
        assert summary(op, shape) == name
