"""`from_torch`: trace, map, check, count and write: the steps of `netdsl import` in order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from torch import nn

from netdsl.backends.pytorch.importer.report import check_mapped, inside, uncalled
from netdsl.backends.pytorch.importer.spec import SpecBuilder, count, network_name
from netdsl.backends.pytorch.importer.trace import trace
from netdsl.backends.pytorch.importer.tree import build_tree
from netdsl.elaborate.loader import reserved
from netdsl.errors import Diagnostic, NetdslError
from netdsl.names import is_spec_name
from netdsl.syntax.formatter import format_source


def from_torch(model: nn.Module, example_input: Any, *, name: str | None = None,
               origin: str | None = None) -> str:
    """The text of a spec describing `model`, traced on `example_input` (a tensor with a batch
    axis, or a tuple of them). `name` names the network; `origin` says where the model came
    from in the spec's first comment. A model torch.fx cannot trace, or with a call no operator
    describes, raises `NetdslError` with a message located in the model's source."""
    if name is not None and name_problem(name):
        raise NetdslError(Diagnostic(name_problem(name), None, "usage", help=NAME_HELP))
    example = tuple(example_input) if isinstance(example_input, (tuple, list)) \
        else (example_input,)
    with _in_eval_mode(model):
        return _spec(model, example, name, origin)


@contextmanager
def _in_eval_mode(model: nn.Module) -> Iterator[None]:
    """The model in eval mode while it is imported (a spec describes inference: dropout off,
    batch norm on its running statistics), then each module's own mode again, whether the
    import succeeded or not: importing a model in training must leave it training."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


def _spec(model: nn.Module, example: tuple[Any, ...], name: str | None,
          origin: str | None) -> str:
    batch = _two_samples(example)
    traced = trace(model, batch)
    tree = build_tree(traced)
    check_mapped(tree)
    unused = uncalled(model, traced.graph)
    figures = count(model, example, unused)
    header = [f"Imported from {origin or type(model).__qualname__} by `netdsl import`."]
    if unused:
        header.append(f"Not called on the example input, so not described here nor counted in "
                      f"the expectations (the model's state_dict holds them): "
                      f"{', '.join(unused)}.")
    network = name or network_name(type(model).__name__)
    text = format_source(SpecBuilder(tree, traced.values).network(network, figures, header))
    verify(text, model, batch, unused)
    return text


NAME_HELP = ("letters, digits and '_', not starting with a digit, and no reserved word, "
             "operator or builtin function")


def name_problem(name: str) -> str | None:
    """Why `name` cannot name the network, or None: it must be a name of the language that
    no operator or builtin function already is (refused before the model is traced)."""
    if not is_spec_name(name):
        return f"the network's name '{name}' is not a name of the language"
    hidden = reserved(name)
    return f"the network's name '{name}' is already {hidden}" if hidden else None


def _two_samples(example: tuple[Any, ...]) -> tuple[Any, ...]:
    """The example as a batch of two different samples: the importer traces and checks on it,
    so that a call mixing the samples of a batch (a softmax over the batch axis, a reshape
    that moves it) differs from the spec, whose layers compute each sample alone; at batch 1
    both agree. The second sample is the first with its values shuffled: of the same type and
    range (an embedding's token ids stay ids)."""
    import torch
    if not all(isinstance(x, torch.Tensor) and x.dim() > 0 and len(x) == 1 for x in example):
        return example
    generator = torch.Generator().manual_seed(0)
    return tuple(torch.cat([x, x.flatten()[torch.randperm(x.numel(), generator=generator)]
                            .view_as(x)]) for x in example)


def verify(text: str, model: nn.Module, example: tuple[Any, ...], unused: list[str]) -> None:
    """The spec computes what the model computes: it loads, holds its own expectations (the
    model's counts), its module takes the model's weights strictly (but those of modules never
    called) and gives the model's outputs on the example. Where it does not, the importer
    misread the model: a refusal, not a spec that is silently wrong."""
    import torch

    import netdsl
    step = "load"
    try:
        network = netdsl.load(text)
        step = "hold its own expectations"
        failed = network.check()
        if failed:
            raise NetdslError(failed)
        step = "build"
        built = netdsl.build(network).eval()
        step = "take the model's weights"
        weights = {k: v for k, v in model.state_dict().items() if not inside(k, unused)}
        built.load_state_dict(weights, strict=True)
        step = "run"
        with torch.no_grad():
            expected, got = _tensors(model(*example)), _tensors(built(*example))
    except (NetdslError, RuntimeError, TypeError, ValueError, AttributeError) as exc:
        raise _misread(f"its spec does not {step}: {str(exc).splitlines()[0][:300]}") from None
    if len(expected) != len(got):
        raise _misread(f"its spec gives {len(got)} outputs, the model {len(expected)}")
    for i, (e, g) in enumerate(zip(expected, got, strict=True)):
        if e.shape != g.shape or not torch.allclose(e, g, rtol=1e-4, atol=1e-5):
            raise _misread(f"its spec computes output {i} differently"
                           + ("" if e.shape != g.shape else
                              f" (largest difference {float((e - g).abs().max()):.3g})"))


def _tensors(value: Any) -> list[Any]:
    """The tensors of a forward's result, in order (a dict's values, nested tuples)."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    return [value]


def _misread(why: str) -> NetdslError:
    return NetdslError(Diagnostic(
        f"cannot import: netdsl misread the model: {why}", None, "unmapped",
        help="this is a limitation of the importer, not of your model; the spec is not written "
             "(please report the model)"))


