"""The wheel as pip builds it: the `netdsl` command runs `netdsl.cli:run`, nothing named `cli`
lands in site-packages (so `import cli` is impossible after `pip install netdsl`), and the
version comes from its one home, `netdsl.__version__`.

The wheel is built offline from a copy of the sources by pip and the setuptools of this
environment (`--no-build-isolation --no-deps --no-index`), in a few seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from netdsl import __version__
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # pip builds the wheel (test_install.py installs one)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE", "cli.py"):  # cli.py
        shutil.copy(ROOT / name, source / name)  # beside it, as in a checkout
    for folder in ("netdsl", "specs"):
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
                           "--no-build-isolation", "-q", "-w", str(dist)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    (built,) = Path(dist).glob("netdsl-*.whl")
    return zipfile.ZipFile(built)


def _read(wheel: zipfile.ZipFile, suffix: str) -> str:
    (name,) = [n for n in wheel.namelist() if n.endswith(suffix)]
    return wheel.read(name).decode("utf-8")


def test_no_top_level_cli_module(wheel):
    top = {name.split("/")[0] for name in wheel.namelist()}
    assert top == {"netdsl", f"netdsl-{__version__}.dist-info"}, top
    assert _read(wheel, ".dist-info/top_level.txt").split() == ["netdsl"]


def test_console_script_is_the_package_entry(wheel):
    entry_points = _read(wheel, ".dist-info/entry_points.txt")
    assert "[console_scripts]\nnetdsl = netdsl.cli:run" in entry_points


def test_the_package_carries_its_command_line_and_grammar(wheel):
    names = set(wheel.namelist())
    assert {"netdsl/cli/__init__.py", "netdsl/cli/app.py", "netdsl/__main__.py",
            "netdsl/syntax/grammar.lark"} <= names


def test_version_comes_from_netdsl(wheel):
    assert f"\nVersion: {__version__}\n" in _read(wheel, ".dist-info/METADATA")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and f'"{__version__}"' not in pyproject
