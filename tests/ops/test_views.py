"""The views' strides against torch's: after a crop, a slice, a select or a permute, whether a
flatten is a view (and with which strides) or a copy is what torch does with the same tensor.
The memory analysis counts a copy as a new storage (tests/analysis/test_memory.py)."""

from __future__ import annotations

import pytest
import torch

from netdsl.ops import REGISTRY
from netdsl.ops.base import contiguous_strides

SHAPE = (3, 4, 5)  # [C, H, W], batch left out

# (netdsl operator and arguments, the same on a batched torch tensor)
FIRST = [
    ("crop", {"size": (2, 5)}, lambda x: x[:, :, 1:3, :]),
    ("crop", {"size": (4, 3)}, lambda x: x[:, :, :, 1:4]),
    ("slice", {"start": 1, "stop": 3}, lambda x: x[:, 1:3]),
    ("slice", {"start": 1, "stop": 3, "axis": 1}, lambda x: x[:, :, 1:3]),
    ("select", {"index": 1}, lambda x: x[:, 1]),
    ("select", {"index": 1, "axis": 2}, lambda x: x[:, :, :, 1]),
    ("permute", {"order": (1, 2, 0)}, lambda x: x.permute(0, 2, 3, 1)),
    ("permute", {"order": (0, 2, 1)}, lambda x: x.permute(0, 1, 3, 2)),
    ("transpose", {"first": 0, "second": 1}, lambda x: x.transpose(1, 2)),
]


@pytest.mark.parametrize(("name", "args", "torch_view"), FIRST,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(FIRST)])
@pytest.mark.parametrize("start", [0, 1])
def test_a_flatten_after_a_view_is_a_view_exactly_when_torchs_is(name, args, torch_view, start):
    x = torch.zeros(2, *SHAPE)
    first = REGISTRY[name](**args)
    out = first.infer_shape([SHAPE])
    strides = first.view_strides([SHAPE], contiguous_strides(SHAPE), out)
    y = torch_view(x)
    assert strides == y.stride()[1:]
    if len(out) <= start:
        return
    flatten = REGISTRY["flatten"](start=start)
    flat = flatten.infer_shape([out])
    ours = flatten.view_strides([out], strides, flat)
    z = torch.flatten(y, start + 1)
    shares = z.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    assert (ours is not None) == shares
    if shares:
        assert ours == z.stride()[1:]
