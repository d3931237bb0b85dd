"""Rendering diagnostics: one line definition shared with the lexer, the quoted line made
visible, many messages in linear time, and a stop after `MAX_ERRORS` as compilers do."""

from __future__ import annotations

import difflib
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netdsl
from netdsl import errors
from netdsl.errors import Diagnostic, SourceCache, Span, render, render_all
from netdsl.limits import MAX_ERRORS


def _diag(line: int, col: int, width: int = 1) -> Diagnostic:
    return Diagnostic("boom", Span("f.net", line, col, line, col + width), "name")


@pytest.mark.parametrize("separator", ["\f", "\v", "\u2028", "\u2029", "\u0085", "\x1c"])
def test_a_line_is_what_the_lexer_counts(separator: str):
    """Characters Python's splitlines() breaks at do not start a line for the lexer, so the
    quote and the caret stay on the line the position names."""
    text = f"X = 1 # a{separator}b\nnetwork n {{\n    input x: [3]\n    nope\n}}\n"
    with pytest.raises(netdsl.NetdslError) as info:
        netdsl.load(text)
    diag = info.value.diagnostics[0]
    assert (diag.span.line, diag.span.col) == (4, 5)
    quoted, caret = render(diag).splitlines()[1:3]
    assert quoted == "        nope" and caret == "        ^~~~"


def test_control_characters_are_shown_as_one_visible_character():
    sources = SourceCache()
    sources.add("f.net", "a\fb\rc\u2028d x\n")
    text = render(_diag(1, 9), sources)
    assert text.splitlines()[1:] == ["    a?b?c?d x", "            ^"]


def test_wide_characters_keep_the_caret_under_the_span():
    sources = SourceCache()
    sources.add("f.net", 'y = "日本" + nope\n')
    quoted, caret = render(_diag(1, 12, 4), sources).splitlines()[1:]
    assert caret.index("^") - 4 == len('y = "') + 4 + len('" + ')
    assert quoted.endswith("nope")


def test_many_messages_index_the_file_once(monkeypatch):
    calls = []
    real = errors.LineIndex
    monkeypatch.setattr(errors, "LineIndex", lambda text: calls.append(1) or real(text))
    sources = SourceCache()
    sources.add("f.net", "\n".join(f"line {i}" for i in range(5000)))
    for i in range(1, 5001):
        assert render(_diag(i, 1), sources).splitlines()[1] == f"    line {i - 1}"
    assert len(calls) == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "\n", "\r\n", "\n\n", "bc", "\r"]), max_size=400),
       st.integers(1, 64))
def test_a_line_index_finds_the_lines_split_finds(parts, block):
    """Lines as `str.split` finds them (each without a final "\\r"), looked up in blocks of
    any size, before and past both ends."""
    text = "".join(parts)
    index = errors.LineIndex(text, block)
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    for number in range(-1, len(lines) + 3):
        assert index.line(number) == (lines[number - 1] if 1 <= number <= len(lines) else None)


def test_a_line_far_into_a_large_file_is_found_without_splitting_it():
    """3,000,000 lines: a list of them would take 170 MB; the index takes 8 bytes per 4,096
    characters."""
    text = "x\n" * 3_000_000 + "last"
    tracemalloc.start()
    try:
        index = errors.LineIndex(text)
        assert index.line(3_000_001) == "last" and index.line(1_234_567) == "x"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


def test_render_all_stops_after_max_errors_and_counts_the_rest():
    sources = SourceCache()
    sources.add("f.net", "x\n" * 100)
    text = render_all([_diag(i, 1) for i in range(1, 101)], sources=sources)
    assert text.count("error: boom") == MAX_ERRORS
    assert text.endswith(f"... {100 - MAX_ERRORS} more errors not shown\n100 errors\n")
    assert render_all([_diag(1, 1)], sources=sources).count("\n") == 3


def test_a_whole_file_location_has_no_line():
    diag = Diagnostic("the file defines no network", Span.file("empty.net"), "name")
    assert render(diag) == "empty.net: error: the file defines no network  [name]"


def test_the_many_errors_of_one_file_are_gathered_up_to_the_limit():
    text = "".join(f"X{i} = undefined_{i}\n" for i in range(5000)) + \
        "network n {\n    input x: [3]\n    relu\n}\n"
    with pytest.raises(netdsl.NetdslError) as info:
        netdsl.load(text)
    assert len(info.value.diagnostics) == MAX_ERRORS


@pytest.mark.parametrize("name", ["rleu", "conv2", "batchnorm", "maxpol", "x", "a_long_typo_nm",
                                  "relu_relu_relu_relu"])
def test_did_you_mean_suggests_what_difflib_suggests(name: str):
    candidates = ["relu", "conv", "bn", "maxpool", "avgpool", "a_long_name", "x1"]
    close = difflib.get_close_matches(name, sorted(candidates), n=3, cutoff=errors.CUTOFF)
    hint = errors.did_you_mean(name, candidates)
    if name == "batchnorm":
        assert hint == "did you mean 'bn'?"
    else:
        assert hint == (("did you mean " + " or ".join(f"'{c}'" for c in close) + "?")
                        if close else None)


def test_a_name_far_longer_than_every_candidate_is_not_compared(monkeypatch):
    """A 10 MB name cannot be close to `relu` (difflib's ratio is at most 2 * 4 / its length);
    indexing it for difflib took seconds for every such message."""
    def refuse(*args, **kwargs):
        raise AssertionError("difflib asked to compare names that cannot be close")
    monkeypatch.setattr(difflib, "get_close_matches", refuse)
    assert errors.did_you_mean("x" * 10_000_000, ["relu", "conv"]) is None
    assert errors.did_you_mean("r", ["relu_and_more"]) is None
