"""The warning of a merge that takes one tensor twice: `concat([x] + ys)` right after `x` takes
`x` as the current tensor and again as an item of its list, and doubles it without a word (a
user's U-Net++ specs were wrong twice so). The doubled figures are torch's, for the same
inputs; the warning is said where the merge is."""

from __future__ import annotations

import torch

import netdsl
from netdsl.errors import render
from tests.cli.conftest import run_netdsl

DOUBLED = """
network n {
    input x: [8, 4, 4]
    a = from x -> conv(2, 1)
    concat([x, a])
}
"""


def test_a_merge_of_the_current_tensor_and_a_list_holding_it_warns_where_it_is(tmp_path):
    net = netdsl.load(DOUBLED)
    a, x = torch.zeros(1, 2, 4, 4), torch.zeros(1, 8, 4, 4)
    assert list(net.stats().outputs.values()) == [tuple(torch.cat([a, x, a], 1).shape[1:])]
    (warning,) = net.warnings()
    assert render(warning).splitlines()[1:] == [
        "        concat([x, a])", "        ^~~~~~~~~~~~~~",
        "help: a merge takes the current tensor first: write its list without it, or start "
        "elsewhere with `from`"]
    assert warning.message == \
        "concat takes 'a' twice: as the current tensor and as item 1 of its list"
    assert (warning.span.line, warning.span.col, warning.code) == (5, 5, "twice")
    spec = tmp_path / "twice.net"
    spec.write_text(DOUBLED)
    assert run_netdsl("check", str(spec)).returncode == 0
    assert run_netdsl("check", "--strict", str(spec)).returncode == 2


def test_the_current_tensors_and_paths_are_said_by_position():
    spec = """
network n {
    input x: [8, 4, 4]
    ys: [from x -> conv(2, 1) for k in [1, 2]]
    concat([x] + ys)
    add {
        identity
        identity
    }
}
"""
    assert [w.message for w in netdsl.load(spec).warnings()] == [
        "concat takes 'ys.0' twice: as item 0 of the current tensors and as item 1 of its list",
        "add takes '1' twice: as path 0 and as path 1"]


def test_a_block_that_doubles_its_input_is_warned_of_once_and_by_its_parameters_name():
    spec = """
block b(x: tensor, c: int) {
    y = from x -> conv(c, 1)
    from x -> concat([y, x])
}
network n {
    input x: [8, 4, 4]
    a = b(x, 2)
    b(a, 4)
}
"""
    assert [w.message for w in netdsl.load(spec).warnings()] == [
        "concat takes 'x' twice: as the current tensor and as item 1 of its list"]


def test_distinct_tensors_are_no_warning():
    spec = DOUBLED.replace("concat([x, a])", "concat([x])")
    assert netdsl.load(spec).warnings() == []
