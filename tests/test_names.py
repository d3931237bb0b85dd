"""Every label the language accepts gives a working compiled module whose state-dict names are
the layer names of `netdsl stats`, or is refused by `netdsl check` at the label."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

import netdsl
import netdsl.syntax
from netdsl.errors import NetdslError
from netdsl.names import MODULE_ATTRIBUTES, is_spec_name, label_error, spec_name
from netdsl.syntax.keywords import KEYWORDS


def test_module_attributes_are_torchs_own():
    """The static list is exactly the public attributes of a torch.nn.Module instance, so it
    cannot go stale when torch adds one."""
    public = {name for name in dir(torch.nn.Module()) if not name.startswith("_")}
    assert MODULE_ATTRIBUTES == public


def test_private_attributes_of_a_module_are_all_refused():
    private = [name for name in dir(torch.nn.Module()) if name.startswith("_")]
    assert private and all(label_error(name) for name in private)


REFUSED = ["forward", "training", "to", "state_dict", "__init__", "__call__", "_parameters",
           "_modules", "_apply", "__class__", "__w", "_x", "", "a.b", "a\nb", "tab\there"]


@pytest.mark.parametrize("label", REFUSED)
def test_labels_torch_cannot_hold_are_refused_at_the_label(label: str):
    written = label.replace("\n", "\\n").replace("\t", "\\t")  # as a string literal
    text = f'network n {{\n    input x: [3, 8, 8]\n    relu\n    ("{written}"): conv(4, 1)\n}}\n'
    with pytest.raises(NetdslError) as info:
        netdsl.load(text)
    diag = info.value.diagnostics[0]
    assert diag.code == "label" and diag.span.line == 4 and diag.help


def test_plain_labels_are_checked_too():
    with pytest.raises(NetdslError) as info:
        netdsl.load("network n {\n    input x: [3, 8, 8]\n    training: conv(4, 1)\n}\n")
    diag = info.value.diagnostics[0]
    assert (diag.span.line, diag.span.col) == (3, 5) and "torch.nn.Module" in diag.message


# Labels that are fine for torch but shadow what generated Python uses, or are keywords.
ACCEPTED = ["list", "getattr", "self", "torch", "nn", "F", "super", "math", "y", "out", "int",
            "type_", "OrderedDict", "center_crop", "conv1"]


@pytest.mark.parametrize("label", ACCEPTED)
def test_accepted_labels_give_working_modules_with_the_promised_names(label: str):
    text = (f"network n {{\n    input x: [3, 8, 8]\n    a: conv(4, 1)\n    {label}: add(a)\n"
            f"    b: {{ conv(4, 1) -> relu }}\n    from x -> conv(4, 3, p=2) -> crop(to={label})"
            f"\n    add(b)\n}}\n")
    net = netdsl.load(text)
    model = netdsl.build(net)
    layers = {row.name for row in net.stats().layers}
    assert all(key.rsplit(".", 1)[0] in layers for key in model.state_dict())
    assert model(torch.zeros(1, 3, 8, 8)).shape == (1, 4, 8, 8)


def test_spec_names_are_the_grammars_names():
    """`is_spec_name` is the grammar's NAME without the reserved words; `spec_name` makes any
    text one."""
    grammar = (Path(netdsl.syntax.__file__).parent / "grammar.lark").read_text()
    name = re.search(r"^NAME: /(.*)/$", grammar, re.M).group(1)
    for text in ("conv1", "_x", "x_1", "1x", "block1-0", "in", "network", "réseau", "", "a b"):
        grammatical = re.fullmatch(name, text) is not None
        assert is_spec_name(text) == (grammatical and text not in KEYWORDS), text
    assert [spec_name(t) for t in ("network", "input", "réseau", "1x1", "a-b", "--")] == \
        ["network_", "input_", "r_seau", "net_1x1", "a_b", "net"]
    assert all(is_spec_name(spec_name(t)) for t in KEYWORDS)
