"""Tracing a torch model with torch.fx: its graph, which modules are leaves (one netdsl operator
each), and the value every node takes on the example input.

A model torch.fx cannot trace (Python control flow on a tensor, say) is reported as a located
error naming the innermost module being traced and the line of its source that failed.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import linecache
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn

from netdsl.backends.pytorch.importer.mapping import is_mapped_module
from netdsl.errors import SOURCES, Diagnostic, NetdslError, Span

# Functions of well-known libraries that torch.fx should record as one call rather than trace
# through, because each is one netdsl operator: "module:function".
WRAPPED_FUNCTIONS = ("torchvision.models.shufflenetv2:channel_shuffle",)
_NETDSL = str(Path(__file__).resolve().parents[3])  # netdsl's own frames are not the model's
_FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)')


@dataclass
class Trace:
    """The traced graph and, for every node, the value it took on the example input."""

    model: nn.Module
    graph: fx.Graph
    values: dict[fx.Node, Any]


class _Tracer(fx.Tracer):
    """Stops at modules netdsl maps to one operator; remembers which module it is inside, so a
    failure can name it."""

    def __init__(self) -> None:
        super().__init__(autowrap_functions=_wrapped_functions())
        self.record_stack_traces = True
        self.inside: list[str] = []

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return is_mapped_module(m) or super().is_leaf_module(m, module_qualified_name)

    def call_module(self, m: nn.Module, forward: Any, args: Any, kwargs: Any) -> Any:
        self.inside.append(self.path_of_module(m))
        result = super().call_module(m, forward, args, kwargs)
        self.inside.pop()
        return result


def _wrapped_functions() -> tuple[Any, ...]:
    found = []
    for entry in WRAPPED_FUNCTIONS:
        module, _, name = entry.partition(":")
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def trace(model: nn.Module, example: tuple[torch.Tensor, ...]) -> Trace:
    """Trace `model` (in eval mode) and run the graph on `example`, keeping every node's value."""
    model.eval()
    tracer = _Tracer()
    try:
        graph = tracer.trace(model, concrete_args=_defaults_beyond(model, len(example)))
    except Exception as exc:  # noqa: BLE001 - any failure of tracing is reported, located
        raise _untraceable(model, tracer, exc) from None
    _drop_fixed(graph, len(example))
    module = fx.GraphModule(model, graph)
    values: dict[fx.Node, Any] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            try:
                values[n] = result = super().run_node(n)
            except Exception as exc:  # noqa: BLE001 - the model's own code on the input
                raise _failed(model, n, exc) from None
            return result

    with torch.no_grad():
        Recorder(module).run(*example)
    for node in graph.nodes:
        if node.op == "placeholder" and isinstance(values.get(node), torch.Tensor):
            node.meta["netdsl_shape"] = tuple(values[node].shape[1:])
    return Trace(model, graph, values)


def _defaults_beyond(model: nn.Module, given: int) -> dict[str, Any] | None:
    """The parameters of `forward` after the example's inputs that have defaults (`y=1`,
    `*, targets=None`), fixed at them: they are options of the call, not inputs (traced as
    inputs, they had no example value and no shape)."""
    try:
        parameters = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):  # a forward without a signature Python can read
        return None
    named = [p for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return {p.name: p.default for p in named[given:] if p.default is not p.empty} or None


def _drop_fixed(graph: fx.Graph, given: int) -> None:
    """The placeholders torch.fx keeps for the parameters fixed at their defaults, with its
    checks that they have them (`_assert_is_none`, `_assert(y == 1)`): what the model computes
    uses the values themselves, so the graph's inputs are the example's."""
    for node in [n for n in graph.nodes if n.op == "placeholder"][given:]:
        checks: set[fx.Node] = set()
        waiting = list(node.users)
        while waiting:
            user = waiting.pop()
            if user not in checks:
                checks.add(user)
                waiting += user.users
        if any(n.op == "output" for n in checks):
            continue  # an input the model computes with: the run reports it missing
        for check in reversed([n for n in graph.nodes if n in checks]):
            graph.erase_node(check)
        graph.erase_node(node)


def _failed(model: nn.Module, node: fx.Node, exc: Exception) -> NetdslError:
    stack = list((node.meta.get("nn_module_stack") or {}).values())
    path = str(node.target) if node.op == "call_module" else (stack[-1][0] if stack else "")
    module = model.get_submodule(path) if path else model
    name = f"'{path}' ({type(module).__qualname__})" if path else type(model).__qualname__
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return NetdslError(Diagnostic(
        f"module {name} fails on the example input: {first}", source_line(node), "trace",
        help="give the input shape the model expects with --input (channels first, no batch "
             "axis); netdsl runs the model on a batch of two samples, as a spec describes "
             "any batch"))


def source_line(node: fx.Node, within: type | None = None) -> Span | None:
    """The last line of the node's recorded stack that lies outside torch and netdsl; with
    `within`, the last in that class's source if any is (the line of its forward that called
    the module making the node: a model and its blocks often share one file)."""
    frames = [(path, int(line)) for path, line in
              _FRAME.findall(node.meta.get("stack_trace") or "")]
    own = _source_lines(within) if within is not None else None
    latest = frames[::-1]
    for path, line in [f for f in latest if own and f[0] == own[0] and
                       own[1] <= f[1] < own[2]] + latest:
        outside = "/torch/" not in path and not path.startswith(_NETDSL)
        span = line_span(path, line) if outside else None
        if span is not None:
            return span
    return None


@functools.cache
def _source_lines(cls: type) -> tuple[str, int, int] | None:
    """The file of a class's source and the range of its lines, [first, end) (asked for
    every layer a problem or a container places: inspect parses the file each time)."""
    try:
        lines, first = inspect.getsourcelines(cls)
        return inspect.getsourcefile(cls), first, first + len(lines)
    except (OSError, TypeError):
        return None


def _untraceable(model: nn.Module, tracer: _Tracer, exc: Exception) -> NetdslError:
    path = tracer.inside[-1] if tracer.inside else ""
    module = model.get_submodule(path) if path else model
    name = f"'{path}' ({type(module).__qualname__})" if path else type(model).__qualname__
    span = _failing_line(type(module), exc)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return NetdslError(Diagnostic(
        f"torch.fx cannot trace module {name}: {first}", span, "trace",
        help="torch.fx traces forward() symbolically: Python control flow on tensor values, "
             "and calls it cannot see through, stop it; make the model traceable "
             "(torch.fx.wrap a helper function, or branch on attributes set in __init__)"))


def _failing_line(cls: type, exc: Exception) -> Span | None:
    """The last line of the traceback that lies in the module's own source file, else the last
    line outside torch."""
    try:
        own = inspect.getsourcefile(cls)
    except TypeError:
        own = None
    frames = traceback.extract_tb(exc.__traceback__)
    chosen = next((f for f in reversed(frames) if own and f.filename == own), None)
    chosen = chosen or next((f for f in reversed(frames) if "/torch/" not in f.filename), None)
    if chosen is None or chosen.lineno is None:
        return None
    return line_span(chosen.filename, chosen.lineno)


def line_span(path: str, line: int) -> Span | None:
    """The span of one line of a Python source file (kept so the message can quote it)."""
    text = linecache.getline(path, line)
    if not text:
        return None
    SOURCES.add(path, "".join(linecache.getlines(path)))
    stripped = text.rstrip("\n")
    col = len(stripped) - len(stripped.lstrip()) + 1
    return Span(path, line, col, line, len(stripped) + 1)
