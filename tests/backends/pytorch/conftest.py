"""Fixtures for the PyTorch backend tests: generated model files imported as modules, and the
comparison of a built module's parameters and buffers with the IR's layers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

import netdsl
from netdsl.backends.pytorch.codegen import generate, network_class
from netdsl.backends.pytorch.export import example_input


def import_source(source: str, folder: Path, stem: str) -> ModuleType:
    """Write generated source to folder/stem.py and import it as a real module."""
    path = folder / f"{stem}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"generated_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def generated_model(network: Any, folder: Path, stem: str) -> Any:
    """An instance of the network class of the generated file for a loaded network."""
    source = generate(network)
    module = import_source(source, folder, stem)
    return getattr(module, network_class(source))()


def ir_state(network: Any) -> dict[str, tuple[int, int]]:
    """Per layer of the IR that holds any: (parameters, buffers), by the operators' rules."""
    graph = network.graph
    out = {}
    for node in graph:
        if node.op is None or "#" in node.name:  # a shared module's later calls own nothing
            continue
        shapes = [graph[i].shape for i in node.inputs]
        params, buffers = node.op.params(shapes, node.shape), node.op.buffers(shapes, node.shape)
        if params or buffers:
            out[node.name] = (params, buffers)
    return out


def module_state(model: Any, layers: list[str]) -> dict[str, tuple[int, int]]:
    """The same figures counted by torch: the elements of the tensors named under each layer
    (`layer1.0.conv1.weight` belongs to `layer1.0.conv1`). Every tensor must belong to one."""
    counts = {name: [0, 0] for name in layers}
    for kind, tensors in ((0, model.named_parameters()), (1, model.named_buffers())):
        for name, tensor in tensors:
            owner = max((lay for lay in layers if name == lay or name.startswith(lay + ".")),
                        key=len, default=None)  # a parameter op's tensor is named by its label
            assert owner is not None, f"{name} belongs to no layer of the IR"
            counts[owner][kind] += tensor.numel()
    return {name: (p, b) for name, (p, b) in counts.items()}


def assert_state_matches_ir(model: Any, network: Any) -> None:
    expected = ir_state(network)
    assert module_state(model, list(expected)) == expected


def small(path):
    """The spec at a small input size where its layers allow one (the CI has two cores), else
    at its own size. Counts and shapes are compared against the IR of that same size."""
    native = netdsl.load(path)
    graph = native.graph
    shapes = {name: graph[name].shape for name in graph.inputs}
    if len(shapes) != 1 or any(len(s) != 3 or s[1] <= 96 for s in shapes.values()):
        return native
    (name, shape), = shapes.items()
    for size in (64, 80, 96):
        try:
            network = netdsl.load(path, inputs={name: (shape[0], size, size)})
        except netdsl.NetdslError:
            continue
        if network.stats().params == native.stats().params:
            return network
    return native


def example(graph, name: str) -> torch.Tensor:
    """A random batch of one for an input: token ids where an embedding reads it."""
    return example_input(graph, name)


@pytest.fixture
def one_thread():
    """torch on one thread for the test (two test workers share the CI's two cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
