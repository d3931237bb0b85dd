"""Every operator case of tests/ops/test_rules.py through the PyTorch backend: the built module,
given the hand-written torch module's weights, computes what that module computes. Each case
runs twice: labeled (`l: OP`, the operator's module form) and unlabeled in a forward
(`from x -> OP`, its function form where it has no state); so each row of the lowering table
meets torch in both forms it can take."""

from __future__ import annotations

import pytest
import torch

import netdsl
from netdsl.backends.pytorch.ops import LOWERINGS
from netdsl.ops import REGISTRY
from tests.ops.test_rules import CASES, ROIS, Case, case_spec

SINGLE = [c for c in CASES if c not in ROIS]


def _example(case: Case) -> torch.Tensor:
    """A batch of two: token ids for an embedding, else normal values."""
    if case.call.startswith("embedding"):
        return torch.randint(0, 3, (2, *case.shape))
    return torch.randn(2, *case.shape)


def _unlabeled(case: Case) -> str:
    dims = ", ".join(str(d) for d in case.shape)
    return f"network n {{\n input x: [{dims}]\n{case.extra}\n from x -> {case.call}\n}}\n"


def _compare(spec: str, case: Case) -> None:
    torch.manual_seed(0)
    reference = case.make().eval()
    ours = netdsl.build(netdsl.load(spec)).eval()
    theirs = list(reference.state_dict().values())
    mine = ours.state_dict()
    assert [tuple(v.shape) for v in mine.values()] == [tuple(v.shape) for v in theirs]
    ours.load_state_dict(dict(zip(mine, theirs, strict=True)), strict=True)
    x = _example(case)
    with torch.no_grad():
        out, expected = ours(x), reference(x)
        if out.dim() < expected.dim():  # a parameter without a batch axis: broadcast as used
            out = out.expand(expected.shape)
        torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("case", SINGLE, ids=[c.call for c in SINGLE])
def test_module_form_computes_what_torch_computes(case: Case) -> None:
    _compare(case_spec(case), case)


@pytest.mark.parametrize("case", [c for c in SINGLE if not c.extra and "{" not in c.call],
                         ids=[c.call for c in SINGLE if not c.extra and "{" not in c.call])
def test_function_form_computes_what_torch_computes(case: Case) -> None:
    _compare(_unlabeled(case), case)


@pytest.mark.parametrize("case", ROIS, ids=[c.call for c in ROIS])
def test_roi_pooling_computes_what_torchvision_computes(case: Case) -> None:
    """A map and 3 boxes per image, through torchvision.ops as the generated code calls it."""
    ours = netdsl.build(netdsl.load(case_spec(case))).eval()
    x = torch.randn(2, *case.shape)
    corner = torch.rand(2, 3, 2) * 10
    boxes = torch.cat([corner, corner + 1 + torch.rand(2, 3, 2) * 8], -1)
    with torch.no_grad():
        torch.testing.assert_close(ours(x, boxes), case.make()(x, boxes))


def test_rows_name_helpers_that_exist() -> None:
    """A row's helpers are run-time definitions the generated file can copy."""
    import ast
    from pathlib import Path

    import netdsl.backends.pytorch.runtime as runtime
    tree = ast.parse(Path(runtime.__file__).read_text(encoding="utf-8"))
    defined = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    declared = {h for row in LOWERINGS.values() for h in row.helpers}
    assert declared and declared <= defined
    assert set(LOWERINGS) == set(REGISTRY)
