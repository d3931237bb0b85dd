"""The characters a terminal can start with: over-approximations, so that the lexer's
per-character alternations choose what the whole alternation chooses (test_lexer.py holds the
lexer to lark's on every spec and on random text)."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netdsl.syntax.first_chars import ASCII, first_chars


@pytest.mark.parametrize("pattern, chars", [
    (r"\d[\d_]*", set(string.digits)),
    (r"(\d+)?\.\d+", set(string.digits) | {"."}),
    (r"(?:==|!=|<=|>=|<|>)", set("=!<>")),
    (r"[A-Za-z_]\w*", set(string.ascii_letters) | {"_"}),
    (r"\\[\t ]*?\n", {"\\"}),
    (r"((\r?\n|;)[\t ]*)+", {"\r", "\n", ";"}),
    (r'"[^"\\]*"', {'"'}),
    (r"[^a]", ASCII - {"a"}),
])
def test_first_characters_of_the_grammar_s_kinds_of_terminal(pattern, chars):
    assert first_chars(pattern) == chars


@pytest.mark.parametrize("pattern", [r"a*", r"(?:x|)", r"(?=a)?", r"(a)?\1", r"(?i:a)", r"."])
def test_what_can_be_empty_or_is_not_understood_may_start_with_anything(pattern):
    assert first_chars(pattern) == ASCII


def test_case_insensitive_flags_give_every_character():
    assert first_chars("a", re.IGNORECASE) == ASCII


PATTERNS = st.sampled_from([r"\d+", r"[a-c]x", r"(ab|c)?d", r"\s*=", r"[^xy]+", r"\w+\.",
                            r"(?:->|-)", r"#[^\n]*", r"\\?q", r"[\t ]+"])


@given(PATTERNS, st.text(alphabet=st.characters(max_codepoint=127), min_size=1, max_size=6))
def test_a_match_starts_with_one_of_the_first_characters(pattern, text):
    if re.match(pattern, text):
        assert text[0] in first_chars(pattern)
