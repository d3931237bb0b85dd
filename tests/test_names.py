"""Every label the language accepts gives a working compiled module whose state-dict names are
the layer names of `netdsl stats`, or is refused by `netdsl check` at the label."""

from __future__ import annotations

import pytest
import torch

import netdsl
from netdsl.errors import NetdslError
from netdsl.names import MODULE_ATTRIBUTES, label_error


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

