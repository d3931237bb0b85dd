"""The public entry point: `netdsl.load` a spec into a `Network` with its graph and stats."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from netdsl.analysis import Stats, check_expectations, summarize
from netdsl.elaborate import Program, elaborate, load_program, read_source
from netdsl.elaborate.budget import Budget
from netdsl.elaborate.values import language_value
from netdsl.errors import Diagnostic, NetdslError, Span, SpecError
from netdsl.gc_pause import paused_gc
from netdsl.ir import Graph
from netdsl.limits import MAX_NODES, MAX_STEPS


class Network:
    """One elaborated network: `.graph` (the IR), `.stats()`, `.check()`."""

    def __init__(self, program: Program, graph: Graph, source_path: str):
        self.program = program
        self.graph = graph
        self.source_path = source_path
        self._stats: dict[str, Stats] = {}

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def files(self) -> list[str]:
        """Every file read to load the network (the spec and its imports), as real paths: what
        a command must never write over."""
        return self.program.files

    def stats(self, dtype: str = "float32") -> Stats:
        if dtype not in self._stats:
            self._stats[dtype] = summarize(self.graph, dtype)
        return self._stats[dtype]

    def check(self) -> list[Diagnostic]:
        """The `expect` statements that do not hold."""
        return check_expectations(self.graph, self.stats(), self.program.budget)

    def _repr_svg_(self) -> str:
        from netdsl.backends.graphviz import render_svg
        return render_svg(self)

    def __repr__(self) -> str:
        s = self.stats()
        return f"<Network {self.name}: {len(self.graph)} layers, {s.params:,} params>"


def _is_path(spec: str | os.PathLike[str]) -> bool:
    if isinstance(spec, os.PathLike):
        return True
    return "\n" not in spec and "{" not in spec and spec.endswith(".net")


def load(spec: str | os.PathLike[str], network: str | None = None, *,
         max_nodes: int = MAX_NODES, max_steps: int = MAX_STEPS, include: Sequence[str] = (),
         inputs: dict[str, tuple[int, ...]] | None = None, **params: Any) -> Network:
    """Load a spec from a path or from source text and instantiate one of its networks.

    `params` override the network's parameters (`load("resnet50.net", classes=10)`), `inputs`
    the shapes of its inputs by name (`inputs={"x": (3, 299, 299)}`). The work a spec may cause
    is bounded: `max_nodes` layers, `max_steps` steps of evaluation (see netdsl.limits).
    Imports may read .net files under the spec's folder, the bundled library and `include`.
    Raises `NetdslError` with located diagnostics for any problem in the spec.
    """
    if _is_path(spec):
        path = str(spec)
        text = read_source(path)
    else:
        path, text = "<string>", str(spec)
    return _instantiate(text, path, network, (max_nodes, max_steps, tuple(include)), inputs,
                        params)


def load_file(path: str | Path, network: str | None = None, *, max_nodes: int = MAX_NODES,
              max_steps: int = MAX_STEPS, include: Sequence[str] = (),
              inputs: dict[str, tuple[int, ...]] | None = None, **params: Any) -> Network:
    """`load` for a path that need not end in .net."""
    return _instantiate(read_source(str(path)), str(path), network,
                        (max_nodes, max_steps, tuple(include)), inputs, params)


def _instantiate(text: str, path: str, network: str | None, limits: tuple[int, int, tuple],
                 inputs: dict[str, tuple[int, ...]] | None, params: dict[str, Any]) -> Network:
    max_nodes, max_steps, include = limits
    try:
        params = {name: language_value(value) for name, value in params.items()}
    except SpecError as exc:
        raise NetdslError(Diagnostic(exc.message, Span.file(path), exc.code)) from None
    except RecursionError:
        raise NetdslError(Diagnostic("a parameter is a list nested too deeply", Span.file(path),
                                     "limit")) from None
    with paused_gc():  # the syntax tree, like the graph, is many small lasting objects
        program = load_program(text, path, Budget(max_steps), include)
        return Network(program, elaborate(program, network, params, max_nodes, inputs), path)
