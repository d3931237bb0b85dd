"""What the server keeps between edits, and that it never answers from a stale copy: syntax
trees by path and content, each document's analysis while its text and its imports' texts are
unchanged (re-read at every use)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netdsl.errors import NetdslError
from netdsl.lsp.hover import hover
from netdsl.lsp.session import Session
from netdsl.lsp.sources import Sources, canonical
from netdsl.syntax.lexer import TokenLimit
from netdsl.syntax.parser import parse

MAIN = 'import "lib.net"\n\nnetwork n {\n    input x: [3, 32, 32]\n    body: unit(2)\n}\n'


def _lib(width: int) -> str:
    return f"block unit(s: int = 1) {{\n    conv({width}, 3, s=s, p=1)\n    relu\n}}\n"


def _open(tmp_path: Path, width: int = 8) -> tuple[Session, str, Path]:
    (tmp_path / "lib.net").write_text(_lib(width))
    main = canonical(str(tmp_path / "main.net"))
    session = Session()
    session.update(main, MAIN)
    return session, main, tmp_path / "lib.net"


def _output(session: Session, main: str) -> str:
    text, _ = hover(session.analysis(main), session.places(main), session.sources, 5, 6)
    return text.split("- output: ")[1].split("\n")[0]


def test_an_unchanged_document_is_not_analysed_again(tmp_path):
    session, main, _ = _open(tmp_path)
    first = session.analysis(main)
    runs = session.runs
    assert session.analysis(main) is first and session.runs == runs
    assert _output(session, main) == "8x16x16"


def test_an_edit_reuses_the_trees_of_unchanged_imports(tmp_path):
    session, main, _ = _open(tmp_path)
    hits = session.sources.hits
    session.update(main, MAIN.replace("unit(2)", "unit(1)"))
    assert session.sources.hits > hits  # lib.net was not parsed again
    assert _output(session, main) == "8x32x32"


def test_a_changed_import_is_read_again(tmp_path):
    session, main, lib = _open(tmp_path)
    assert _output(session, main) == "8x16x16"
    lib.write_text(_lib(24))
    assert _output(session, main) == "24x16x16"
    lib.write_text(_lib(8))  # back to the first text: its cached tree is the right one
    assert _output(session, main) == "8x16x16"
    lib.unlink()
    (problem,) = session.analysis(main).diagnostics
    assert problem.diagnostic.code == "import"
    lib.write_text(_lib(16))  # an import that failed is looked for again
    assert _output(session, main) == "16x16x16"


def test_a_cached_tree_is_the_tree_a_fresh_parse_gives(tmp_path):
    sources = Sources(capacity=2)
    texts = [_lib(w) for w in (8, 16, 8, 32, 8, 16)]
    for text in texts:
        assert sources.parse(text, "lib.net") == parse(text, "lib.net")
    # 8 and 8 again are found; 32 evicts the least recently used, 16, which is parsed again
    assert sources.hits == 2 and sources.misses == 4


def test_a_cached_tree_spends_the_tokens_a_parse_reads():
    """The work budget is the same with the cache: a tree found spends what its parse read,
    and one whose parse would run out of tokens is parsed again, to fail as it must."""
    sources, text = Sources(), _lib(8)
    fresh, cached = TokenLimit(), TokenLimit()
    parse(text, "lib.net", fresh)
    sources.parse(text, "lib.net")
    sources.parse(text, "lib.net", cached)
    assert sources.hits == 1 and cached.left == fresh.left < fresh.tokens
    with pytest.raises(NetdslError) as failed:
        sources.parse(text, "lib.net", TokenLimit(fresh.tokens - fresh.left - 1))
    assert failed.value.diagnostics[0].code == "limit"
