"""The language's own constructs (`identity`, `residual`) are objects every phase reads, not
names compared as strings: a construct registered under another name is lowered as its kind is,
and no module outside the constructs' own compares a name with one of theirs."""

from __future__ import annotations

import ast
from pathlib import Path

import torch

import netdsl
from netdsl.elaborate import constructs
from netdsl.elaborate.constructs import CONSTRUCTS, Identity
from tests.backends.pytorch.conftest import assert_state_matches_ir
from tests.conftest import ROOT

SPEC = """block unit(width: int, shortcut: layer = {skip}) {{
    add {{
        shortcut
        conv(width, 3, p=1)
    }}
}}
network n {{
    input x: [4, 8, 8]
    unit(4)
    {skip}
    unit(4, shortcut=conv(4, 1))
}}
"""


class Skip(Identity):
    """`identity` under another name."""

    name = "skip"


def test_a_construct_that_passes_its_input_is_lowered_as_identity_is(monkeypatch):
    monkeypatch.setitem(CONSTRUCTS, "skip", Skip())
    ours = netdsl.load(SPEC.format(skip="skip"))
    plain = netdsl.load(SPEC.format(skip="identity"))
    assert [n.name for n in ours.graph] == [n.name for n in plain.graph]
    torch.manual_seed(0)
    model = netdsl.build(ours).eval()
    reference = netdsl.build(plain).eval()
    assert_state_matches_ir(model, ours)
    reference.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x))


def _compared_names(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, name) of each construct name a comparison (`==`, `!=`, `in`) is made with."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        for side in (node.left, *node.comparators):
            items = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
            found += [(node.lineno, item.value) for item in items
                      if isinstance(item, ast.Constant) and item.value in CONSTRUCTS]
    return found


def test_no_module_compares_a_name_with_a_constructs():
    home = Path(constructs.__file__)
    compared = {}
    for path in sorted((ROOT / "netdsl").rglob("*.py")):
        if path != home:
            found = _compared_names(ast.parse(path.read_text(encoding="utf-8")))
            if found:
                compared[str(path.relative_to(ROOT))] = found
    assert compared == {}
