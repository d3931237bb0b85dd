"""SpecLexer against lark's own basic lexer of the same grammar: the same tokens with the same
types and positions, and the same refusal at the same character, on every spec in the zoo and on
random text. The newline filter's decisions are the parser tests' business."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import lark
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark.exceptions import UnexpectedCharacters
from lark.lexer import LexerState
from lark.utils import TextSlice

from netdsl.syntax.parser import _GRAMMAR, _parser

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs").rglob("*.net"))
FIELDS = ("type", "value", "start_pos", "end_pos", "line", "column", "end_line", "end_column")


@lru_cache(maxsize=1)
def reference() -> lark.Lark:
    return lark.Lark(_GRAMMAR.read_text(), start="module", parser="lalr", lexer="basic")


def lark_tokens(text: str) -> tuple[list[tuple], int | None]:
    """lark's basic lexer: every token but newlines, and where it refuses a character."""
    out: list[tuple] = []
    try:
        for tok in reference().lex(text):
            if tok.type != "_NL":
                out.append(tuple(getattr(tok, f) for f in FIELDS))
    except UnexpectedCharacters as exc:
        return out, exc.pos_in_stream
    return out, None


def our_tokens(text: str) -> tuple[list[tuple], int | None]:
    lexer = _parser().parser.lexer
    out: list[tuple] = []
    try:
        for tok in lexer.lex(LexerState(TextSlice.cast_from(text)), None):
            if tok.type != "_NL":
                out.append(tuple(getattr(tok, f) for f in FIELDS))
    except UnexpectedCharacters as exc:
        return out, exc.pos_in_stream
    return out, None


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_every_spec_lexes_as_lark_lexes_it(path):
    text = path.read_text(encoding="utf-8")
    ours, theirs = our_tokens(text), lark_tokens(text)
    assert ours == theirs
    assert len(ours[0]) > 20 and ours[1] is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=list('abinorft_0123456789.eE+-*/%=<>!()[]{},:;"\\#@\' \t\n'),
               max_size=80))
def test_random_text_lexes_as_lark_lexes_it(text):
    assert our_tokens(text) == lark_tokens(text)


def test_keywords_are_their_own_tokens_and_names_that_contain_them_are_names():
    tokens, _ = our_tokens("in inline input into for format and android not note")
    assert [t[0] for t in tokens] == ["IN", "INLINE", "INPUT", "NAME", "FOR", "NAME", "AND",
                                      "NAME", "NOT", "NAME"]


def test_a_refused_character_is_reported_where_lark_reports_it():
    assert our_tokens("network n {\n  relu @ x\n}")[1] == 19 == lark_tokens(
        "network n {\n  relu @ x\n}")[1]
