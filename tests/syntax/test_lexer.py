"""SpecLexer against lark's own basic lexer of the same grammar: the same tokens with the same
types and positions, and the same refusal at the same character, on every spec in the zoo and on
random text. The two rules lark's context-free lexer cannot express, a path index (`.12` glued
to a name, a string, `)`, `]` or an earlier index is a dot and the index `12`, not a float)
and a call number (`#2` glued to a name is part of it, `head#2`, not a comment), are applied to
lark's tokens here by restarting lark's lexer after the index or the number. The newline
filter's decisions are the parser tests' business; here, the filtered tokens must be the
unfiltered ones without whitespace, comments and newlines."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import lark
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Token
from lark.exceptions import UnexpectedCharacters
from lark.lexer import LexerState
from lark.utils import TextSlice

from netdsl.syntax.lexer import CALLED_NAME, PATH_INDEX
from netdsl.syntax.parser import _GRAMMAR, spec_lexer

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs").rglob("*.net"))
FIELDS = ("type", "value", "start_pos", "end_pos", "line", "column", "end_line", "end_column")
PATH_ENDS = {"NAME", "STRING", "RPAR", "RSQB", PATH_INDEX, CALLED_NAME}


@lru_cache(maxsize=1)
def reference() -> lark.Lark:
    return lark.Lark(_GRAMMAR.read_text(), start="module", parser="lalr", lexer="basic")


def _fields(tok: Token) -> tuple:
    return tuple(getattr(tok, f) for f in FIELDS)


def _path_index(text: str, number: Token) -> list[tuple]:
    """The dot and the index lark's NUMBER `.12...` stands for after a name."""
    digits = re.match(r"\d+", text[number.start_pos + 1:]).group()
    line, col, pos = number.line, number.column, number.start_pos
    return [("DOT", ".", pos, pos + 1, line, col, line, col + 1),
            (PATH_INDEX, digits, pos + 1, pos + 1 + len(digits), line, col + 1, line,
             col + 1 + len(digits))]


def _called_name(name: tuple, number: str) -> tuple:
    """A NAME token with the call number glued to it (`head` and `#2`): one CALLED_NAME."""
    _, value, start, end, line, col, end_line, end_col = name
    n = len(number)
    return (CALLED_NAME, value + number, start, end + n, line, col, end_line, end_col + n)


def lark_tokens(text: str) -> tuple[list[tuple], int | None]:
    """lark's basic lexer, every token kept, with path indices split off and call numbers glued
    on; and where it refuses a character."""
    out: list[tuple] = []
    start = 0
    try:
        while True:
            for tok in reference().lex(TextSlice(text, start, None), dont_ignore=True):
                if (tok.type == "NUMBER" and tok.value[0] == "." and out
                        and out[-1][0] in PATH_ENDS and out[-1][3] == tok.start_pos):
                    out += _path_index(text, tok)
                    start = out[-1][3]  # lex again after the index
                    break
                number = re.match(r"#\d+", tok.value) if tok.type == "COMMENT" else None
                if number and out and out[-1][0] == "NAME" and out[-1][3] == tok.start_pos:
                    out[-1] = _called_name(out[-1], number.group())
                    start = out[-1][3]  # lex again after the number
                    break
                out.append(_fields(tok))
            else:
                return out, None
    except UnexpectedCharacters as exc:
        return out, exc.pos_in_stream


def our_tokens(text: str) -> tuple[list[tuple], int | None]:
    """SpecLexer's layout tokens: every token, newlines unfiltered."""
    out: list[tuple] = []
    try:
        for tok in spec_lexer().layout(text):
            out.append(_fields(tok))
    except UnexpectedCharacters as exc:
        return out, exc.pos_in_stream
    return out, None


def parser_tokens(text: str) -> list[tuple]:
    """The tokens the parser reads, without newlines."""
    tokens = spec_lexer().lex(LexerState(TextSlice.cast_from(text)), None)
    return [_fields(t) for t in tokens if t.type != "_NL"]


def _significant(tokens: list[tuple]) -> list[tuple]:
    return [t for t in tokens if t[0] != "_NL" and not t[0].startswith("__IGNORE")
            and t[0] != "COMMENT"]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_every_spec_lexes_as_lark_lexes_it(path):
    text = path.read_text(encoding="utf-8")
    ours, theirs = our_tokens(text), lark_tokens(text)
    assert ours == theirs
    assert len(ours[0]) > 20 and ours[1] is None
    assert parser_tokens(text) == _significant(ours[0])


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=list('abinorft_0123456789.eE+-*/%=<>!()[]{},:;"\\#@\' \t\n'),
               max_size=80))
