"""The program as a shell sees it: `python -m netdsl`, `python cli.py`, `--version`, the exit
status of every kind of ending, and no traceback for anything the user did."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from netdsl import __version__
from netdsl.cli import app
from tests.cli.conftest import assert_user_error
from tests.conftest import ROOT, SPECS

LENET = str(SPECS / "lenet5.net")


def _process(*argv: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_python_dash_m_netdsl_is_the_program(netdsl):
    version = _process("-m", "netdsl", "--version")
    assert version.returncode == 0 and version.stdout == f"netdsl {__version__}\n"
    stats = _process("-m", "netdsl", "stats", "-", stdin=open(LENET).read())
    assert stats.returncode == 0 and stats.stdout == netdsl("stats", LENET).stdout


def test_cli_py_is_the_same_program():
    assert (ROOT / "cli.py").read_text().count("\n") < 12  # a thin entry, nothing of its own
    done = _process("cli.py", "check", "-", stdin="network n {\n input x: [3]\n conv(4, 3)\n}\n")
    assert done.returncode == 2 and "<stdin>:3:2: error:" in done.stderr
    assert "Traceback" not in done.stderr


def test_version(netdsl):
    done = netdsl("--version")
    assert done.returncode == 0 and done.stdout == f"netdsl {__version__}\n"


def test_help_lists_every_command_once(netdsl):
    done = netdsl("--help")
    assert done.returncode == 0
    for command in app.COMMANDS:
        assert f"    {command.name} " in done.stdout
        assert netdsl(command.name, "--help").returncode == 0
    assert sorted(c.name for c in app.COMMANDS) == \
        ["check", "compile", "diff", "fmt", "import", "lsp", "ops", "render", "report", "stats",
         "sweep", "zoo"]


@pytest.mark.parametrize("argv", [
    [], ["nosuch"], ["stats"], ["compile", LENET], ["render", LENET], ["stats", LENET, "--bogus"],
    ["check", "does/not/exist.net"], ["stats", "specs/lenet5"], ["check", str(SPECS)],
])
def test_user_errors_exit_2_without_a_traceback(netdsl, argv):
    done = netdsl(*argv)
    assert_user_error(done)
    assert done.stderr.strip()


def test_a_missing_spec_suggests_the_file_meant(netdsl):
    assert_user_error(netdsl("stats", "specs/lenet5"),
                      "no such spec file or bundled model: specs/lenet5",
                      "did you mean 'specs/lenet5.net'?")


def test_broken_pipe_is_not_an_error():
    done = subprocess.run(f"{sys.executable} cli.py stats {SPECS / 'resnet152.net'} | head -1",
                          shell=True, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout == "network resnet152\n"
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


@pytest.mark.parametrize("command", ["stats specs/lenet5.net", "ops"])
def test_a_full_disk_is_the_systems_refusal_not_a_bug(command: str):
    """Output to /dev/full: the write fails when the output is flushed. It was reported as
    an internal error, "a bug in netdsl" (exit 1)."""
    done = subprocess.run(f"{sys.executable} cli.py {command} > /dev/full", shell=True,
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert done.stderr == "netdsl: error: cannot write the output: No space left on device\n"


@pytest.fixture
def planted_bug(monkeypatch):
    """`check` replaced by a command that crashes, as a bug in netdsl would."""
    def broken(args):
        raise ZeroDivisionError("a planted bug")
    monkeypatch.setattr(app, "COMMANDS", tuple(
        dataclasses.replace(c, run=broken) if c.name == "check" else c for c in app.COMMANDS))


@pytest.mark.parametrize("argv", [["check", LENET], ["--debug", "check", LENET],
                                  ["check", LENET, "--debug"]])
def test_internal_errors_exit_1_with_a_traceback_only_with_debug(netdsl, planted_bug, argv):
    done = netdsl(*argv)
    assert done.returncode == 1
    assert "internal error: ZeroDivisionError: a planted bug" in done.stderr
    assert "this is a bug in netdsl" in done.stderr
    assert ("Traceback" in done.stderr) == ("--debug" in argv)
