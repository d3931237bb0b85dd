"""The parser: statements, separators, continuations, and located syntax errors."""

from __future__ import annotations

import pytest

from netdsl.errors import NetdslError
from netdsl.syntax import ast
from netdsl.syntax.parser import parse


def body_of(text: str) -> tuple:
    module = parse(text)
    (net,) = [i for i in module.items if isinstance(i, ast.BlockDef)]
    return net.body


def test_items_of_a_file():
    module = parse('import "lib/x.net"\nW = 3\ndef f(a) = a * 2\n'
                   'block b(p: int, q = 1) { relu }\nnetwork n(c: int = 10) { input x: [3] }\n')
    kinds = [type(i).__name__ for i in module.items]
    assert kinds == ["Import", "Assign", "Def", "BlockDef", "BlockDef"]


def test_semicolons_and_newlines_separate_statements_alike():
    a = body_of("network n {\n input x: [3, 8, 8]; conv(4, 3); relu\n}")
    b = body_of("network n {\n input x: [3, 8, 8]\n conv(4, 3)\n relu\n}")
    assert [type(s).__name__ for s in a] == [type(s).__name__ for s in b] == \
        ["Input", "Chain", "Chain"]


@pytest.mark.parametrize("text", [
    "network n {\n input x: [3]\n relu -> sigmoid -> tanh\n}",
    "network n {\n input x: [3]\n relu ->\n sigmoid ->\n tanh\n}",
    "network n {\n input x: [3]\n relu\n -> sigmoid\n -> tanh\n}",
    "network n {\n input x: [3]\n relu -> \\\n sigmoid -> tanh  # comment\n}",
])
def test_chains_continue_across_lines(text):
    chains = [s for s in body_of(text) if isinstance(s, ast.Chain)]
    assert len(chains) == 1 and len(chains[0].elements) == 3


def test_if_elif_else_and_for():
    body = body_of("network n {\n input x: [3]\n if a { relu } elif b { tanh }\n"
                   " else { sigmoid }\n for i in range(3) { relu }\n}")
    assert [type(s).__name__ for s in body[1:]] == ["If", "For"]


def test_else_on_the_next_line_continues_the_if():
    body = body_of("network n {\n input x: [3]\n if a { relu }\n else { tanh }\n}")
    assert [type(s).__name__ for s in body] == ["Input", "If"]


def test_comments_and_blank_lines_are_ignored():
    body = body_of("# head\n\nnetwork n {  # open\n\n input x: [3]  # in\n\n\n relu\n}\n# tail")
    assert len(body) == 2


@pytest.mark.parametrize("text, line", [
    ("network n {\n input x: [3]\n conv(4, 3\n}", 4),
    ("network n {\n input x: [3]\n relu ->\n}", 4),
    ("network n {\n input x: [3]\n @\n}", 3),
    ("network {\n}", 1),
])
def test_syntax_errors_are_located(text, line):
    with pytest.raises(NetdslError) as info:
        parse(text, "f.net")
    span = info.value.diagnostics[0].span
    assert span is not None and span.path == "f.net" and span.line == line


def test_numbers_with_underscores_and_exponents():
    module = parse("A = 25_557_032\nB = 1e-5\nC = .5\n")
    values = [i.value.value for i in module.items]
    assert values == [25557032, 1e-5, 0.5]


def test_labels_plain_and_computed():
    (chain,) = body_of('network n {\n a: relu -> ("b" + str(1)): tanh\n}')
    first, second = chain.elements
    assert first.label is not None and second.label is not None


def test_unclosed_body_is_an_end_of_file_error():
    with pytest.raises(NetdslError) as info:
        parse("network n {\n input x: [3]\n", "f.net")
    assert "end of file" in info.value.diagnostics[0].message


def test_a_group_inside_parentheses_separates_its_statements_by_newlines():
    """Inside `(` or `[` newlines do not matter; inside a `{` opened there they separate
    statements again, and after its `}` they stop mattering again."""
    (chain,) = body_of("network n {\n concat({ conv(3, 1)\n          relu }\n"
                       "        , { tanh\n sigmoid })\n}")
    first, second = chain.elements[0].value.args
    assert [len(a.value.elements[0].value.body) for a in (first, second)] == [2, 2]
    inner = first.value.elements[0].value.body
    assert [type(s.elements[0].value).__name__ for s in inner] == ["Call", "Name"]


def test_brackets_nested_in_a_group_inside_a_call():
    (chain,) = body_of("network n {\n concat({ conv(3,\n 1)\n add { identity\n relu }\n"
                       " [1,\n 2] })\n}")
    (arg,) = chain.elements[0].value.args
    group = arg.value.elements[0].value
    assert [type(s.elements[0].value).__name__ for s in group.body] == ["Call", "Merge",
                                                                        "ListExpr"]
    assert len(group.body[1].elements[0].value.body) == 2  # the merge's two paths


def test_a_missing_newline_in_a_group_inside_a_call_is_still_reported():
    with pytest.raises(NetdslError) as info:
        parse("network n {\n concat({ conv(3, 1) relu })\n}", "f.net")
    diagnostic = info.value.diagnostics[0]
    assert (diagnostic.span.line, diagnostic.span.col) == (2, 22)
    assert diagnostic.help == "a new line or ';' may be missing before it"


def test_a_spec_of_a_million_blank_lines_parses_in_a_few_times_its_size():
    """Parsing split every text into lines, for the error recovery that blanks them: 8 bytes
    a line, 400 MB for a 50 MB file of newlines (and the newline token kept 400 bytes more a
    line). Python's allocator (tracemalloc) measures the peak."""
    import tracemalloc
    text = "network n {\n    input x: [3, 8, 8]\n" + "\n" * 1_000_000 + "    relu\n}\n"
    tracemalloc.start()
    try:
        module = parse(text, "blank.net")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [item.name for item in module.items] == ["n"]
    assert peak < 5 * len(text)  # the text, its copy with a final newline, the newline token


def test_a_syntax_error_after_a_million_blank_lines_is_reported_in_a_few_times_its_size():
    """The error's message, the recovery that blanks its line and the quoted line each split
    the text into lines (8 bytes and a string a line: 170 MB for 3 million lines) and walked
    it a character at a time to find open brackets; they now find lines through an index of
    blocks and read only the brackets."""
    import tracemalloc
    text = "network n {\n    input x: [3, 8, 8]\n" + "\n" * 1_000_000 + "    relu ]\n}\n"
    tracemalloc.start()
    try:
        with pytest.raises(NetdslError) as info:
            parse(text, "blank.net")
        rendered = str(info.value)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rendered.startswith("blank.net:1000003:10: error: unexpected ']'")
    assert "        relu ]\n" in rendered
    assert peak < 8 * len(text)  # the text's copies (with a final newline, blanked, without
    # strings and comments), not a string per line (30 times its size before)
