"""Shared measuring helpers for the benchmarks: interleaved medians, process timing, the machine.

Every benchmark times its cases in rounds (case A, case B, ..., then again), so drift in the
machine's load hurts all cases alike, and reports medians.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def netdsl_command() -> list[str]:
    """The `netdsl` console script of this venv when installed, else `python cli.py`."""
    script = Path(PYTHON).parent / "netdsl"
    return [str(script)] if script.exists() else [PYTHON, str(ROOT / "cli.py")]


def interleaved(cases: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds of each case over `rounds` rounds that run every case once in turn."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            start = time.perf_counter()
            case()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


def process_env() -> dict[str, str]:
    """The environment of measured processes, as on a user's machine: bytecode is cached. (A
    shell that sets PYTHONDONTWRITEBYTECODE would make every run recompile netdsl's sources,
    30 ms or more, while the peers' were compiled when pip installed them.)"""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_bytecode() -> None:
    """Write netdsl's bytecode caches before any process is timed."""
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "netdsl"), str(ROOT / "cli.py")],
                   check=True, env=process_env())


def run_process(argv: list[str], cwd: Path = ROOT) -> float:
    """Wall seconds of one process run to completion; raises if it fails."""
    env = process_env()
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}... failed: {done.stderr[-2000:]}")
    return elapsed


def process_case(argv: list[str]) -> Callable[[], float]:
    return lambda: run_process(argv)


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    versions = {}
    for module in ("torch", "torchvision"):
        try:
            versions[module] = __import__(module).__version__
        except ImportError:
            versions[module] = "not installed"
    return {
        "date": datetime.date.today().isoformat(),
        "nproc": str(os.cpu_count()),
        "cpu": _cpu_name(),
        "python": platform.python_version(),
        "os": platform.platform(),
        **versions,
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A GitHub markdown table; numbers right-aligned."""
    align = ["---:" if rows and _numeric(rows[0][i]) else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _numeric(cell: object) -> bool:
    text = str(cell).replace(",", "").replace(" ms", "").replace(" s", "").replace("x", "")
    try:
        float(text)
        return True
    except ValueError:
        return False
