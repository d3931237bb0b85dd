"""`-` as a spec reads standard input (messages then name `<stdin>`); `--depth` is a number >= 1
or `all` in every command that takes it; `fmt` reports files to reformat with exit 3."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import assert_user_error
from tests.conftest import SPECS

LENET = SPECS / "lenet5.net"
R50 = str(SPECS / "resnet50.net")
BROKEN = "network n {\n    input x: [3, 8, 8]\n    conv(4 3)\n}\n"


@pytest.mark.parametrize(("command", "extra"), [("check", []), ("stats", []),
                                                ("compile", ["-o", "-"]),
                                                ("render", ["-o", "-"])])
def test_dash_reads_the_spec_from_stdin(netdsl, command, extra):
    from_stdin = netdsl(command, "-", *extra, stdin=LENET.read_text())
    from_file = netdsl(command, str(LENET), *extra)
    assert from_stdin.returncode == from_file.returncode == 0, from_stdin.stderr
    if command == "stats":  # the same network, whatever its source
        assert from_stdin.stdout == from_file.stdout
    else:
        assert from_stdin.stdout.replace("<stdin>", "lenet5.net") == \
            from_file.stdout.replace(str(LENET), "lenet5.net")


@pytest.mark.parametrize("command", ["check", "stats", "compile", "render", "fmt"])
def test_errors_in_stdin_are_located_at_stdin(netdsl, command):
    extra = ["-o", "-"] if command in ("compile", "render") else []
    done = netdsl(command, "-", *extra, stdin=BROKEN)
    assert_user_error(done, "<stdin>:3:", "error:")
    assert "    conv(4 3)" in done.stderr  # the line is quoted with its caret


def test_stdin_imports_resolve_from_the_working_directory(netdsl):
    done = netdsl("stats", "-", "--format", "json", stdin=(SPECS / "resnet18.net").read_text(),
                  cwd=SPECS)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["params"] == 11_689_512  # torchvision resnet18


def test_stdin_that_is_not_utf8_is_located(netdsl):
    assert_user_error(netdsl("check", "-", stdin=b"network n {\n \xff\n}\n"), "<stdin>:2:2:",
                      "not valid UTF-8")


def test_stdin_is_read_once(netdsl):
    assert_user_error(netdsl("check", "-", "-", stdin=LENET.read_text()), "only once")


@pytest.mark.parametrize("command", ["stats", "render"])
@pytest.mark.parametrize("value", ["0", "-1", "deep", "1.5"])
def test_depth_is_a_number_from_one_or_all(netdsl, command, value):
    extra = ["-o", "-"] if command == "render" else []
    done = netdsl(command, R50, *extra, "--depth", value)
    assert_user_error(done, "--depth", "expected a number >= 1 or 'all'")


def test_depth_all_shows_every_level(netdsl):
    every = netdsl("stats", R50, "--format", "json", "--depth", "all")
    default = netdsl("stats", R50, "--format", "json")
    one = netdsl("stats", R50, "--format", "json", "--depth", "1")
    assert every.returncode == default.returncode == one.returncode == 0
    assert every.stdout == default.stdout
    names = [r["name"] for r in json.loads(every.stdout)["layers"]]
    assert "layer4.2.conv3" in names and len(json.loads(one.stdout)["layers"]) < len(names)
    drawn = netdsl("render", R50, "-o", "-", "--depth", "all").stdout
    assert "layer4.2.conv3" in drawn
    assert "layer4.2.conv3" not in netdsl("render", R50, "-o", "-", "--depth", "1").stdout


MESSY = "network n {\ninput x: [3, 8, 8]\n  conv(4,3)\n}\n"


def test_fmt_check_exits_3_and_changes_nothing(netdsl, tmp_path):
    spec = tmp_path / "messy.net"
    spec.write_text(MESSY)
    done = netdsl("fmt", "--check", str(spec))
    assert done.returncode == 3 and "would be reformatted" in done.stderr
    assert spec.read_text() == MESSY
    assert netdsl("fmt", str(spec)).returncode == 0
    assert netdsl("fmt", "--check", str(spec)).returncode == 0


def test_fmt_takes_the_budget_its_message_names(netdsl, tmp_path):
    """A spec longer than formatting's share of the work budget: the message says to raise
    it with --max-steps, which fmt did not accept ("unrecognized arguments")."""
    spec = tmp_path / "long.net"
    spec.write_text("network n {\n input x: [3, 8, 8]\n" + " relu\n" * 4_000 + "}\n")
    done = netdsl("fmt", "--check", "--max-steps", "20000", str(spec))
    assert done.returncode == 2
    assert "longer than the work budget allows (5,000 tokens)" in done.stderr
    assert "raise the budget with --max-steps N" in done.stderr
    done = netdsl("fmt", "--check", "--max-steps", "400000", str(spec))
    assert done.returncode == 3 and "would be reformatted" in done.stderr


def test_fmt_formats_what_check_reads(netdsl, tmp_path):
    """At the default budget fmt took a quarter of the tokens loading does: a spec of 80,000
    tokens checked and was refused by fmt."""
    spec = tmp_path / "big.net"
    spec.write_text("X = [" + "1, " * 40_000 + "1]\nnetwork n {\n input x: [3, 8, 8]\n relu\n}\n")
    assert netdsl("check", str(spec)).returncode == 0
    done = netdsl("fmt", "--check", str(spec))
    assert done.returncode == 3 and "would be reformatted" in done.stderr  # read, not refused


def test_fmt_exit_3_is_documented(netdsl):
    top = netdsl("--help")
    assert top.returncode == 0
    assert "3    fmt --check" in top.stdout and "1    an internal error" in top.stdout
    assert "exit 3" in netdsl("fmt", "--help").stdout


def test_fmt_dash_formats_stdin_to_stdout(netdsl, tmp_path):
    spec = tmp_path / "messy.net"
    spec.write_text(MESSY)
    netdsl("fmt", str(spec))
    done = netdsl("fmt", "-", stdin=MESSY)
    assert done.returncode == 0 and done.stdout == spec.read_text()
    checked = netdsl("fmt", "--check", "-", stdin=MESSY)
    assert checked.returncode == 3 and checked.stdout == ""
    assert "<stdin> would be reformatted" in checked.stderr
    assert netdsl("fmt", "--check", "-", stdin=spec.read_text()).returncode == 0
