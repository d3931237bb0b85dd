"""Sweeps: one spec under every combination of several parameters' values (`netdsl sweep`),
each variant's totals, peak memory, output shape and failed `expect`s.

The spec is parsed once and each variant elaborated from the parsed program, sharing with the
earlier variants the block definitions whose arguments and input shapes they repeat (with
the analyses' figures kept on them): a width sweep rebuilds what the width changes, a depth
sweep mostly reuses its blocks.
"""

from __future__ import annotations

import gc
import itertools
import math
import multiprocessing as mp
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
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
    where: str = ""  # the error's place (path:line:col) and code, for the command's message
    code: str = ""

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
          jobs: int = 1, workers_after: float | None = None) -> Iterator[Variant]:
    """Each variant of `program`'s network, in `combinations` order, as it is done.

    The variants are done in runs of consecutive ones (those sharing the first axis' value
    share the most definitions). With `jobs` > 1, where the platform forks, once the first run
    shows that the rest would take more than `workers_after` seconds (`WORKERS_AFTER` by
    default) in one process, this process forks `jobs - 1` workers, which inherit the parsed
    program and the definitions made so far, and each process does a span of consecutive runs
    (this one goes on from the first); below that, starting workers would cost more than they
    save."""
    run = _Runner(program, network, dict(fixed or {}), dtype, max_nodes, inputs)
    settings = combinations(axes)
    size = _run_length([len(a.values) for a in axes], jobs)
    runs = [settings[i:i + size] for i in range(0, len(settings), size)]
    if jobs <= 1 or len(runs) < 2 or "fork" not in mp.get_all_start_methods():
        yield from map(run, settings)
        return
    spent = 0.0
    for one in runs[0]:
        start = time.perf_counter()
        variant = run(one)
        spent += time.perf_counter() - start
        yield variant
    left = spent / len(runs[0]) * (len(settings) - len(runs[0]))
    if left <= (WORKERS_AFTER if workers_after is None else workers_after):
        yield from map(run, settings[len(runs[0]):])
        return
    yield from _Workers(run, runs, jobs).variants()


WORKERS_AFTER = 0.1  # seconds of work left, on one core, below which no workers start
MIN_RUN = 8  # consecutive variants a process takes at once, at least (when there are enough)


def _run_length(sizes: list[int], jobs: int) -> int:
    """Variants per run: those sharing a value of the first axis (at least `MIN_RUN`), and
    short enough that every process has several runs to even out their load."""
    total = math.prod(sizes)
    return max(1, min(max(math.prod(sizes[1:]), MIN_RUN), total // (4 * jobs)))


def _share(runs: int, process: int, jobs: int) -> range:
    """The runs process `process` of `jobs` does (0: this one, which did the first before the
    workers started): one span of consecutive runs each, as even as can be. Consecutive runs
    share many definitions (nearby values of the first axis make many of the same blocks),
    which runs dealt out in turn would make in each process: with 2 processes, a sweep of
    EfficientNet's widths made a quarter more definitions that way."""
    def bound(p: int) -> int:
        return max(1, runs * p // jobs) if p else 0
    return range(bound(process), bound(process + 1))


class _Workers:
    """The runs after the first shared out between this process, which goes on from the first,
    and `jobs - 1` forked workers; the variants yielded in order as they arrive."""

    def __init__(self, run: _Runner, runs: list[list[dict[str, Any]]], jobs: int):
        self.run, self.runs, self.jobs = run, runs, jobs
        self.done: dict[int, list[Variant]] = {}  # run index -> its variants, not yet yielded
        self.next = 1  # the run to yield next (the first is done)
        self.workers: dict[Connection, tuple[int, BaseProcess]] = {}  # by its pipe

    def variants(self) -> Iterator[Variant]:
        self.start()
        try:
            for index in _share(len(self.runs), 0, self.jobs)[1:]:  # the first is done
                if index == self.next:  # every earlier run is in: yield as they are done
                    yield from map(self.run, self.runs[index])
                    self.next += 1
                else:
                    self.done[index] = [self.run(one) for one in self.runs[index]]
                self.receive(block=False)
                yield from self.ready()
            while self.next < len(self.runs):
                self.receive(block=True)
                yield from self.ready()
        finally:
            self.stop()

    def start(self) -> None:
        """Fork the workers; the objects this process holds are frozen for the collector
        meanwhile, so the workers' collections neither walk nor copy them."""
        context = mp.get_context("fork")
        gc.freeze()
        try:
            for worker in range(1, self.jobs):
                receiver, sender = context.Pipe(duplex=False)
                process = context.Process(target=_work, daemon=True,
                                          args=(self.run, self.runs, worker, self.jobs, sender))
                process.start()
                sender.close()
                self.workers[receiver] = (worker, process)
        finally:
            gc.unfreeze()

    def receive(self, block: bool) -> None:
        """Take the runs the workers have finished (waiting for one at least if `block`)."""
        for conn in wait(list(self.workers), timeout=None if block else 0):
            try:
                index, result = conn.recv()
            except EOFError:  # it has finished, or died
                worker, process = self.workers.pop(conn)
                conn.close()
                process.join()
                if any(i >= self.next and i not in self.done
                       for i in _share(len(self.runs), worker, self.jobs)):
                    raise RuntimeError(f"a sweep worker stopped (exit code "
                                       f"{process.exitcode})") from None
                continue
            if index < 0:
                raise RuntimeError(f"a sweep worker failed:\n{result}")
            self.done[index] = result

    def ready(self) -> Iterator[Variant]:
        while self.next in self.done:
            yield from self.done.pop(self.next)
            self.next += 1

    def stop(self) -> None:
        for conn, (_, process) in self.workers.items():
            conn.close()
            if process.is_alive():
                process.terminate()
            process.join()
        self.workers.clear()


def _work(run: _Runner, runs: list[list[dict[str, Any]]], worker: int, jobs: int,
          conn: Connection) -> None:
    """A worker: its share of the runs (`_share`), each sent when done."""
    try:
        for index in _share(len(runs), worker, jobs):
            conn.send((index, [run(one) for one in runs[index]]))
    except Exception:  # a bug: the parent raises it with this traceback
        conn.send((-1, traceback.format_exc()))
    finally:
        conn.close()


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
        """The variant's figures. Its cycles are collected as it ends, while the collector is
        still paused: that walks only the objects made since the last variant, where the
        collector's own schedule would also walk, again and again, the definitions the cache
        keeps."""
        with paused_gc():
            variant = self.figures(settings)
            gc.collect(0)
        return variant

    def figures(self, settings: dict[str, Any]) -> Variant:
        variant = Variant(settings)
        self.program.budget = self.fresh_budget()
        try:
            top = elaborate(self.program, self.network, {**self.fixed, **settings},
                            self.max_nodes, self.inputs, cache=self.cache)
            stats = summarize(top, self.dtype)
            problems = check_expectations(top.expectations, stats, self.program.budget)
        except NetdslError as exc:
            first = exc.diagnostics[0]
            variant.error, variant.code = first.message, first.code
            variant.where = str(first.span) if first.span else ""
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
