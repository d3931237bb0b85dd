"""`netdsl import`: a spec from a PyTorch model, traced with torch.fx (`from_torch`)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from netdsl.backends.pytorch.importer.spec import SpecBuilder, _snake, count
from netdsl.backends.pytorch.importer.trace import trace
from netdsl.backends.pytorch.importer.tree import build_tree
from netdsl.syntax.formatter import format_source


def from_torch(model: nn.Module, example_input: Any, *, name: str | None = None,
               origin: str | None = None) -> str:
    """The text of a spec describing `model`, traced on `example_input` (a tensor with a batch
    axis, or a tuple of them). `name` names the network; `origin` says where the model came
    from in the spec's first comment."""
    example = tuple(example_input) if isinstance(example_input, (tuple, list)) \
        else (example_input,)
    model.eval()
    traced = trace(model, example)
    tree = build_tree(traced)
    figures = count(model, example)
    header = [f"Imported from {origin or type(model).__qualname__} by `netdsl import`."]
    text = SpecBuilder(tree, traced.values).network(name or _snake(type(model).__name__) or "model", figures, header)
    return format_source(text)




__all__ = ["from_torch", "torch"]
