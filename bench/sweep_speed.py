"""Sweep speed: EfficientNet-B0 variants a second (`netdsl sweep`'s engine, in-process), over a
grid of 20 widths x 15 depths = 300 variants of the compound scaling (specs/efficientnet_b0.net
`width`, `depth`). The spec is parsed once; each variant is elaborated from the parsed
program, sharing the block definitions earlier variants made, and analysed (params, MACs,
peak memory, the `expect`s). With 2 processes (`jobs=2`), this one forks a worker once the first
run of variants (the 15 depths of the first width) shows that the rest would take more than
`netdsl.sweep.WORKERS_AFTER` seconds; this one goes on with the first half of the widths, the
worker does the other half. Goal: 300 variants a second on this 2-core machine."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import table  # noqa: E402

from netdsl.elaborate import load_program, read_source  # noqa: E402
from netdsl.sweep import Axis, sweep  # noqa: E402

SPEC = "specs/efficientnet_b0.net"
WIDTHS = tuple(round(0.5 + 0.05 * i, 2) for i in range(20))
DEPTHS = tuple(round(0.8 + 0.1 * i, 1) for i in range(15))
ROUNDS = 7
GOAL = 300


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the sweep's workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def one_sweep(jobs: int) -> tuple[float, float, int]:
    """Wall and CPU seconds for the whole grid, the parse included, and how many variants
    failed."""
    start, cpu = time.perf_counter(), cpu_seconds()
    program = load_program(read_source(str(ROOT / SPEC)), SPEC)
    variants = list(sweep(program, [Axis("width", WIDTHS), Axis("depth", DEPTHS)], jobs=jobs))
    elapsed = time.perf_counter() - start
    return elapsed, cpu_seconds() - cpu, sum(1 for v in variants if v.error)


def main() -> None:
    count = len(WIDTHS) * len(DEPTHS)
    load = os.getloadavg()[0]
    samples: dict[int, list[float]] = {1: [], 2: []}
    cpu: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(ROUNDS):
        for jobs in samples:
            elapsed, used, failed = one_sweep(jobs)
            assert failed == 0
            samples[jobs].append(elapsed)
            cpu[jobs].append(used)
    rows = []
    for jobs, times in samples.items():
        median = statistics.median(times)
        rate = count / median
        rows.append([f"{jobs} process{'es' if jobs > 1 else ''}", f"{median:.2f} s",
                     f"{1000 * median / count:.2f} ms",
                     f"{1000 * statistics.median(cpu[jobs]) / count:.2f} ms", f"{rate:,.0f}",
                     "met" if rate >= GOAL else f"missed ({rate / GOAL:.0%} of goal)"])
    print(" ".join(__doc__.split()))
    loads = (load, os.getloadavg()[0])
    shared = ("other work took a share of the 2 cores: the wall-clock figures, above all "
              "those of 2 processes, say more about it than about netdsl; CPU per variant "
              "does not") if max(loads) > 1 else "a quiet machine"
    print(f"\nMedian of {ROUNDS} interleaved rounds, {count} variants each "
          f"(widths {WIDTHS[0]}..{WIDTHS[-1]}, depths {DEPTHS[0]}..{DEPTHS[-1]}); the "
          f"machine's load average was {loads[0]:.1f} at the start and {loads[1]:.1f} at the "
          f"end ({shared}):\n")
    print(table(["workers", "300 variants", "per variant", "CPU per variant", "variants / s",
                 f"goal {GOAL}/s"], rows))
    print("\nCPU per variant (user + system time of the process and its workers) depends "
          "little on other work on the machine; on 2 idle cores the rate with 2 workers is at "
          "best 2000 / that figure in ms.")
    print(f"\n{WHERE_THE_TIME_GOES}")


WHERE_THE_TIME_GOES = (
    "Where a variant's time goes (cProfile of one 300-variant sweep in one process): about "
    "three quarters elaborating the block definitions its settings make new, a fifth in the "
    "analyses of those definitions (totals, peak memory), about 2% in the collector's young "
    "collection at its end. Each depth gives every MBConv block a stochastic-depth rate of "
    "its own (`drop`), so about 8 MBConv blocks and 2 stages a variant are new definitions, "
    "whose bodies are elaborated again though most of the blocks they call are reused. With "
    "2 processes, the worker makes again some definitions this process made (6% more in all).")


if __name__ == "__main__":
    main()
