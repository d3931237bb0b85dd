"""Hostile fuzzing: expressions and whole specs built from the constructs that once made netdsl
hang, exhaust memory or fail with an internal error. Whatever hypothesis combines, netdsl ends
with its results or with located diagnostics, never another exception, within the work budget.

In-process runs use a small budget (`max_steps`, `max_nodes`), so each example is quick; the
command-line runs go through a child process with a memory limit (`RLIMIT_AS`) and a time limit.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netdsl
from netdsl.backends.graphviz import dot_of
from netdsl.backends.table import FORMATS
from netdsl.errors import NetdslError, render
from netdsl.syntax.formatter import format_source
from tests.conftest import ROOT

STEPS, NODES = 20_000, 2_000
HOSTILE = settings(deadline=timedelta(seconds=10), derandomize=True, max_examples=60,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---------------------------------------------------------------- expressions

_ATOMS = st.sampled_from([
    "0", "1", "-1", "7", "2 ** 255", "2 ** 70", "9" * 80, "0.5", "1e308", "1e-308", "-0.0",
    '"a"', '""', '"x" * 3', "[]", "[1, 2]", "[[1], [2, [3]]]", "true", "false", "a", "s", "l",
    "range(5)", "range(10 ** 12)", "x.c", "x.shape", "in", "nope",
])
_BINARY = st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "==", "<", ">=", "and", "or"])
_CALLS = st.sampled_from(["min", "max", "ceil", "floor", "round", "abs", "int", "float", "sqrt",
                          "str", "len", "sum", "range", "make_divisible", "f", "g"])


def _expressions():
    def extend(inner):
        return st.one_of(
            st.tuples(inner, _BINARY, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(_CALLS, st.lists(inner, max_size=3)).map(
                lambda t: f"{t[0]}({', '.join(t[1])})"),
            st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
            inner.map(lambda e: f"[{e}, {e}]"),
            inner.map(lambda e: f"-{e}"),
            inner.map(lambda e: f"not {e}"),
        )
    return st.recursive(_ATOMS, extend, max_leaves=12)


PRELUDE = ("def f(n) = 0 if n <= 0 else f(n - 1) + f(n - 1)\n"
           "def g(n) = g(n + 1)\n"
           'A = 3\nS = "ab"\nL = [1, [2, 3]]\n')


def _located(exc: NetdslError) -> None:
    for diag in exc.diagnostics:
        assert diag.span is not None, diag.message
        text = render(diag)
        assert len(text) < 5_000 and text.startswith(str(diag.span))


def _load(text: str) -> netdsl.Network | None:
    try:
        net = netdsl.load(text, max_steps=STEPS, max_nodes=NODES)
        problems = net.check()
        if problems:
            raise NetdslError(problems)
        return net
    except NetdslError as exc:
        _located(exc)
        return None


@HOSTILE
@given(_expressions(), st.sampled_from(["y = {}", "conv({}, 1)", "expect {}",
                                        "if {} {{ relu }}", "for i in {} {{ relu }}",
                                        "({}): relu", "relu * {}", "dropout({})"]))
def test_hostile_expressions_end_in_results_or_located_errors(expr: str, where: str):
    body = "a = 2\n    s = \"t\"\n    l = [a, [a]]\n    " + where.format(expr)
    _load(PRELUDE + f"network n {{\n    input x: [3, 8, 8]\n    {body}\n}}\n")


# ---------------------------------------------------------------- whole specs

_FRAGMENTS = [
    "nop * 100_000_000", "identity * 10 ** 9", "relu * 999_990", "conv(4, 3, p=1) * 3",
    "for i in range(10_000_000) { y = i }", "for i in range(3) { relu }",
    "y = f(60)", "y = round(5, -100_000_000)", 'y = "ab" * 3', "y = [1] * 10 ** 9",
    "a2 = [1]\nfor i in range(60) { a2 = [a2, a2] }", "y = str(L) + S",
    "expect params == 0", "for i in range(100_000) { expect params > 0 }",
    "forward: conv(4, 1)", "__w: conv(4, 1)", "list: relu", "getattr: relu", "(\"a.b\"): relu",
    "from in -> relu", "conv(1, 1, s=2 ** 255)", "conv(3, 3, s=2 ** 70)", "leaky_relu(1e400)",
    "bn(eps=1e308 * 10)", "conv((-8) ** 0.5, 1)", "y = 1" + "0" * 5000,
    "{ { { { relu } } } }", "add { relu\n identity }", "concat { conv(2, 1)\n conv(3, 1) }",
    "h(40)", "deep(70)", "t: relu\nout: add(t)", "maxpool(2 ** 63)", "upsample(2 ** 60)",
    "y = - - - - - - 1", "y = x" + ".c" * 50, "output t", "relu\n\f\u2028relu",
]
_HEADS = [
    "block nop { identity }\n",
    "block h(n: int) {\n    if n > 0 { h(n - 1) * 2 } else { identity }\n}\n",
    "block deep(n: int) { if n > 0 { relu -> deep(n - 1) } }\n",
    "block conv2(c: int) { conv(c, 1) }\n",
    "block relu { sigmoid }\n",
    'import "/proc/self/environ"\n',
    'import "../../../../etc/passwd.net"\n',
    "def f(n) = 0 if n == 0 else f(n - 1) + f(n - 1)\nL = [1, [2]]\nS = \"s\"\n",
    "X = " + "(" * 150 + "1" + ")" * 150 + "\n",
    "\ufeff",
]


@st.composite
def hostile_specs(draw) -> str:
    heads = draw(st.lists(st.sampled_from(_HEADS), max_size=3, unique=True))
    body = draw(st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=4))
    lines = "\n".join("    " + line for fragment in body for line in fragment.split("\n"))
    prelude = "def f(n) = 0 if n == 0 else f(n - 1) + f(n - 1)\nL = [1, [2]]\nS = \"s\"\n" \
        if not any("def f" in h for h in heads) else ""
    text = "".join(h for h in heads if h != "\ufeff") + prelude + \
        f"network n {{\n    input x: [4, 8, 8]\n{lines}\n}}\n"
    return ("\ufeff" if "\ufeff" in heads else "") + text


@HOSTILE
@given(hostile_specs())
def test_hostile_specs_through_every_phase(text: str):
    """Load, check, tabulate, generate code and draw: results or located errors only."""
    from netdsl.backends.pytorch.codegen import generate
    net = _load(text)
    if net is None:
        return
    try:
        FORMATS["table"](net.stats(), None)
        FORMATS["json"](net.stats(), None)
        generate(net)
        dot_of(net)
    except NetdslError as exc:
        _located(exc)
    try:
        format_source(text.lstrip("\ufeff"))
    except NetdslError as exc:
        _located(exc)


# ---------------------------------------------------------------- the command line, bounded

DRIVER = r"""
import contextlib, io, json, sys
sys.path.insert(0, sys.argv[1])
import cli
spec, out = sys.argv[2], sys.argv[3]
open(out + "/copy.net", "wb").write(open(spec, "rb").read())
runs = {}
for name, argv in (("check", ["check", spec]), ("stats", ["stats", spec]),
                   ("compile", ["compile", spec, "-o", out + "/m.py"]),
                   ("render", ["render", spec, "-o", out + "/d.dot"]),
                   ("fmt", ["fmt", out + "/copy.net"])):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    runs[name] = (code, err.getvalue())
print(json.dumps(runs))
"""


def _bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2 ** 30, 2 * 2 ** 30))


@settings(parent=HOSTILE, max_examples=4, deadline=None)
@given(hostile_specs())
def test_hostile_specs_through_the_command_line_under_limits(tmp_path_factory, text: str):
    """Exit 0 or 2 (1 means a bug), a location on every message; each run in a child process
    limited to 2 GiB of address space and 120 s."""
    folder = tmp_path_factory.mktemp("cli")
    spec = folder / "hostile.net"
    spec.write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", DRIVER, str(ROOT), str(spec), str(folder)],
                          capture_output=True, text=True, timeout=120, preexec_fn=_bounded)
    assert done.returncode == 0, done.stderr[-2000:]
    for command, (code, stderr) in json.loads(done.stdout).items():
        assert code in (0, 2), f"{command}: {stderr[-1500:]}"
        for line in stderr.splitlines():
            if " error: " in line or line.startswith("error: "):
                assert not line.startswith("error: "), f"{command}: unlocated: {line}"
    assert Path(spec).read_text(encoding="utf-8") == text  # fmt rewrote only its copy
