"""The built module behaves like a hand-written one: torch.compile(fullgraph=True) without graph
breaks, any dtype and memory format the user moves it to, and TorchScript, torch.export and ONNX
(checked by onnx.checker, run by onnxruntime) files that compute what torch computes."""

from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import netdsl
from netdsl.backends.pytorch.export import to_bytes
from tests.conftest import SPECS

SMALL = """
block unit(width: int, s: int = 1) {
    add {
        { conv1: conv(width, 3, s=s, p=1, bias=false) -> bn1: bn -> relu
          conv2: conv(width, 3, p=1, groups=2, bias=false) -> bn2: bn }
        if s != 1 or in.c != width { downsample: { conv(width, 1, s=s, bias=false) -> bn } }
        else { identity }
    }
    relu
}
network small(classes: int = 5) {
    input x: [3, 16, 16]
    stem: conv(8, 3, p=1) -> relu
    a: unit(8)
    b: unit(16, s=2)
    mixed: concat {
        conv(4, 1)
        maxpool(3, s=1, p=1)
    }
    up: conv_transpose(8, 2, s=2) -> crop(a)
    avgpool(global) -> flatten
    dropout(0.1)
    fc: linear(classes)
}
"""


@pytest.fixture(scope="module")
def small():
    network = netdsl.load(SMALL)
    torch.manual_seed(0)
    return network, netdsl.build(network).eval()


def test_torch_compile_fullgraph(small) -> None:
    network, model = small
    x = torch.randn(2, 3, 16, 16)
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x))


def test_lenet_compiles_fullgraph() -> None:
    model = netdsl.build(SPECS / "lenet5.net").eval()
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        out = torch.compile(model, fullgraph=True, backend="aot_eager")(x)
        torch.testing.assert_close(out, model(x))


def test_dtype_and_channels_last(small) -> None:
    network, model = small
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        expected = model.double()(x)
        moved = model.to(memory_format=torch.channels_last)
        got = moved(x.to(memory_format=torch.channels_last))
        half = model.to(torch.bfloat16)(x.to(torch.bfloat16))
    model.float()
    torch.testing.assert_close(got, expected)
    assert half.dtype == torch.bfloat16
    torch.testing.assert_close(half.double(), expected, atol=0.1, rtol=0.1)


