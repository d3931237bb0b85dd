"""The public entry point: `netdsl.load` a spec into a `Network` with its graph and stats."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from netdsl.analysis import Stats, check_expectations, summarize
from netdsl.elaborate import Program, elaborate, load_program, read_source
from netdsl.errors import Diagnostic
from netdsl.gc_pause import paused_gc
from netdsl.ir import Definition, Graph
from netdsl.ir.flatten import flatten


class Network:
    """One elaborated network: `.top` (the hierarchy of definitions), `.graph` (the flat layer
    graph derived from it), `.stats()`, `.check()`."""

    def __init__(self, program: Program, top: Definition, source_path: str):
        self.program = program
        self.top = top
        self.source_path = source_path
        self._stats: dict[str, Stats] = {}
        self._graph: Graph | None = None

    @property
    def name(self) -> str:
        return self.top.name

    @property
    def graph(self) -> Graph:
        """The flat layer graph, built on first use."""
        if self._graph is None:
            with paused_gc():
                self._graph = flatten(self.top, self.top.expectations)
        return self._graph

    def stats(self, dtype: str = "float32") -> Stats:
        if dtype not in self._stats:
            self._stats[dtype] = summarize(self.top, dtype)
        return self._stats[dtype]

    def check(self) -> list[Diagnostic]:
        """The `expect` statements that do not hold."""
        return check_expectations(self.top.expectations, self.stats())

    def _repr_svg_(self) -> str:
        from netdsl.backends.graphviz import render_svg
        return render_svg(self)

    def __repr__(self) -> str:
        s = self.stats()
        return f"<Network {self.name}: {self.top.meta['layers']:,} layers, {s.params:,} params>"


def _is_path(spec: str | os.PathLike[str]) -> bool:
    if isinstance(spec, os.PathLike):
        return True
    return "\n" not in spec and "{" not in spec and spec.endswith(".net")


def load(spec: str | os.PathLike[str], network: str | None = None, *,
         max_nodes: int = 1_000_000, inputs: dict[str, tuple[int, ...]] | None = None,
         **params: Any) -> Network:
    """Load a spec from a path or from source text and instantiate one of its networks.

    `params` override the network's parameters (`load("resnet50.net", classes=10)`), `inputs`
    the shapes of its inputs by name (`inputs={"x": (3, 299, 299)}`).
    Raises `NetdslError` with located diagnostics for any problem in the spec.
    """
    if _is_path(spec):
        path = str(spec)
        text = read_source(path)
    else:
        path, text = "<string>", str(spec)
    return _instantiate(text, path, network, max_nodes, inputs, params)


def load_file(path: str | Path, network: str | None = None, *, max_nodes: int = 1_000_000,
              inputs: dict[str, tuple[int, ...]] | None = None, **params: Any) -> Network:
    """`load` for a path that need not end in .net."""
    return _instantiate(read_source(str(path)), str(path), network, max_nodes, inputs, params)


def _instantiate(text: str, path: str, network: str | None, max_nodes: int,
                 inputs: dict[str, tuple[int, ...]] | None, params: dict[str, Any]) -> Network:
    with paused_gc():  # the syntax tree, like the graph, is many small lasting objects
        program = load_program(text, path)
        return Network(program, elaborate(program, network, params, max_nodes, inputs), path)
