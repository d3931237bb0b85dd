"""netdsl installed as a user installs it: the sdist and the wheel built by the standard front
end (`python -m build`), the wheel installed into a fresh virtual environment outside the
repository, and there the command line used on the bundled zoo and block library, with the
repository nowhere on the path.

Offline: the build uses this environment's setuptools (`--no-isolation`), the wheel is installed
with `--no-deps --no-index`, and its dependencies (lark, networkx, graphviz, torch) come from
this environment's site-packages through a .pth file placed after the new environment's own.
References: torchvision's resnet50 and BasicBlock parameter counts; LeNet-5's 10 outputs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from netdsl import __version__
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # a build and a virtual environment: about 30 s

IGNORED = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build", "dist",
                                 ".pytest_cache", ".ruff_cache")
USER_SPEC = 'import "std/resnet"\n\nnetwork tiny {\n    input x: [64, 32, 32]\n    basic(64)\n}\n'


def _run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NETDSL_PATH")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, (argv, done.stdout[-2000:], done.stderr[-2000:])
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist and the wheel, built from a copy of the source tree (tests included, so that
    leaving them out is the build's doing)."""
    source = tmp_path_factory.mktemp("checkout") / "netdsl"
    shutil.copytree(ROOT, source, ignore=IGNORED, symlinks=True)
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
         cwd=out)
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A fresh virtual environment, outside the repository, with only the wheel installed."""
    home = tmp_path_factory.mktemp("user")
    _run([sys.executable, "-m", "venv", str(home / "venv")], cwd=home)
    python = home / "venv" / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                   cwd=home).stdout.strip()
    (Path(purelib) / "zz_netdsl_test_dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n")
    (wheel,) = dist.glob("netdsl-*.whl")
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
         cwd=home)
    return home / "venv" / "bin"


@pytest.fixture
def user(tmp_path) -> Path:
    """A user's folder, nowhere near the repository."""
    assert not tmp_path.is_relative_to(ROOT)
    return tmp_path


def test_the_sdist_carries_the_zoo_and_the_build_script(dist):
    (sdist,) = dist.glob("netdsl-*.tar.gz")
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    assert {"setup.py", "pyproject.toml", "LICENSE", "specs/resnet50.net",
            "specs/lib/resnet.net"} <= names


def test_the_wheel_carries_the_zoo_and_nothing_else(dist):
    (wheel,) = dist.glob("netdsl-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"netdsl", f"netdsl-{__version__}.dist-info"}, top  # no `cli`, no `tests`
    assert not [n for n in names if "test" in n.split("/")[-1] or "/tests/" in n]
    zoo = {n for n in names if n.startswith("netdsl/zoo/")}
    assert len([n for n in zoo if n.count("/") == 2]) == len(list((ROOT / "specs").glob("*.net")))
    assert {"netdsl/zoo/resnet50.net", "netdsl/zoo/lenet5.net",
            "netdsl/zoo/lib/resnet.net"} <= zoo
    assert f"netdsl-{__version__}.dist-info/licenses/LICENSE" in names


def test_the_installed_command_reports_its_version(venv, user):
    done = _run([str(venv / "netdsl"), "--version"], cwd=user)
    assert done.stdout.strip() == f"netdsl {__version__}"


def test_the_installed_package_is_the_wheel_not_the_checkout(venv, user):
    where = _run([str(venv / "python"), "-c", "import netdsl.bundled as b; print(b.ZOO)"],
                 cwd=user).stdout.strip()
    assert Path(where).parts[-2:] == ("netdsl", "zoo") and not Path(where).is_relative_to(ROOT)


def test_stats_takes_a_bundled_model_by_name(venv, user):
    torchvision = pytest.importorskip("torchvision")
    reference = sum(p.numel() for p in torchvision.models.resnet50().parameters())
    done = _run([str(venv / "netdsl"), "stats", "resnet50"], cwd=user)
    assert f"params:       {reference:,} " in done.stdout


def test_check_a_user_spec_that_imports_the_bundled_library(venv, user):
    torchvision = pytest.importorskip("torchvision")
    block = torchvision.models.resnet.BasicBlock(64, 64)
    (user / "tiny.net").write_text(USER_SPEC)
    _run([str(venv / "netdsl"), "check", "tiny.net"], cwd=user)
    done = _run([str(venv / "netdsl"), "stats", "tiny.net", "--format", "json"], cwd=user)
    assert f'"params": {sum(p.numel() for p in block.parameters())},' in done.stdout
    assert list(user.iterdir()) == [user / "tiny.net"]  # nothing copied into the user's folder


def test_compile_a_bundled_model_by_name_and_import_it(venv, user):
    _run([str(venv / "netdsl"), "compile", "lenet5", "-o", "x.py"], cwd=user)
    code = ("import torch, x\n"
            "model = x.Lenet5().eval()\n"
            "print(tuple(model(torch.zeros(1, 1, 32, 32)).shape))\n")
    done = _run([str(venv / "python"), "-c", code], cwd=user)
    assert done.stdout.strip() == "(1, 10)"
