"""`netdsl import`: a spec from a PyTorch model, traced with torch.fx (`from_torch`).

The package imports torch only when `from_torch` runs: walking netdsl's packages (as the test
that the core stays free of torch does) must not load it.
"""

from __future__ import annotations

from typing import Any


def from_torch(model: Any, example_input: Any, *, name: str | None = None,
               origin: str | None = None) -> str:
    """The text of a spec describing `model`; see `entry.from_torch`."""
    from netdsl.backends.pytorch.importer.entry import from_torch as _from_torch
    return _from_torch(model, example_input, name=name, origin=origin)


__all__ = ["from_torch"]
