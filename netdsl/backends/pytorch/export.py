"""Serialized forms of a built module: TorchScript (traced), torch.export (.pt2) and ONNX.

All three trace the module in eval mode on random example inputs of the IR's input shapes with
a batch of 1 (token ids for an input an embedding reads); the batch axis is kept dynamic where
the format allows it.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from netdsl.backends.pytorch.bounds import allocating, refuse_oversized
from netdsl.limits import MAX_BYTES

SUFFIXES = {"torchscript": ".pt", "exported": ".pt2", "onnx": ".onnx"}  # each format's usual one
FORMATS = tuple(SUFFIXES)


def example_inputs(network: Any, batch: int = 1) -> tuple[Any, ...]:
    graph = network.graph
    return tuple(example_input(graph, name, batch) for name in graph.inputs)


def example_input(graph: Any, name: str, batch: int = 1) -> Any:
    """Random values for input `name`, or random token ids where a layer reads it as ids (an
    embedding, whose lookup takes no floats): below the smallest vocabulary of those."""
    import torch
    shape = (batch, *graph[name].shape)
    counts = [n for user in graph.users(name) if (n := graph[user].op.id_count()) is not None]
    if counts:
        return torch.randint(0, min(counts), shape)
    return torch.randn(shape)


def to_bytes(module: Any, network: Any, fmt: str, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of `module` (a built network) in format `fmt`. Tracing runs the network once
    on an example input: refused, located, when that and the weights take more than
    `max_bytes`."""
    refuse_oversized(network, max_bytes, running=True)
    with _quiet_tracing(), allocating("to run the network on an example input"):
        return _to_bytes(module, network, fmt)


@contextmanager
def _quiet_tracing() -> Iterator[None]:
    """Tracing records a built module's check of its input size (`torch._assert(x.shape[2:]
    == (32, 32), ...)`) as the constant it is at the traced size, which is what an export
    fixes, and says so in a TracerWarning; torch also says that torch.jit's tracing is
    deprecated. Neither is for the user to act on, so both are silenced here and nothing
    else is."""
    import torch
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", r"`torch\.jit\.\w+` is deprecated", FutureWarning)
        yield


def _to_bytes(module: Any, network: Any, fmt: str) -> bytes:
    import torch
    module = module.eval()
    inputs = example_inputs(network)
    buffer = io.BytesIO()
    if fmt == "torchscript":
        with torch.no_grad():
            scripted = torch.jit.trace(module, inputs)
        torch.jit.save(scripted, buffer)
    elif fmt == "exported":
        program = torch.export.export(module, inputs)
        torch.export.save(program, buffer)
    elif fmt == "onnx":
        names = list(network.graph.inputs)
        outputs = [_onnx_name(name) for name in network.graph.outputs]
        axes = {name: {0: "batch"} for name in names + outputs}
        with torch.no_grad(), _no_attention_fast_path(), _onnx_weight_names(module):
            torch.onnx.export(module, inputs, buffer, input_names=names, output_names=outputs,
                              dynamic_axes=axes, dynamo=False)
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    return buffer.getvalue()


@contextmanager
def _no_attention_fast_path() -> Iterator[None]:
    """nn.MultiheadAttention without grad runs as one fused operator
    (`aten::_native_multi_head_attention`) that has no ONNX form; its ordinary path, what it
    computes while training, has one."""
    import torch
    enabled = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(enabled)


def _onnx_name(name: str) -> str:
    """An output's name in the ONNX graph: the table's, but a position (`1`, the last layer
    of a network without labels) is no name the exporter takes: `output_1`."""
    return f"output_{name}" if name[:1].isdigit() else name


@contextmanager
def _onnx_weight_names(module: Any) -> Iterator[None]:
    """The exporter names the graph's weights by their state_dict keys; a parameter the
    network holds by its position (`register_parameter("0", ...)`) has a key it refuses (a
    number; `0.weight` it takes), so while it exports, the module's state_dict gives that one
    `parameter_0`, in its place."""
    def renamed(module: Any, state: dict, prefix: str, metadata: Any) -> None:
        items = [(f"parameter_{key}" if key.isdigit() else key, value)
                 for key, value in state.items()]
        state.clear()
        state.update(items)

    handle = module.register_state_dict_post_hook(renamed)
    try:
        yield
    finally:
        handle.remove()