def test_torchscript_and_exported(small) -> None:
    network, model = small
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        expected = model(x)
        traced = torch.jit.load(io.BytesIO(to_bytes(model, network, "torchscript")))
        torch.testing.assert_close(traced(x), expected, atol=1e-5, rtol=1e-5)
        program = torch.export.load(io.BytesIO(to_bytes(model, network, "exported")))
        torch.testing.assert_close(program.module()(x), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("spec", ["lenet5", "small"])
def test_onnx_runs_in_onnxruntime(spec, small) -> None:
    if spec == "small":
        network, model = small
    else:
        network = netdsl.load(SPECS / "lenet5.net")
        model = netdsl.build(network).eval()
    data = to_bytes(model, network, "onnx")
    onnx.checker.check_model(onnx.load_from_string(data))
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    name = network.graph.inputs[0]
    x = torch.randn(3, *network.graph[name].shape)
    (got,) = session.run(None, {name: x.numpy()})
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_onnx_names_a_parameter_held_by_its_position() -> None:
    """The exporter refuses a weight named `0` (an unlabeled parameter of the network): the
    graph names it `parameter_0`, and the module keeps its state_dict key `0`."""
    network = netdsl.load("network n {\n    input x: [1, 6, 6]\n    concat(dim=0) "
                          "{ parameter([1, 6, 6], batch=true, std=1); identity }\n}\n")
    model = netdsl.build(network).eval()
    graph = onnx.load_from_string(to_bytes(model, network, "onnx"))
    assert [w.name for w in graph.graph.initializer] == ["parameter_0"]
    assert list(model.state_dict()) == ["0"]
    session = onnxruntime.InferenceSession(graph.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    x = torch.randn(3, 1, 6, 6)
    (got,) = session.run(None, {"x": x.numpy()})
    expected = torch.cat([getattr(model, "0").detach().expand(3, -1, -1, -1), x], dim=1)
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-6, rtol=0)


SPEC_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    | st.floats(allow_nan=False, width=64),
    lambda items: st.lists(items, max_size=4).map(tuple), max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(SPEC_VALUES)
def test_spec_str_writes_values_as_the_language_s_str(value):
    """The compiled code's `spec_str` against the evaluator's `str` builtin."""
    from netdsl.backends.pytorch.runtime import spec_str
    from netdsl.elaborate.budget import Budget
    from netdsl.elaborate.builtins import BUILTINS
    assert spec_str(value) == BUILTINS["str"](Budget(), value)
    if isinstance(value, tuple):  # a list passed as a Python list reads the same
        assert spec_str(list(value)) == spec_str(value)


def _exported_runs(network, model, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """`model` on the batch `x` as each export format's file, loaded back, computes it (ONNX in
    onnxruntime)."""
    data = {fmt: to_bytes(model, network, fmt) for fmt in ("torchscript", "exported", "onnx")}
    session = onnxruntime.InferenceSession(data["onnx"], providers=["CPUExecutionProvider"])
    (name,) = network.graph.inputs
    with torch.no_grad():
        return {"torchscript": torch.jit.load(io.BytesIO(data["torchscript"]))(x),
                "exported": torch.export.load(io.BytesIO(data["exported"])).module()(x),
                "onnx": torch.from_numpy(session.run(None, {name: x.numpy()})[0])}


@pytest.mark.parametrize("spec", [
    "network ids { input x: [5]\n embedding(10, 4) }",
    SPECS / "gpt2_small.net"])
def test_an_input_of_token_ids_exports(spec) -> None:
    """Once, every export of a network whose input an embedding reads failed: its example input
    was floats, which the lookup refuses ('Expected tensor for argument #1 'indices' to have
    one of the following scalar types: Long, Int')."""
    sizes = {"vocab": 50, "context": 8, "num_layers": 2, "num_heads": 2, "width": 16}
    network = netdsl.load(spec, **(sizes if not isinstance(spec, str) else {}))
    torch.manual_seed(0)
    model = netdsl.build(network).eval()
    (name,) = network.graph.inputs
    vocab = 10 if isinstance(spec, str) else sizes["vocab"]
    x = torch.randint(0, vocab, (1, *network.graph[name].shape))
    with torch.no_grad():
        expected = model(x)
    for fmt, got in _exported_runs(network, model, x).items():
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4,
                                   msg=lambda m, fmt=fmt: f"{fmt}: {m}")


class Unpooling(torch.nn.Module):
    """maxpool(3, s=2, p=1, indices=true) -> conv(4, 1) -> unpool, by hand, with torch's own
    max unpooling."""

    def __init__(self) -> None:
        super().__init__()
        self.c = torch.nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled, indices = torch.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True)
        return torch.nn.functional.max_unpool2d(self.c(pooled), indices, 3, 2, 1,
                                                output_size=x.shape[2:])


def test_unpooling_exports() -> None:
    """Once, TorchScript and ONNX export of a network that unpools failed: torch's
    F.max_unpool2d cannot be traced (its size check reads a traced size: 'cond must be a
    bool, but got a Tensor') and has no ONNX form."""
    network = netdsl.load("network n { input x: [4, 9, 7]\n"
                          "p: maxpool(3, s=2, p=1, indices=true)\n c: conv(4, 1)\n unpool(p) }")
    reference = Unpooling().eval()
    model = netdsl.build(network).eval()
    model.load_state_dict(reference.state_dict())
    x = torch.randn(1, 4, 9, 7)
    with torch.no_grad():
        expected = reference(x)
    for fmt, got in _exported_runs(network, model, x).items():
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5,
                                   msg=lambda m, fmt=fmt: f"{fmt}: {m}")
