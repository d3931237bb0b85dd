"""The sweep engine's worker processes: the rows they give are one process's, in order; they
start only when the work left is worth it; a worker's failure is raised; closing a sweep
stops them. (Its figures are tested against torchvision in tests/cli/test_sweep.py.)"""

from __future__ import annotations

import multiprocessing as mp
import os

import pytest

import netdsl.sweep
from netdsl.elaborate import load_program, read_source
from netdsl.sweep import Axis, Variant, sweep
from tests.conftest import SPECS

pytestmark = pytest.mark.skipif("fork" not in mp.get_all_start_methods(),
                                reason="worker processes are forked")

SPEC = str(SPECS / "efficientnet_b0.net")
AXES = [Axis("width", (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)), Axis("depth", (1.0, 1.2))]


@pytest.fixture
def program():
    return load_program(read_source(SPEC), SPEC)


@pytest.fixture
def by_process(monkeypatch):
    """Each variant records the process that made it (forked workers inherit the patch)."""
    done = netdsl.sweep._Runner.__call__

    def stamped(self, settings):
        variant = done(self, settings)
        variant.pid = os.getpid()
        return variant

    monkeypatch.setattr(netdsl.sweep._Runner, "__call__", stamped)


def rows(variants: list[Variant]) -> list[dict]:
    return [v.as_dict() for v in variants]


def test_workers_give_the_rows_of_one_process_in_order(program, by_process):
    alone = list(sweep(program, AXES, inputs={"x": (3, 64, 64)}))
    shared = list(sweep(program, AXES, inputs={"x": (3, 64, 64)}, jobs=3, workers_after=0))
    assert {v.pid for v in alone} == {os.getpid()}
    assert len({v.pid for v in shared}) == 3  # this process and two workers
    assert rows(shared) == rows(alone)
    assert [v.settings for v in shared][:3] == [{"width": 0.5, "depth": 1.0},
                                                {"width": 0.5, "depth": 1.2},
                                                {"width": 0.6, "depth": 1.0}]
    assert rows(shared)[0]["params"] < rows(shared)[-1]["params"]


def test_no_workers_when_the_work_left_is_short(program, by_process):
    """The first run's time estimates the rest: no sweep of EfficientNet variants takes a
    million seconds."""
    done = list(sweep(program, AXES, jobs=2, workers_after=1e6))
    assert {v.pid for v in done} == {os.getpid()} and len(done) == 12


def test_a_failing_worker_is_raised(program, monkeypatch):
    parent = os.getpid()
    done = netdsl.sweep._Runner.__call__

    def failing(self, settings):
        if os.getpid() != parent:
            raise ValueError("broken in a worker")
        return done(self, settings)

    monkeypatch.setattr(netdsl.sweep._Runner, "__call__", failing)
    with pytest.raises(RuntimeError, match="(?s)a sweep worker failed.*broken in a worker"):
        list(sweep(program, AXES, jobs=2, workers_after=0))
    assert mp.active_children() == []


def test_closing_a_sweep_stops_its_workers(program):
    variants = sweep(program, AXES, jobs=2, workers_after=0)
    first = [next(variants) for _ in range(3)]
    assert [v.settings["width"] for v in first] == [0.5, 0.5, 0.6]
    variants.close()
    assert mp.active_children() == []


def test_the_help_says_when_workers_start(cli):
    done = cli("sweep", "--help")
    assert f"more than {netdsl.sweep.WORKERS_AFTER:g} s in one process" in " ".join(
        done.stdout.split())


@pytest.mark.parametrize(("sizes", "jobs", "length"), [
    ([20, 15], 2, 15),  # the variants of one width
    ([300], 2, 8),  # one axis: MIN_RUN at a time
    ([2, 200], 2, 50),  # no more than a quarter of each process's share
    ([3, 2], 2, 1),
])
def test_runs_follow_the_first_axis(sizes, jobs, length):
    assert netdsl.sweep._run_length(sizes, jobs) == length


@pytest.mark.parametrize(("runs", "jobs", "shares"), [
    (20, 2, [range(0, 10), range(10, 20)]),
    (19, 2, [range(0, 9), range(9, 19)]),
    (5, 3, [range(0, 1), range(1, 3), range(3, 5)]),
    (2, 3, [range(0, 1), range(1, 1), range(1, 2)]),  # this process keeps the first run
])
def test_each_process_does_a_span_of_consecutive_runs(runs, jobs, shares):
    """Consecutive runs share definitions: each process takes one span of them."""
    assert [netdsl.sweep._share(runs, p, jobs) for p in range(jobs)] == shares
