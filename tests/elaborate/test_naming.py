"""Layer names: labels, positions as nn.Sequential gives them, scopes of blocks and groups."""

from __future__ import annotations

import pytest
from torch import nn

import netdsl
from tests.elaborate.helpers import graph, layers

X = "input x: [3, 8, 8]\n"


def names(body: str, head: str = "") -> list[str]:
    return [name for name, _, _ in layers(X + body, head)]


def test_labeled_group_numbers_like_sequential():
    """features: { conv -> relu -> conv } names layers as nn.Sequential's state_dict keys."""
    g = graph(X + "features: { conv(4, 3) -> relu -> conv(4, 3) }")
    ours = {n.name for n in g if n.op_name == "conv"}
    reference = nn.Module()
    reference.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3))
    assert ours == {k.rsplit(".", 1)[0] for k in reference.state_dict()} == \
        {"features.0", "features.2"}
    assert names("features: { conv(4, 3) -> relu -> conv(4, 3) }") == \
        ["features.0", "features.1", "features.2"]


def test_network_body_positions_start_at_zero():
    """The input is not an element: the first layer is position 0, as in nn.Sequential."""
    assert names("conv(4, 3)\nrelu\nlinear_in: flatten") == ["0", "1", "linear_in"]


def test_labels_take_a_position_too():
    assert names("conv(4, 3) -> act: relu -> conv(4, 1)") == ["0", "act", "2"]


def test_block_calls_are_numbered_scopes():
    head = "block b { conv(3, 1) -> relu }"
    assert names("b\nb\nc: b", head) == ["0.0", "0.1", "1.0", "1.1", "c.0", "c.1"]


def test_labeled_repeat_numbers_its_copies():
    head = "block b { c: conv(3, 1) -> relu }"
    assert names("layer1: b * 3", head) == ["layer1.0.c", "layer1.0.1", "layer1.1.c",
                                            "layer1.1.1", "layer1.2.c", "layer1.2.1"]


def test_unlabeled_groups_merges_if_and_for_are_transparent():
    body = ("{ conv(3, 1) -> relu }\n"
            "add { identity\n conv(3, 1) }\n"
            "if k == 1 { tanh }\n"
            "for i in range(2) { sigmoid }")
    assert names(body) == ["0", "1", "2", "3", "4", "5", "6"]



def test_duplicate_label_is_an_error():
    with pytest.raises(netdsl.NetdslError, match="duplicate"):
        names("a: relu\na: tanh")


def test_computed_labels_in_a_for_loop():
    body = 'for i in range(3) { ("denselayer" + str(i + 1)): conv(2, 1) }'
    assert names(body) == ["denselayer1", "denselayer2", "denselayer3"]


def test_dotted_paths_reach_labels_inside_labeled_groups():
    g = graph(X + "branch: { conv1: conv(4, 1) -> relu }\nfrom x -> conv(4, 1)\nadd(branch.conv1)")
    add = [n for n in g if n.op_name == "add"][0]
    assert "branch.conv1" in add.inputs
