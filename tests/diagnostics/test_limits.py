"""Hostile inputs through the real command line: exit 2 with a located message, no traceback,
within a generous time bound (the target is about a second); internal errors exit 1."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from netdsl.cli import app as cli
from tests.conftest import ROOT, run_cli

NET = "network n {{\n    input x: [3, 8, 8]\n{body}\n}}\n"


def _check(path: Path, *extra: str) -> tuple[int, str, float]:
    start = time.perf_counter()
    result = run_cli("check", *extra, str(path))
    return result.returncode, result.stderr, time.perf_counter() - start


HOSTILE = {
    "ten_megabyte_line": (NET.format(body="    relu -> " + "x" * 10_000_000).encode(),
                          "ten_megabyte_line.net:3:", "[name]"),
    "ten_megabyte_comment": (NET.format(body="    relu # " + "x" * 10_000_000).encode(), None,
                             None),
    "braces_10000_deep": (NET.format(body="{" * 10_000 + "relu" + "}" * 10_000).encode(),
                          "braces_10000_deep.net:3:200: error: brackets nested more than 200",
                          "[limit]"),
    "parens_10000_deep": (("X = " + "(" * 10_000 + "1" + ")" * 10_000 + "\n").encode(),
                          "brackets nested more than 200", "[limit]"),
    "expression_20000_terms": (("X = " + " + ".join(["1"] * 20_000) + "\n"
                                + NET.format(body="relu")).encode(),
                               "nested too deeply", "[limit]"),
    "unary_20000_deep": (("X = " + "-" * 20_000 + "1\n" + NET.format(body="relu")).encode(),
                         "unary_20000_deep.net:1:204: error: operators nested more than 200 deep",
                         "[limit]"),
    "invalid_utf8": (b"network n {\n    input x: [3, 8, 8] # \xff\xfe\n}\n",
                     "invalid_utf8.net:2:26: error: the file is not valid UTF-8", "[syntax]"),
    "binary": (bytes(range(256)) * 64, "binary.net:", "[syntax]"),
    "empty": (b"", "empty.net: error: the file defines no network", "[name]"),
    "nested_repeat_bomb": (("block a {\n    relu * 1000\n}\nblock b {\n    a * 1000\n}\n"
                            + NET.format(body="    b * 1000")).encode(),
                           "would expand to more than 25,000 layers", "[limit]"),
    "exponential_recursion": (("block h(n: int) {\n    if n > 0 { h(n - 1) * 2 } else { relu }\n"
                               "}\n" + NET.format(body="    h(60)")).encode(),
                              "would expand to more than 25,000 layers", "[limit]"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_is_a_located_user_error(tmp_path: Path, name: str):
    data, where, code = HOSTILE[name]
    path = tmp_path / f"{name}.net"
    path.write_bytes(data)
    rc, stderr, seconds = _check(path)
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert seconds < 20, f"{name} took {seconds:.1f} s"  # generous; typically well under 2 s
    if where is None:
        assert rc == 0, stderr
        return
    assert rc == 2, stderr
    assert where in stderr and code in stderr.splitlines()[0]
    assert all(len(line) < 400 for line in stderr.splitlines())  # a 10 MB line is not echoed


def test_max_nodes_is_configurable(tmp_path: Path):
    path = tmp_path / "small.net"
    path.write_text(NET.format(body="    relu * 50"))
    assert _check(path)[0] == 0
    rc, stderr, _ = _check(path, "--max-nodes", "20")
    assert rc == 2 and "more than 20 layers" in stderr


def test_internal_error_is_one_line_and_exit_1(monkeypatch, capsys):
    def broken(args):
        raise ZeroDivisionError("a planted bug")

    monkeypatch.setattr(cli.parser().__class__, "parse_args",
                        lambda self, argv=None: _namespace(broken, debug=False))
    assert cli.main(["check", "x.net"]) == 1
    err = capsys.readouterr().err
    assert "this is a bug" in err and "Traceback" not in err


def test_internal_error_traceback_only_with_debug(monkeypatch, capsys):
    def broken(args):
        raise ZeroDivisionError("a planted bug")

    monkeypatch.setattr(cli.parser().__class__, "parse_args",
                        lambda self, argv=None: _namespace(broken, debug=True))
    assert cli.main(["--debug", "check", "x.net"]) == 1
    assert "Traceback" in capsys.readouterr().err


def _namespace(run, debug: bool):
    import argparse
    return argparse.Namespace(run=run, debug=debug)


def test_no_spec_text_reaches_eval_or_exec():
    """The analytic core never calls eval/exec/compile; only the torch backend execs the Python
    source it generated itself (whose identifiers are validated labels)."""
    offenders = []
    for path in sorted((ROOT / "netdsl").rglob("*.py")) + [ROOT / "cli.py"]:
        if "backends/pytorch" in path.as_posix():
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id in ("eval", "exec", "compile", "__import__"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_string_arguments_are_data_not_code(tmp_path: Path):
    path = tmp_path / "inject.net"
    path.write_text(NET.format(body='    upsample(2, mode="__import__(\'os\').system(\'touch '
                                    + str(tmp_path / "pwned") + '\')")'))
    rc, stderr, _ = _check(path)
    assert rc == 2 and "[type]" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "pwned").exists()
