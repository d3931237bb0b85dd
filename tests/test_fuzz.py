"""Fuzzing with hypothesis: no input makes netdsl fail with anything but `NetdslError`, or hang;
the formatter is canonical and never changes what a spec means.

Time is bounded by a generous per-example deadline (the real budget is about a second; the
deadline leaves room for a loaded CI machine), so the tests are not flaky.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netdsl
from netdsl.elaborate import elaborate, load_program
from netdsl.errors import NetdslError
from netdsl.syntax.formatter import format_source
from netdsl.syntax.parser import spec_lexer
from tests.conftest import SPECS

ALL_SPECS = sorted(SPECS.glob("*.net")) + sorted(SPECS.glob("lib/*.net"))
FUZZ = settings(deadline=timedelta(seconds=5), suppress_health_check=[HealthCheck.too_slow],
                derandomize=True)


def _run(text: str, path: str) -> None:
    """Everything `netdsl check` does: parse, import, elaborate, analyse, check expectations."""
    try:
        program = load_program(text, path)
        graph = elaborate(program, None, {}, 1_000_000, None)
        net = netdsl.network.Network(program, graph, path)
        net.check()
    except NetdslError:
        pass


def _tokens(text: str) -> list[str]:
    return [t.value for t in spec_lexer().layout(text + "\n")]


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_only_raise_netdsl_error(tmp_path_factory, data: bytes):
    path = tmp_path_factory.mktemp("bytes") / "random.net"
    path.write_bytes(data)
    try:
        netdsl.load(path)
    except NetdslError:
        pass


@FUZZ
@given(st.text(alphabet="{}()[]->:=,.*+ \n#abcinputoutconv3x\"", max_size=200))
def test_random_near_syntax_only_raises_netdsl_error(text: str):
    _run(text, "<fuzz>")


MUTATIONS = ("delete", "duplicate", "swap")


EDITS = st.lists(st.tuples(st.sampled_from(MUTATIONS), st.integers(0, 10 ** 6),
                           st.integers(0, 10 ** 6)), min_size=1, max_size=3)


@settings(parent=FUZZ, max_examples=40)
@given(st.sampled_from(ALL_SPECS), EDITS)
def test_mutated_specs_only_raise_netdsl_error(spec: Path, edits: list[tuple[str, int, int]]):
    mutated_spec_only_raises_netdsl_error(spec, edits)


@pytest.mark.slow  # the long run of the test above
@settings(parent=FUZZ, max_examples=200)
@given(st.sampled_from(ALL_SPECS), EDITS)
def test_many_mutated_specs_only_raise_netdsl_error(spec: Path,
                                                    edits: list[tuple[str, int, int]]):
    mutated_spec_only_raises_netdsl_error(spec, edits)


def mutated_spec_only_raises_netdsl_error(spec: Path, edits: list[tuple[str, int, int]]):
    tokens = _tokens(spec.read_text(encoding="utf-8"))
    for kind, a, b in edits:
        i, j = a % len(tokens), b % len(tokens)
        if kind == "delete":
            del tokens[i]
        elif kind == "duplicate":
            tokens.insert(i, tokens[i])
        else:
            tokens[i], tokens[j] = tokens[j], tokens[i]
    _run("".join(tokens), str(spec))  # imports resolve next to the real spec


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda p: str(p.relative_to(SPECS)))
def test_fmt_restores_specs_from_scrambled_whitespace(spec: Path):
    """Indentation and spaces between tokens scrambled (tokens, line breaks and comments kept):
    `fmt` gives back the spec exactly, so its layout is canonical."""
    text = spec.read_text(encoding="utf-8")
    rng = random.Random(spec.name)
    out = []
    lexed = list(spec_lexer().layout(text + "\n"))
    for k, tok in enumerate(lexed):
        nxt = lexed[k + 1] if k + 1 < len(lexed) else None
        if tok.type == "__IGNORE_0" and not (nxt is not None and nxt.type == "COMMENT"):
            out.append(" " * rng.randint(1, 3))
        elif tok.type == "_NL" and ";" not in tok.value:
            out.append("\n" * tok.value.count("\n") + " " * rng.randint(0, 9))
        else:
            out.append(tok.value)
    assert format_source("".join(out).rstrip("\n") + "\n") == text


# ---------------------------------------------------------------- random valid specs

_LAYERS = st.sampled_from(["relu", "bn", "conv(8, 3, p=1)", "conv(8, 1)", "maxpool(2, s=1)",
                           "conv(c, 3, p=1, bias=false)", "identity", "sigmoid",
                           "conv(8,3,p = 1)", "dropout(0.5)"])
_SPACE = st.sampled_from(["", " ", "  "])
_COMMENT = st.sampled_from(["", "  # note", " # why: a comment", "\t#x"])


@st.composite
def _chain(draw) -> str:
    layers = draw(st.lists(_LAYERS, min_size=1, max_size=4))
    return draw(st.sampled_from(["->", " -> ", "  ->  "])).join(layers)


@st.composite
def _statement(draw, depth: int = 0) -> str:
    kind = draw(st.sampled_from(["chain", "chain", "label", "merge", "repeat", "if", "for"]
                                if depth < 2 else ["chain", "label"]))
    pad = draw(_SPACE)
    if kind == "chain":
        return "conv(8, 1)" if depth == 0 and draw(st.booleans()) else draw(_chain())
    if kind == "label":
        return f"l{draw(st.integers(0, 99))}:{pad}{draw(_chain())}"
    if kind == "repeat":
        return f"{{ conv(8, 3, p=1) -> relu }}{pad}*{pad}{draw(st.integers(0, 3))}"
    if kind == "if":
        return (f"if c{pad}>{pad}4 {{{pad}{draw(_chain())}{pad}}} else {{ "
                f"{draw(_chain())} }}")
    if kind == "for":
        body = draw(_statement(depth + 1))
        return f"for i in range({draw(st.integers(0, 2))}) {{\n{body}\n}}"
    paths = draw(st.lists(_chain(), min_size=1, max_size=3))
    merge = draw(st.sampled_from(["add", "concat"]))
    inner = "\n".join(" " * draw(st.integers(0, 6)) + p for p in paths)
    return f"conv(8, 1)\n{merge} {{\n{inner}\n}}" if merge == "add" else \
        f"{merge} {{\n{inner}\n}}"


@st.composite
def valid_specs(draw) -> str:
    body = draw(st.lists(_statement(), min_size=1, max_size=5))
    lines = [" " * draw(st.integers(0, 8)) + s + draw(_COMMENT) for s in body]
    header = draw(st.sampled_from(["c = 8", "c=8", "c = 2 * 4"]))
    return ("# random spec\nnetwork r(k: int=3) {\n    input x: [8, 12, 12]\n" + header + "\n"
            + "\n".join(lines) + "\n}\n")


def _meaning(text: str) -> list[tuple]:
    graph = netdsl.load(text).graph
    return [(n.name, repr(n.op), tuple(n.inputs), n.shape) for n in graph]


@settings(parent=FUZZ, max_examples=40)
@given(valid_specs())
def test_random_valid_specs_round_trip_through_fmt(text: str):
    round_trips_through_fmt(text)


@pytest.mark.slow  # the long run of the test above
@settings(parent=FUZZ, max_examples=200)
@given(valid_specs())
def test_many_random_valid_specs_round_trip_through_fmt(text: str):
    round_trips_through_fmt(text)


def round_trips_through_fmt(text: str):
    try:
        before = _meaning(text)
    except NetdslError:  # a generated shape mismatch: formatting must still not change that
        formatted = format_source(text)
        with pytest.raises(NetdslError):
            netdsl.load(formatted)
        return
    formatted = format_source(text)
    assert format_source(formatted) == formatted
    assert _meaning(formatted) == before
    assert [line.split("#", 1)[1] for line in formatted.splitlines() if "#" in line] == \
        [line.split("#", 1)[1] for line in text.splitlines() if "#" in line]
