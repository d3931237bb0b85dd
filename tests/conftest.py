"""Shared fixtures: paths, the CLI as a user runs it, and loading specs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


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


def pytest_addoption(parser: pytest.Parser) -> None:
    """One flag refreshes every golden file (diagnostics, generated code); defined once here."""
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite golden files from the current output instead of comparing")


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))
