"""Highlighting from one table: the Pygments lexer reads every bundled spec without an error
token, the TextMate grammar of the VS Code extension is what the table generates today, and
the two colour real specs alike."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import tomllib
from pygments.token import Error, string_to_tokentype

from netdsl.highlight import textmate
from netdsl.highlight.lexer import NetdslLexer
from netdsl.highlight.rules import rules
from tests.conftest import ROOT, SPECS

ALL_SPECS = sorted(SPECS.glob("*.net")) + sorted((SPECS / "lib").glob("*.net"))
EXTENSION = ROOT / "editors" / "vscode"


def _tokens(text: str) -> list[tuple]:
    return list(NetdslLexer().get_tokens_unprocessed(text))


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda p: str(p.relative_to(SPECS)))
def test_every_spec_lexes_without_error_tokens(spec):
    text = spec.read_text()
    tokens = _tokens(text)
    assert [(pos, value) for pos, kind, value in tokens if kind in Error] == []
    assert "".join(value for _, _, value in tokens) == text


def test_text_that_is_not_netdsl_gives_error_tokens():
    errors = [value for _, kind, value in _tokens('x = a @ b\ny = "open\n') if kind in Error]
    assert errors == ["@", '"']


def test_the_kinds_of_word_are_told_apart():
    text = 'import "lib/resnet.net"\nnetwork r(c: int = 10) {\n    conv1: conv(64, 7) -> relu\n}\n'
    kinds = {value: str(kind) for _, kind, value in _tokens(text) if value.strip()}
    assert kinds["import"] == kinds["network"] == "Token.Keyword.Declaration"
    assert kinds['"lib/resnet.net"'] == "Token.Literal.String.Double"
    assert kinds["r"] == "Token.Name.Class"
    assert kinds["conv1"] == "Token.Name.Label"
    assert kinds["conv"] == kinds["relu"] == "Token.Name.Function"
    assert kinds["int"] == "Token.Name.Builtin"
    assert kinds["64"] == "Token.Literal.Number"
    assert kinds["->"] == "Token.Operator"


def test_the_textmate_grammar_is_generated_from_the_table(update_goldens: bool):
    """The grammar lists every operator: after adding one, `pytest --update-goldens` (or
    `python -m netdsl.highlight.textmate`) rewrites it, like any golden file."""
    if update_goldens:
        textmate.GRAMMAR.write_text(textmate.text())
    assert textmate.GRAMMAR.read_text() == textmate.text(), \
        "the editor grammar is stale: run pytest --update-goldens"


def _textmate_tokens(grammar: dict, line: str) -> list[tuple[str, object]]:
    """TextMate's reading of one line: at each point the pattern whose match starts first
    (the earlier pattern on a tie) takes it; (text, token type of its scope) of each named
    match or capture."""
    token_of = {scope: string_to_tokentype(token) for rule in rules()
                for token, scope in zip(rule.tokens, rule.scopes, strict=True) if scope}
    patterns = [grammar["repository"][p["include"][1:]] for p in grammar["patterns"]]
    compiled = [(re.compile(p["match"], re.MULTILINE), p) for p in patterns]
    out, pos = [], 0
    while pos < len(line):
        found = [(m.start(), i, m, p) for i, (rx, p) in enumerate(compiled)
                 if (m := rx.search(line, pos)) and m.end() > m.start()]
        if not found:
            break
        _, _, m, p = min(found, key=lambda f: (f[0], f[1]))
        if "name" in p:
            out.append((m.group(), token_of[p["name"]]))
        for group, capture in p.get("captures", {}).items():
            out.append((m.group(int(group)), token_of[capture["name"]]))
        pos = m.end()
    return out


def _pygments_tokens(line: str) -> list[tuple[str, object]]:
    return [(value, kind) for _, kind, value in _tokens(line) if value.strip()]


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda p: str(p.relative_to(SPECS)))
def test_textmate_and_pygments_colour_alike(spec):
    """(VS Code's own engine, vscode-textmate with Oniguruma, reads every spec as this
    emulation does: checked when the grammar was written; it needs node, so not here.)"""
    grammar = json.loads(textmate.GRAMMAR.read_text())
    for line in spec.read_text().split("\n"):
        assert _textmate_tokens(grammar, line) == _pygments_tokens(line), line


def test_pygmentize_finds_the_lexer_through_the_entry_point(tmp_path):
    """`pygmentize -l netdsl` once installed: the entry point pyproject.toml declares, in a
    distribution's metadata on the path, is what Pygments' plugin lookup finds."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    entry = pyproject["project"]["entry-points"]["pygments.lexers"]["netdsl"]
    dist = tmp_path / "netdsl_probe-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: netdsl-probe\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(f"[pygments.lexers]\nnetdsl = {entry}\n")
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": ""}
    done = subprocess.run([sys.executable, "-m", "pygments", "-l", "netdsl", "-f", "html",
                           str(SPECS / "lenet5.net")], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '<span class="nl">c1</span>' in done.stdout  # a label, coloured as one


def test_the_vscode_extension_is_a_valid_package_that_starts_the_server():
    manifest = json.loads((EXTENSION / "package.json").read_text())
    assert {"name", "publisher", "version", "engines", "main"} <= set(manifest)
    (language,) = manifest["contributes"]["languages"]
    (grammar,) = manifest["contributes"]["grammars"]
    assert language["extensions"] == [".net"] and grammar["language"] == language["id"]
    assert (EXTENSION / grammar["path"]).resolve() == textmate.GRAMMAR
    assert grammar["scopeName"] == json.loads(textmate.GRAMMAR.read_text())["scopeName"]
    assert (EXTENSION / language["configuration"]).is_file()
    assert (EXTENSION / manifest["main"]).is_file()
    settings = manifest["contributes"]["configuration"]["properties"]
    assert settings["netdsl.server.command"]["default"] == "netdsl"
    assert settings["netdsl.server.args"]["default"] == ["lsp"]
    assert settings["netdsl.inlayHints"]["default"] is True
    script = (EXTENSION / manifest["main"]).read_text()
    assert 'get("server.command"' in script and 'get("server.args"' in script
    assert "vscode-languageclient" in manifest["dependencies"]
