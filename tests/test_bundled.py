"""The bundled zoo and block library: `import "std/NAME"` from any folder, with a user's file
of the same name used only from a folder the user names; models by name in `netdsl.load` and
every loading command, a file of the name winning; `netdsl zoo` listing every model.

References: torchvision's resnet50 and BasicBlock parameter counts; LeNet-5's per-layer
parameter counts from LeCun et al. 1998 (C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164)
plus the 850 of the linear output layer the spec chooses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torchvision

import netdsl
from netdsl.bundled import LIBRARY, ZOO, citation, model_names, model_path
from netdsl.errors import NetdslError
from tests.cli.conftest import assert_user_error, run_netdsl
from tests.conftest import ROOT, SPECS

R50_PARAMS = sum(p.numel() for p in torchvision.models.resnet50().parameters())
BASIC_PARAMS = sum(p.numel() for p in torchvision.models.resnet.BasicBlock(64, 64).parameters())
LENET5_PARAMS = 156 + 12 + 1_516 + 32 + 48_120 + 10_164 + 850


def user_spec(folder: Path, imports: str, body: str = "basic(64)") -> Path:
    path = folder / "mine.net"
    path.write_text(f'import "{imports}"\nnetwork mine {{\n    input x: [64, 32, 32]\n'
                    f'    {body}\n}}\n')
    return path


def test_the_checkout_uses_the_repository_specs():
    assert ZOO == SPECS and LIBRARY == SPECS / "lib"
    assert model_names() == sorted(p.stem for p in SPECS.glob("*.net"))


@pytest.mark.parametrize("name", ["std/resnet", "std/resnet.net"])
def test_std_imports_the_bundled_library_from_any_folder(tmp_path, name):
    assert not tmp_path.is_relative_to(ROOT)
    net = netdsl.load(user_spec(tmp_path, name))
    assert net.stats().params == BASIC_PARAMS
    assert str(LIBRARY / "resnet.net") in net.files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.net"]  # nothing copied


def test_a_file_next_to_the_spec_does_not_replace_the_library(tmp_path):
    (tmp_path / "std").mkdir()
    (tmp_path / "std" / "resnet.net").write_text("block basic(c: int) { relu }\n")
    assert netdsl.load(user_spec(tmp_path, "std/resnet")).stats().params == BASIC_PARAMS


def test_an_include_folder_holding_std_replaces_the_library_when_named(tmp_path):
    (tmp_path / "mine" / "std").mkdir(parents=True)
    (tmp_path / "mine" / "std" / "resnet.net").write_text("block basic(c: int) { relu }\n")
    spec = user_spec(tmp_path, "std/resnet")
    assert netdsl.load(spec, include=[str(tmp_path / "mine")]).stats().params == 0


def test_an_unknown_library_name_suggests_the_one_meant(tmp_path):
    with pytest.raises(NetdslError) as caught:
        netdsl.load(user_spec(tmp_path, "std/resnett"))
    (diag,) = caught.value.diagnostics
    assert diag.message == 'the bundled library has no "resnett"'
    assert (diag.span.line, diag.span.col) == (1, 1) and "'std/resnet'" in diag.help


def test_std_cannot_climb_out_of_the_library(tmp_path):
    with pytest.raises(NetdslError, match='the bundled library has no'):
        netdsl.load(user_spec(tmp_path, "std/../../../../etc/passwd"))


def test_relative_imports_of_the_zoo_keep_working():
    assert netdsl.load(SPECS / "resnet50.net").stats().params == R50_PARAMS


# ------------------------------------------------------------------ models by name

def test_load_takes_a_bundled_model_by_name(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert netdsl.load("resnet50").stats().params == R50_PARAMS
    assert netdsl.load("lenet5.net").stats().params == LENET5_PARAMS
    assert model_path("resnet50") == SPECS / "resnet50.net"
    assert model_path("../specs/resnet50") is None and model_path("") is None


def test_a_file_of_the_name_wins_over_the_model(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "resnet50").write_text("network mine {\n    input x: [3]\n    relu\n}\n")
    assert netdsl.load("resnet50").name == "mine"


def test_an_unknown_model_suggests_the_one_meant(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NetdslError) as caught:
        netdsl.load("resnet5")
    (diag,) = caught.value.diagnostics
    assert diag.message == "no such spec file or bundled model: resnet5"
    assert "'resnet50'" in diag.help


@pytest.mark.parametrize("command, extra", [("check", []), ("stats", ["--format", "json"]),
                                            ("compile", ["-o", "-"]),
                                            ("render", ["-o", "-", "--format", "dot"])])
def test_every_loading_command_takes_a_model_by_name(tmp_path, command, extra):
    done = run_netdsl(command, "lenet5", *extra, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    if command == "stats":
        assert json.loads(done.stdout)["params"] == LENET5_PARAMS
    assert_user_error(run_netdsl(command, "lenet6", *extra, cwd=tmp_path),
                      "no such spec file or bundled model: lenet6", "did you mean 'lenet5'")


# ------------------------------------------------------------------ netdsl zoo

@pytest.fixture(scope="module")
def listing() -> dict:
    done = run_netdsl("zoo", "--format", "json")
    assert done.returncode == 0, done.stderr
    return {m["name"]: m for m in json.loads(done.stdout)["models"]}


def test_zoo_lists_every_bundled_model_with_its_figures(listing):
    assert sorted(listing) == model_names()
    assert listing["resnet50"]["params"] == R50_PARAMS
    assert listing["lenet5"]["params"] == LENET5_PARAMS
    assert listing["lenet5"]["reference"] == citation(SPECS / "lenet5.net")
    assert listing["lenet5"]["reference"].startswith("LeNet-5: LeCun, Bottou, Bengio & Haffner "
                                                     "1998, \"Gradient-Based Learning")


def test_zoo_as_a_table_and_as_markdown():
    table = run_netdsl("zoo").stdout.splitlines()
    assert table[0].split() == ["model", "params", "MACs", "reference"]
    (lenet,) = [line for line in table if line.startswith("lenet5 ")]
    assert "60.9 K" in lenet and "LeNet-5: LeCun" in lenet
    markdown = run_netdsl("zoo", "--format", "markdown").stdout.splitlines()
    assert markdown[:2] == ["| model | params | MACs | reference |", "| --- | ---: | ---: | --- |"]
    assert any(line.startswith(f"| `lenet5` | {LENET5_PARAMS:,} | ") for line in markdown)
    assert len(markdown) == 2 + len(model_names())
