"""Every bad spec in this folder gives exactly the message in its golden `.out` file.

Each `NAME.net` is checked as `netdsl check tests/diagnostics/NAME.net` from the repository
root; `NAME.out` holds the exact stderr. A first line `# args: ...` adds command-line options.
Refresh the goldens with `pytest tests/diagnostics --update-goldens` and review the diff.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import time
from pathlib import Path

import pytest

import cli
from tests.conftest import ROOT

HERE = Path(__file__).resolve().parent
CASES = sorted(HERE.glob("*.net"))


def _args(spec: Path) -> list[str]:
    first = spec.read_bytes().split(b"\n", 1)[0]
    if first.startswith(b"# args:"):
        return shlex.split(first[len(b"# args:"):].decode())
    return []


def _check(spec: Path) -> tuple[int, str]:
    """Run `netdsl check` in-process, as the command line does, capturing stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["check", *_args(spec), str(spec.relative_to(ROOT))])
    return code, err.getvalue()


def test_there_are_at_least_80_cases():
    assert len(CASES) >= 80


@pytest.mark.parametrize("spec", CASES, ids=[p.stem for p in CASES])
def test_diagnostic_matches_golden(spec: Path, update_goldens: bool, monkeypatch):
    monkeypatch.chdir(ROOT)
    start = time.perf_counter()
    code, stderr = _check(spec)
    elapsed = time.perf_counter() - start
    assert code == 2, stderr  # an error in the user's input, never an internal error
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert elapsed < 5, f"{spec.name} took {elapsed:.1f} s"  # generous: the budget is ~1 s
    golden = spec.with_suffix(".out")
    if update_goldens:
        golden.write_bytes(stderr.encode("utf-8"))
    assert golden.exists(), f"no golden file {golden.name}; run with --update-goldens"
    assert stderr == golden.read_bytes().decode("utf-8")


@pytest.mark.parametrize("spec", CASES, ids=[p.stem for p in CASES])
def test_diagnostic_is_located_and_coded(spec: Path):
    """Every message has the `WHERE: error: ... [code]` form: WHERE is `file:line:col`, or the
    file alone when the problem is the whole file (no network, empty, unreadable)."""
    golden = spec.with_suffix(".out").read_bytes().decode("utf-8")
    heads = [line for line in golden.splitlines() if re.search(r"(^| )error: ", line)]
    assert heads
    for head in heads:
        assert re.match(r"\S+?(:\d+:\d+)?: error: .*  \[[a-z]+\]$", head), head
