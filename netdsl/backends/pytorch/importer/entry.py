"""`from_torch`: trace, map, check, count and write: the steps of `netdsl import` in order."""

from __future__ import annotations

from typing import Any

from torch import nn

from netdsl.backends.pytorch.importer.report import check_mapped, uncalled
from netdsl.backends.pytorch.importer.spec import SpecBuilder, count, network_name
from netdsl.backends.pytorch.importer.trace import trace
from netdsl.backends.pytorch.importer.tree import build_tree
from netdsl.errors import Diagnostic, NetdslError
from netdsl.names import is_spec_name
from netdsl.syntax.formatter import format_source


def from_torch(model: nn.Module, example_input: Any, *, name: str | None = None,
               origin: str | None = None) -> str:
    """The text of a spec describing `model`, traced on `example_input` (a tensor with a batch
    axis, or a tuple of them). `name` names the network; `origin` says where the model came
    from in the spec's first comment. A model torch.fx cannot trace, or with a call no operator
    describes, raises `NetdslError` with a message located in the model's source."""
    example = tuple(example_input) if isinstance(example_input, (tuple, list)) \
        else (example_input,)
    model.eval()
    traced = trace(model, example)
    tree = build_tree(traced)
    check_mapped(tree)
    unused = uncalled(model, traced.graph)
    figures = count(model, example, unused)
    header = [f"Imported from {origin or type(model).__qualname__} by `netdsl import`."]
    if unused:
        header.append(f"Not called on the example input, so not described here nor counted in "
                      f"the expectations (the model's state_dict holds them): "
                      f"{', '.join(unused)}.")
    if name is not None and not is_spec_name(name):
        raise NetdslError(Diagnostic(
            f"the network's name '{name}' is not a name of the language", None, "usage",
            help="letters, digits and '_', not starting with a digit, and no reserved word"))
    network = name or network_name(type(model).__name__)
    return format_source(SpecBuilder(tree, traced.values).network(network, figures, header))


