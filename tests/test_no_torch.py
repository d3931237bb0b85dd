"""The analytic core never imports torch: importing every module but the torch backend, and
running `netdsl check` and `netdsl stats` in-process, leaves torch out of sys.modules."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import ROOT

PROGRAM = textwrap.dedent("""
    import importlib, pkgutil, sys
    sys.path.insert(0, {root!r})
    import netdsl
    skipped = []
    for info in pkgutil.walk_packages(netdsl.__path__, "netdsl."):
        if info.name.startswith("netdsl.backends.pytorch"):
            skipped.append(info.name)
            continue
        importlib.import_module(info.name)
    import cli
    for argv in (["check", {spec!r}], ["stats", {spec!r}],
                 ["stats", {spec!r}, "--format", "json", "--depth", "2"]):
        code = cli.main(argv)
        assert code == 0, (argv, code)
    loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
    print("TORCH:", loaded, file=sys.stderr)
    assert not loaded, loaded
""")


def test_core_and_cli_do_not_import_torch():
    spec = str(ROOT / "specs" / "resnet50.net")
    done = subprocess.run([sys.executable, "-c", PROGRAM.format(root=str(ROOT), spec=spec)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "TORCH: []" in done.stderr


def test_stats_command_does_not_import_torch():
    spec = str(ROOT / "specs" / "resnet50.net")
    code = ("import runpy, sys; sys.argv = ['netdsl', 'stats', {!r}]; "
            "sys.path.insert(0, {!r})\n"
            "try:\n    runpy.run_path({!r}, run_name='__main__')\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n").format(
                spec, str(ROOT), str(ROOT / "cli.py"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "25,557,032" in done.stdout
