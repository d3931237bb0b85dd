"""Imports flow one way: the command line uses the library, never the reverse (once the graphviz
and pytorch backends imported helpers from the top-level cli.py)."""

from __future__ import annotations

import ast

from tests.conftest import ROOT


def _imports(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_nothing_outside_the_command_line_imports_it():
    package = ROOT / "netdsl"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if path.is_relative_to(package / "cli") or path == package / "__main__.py":
            continue
        for name in _imports(path):
            if name == "cli" or name == "netdsl.cli" or name.startswith("netdsl.cli."):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_cli_py_only_calls_the_package():
    assert _imports(ROOT / "cli.py") == {"netdsl.cli"}
