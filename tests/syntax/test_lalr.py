"""The parse loop over lark's tables builds what lark's own parser builds, and leaves syntax
errors to lark."""

from __future__ import annotations

import pytest

from netdsl.errors import NetdslError
from netdsl.syntax import parser
from netdsl.syntax.lexer import TokenLimit
from tests.conftest import SPECS

SOURCES = sorted(SPECS.glob("*.net")) + sorted((SPECS / "lib").glob("*.net"))


def by_lark(text: str):
    return parser._parser().parse(text)


def by_loop(text: str):
    return parser._driver().run(parser.spec_lexer().tokens(text))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(SPECS).as_posix())
def test_every_spec_of_the_zoo_parses_to_the_tree_lark_builds(path):
    text = path.read_text()
    tree = by_loop(text)
    assert tree is not None and tree == by_lark(text)


@pytest.mark.parametrize("text", [
    "",
    "W = 3\n",
    "network n(c: int = 10) {\n  input x: [3, 8, 8]\n  a: conv(c, 3) -> relu\n"
    "  b = [x * 2 for x in [1, 2] if x > 1]\n  output a\n}\n",
    "block b(p) {\n  if p > 1 { relu } elif p { tanh } else { sigmoid }\n}\n",
])
def test_small_texts_parse_to_the_tree_lark_builds(text):
    assert by_loop(text) == by_lark(text)


def test_the_loop_stops_at_a_syntax_error_and_lark_reports_it():
    text = "network n {\n  input x: [3, 8, 8]\n  conv(4, 3 relu\n}\n"
    assert by_loop(text) is None
    with pytest.raises(NetdslError) as exc:
        parser.parse(text, "bad.net")
    (diagnostic,) = exc.value.diagnostics
    assert (diagnostic.span.line, diagnostic.code) == (3, "syntax")


def test_tokens_read_before_a_syntax_error_are_given_back_for_lark_to_read_again():
    text = "network n {\n  input x: [3, 8, 8]\n  conv(4, 3 relu\n}\n"
    tokens = len(list(parser.spec_lexer().tokens(text)))
    with pytest.raises(NetdslError) as exc:  # a budget of one reading: still a syntax error
        parser.parse(text, "bad.net", TokenLimit(tokens))
    assert [d.code for d in exc.value.diagnostics] == ["syntax"]
