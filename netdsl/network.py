"""The public entry point: `netdsl.load` a spec into a `Network` with its graph and stats."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from netdsl.analysis import Stats, check_expectations, summarize
from netdsl.analysis.memory import DTYPE_BYTES, live_curve
from netdsl.analysis.training import OPTIMIZER_STATE, training_memory
from netdsl.analysis.twice import twice_warnings
from netdsl.analysis.unused import once_each, unused_warnings
from netdsl.bundled import model_names, model_path
from netdsl.elaborate import Program, elaborate, load_program, read_source
from netdsl.elaborate.budget import Budget
from netdsl.elaborate.values import language_value
from netdsl.errors import Diagnostic, NetdslError, Span, SpecError, did_you_mean
from netdsl.gc_pause import paused_gc
from netdsl.ir import Definition, Graph
from netdsl.ir.flatten import flatten
from netdsl.limits import MAX_NODES, MAX_STEPS


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

    @property
    def files(self) -> list[str]:
        """Every file read to load the network (the spec and its imports), as real paths: what
        a command must never write over."""
        return self.program.files

    def stats(self, dtype: str = "float32", batch: int = 1, train: str | None = None) -> Stats:
        """Shapes, counts, memory and receptive fields. Activation memory is for `batch`
        samples; `train` ("sgd" or "adam") adds the memory of one training step with that
        optimizer (`Stats.training`; the convention is in docs/language.md)."""
        key = (dtype, batch, train)
        found = self._stats.get(key)
        if found is None:
            with paused_gc():
                if batch == 1 and train is None:
                    found = summarize(self.top, dtype)
                else:
                    base = self.stats(dtype)
                    found = base.at_batch(batch, self._training(base, train, batch, dtype))
            self._stats[key] = found
        return found

    def _training(self, base: Stats, train: str | None, batch: int, dtype: str) -> Any:
        if train is None:
            return None
        if train not in OPTIMIZER_STATE:
            raise ValueError(f"train must be one of {', '.join(OPTIMIZER_STATE)}, got {train!r}")
        return training_memory(self.top, base.params, base.buffers, train, batch, dtype)

    def memory_curve(self, batch: int = 1, dtype: str = "float32") -> list[tuple[str, int]]:
        """(layer, bytes of activations alive while it runs) through the forward pass, in its
        order; the largest is `stats().peak_activation_bytes`."""
        size = DTYPE_BYTES[dtype] * batch
        return [(name, elements * size) for name, elements in live_curve(self.top)]

    def table(self, depth: int | None = None, dtype: str = "float32", batch: int = 1,
              train: str | None = None) -> str:
        """The table `netdsl stats` prints, `depth` levels of blocks deep (None: all)."""
        from netdsl.backends.table import format_table
        return format_table(self.stats(dtype, batch, train), depth)

    def render(self, path: str | os.PathLike[str], depth: int | None = None,
               direction: str = "TB", layout: str | None = None, edge_shapes: bool = False,
               dpi: int | None = None) -> Path:
        """Draw the diagram to `path` (.svg, .png, .pdf or .dot, from its suffix), as
        `netdsl render` does: blocks below `depth` collapsed (None: the deepest that fits a
        page), `layout` "column" or "u", shapes on the edges, a PNG at `dpi`; returns the path."""
        from netdsl.backends.graphviz import dot_of, render_bytes
        from netdsl.backends.graphviz.render import FORMATS
        from netdsl.files import write_atomic
        target = Path(path)
        fmt = target.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            raise ValueError(f"cannot tell the format of {target}: name it "
                             f"{', '.join('.' + f for f in FORMATS)}")
        text = dot_of(self, depth, direction=direction, layout=layout, edge_shapes=edge_shapes)
        data = text if fmt == "dot" else render_bytes(text, fmt, self.source_path, dpi=dpi)
        write_atomic(target, data, protect=self.files)
        return target

    def to_source(self) -> str:
        """The standalone PyTorch source `netdsl compile` writes (needs no torch to make)."""
        from netdsl.backends.pytorch.codegen import generate
        return generate(self)

    def check(self, dtype: str = "float32") -> list[Diagnostic]:
        """The `expect` statements that do not hold (byte counts in elements of `dtype`);
        evaluating them spends what is left of the load's work budget."""
        return check_expectations(self.top.expectations, self.stats(dtype), self.program.budget)

    def warnings(self) -> list[Diagnostic]:
        """Computation no output depends on (a layer nothing reads, an input never used) and
        merges that take one tensor twice: what `netdsl check` warns of, in source order."""
        return once_each(unused_warnings(self.top) + twice_warnings(self.top))

    def _repr_html_(self) -> str:
        """Jupyter's display: the totals, the diagram collapsed to its top blocks, and the
        per-layer table behind a disclosure triangle."""
        from netdsl.backends.html import notebook_html
        return notebook_html(self)

    def __repr__(self) -> str:
        s = self.stats()
        return f"<Network {self.name}: {self.top.meta['layers']:,} layers, {s.params:,} params>"


def _is_path(spec: str | os.PathLike[str]) -> bool:
    """A `Path` is a path; a string is source text when it holds a newline or a `{` (no network
    can be written without braces), and a path otherwise."""
    if isinstance(spec, os.PathLike):
        return True
    return "\n" not in spec and "{" not in spec


