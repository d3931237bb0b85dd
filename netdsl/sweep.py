"""Sweeps: one spec under every combination of several parameters' values (`netdsl sweep`),
each variant's totals, peak memory, output shape and failed `expect`s.

The spec is parsed once and each variant elaborated from the parsed program, sharing with the
earlier variants the block definitions whose arguments and input shapes they repeat (with
the analyses' figures kept on them): a width sweep rebuilds what the width changes, a depth
sweep mostly reuses its blocks.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from netdsl.analysis import check_expectations, summarize
from netdsl.elaborate import Program, elaborate
from netdsl.elaborate.budget import Budget
from netdsl.elaborate.cache import DefinitionCache
from netdsl.errors import NetdslError
from netdsl.gc_pause import paused_gc
from netdsl.limits import MAX_NODES


@dataclass(frozen=True)
class Axis:
    """One swept parameter and its values, in the order given."""

    name: str
    values: tuple[Any, ...]


@dataclass
class Variant:
    """One combination's figures, or the error that stopped it (`error`)."""

    settings: dict[str, Any]
    params: int = 0
    macs: int = 0
    flops: int = 0
    peak_activation_bytes: int = 0
    param_bytes: int = 0
    outputs: dict[str, tuple[int, ...]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)  # messages of `expect`s that do not hold
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**self.settings, "params": self.params, "macs": self.macs, "flops": self.flops,
                "peak_activation_bytes": self.peak_activation_bytes,
                "param_bytes": self.param_bytes,
                "outputs": {k: list(v) for k, v in self.outputs.items()},
                "failed": self.failed, "error": self.error}


def combinations(axes: Sequence[Axis]) -> list[dict[str, Any]]:
    """Every combination of the axes' values, the last axis varying fastest."""
    names = [a.name for a in axes]
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(a.values for a in axes))]


def sweep(program: Program, axes: Sequence[Axis], network: str | None = None,
          fixed: dict[str, Any] | None = None, dtype: str = "float32",
          max_nodes: int = MAX_NODES, inputs: dict[str, tuple[int, ...]] | None = None,
          jobs: int = 1) -> Iterator[Variant]:
    """Each variant of `program`'s network, in `combinations` order, as it is done; with
    `jobs` > 1 in that many forked worker processes (where the platform forks; otherwise in
    this one), each taking consecutive variants, which share the most definitions."""
    run = _Runner(program, network, dict(fixed or {}), dtype, max_nodes, inputs)
    settings = combinations(axes)
    if jobs <= 1 or len(settings) < MIN_PARALLEL or "fork" not in mp.get_all_start_methods():
        yield from map(run, settings)
        return
    global _RUNNER
    _RUNNER = run  # the workers inherit it when they fork
    chunk = max(1, min(CHUNK, len(settings) // (4 * jobs)))
    with mp.get_context("fork").Pool(jobs) as pool:
        for done in pool.imap(_run_chunk, _chunks(settings, chunk)):
            yield from done
    _RUNNER = None


MIN_PARALLEL = 32  # fewer variants than this are done before worker processes would start
CHUNK = 16  # consecutive variants a worker takes at once
_RUNNER: _Runner | None = None


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _run_chunk(settings: list[dict[str, Any]]) -> list[Variant]:
    assert _RUNNER is not None
    return [_RUNNER(s) for s in settings]


class _Runner:
    """Elaborates and analyses one variant, keeping the definitions for the next ones."""

    def __init__(self, program: Program, network: str | None, fixed: dict[str, Any],
                 dtype: str, max_nodes: int, inputs: dict[str, tuple[int, ...]] | None):
        self.program, self.network, self.fixed = program, network, fixed
        self.dtype, self.max_nodes, self.inputs = dtype, max_nodes, inputs
        self.cache = DefinitionCache()
        self.steps = (program.budget.limit, program.budget.left)  # what loading left over

    def fresh_budget(self) -> Budget:
        """Each variant may spend what one `netdsl.load` of it could, after the parse."""
        limit, left = self.steps
        budget = Budget(limit)
        budget.left = left
        return budget

    def __call__(self, settings: dict[str, Any]) -> Variant:
        variant = Variant(settings)
        self.program.budget = self.fresh_budget()
        try:
            with paused_gc():
                top = elaborate(self.program, self.network, {**self.fixed, **settings},
                                self.max_nodes, self.inputs, cache=self.cache)
                stats = summarize(top, self.dtype)
                problems = check_expectations(top.expectations, stats, self.program.budget)
        except NetdslError as exc:
            variant.error = exc.diagnostics[0].message if exc.diagnostics else str(exc)
            return variant
        variant.params, variant.macs, variant.flops = stats.params, stats.macs, stats.flops
        variant.peak_activation_bytes = stats.peak_activation_bytes
        variant.param_bytes = stats.param_bytes
        variant.outputs = dict(stats.outputs)
        variant.failed = [_located(p) for p in problems]
        return variant


def _located(problem: Any) -> str:
    """A failed expectation's message with its line."""
    span = problem.span
    return f"line {span.line}: {problem.message}" if span is not None else problem.message
