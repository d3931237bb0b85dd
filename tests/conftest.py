"""Shared fixtures: paths, the CLI as a user runs it, and loading specs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

# `pytest -n 2` runs a worker per core; torch's own pool of a thread per core in each worker
# (and in the commands a test starts) would make four busy threads of two cores, which spin
# against each other: measured on this suite's torch tests, twice the CPU time. Read by torch
# when it is first imported, which is after this file.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def run_cli(*args: str, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `netdsl ARGS` in a fresh interpreter, as a user would."""
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


def spec_paths() -> list[Path]:
    return sorted(SPECS.glob("*.net"))


# A test run on every spec of the zoo runs on these alone in `make test-fast`, one of each kind:
# a chain, residual stages, branches joined by concat, lists grown in loops, depthwise and
# squeeze-excite blocks, a U of skips, several outputs, a transformer over tokens, and a chain
# too long for a page. `make test` runs it on all of them.
FAST_SPECS = frozenset({"lenet5", "resnet18", "googlenet", "densenet121", "efficientnet_b0",
                        "unet", "yolov3", "gpt2_small", "vgg11"})


def zoo_params(paths: list[Path] | None = None) -> list:
    """Every spec (or `paths`) as a parameter named by its stem; those outside FAST_SPECS
    marked slow."""
    return [pytest.param(p, id=p.stem, marks=() if p.stem in FAST_SPECS else pytest.mark.slow)
            for p in (spec_paths() if paths is None else paths)]


def pytest_addoption(parser: pytest.Parser) -> None:
    """One flag refreshes every golden file (diagnostics, generated code); defined once here."""
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite golden files from the current output instead of comparing")


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))