def load(spec: str | os.PathLike[str], network: str | None = None, *,
         max_nodes: int = MAX_NODES, max_steps: int = MAX_STEPS, include: Sequence[str] = (),
         inputs: dict[str, tuple[int, ...]] | None = None, **params: Any) -> Network:
    """Load a spec from a path or from source text and instantiate one of its networks.

    `spec` is a path when it is a `Path` (any `os.PathLike`), or a string with neither a newline
    nor a `{`: `load("specs/resnet50.net")` reads the file, `load("network n { ... }")` parses
    the text. A path that names no file but a bundled model is that model (`load("resnet50")`;
    a file of the name wins); anything else is an error that suggests the file or model meant
    (`specs/resnet50` -> `specs/resnet50.net`).
    `params` override the network's parameters (`load("resnet50.net", classes=10)`), `inputs`
    the shapes of its inputs by name (`inputs={"x": (3, 299, 299)}`). The work a spec may cause
    is bounded: `max_nodes` layers, `max_steps` steps of evaluation (see netdsl.limits).
    Imports may read .net files under the spec's folder, the bundled library and `include`.
    Raises `NetdslError` with located diagnostics for any problem in the spec.
    """
    if _is_path(spec):
        if isinstance(spec, str):
            _existing(spec, otherwise="a string is read as source text when it holds a newline "
                                      "or a '{'")
        return load_file(spec, network, max_nodes=max_nodes, max_steps=max_steps,
                         include=include, inputs=inputs, **params)
    return load_source(str(spec), network, max_nodes=max_nodes, max_steps=max_steps,
                       include=include, inputs=inputs, **params)


def load_file(path: str | os.PathLike[str], network: str | None = None, *,
              max_nodes: int = MAX_NODES, max_steps: int = MAX_STEPS,
              include: Sequence[str] = (), inputs: dict[str, tuple[int, ...]] | None = None,
              **params: Any) -> Network:
    """`load` for a path, whatever its suffix."""
    path = _existing(str(path))
    return _instantiate(read_source(path), path, network, (max_nodes, max_steps, tuple(include)),
                        inputs, params)


def load_source(text: str, network: str | None = None, *, source_name: str = "<string>",
                max_nodes: int = MAX_NODES, max_steps: int = MAX_STEPS,
                include: Sequence[str] = (), inputs: dict[str, tuple[int, ...]] | None = None,
                **params: Any) -> Network:
    """`load` for source text. `source_name` stands for the file in diagnostics (`<stdin>`);
    the text's imports are relative to the working directory."""
    return _instantiate(text, source_name, network, (max_nodes, max_steps, tuple(include)),
                        inputs, params)


def positive_argument(name: str, value: Any, path: str | None = None) -> None:
    """A bound passed from Python (`max_steps`, `max_nodes`, `max_bytes`) is a whole number
    >= 1, as the command line's options are; else an error at the spec it was passed for."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise NetdslError(Diagnostic(f"{name} must be a whole number >= 1, got {value!r}",
                                     Span.file(path) if path else None, "usage"))


def _input_shapes(inputs: Any, path: str) -> dict[str, tuple[Any, ...]] | None:
    """`inputs` from Python: names to shapes given as lists or tuples (whose sizes the
    elaborator checks where the input is declared). A string is no shape: "3x8x8" is the
    command line's spelling, and read as a sequence it was nine sizes of one character."""
    if inputs is None:
        return None
    if not isinstance(inputs, dict):
        raise NetdslError(Diagnostic(
            f"inputs must be a dict of input names to shapes, got {type(inputs).__name__}",
            Span.file(path), "usage", help='e.g. inputs={"x": (3, 224, 224)}'))
    for name, shape in inputs.items():
        if not isinstance(shape, (list, tuple)):
            raise NetdslError(Diagnostic(
                f"inputs[{name!r}] must be a list or tuple of sizes, got {shape!r}",
                Span.file(path), "usage", help=f"e.g. inputs={{{name!r}: (3, 224, 224)}}"))
    return {name: tuple(shape) for name, shape in inputs.items()}


def _existing(path: str, otherwise: str | None = None) -> str:
    """`path` if something is there (reading it reports anything else), else the bundled model
    of that name (`resnet50`), else a clear error that suggests the spec file or model meant
    (or says `otherwise`)."""
    if not _absent(path):
        return path
    bundled = model_path(path)
    if bundled is not None:
        return str(bundled)
    candidate = path + ".net"
    if _is_file(candidate):
        hint = f"did you mean '{candidate}'?"
    else:
        folder = Path(path).parent
        specs = [str(folder / p.name) for p in folder.glob("*.net")] if folder.is_dir() else []
        hint = did_you_mean(path, specs + model_names())
    raise NetdslError(Diagnostic(
        f"no such spec file or bundled model: {path}", Span.file(path), "io",
        help=hint or otherwise or "`netdsl zoo` lists the bundled models"))


def _absent(path: str) -> bool:
    """Nothing is at `path`. A name too long, a loop of symlinks, a folder not to be entered:
    something may be, and reading it says what is wrong with it (a bundled model of the name,
    or a name to suggest, would answer a question not asked)."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError, ValueError):  # ValueError: a NUL
        return True
    except OSError:
        return False
    return False


def _is_file(path: str) -> bool:
    """A regular file is at `path` (not when the name is too long to look it up)."""
    try:
        return Path(path).is_file()
    except OSError:
        return False


def _instantiate(text: str, path: str, network: str | None, limits: tuple[int, int, tuple],
                 inputs: dict[str, tuple[int, ...]] | None, params: dict[str, Any]) -> Network:
    max_nodes, max_steps, include = limits
    positive_argument("max_nodes", max_nodes, path)
    positive_argument("max_steps", max_steps, path)
    inputs = _input_shapes(inputs, path)
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
