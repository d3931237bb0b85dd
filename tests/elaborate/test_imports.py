"""Imports read only .net files under the spec's folder, the bundled library and the folders
named with `include`, are looked for next to the importer and then in `include`, and never
quote what is not a spec; definitions cannot replace operators or builtins, even from an
import."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import netdsl
from netdsl.elaborate.imports import LIBRARY
from netdsl.errors import NetdslError
from tests.conftest import SPECS

NET = "network n {\n    input x: [3, 8, 8]\n    relu\n}\n"
SECRET = "SECRET-7f3a"


def error(path: Path, **options) -> netdsl.Diagnostic:
    with pytest.raises(NetdslError) as info:
        netdsl.load(path, **options)
    diag = info.value.diagnostics[0]
    assert diag.span is not None and diag.span.line >= 1
    return diag


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """project/ holds the specs; outside/ a .net file and a non-spec file with a secret."""
    (tmp_path / "project" / "lib").mkdir(parents=True)
    (tmp_path / "project" / "lib" / "blocks.net").write_text("block twice { relu -> relu }\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "blocks.net").write_text(f"# {SECRET}\nblock far {{ relu }}\n")
    (tmp_path / "outside" / "notes.txt").write_text(f"{SECRET}\n")
    return tmp_path


def spec(tree: Path, imports: str, body: str = "relu") -> Path:
    path = tree / "project" / "main.net"
    path.write_text(f'import "{imports}"\n' + NET.replace("relu", body))
    return path


@pytest.mark.parametrize("target", ["../outside/blocks.net", "/etc/passwd", "/proc/self/environ",
                                    "../../../../../../../etc/passwd",
                                    "../outside/notes.txt"])
def test_files_outside_the_spec_folder_are_refused_unread(tree: Path, target: str):
    diag = error(spec(tree, target))
    assert diag.code == "import" and SECRET not in diag.message + (diag.help or "")
    assert "root:" not in diag.message and "PATH=" not in diag.message


def test_a_symlink_cannot_lead_out(tree: Path):
    (tree / "project" / "lib" / "link.net").symlink_to(tree / "outside" / "blocks.net")
    diag = error(spec(tree, "lib/link.net", "far"))
    assert "outside the folders imports may read" in diag.message
    assert "--include" in diag.help


def test_include_allows_another_folder_and_is_searched(tree: Path):
    net = netdsl.load(spec(tree, "blocks.net", "far"), include=[str(tree / "outside")])
    assert len(net.graph) == 2
    path = spec(tree, "../outside/blocks.net", "far")
    assert len(netdsl.load(path, include=[str(tree / "outside")]).graph) == 2


def test_imports_under_the_folder_and_from_the_library_work(tree: Path):
    assert len(netdsl.load(spec(tree, "lib/blocks.net", "twice")).graph) == 3
    relative = os.path.relpath(LIBRARY / "resnet.net", tree / "project")
    assert netdsl.load(spec(tree, relative, "basic(3)")).graph


def test_the_zoo_imports_the_library_by_default():
    assert netdsl.load(SPECS / "resnet50.net").stats().params == 25_557_032


def test_only_net_files_are_imported(tree: Path):
    (tree / "project" / "blocks.txt").write_text("block t { relu }\n")
    assert "only .net files" in error(spec(tree, "blocks.txt", "t")).message


def test_a_fifo_named_like_a_spec_is_refused_without_blocking(tree: Path):
    os.mkfifo(tree / "project" / "pipe.net")
    diag = error(spec(tree, "pipe.net"))
    assert "FIFO" in diag.message and diag.span.line == 1


def test_imports_nest_at_most_so_deep(tree: Path):
    chain = tree / "project" / "chain"
    chain.mkdir()
    for i in range(100):
        (chain / f"c{i}.net").write_text(f'import "c{i + 1}.net"\n' if i < 99 else "Y = 1\n")
    diag = error(spec(tree, "chain/c0.net"))
    assert diag.code == "limit" and "imports nested more than" in diag.message


def test_the_files_read_are_known(tree: Path):
    net = netdsl.load(spec(tree, "lib/blocks.net", "twice"))
    assert sorted(Path(p).name for p in net.files) == ["blocks.net", "main.net"]


@pytest.mark.parametrize("definition, hidden", [
    ("block conv(c: int) { linear(c) }", "the operator 'conv'"),
    ("block relu { sigmoid }", "the operator 'relu'"),
    ("block identity { relu }", "the operator 'identity'"),
    ("conv = 3", "the operator 'conv'"),
    ("def len(x) = 3", "the builtin function 'len'"),
    ("network add { input x: [3]\n relu }", "the operator 'add'"),
])
def test_a_definition_cannot_replace_an_operator(tmp_path: Path, definition: str, hidden: str):
    path = tmp_path / "main.net"
    path.write_text(definition + "\n" + NET)
    diag = error(path)
    assert diag.message.endswith(f"is already {hidden}") and diag.code == "name"
    assert diag.span.line == 1


def test_nor_from_an_import(tmp_path: Path):
    (tmp_path / "shadow.net").write_text("block conv(c: int) { linear(c) }\n")
    path = tmp_path / "main.net"
    path.write_text('import "shadow.net"\n' + NET.replace("relu", "conv(4, 1)"))
    diag = error(path)
    assert diag.span.path.endswith("shadow.net")
    assert any("imported from" in note for _, note in diag.notes)


def test_every_construct_is_reserved_like_an_operator(tmp_path: Path, monkeypatch):
    """The reserved layer words are the registered constructs, not a second list of their
    names: a construct added to `CONSTRUCTS` cannot be redefined either."""
    from netdsl.elaborate import constructs
    monkeypatch.setitem(constructs.CONSTRUCTS, "passthrough", constructs.Identity())
    path = tmp_path / "main.net"
    path.write_text("block passthrough { relu }\n" + NET)
    diag = error(path)
    assert diag.message.endswith("is already the operator 'passthrough'")
