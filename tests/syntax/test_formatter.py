"""`netdsl fmt`: canonical layout, comments kept, idempotent, meaning unchanged, safe writes."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

import netdsl
from netdsl.errors import NetdslError
from netdsl.syntax.formatter import format_source
from netdsl.syntax.parser import parse
from tests.conftest import ROOT, SPECS, run_cli

MESSY = """\
# a header comment
X = 2**3   # aligned comment


block b(w: int=1, s = 2) {
  out=w*X   # trailing
  add {
        { conv1: conv(w,1,bias = false)->bn1: bn -> relu
          conv2: conv(out, 3, s=s, p=-1+2) }
   if s!=1 or in.c != out { down: { conv(out, 1, s=s, bias=false) -> bn } } else { identity }
  }
  relu;relu
  # a comment on its own line
  conv(out,
       1)
     -> relu
}
network n(k: int = 3) {
    input x: [3, 16, 16]
    b(4, s=2)
    residual(when = k > 1 and k < 5) { conv(32, k, p=k//2) }
}
"""

CANONICAL = """\
# a header comment
X = 2 ** 3   # aligned comment

block b(w: int = 1, s = 2) {
    out = w * X   # trailing
    add {
        { conv1: conv(w, 1, bias=false) -> bn1: bn -> relu
          conv2: conv(out, 3, s=s, p=-1 + 2) }
        if s != 1 or in.c != out { down: { conv(out, 1, s=s, bias=false) -> bn } } else { identity }
    }
    relu; relu
    # a comment on its own line
    conv(out,
         1)
        -> relu
}
network n(k: int = 3) {
    input x: [3, 16, 16]
    b(4, s=2)
    residual(when = k > 1 and k < 5) { conv(32, k, p=k // 2) }
}
"""


def _ir(source: str) -> list[tuple]:
    """What a spec means: every node's name, operator (with attributes), inputs and shape."""
    graph = netdsl.load(source).graph
    return [(n.name, repr(n.op), tuple(n.inputs), n.shape) for n in graph]


def test_canonical_layout():
    assert format_source(MESSY) == CANONICAL


def test_idempotent_and_keeps_comments():
    once = format_source(MESSY)
    assert format_source(once) == once
    comments = [line.split("#", 1)[1] for line in MESSY.splitlines() if "#" in line]
    assert [line.split("#", 1)[1] for line in once.splitlines() if "#" in line] == comments


def test_meaning_unchanged():
    assert _ir(format_source(MESSY)) == _ir(MESSY)


def test_refuses_invalid_spec():
    with pytest.raises(NetdslError):
        format_source("network n {\n    conv(8 3)\n}\n")


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.net")) + sorted(SPECS.glob("lib/*.net")),
                         ids=lambda p: str(p.relative_to(SPECS)))
def test_specs_are_formatted(path: Path):
    text = path.read_text(encoding="utf-8")
    assert format_source(text, str(path)) == text, f"run: netdsl fmt {path.relative_to(ROOT)}"


def test_fmt_check_diff_and_rewrite(tmp_path: Path):
    spec = tmp_path / "messy.net"
    spec.write_text(MESSY)
    checked = run_cli("fmt", "--check", str(spec))
    assert checked.returncode == 3 and "would be reformatted" in checked.stderr
    diff = run_cli("fmt", "--diff", str(spec))
    assert diff.returncode == 3 and "+X = 2 ** 3" in diff.stdout and "-X = 2**3" in diff.stdout
    assert spec.read_text() == MESSY  # --check and --diff change nothing
    assert run_cli("fmt", str(spec)).returncode == 0
    assert spec.read_text() == CANONICAL
    assert run_cli("fmt", "--check", str(spec)).returncode == 0


def test_fmt_bad_spec_is_a_user_error(tmp_path: Path):
    spec = tmp_path / "bad.net"
    spec.write_text("network n {\n    conv(8 3)\n}\n")
    result = run_cli("fmt", str(spec))
    assert result.returncode == 2 and "bad.net:2:12: error:" in result.stderr
    assert "Traceback" not in result.stderr
    assert spec.read_text() == "network n {\n    conv(8 3)\n}\n"


def test_fmt_failed_write_leaves_the_file_untouched(tmp_path: Path, monkeypatch):
    """The new text goes to a temporary file renamed into place: a failing rename leaves the
    original spec as it was and no temporary file behind."""
    import cli

    spec = tmp_path / "messy.net"
    spec.write_text(MESSY)

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    assert cli.main(["fmt", str(spec)]) == 2
    assert spec.read_text() == MESSY
    assert sorted(p.name for p in tmp_path.iterdir()) == ["messy.net"]


@pytest.mark.parametrize("source, expected", [
    ("X = 1 \\\n  + 2\n", "X = 1 \\\n    + 2\n"),  # a backslash continuation is kept
    ("X = 1 \\\n  \\\n + 2\n", "X = 1 \\\n    + 2\n"),  # through an empty line of it
    ("X = (1\n - 2)\n", "X = (1\n     - 2)\n"),  # a '-' starting a continued line is binary
    ("X = 1\r\nY = -X  # c\r\n", "X = 1\nY = -X  # c\n"),  # CRLF becomes LF; signs bind
    ("\n\n\nX = 1\n\n\n\nY = 2\n\n", "X = 1\n\nY = 2\n"),  # at most one blank line
    ("X = 1;Y = 2\n", "X = 1; Y = 2\n"),
    ("X = L[ 1 : ]+L[:- 1]+L[ : : 2]+L[n-1 :n]\n", "X = L[1:] + L[:-1] + L[::2] + L[n - 1:n]\n"),
    ('X = "abc" [1 :] + f(2) [0]\n', 'X = "abc"[1:] + f(2)[0]\n'),  # slices, not lists
    ("X = [a:conv(8, 1) for a in L]\n", "X = [a: conv(8, 1) for a in L]\n"),  # a label
    ("network n {\n  expect head#2.params== 0\n}\n",
     "network n {\n    expect head#2.params == 0\n}\n"),
])
def test_layout_details(source: str, expected: str):
    assert format_source(source) == expected
    assert format_source(expected) == expected


CONSTRUCTS = """\
block fpn(c3: tensor,c4:tensor, width: int=256) {
  inner = [from c -> conv(width,1) for c in [c3,c4]]   # lateral convolutions
  p3,p4 = from c3->relu   # two outputs
  shared head:retina_head(256,9)
  "block1-0" : conv(8,3)->"block1-1":relu
  concat({ conv(3,1)
           relu })
  wide = [ w*2 for w in [8,16] if w>8 ]
  picks = [from p->head->flatten
           for p in [p3,p4]]
  for t in [p3,p4] { from t->conv(8,1) }
  expect features.12.rf==3 and features.0[1]==1
  output features.12,a.b.3
}
"""

CONSTRUCTS_CANONICAL = """\
block fpn(c3: tensor, c4: tensor, width: int = 256) {
    inner = [from c -> conv(width, 1) for c in [c3, c4]]   # lateral convolutions
    p3, p4 = from c3 -> relu   # two outputs
    shared head: retina_head(256, 9)
    "block1-0": conv(8, 3) -> "block1-1": relu
    concat({ conv(3, 1)
             relu })
    wide = [w * 2 for w in [8, 16] if w > 8]
    picks = [from p -> head -> flatten
             for p in [p3, p4]]
    for t in [p3, p4] { from t -> conv(8, 1) }
    expect features.12.rf == 3 and features.0[1] == 1
    output features.12, a.b.3
}
"""


def _tree(node: object) -> object:
    """A syntax tree without its spans: what the text says, wherever it is written."""
    if isinstance(node, (list, tuple)):
        return tuple(_tree(n) for n in node)
    if dataclasses.is_dataclass(node):
        return (type(node).__name__,) + tuple(
            (f.name, _tree(getattr(node, f.name))) for f in dataclasses.fields(node)
            if f.name not in ("span", "name_span", "name_spans", "label_span", "func_span"))
    return node


def test_new_constructs_canonical_idempotent_and_same_tree():
    once = format_source(CONSTRUCTS)
    assert once == CONSTRUCTS_CANONICAL
    assert format_source(once) == once
    assert _tree(parse(once)) == _tree(parse(CONSTRUCTS))
    comments = [line.split("#", 1)[1] for line in CONSTRUCTS.splitlines() if "#" in line]
    assert [line.split("#", 1)[1] for line in once.splitlines() if "#" in line] == comments


@pytest.mark.parametrize("source", [
    "X = [a  for a in [1,2]]\n",
    'network n {\n    "0":conv(8, 3)\n    a , b = f(x)\n}\n',
    "network n {\n    shared  h :conv(8, 3)\n    expect h.0.params== 3\n}\n",
])
def test_new_constructs_keep_their_tokens(source):
    once = format_source(source)
    assert format_source(once) == once
    assert _tree(parse(once)) == _tree(parse(source))


@pytest.mark.parametrize("text", ["x = 2 .c\n", "x = 2. .c\n", "y = 1 .e5\n"])
def test_a_number_before_a_dot_keeps_its_space(text: str):
    """`2 .c` formatted as `2.c` would lex as `2.` `c`: a different program."""
    assert format_source(text) == text


def test_fmt_refuses_a_literal_longer_than_python_can_print():
    with pytest.raises(NetdslError) as info:
        format_source("X = " + "9" * 5000 + "\n")
    assert info.value.diagnostics[0].span.line == 1


@pytest.mark.parametrize("text", ["X = 1", "X = 1\r", "network n {\n    input x: [3, 8, 8]\n}"])
def test_a_file_without_a_final_newline_is_formatted_with_one(text):
    """The check that formatting kept the parser's tokens compared the file's (no newline
    ending its last statement) with the output's: an internal error on any such file."""
    assert format_source(text) == text.rstrip("\r") + "\n"