def test_random_text_lexes_as_lark_lexes_it(text):
    ours = our_tokens(text)
    assert ours == lark_tokens(text)
    if ours[1] is None:
        assert parser_tokens(text) == _significant(ours[0])


def test_keywords_are_their_own_tokens_and_names_that_contain_them_are_names():
    tokens, _ = our_tokens("in inline input into for format and android not note shared")
    assert [t[0] for t in _significant(tokens)] == [
        "IN", "INLINE", "INPUT", "NAME", "FOR", "NAME", "AND", "NAME", "NOT", "NAME", "SHARED"]


def test_a_refused_character_is_reported_where_lark_reports_it():
    assert our_tokens("network n {\n  relu @ x\n}")[1] == 19 == lark_tokens(
        "network n {\n  relu @ x\n}")[1]


@pytest.mark.parametrize("text, values", [
    ("features.12.rf", ["features", ".", "12", ".", "rf"]),
    ("f(x).0[1].25.output", ["f", "(", "x", ")", ".", "0", "[", "1", "]", ".", "25", ".",
                             "output"]),
    ("a.1.2.3", ["a", ".", "1", ".", "2", ".", "3"]),
    ("x.1e5", ["x", ".", "1", "e5"]),  # an index is digits only: `e5` is a name after it
])
def test_path_indices(text, values):
    tokens = parser_tokens(text)
    assert [t[1] for t in tokens] == values
    after_dot = [b for a, b in zip(tokens, tokens[1:], strict=False) if a[1] == "."]
    assert all(t[0] == PATH_INDEX for t in after_dot if t[1].isdigit())
    assert all(t[0] == "NUMBER" for t in tokens if t not in after_dot and t[1].isdigit())


@pytest.mark.parametrize("text, numbers", [
    ("0.5 + .5 - 1. * 1.5e3", ["0.5", ".5", "1.", "1.5e3"]),
    ("a .5", [".5"]),  # a space: a float, as before
    ("[.5]", [".5"]),
    ("(1).5", [".5"]),  # `)` glued: an index
    ("3.3.3", ["3.3", ".3"]),  # after a number: a float (and a syntax error in the parser)
])
def test_floats_elsewhere_are_unchanged(text, numbers):
    tokens = parser_tokens(text)
    got = [t[1] for t in tokens if t[0] == "NUMBER"]
    if text == "(1).5":
        assert got == ["1"] and tokens[-1][:2] == (PATH_INDEX, "5")
    else:
        assert got == numbers


@pytest.mark.parametrize("text, tokens", [
    ("head#2.params", [(CALLED_NAME, "head#2"), ("DOT", "."), ("NAME", "params")]),
    ("a.conv#12.0", [("NAME", "a"), ("DOT", "."), (CALLED_NAME, "conv#12"), ("DOT", "."),
                     (PATH_INDEX, "0")]),
    ("head #2", [("NAME", "head")]),  # a space: a comment, as before
    ("head#x", [("NAME", "head")]),  # no digit: a comment
    ("in#2", [("IN", "in")]),  # a keyword takes no call number
    ('"block1-0".0', [("STRING", '"block1-0"'), ("DOT", "."), (PATH_INDEX, "0")]),
])
def test_call_numbers_and_quoted_paths(text, tokens):
    assert [t[:2] for t in parser_tokens(text)] == tokens


@pytest.mark.parametrize("text", ["\n" * 200_000, ' ;\r\n' * 50_000,
                                  'a = "' + "\\n" * 100_000 + '"\n'],
                         ids=["newlines", "separators", "escapes"])
def test_long_runs_of_newlines_or_escapes_lex_in_little_memory(text):
    """A repeated group that can give back keeps a record per repetition in Python's `re`:
    200,000 newlines took 80 MB to lex, so a 50 MB file of them 20 GB. Python's allocator
    (tracemalloc) measures the lexer's peak."""
    import tracemalloc
    tracemalloc.start()
    try:
        tokens = list(spec_lexer().layout(text))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "".join(tokens) == text and len(tokens) < 10 + text.count(";")
    assert peak < 3_000_000 + 300 * len(tokens)
