"""docs/zoo.md must be what docs/make_zoo.py writes from the specs as they are now."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _make_zoo():
    spec = importlib.util.spec_from_file_location("make_zoo", ROOT / "docs" / "make_zoo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def test_zoo_table_is_current():
    expected = _make_zoo().build()  # the specs loaded now, in memory
    committed = (ROOT / "docs" / "zoo.md").read_text(encoding="utf-8")
    if committed != expected:
        pytest.fail(f"docs/zoo.md is stale: run make zoo\n{_first_difference(committed, expected)}")


def _first_difference(committed: str, expected: str) -> str:
    """The first line that differs, rather than pytest's diff of two long texts."""
    old, new = committed.splitlines(), expected.splitlines()
    for i, (a, b) in enumerate(zip(old, new, strict=False)):
        if a != b:
            return f"line {i + 1}:\n  committed: {a}\n  generated: {b}"
    return f"committed {len(old)} lines, generated {len(new)}"


def test_zoo_table_has_one_row_per_spec():
    text = (ROOT / "docs" / "zoo.md").read_text(encoding="utf-8")
    for path in sorted((ROOT / "specs").glob("*.net")):
        assert f"| `{path.stem}` |" in text, path.stem
