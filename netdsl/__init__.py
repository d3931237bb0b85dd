"""netdsl: a declarative language and compiler for neural-network architectures.

`netdsl.load(spec)` parses and analyses a spec without PyTorch; `netdsl.build(spec)` lowers it
to a `torch.nn.Module` (importing torch only then).
"""

from __future__ import annotations

from typing import Any

from netdsl.errors import Diagnostic, NetdslError
from netdsl.network import Network, load, load_file

__version__ = "0.1.0"
__all__ = ["Diagnostic", "NetdslError", "Network", "build", "from_torch", "load", "load_file"]


def build(spec: Any, network: str | None = None, **params: Any) -> Any:
    """Lower a spec (path, source text or loaded `Network`) to a torch.nn.Module; `max_bytes`
    (keyword) bounds the memory its weights may take (see `netdsl.limits`)."""
    from netdsl.backends.pytorch import build as _build
    return _build(spec, network, **params)


def from_torch(model: Any, example_input: Any, *, name: str | None = None) -> str:
    """The text of a spec describing a torch.nn.Module, traced with torch.fx on `example_input`
    (a tensor with a batch axis, or a tuple of them); see `netdsl import`."""
    from netdsl.backends.pytorch.importer import from_torch as _from_torch
    return _from_torch(model, example_input, name=name)
