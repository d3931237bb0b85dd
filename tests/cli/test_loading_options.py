"""The loading options (--network, --set, --input, --max-nodes, --dtype) mean the same in every
command that loads a network (check, stats, compile, render), and reach what each one writes.

References: torch's Conv2d parameter count and output length, and torch.nn.Linear's in_features,
for what the options change.
"""

from __future__ import annotations

import json

import pytest
import torch

from netdsl.cli import app
from tests.cli.conftest import assert_user_error

LOADING = ("check", "stats", "compile", "render")
OPTIONS = ("--network", "--set", "--input", "--max-nodes", "--dtype")

TWO = """\
network small(c: int = 4) {
    input x: [3, 8, 8]
    conv(c, 3)
    relu
    flatten
    fc: linear(10)
}

network other {
    input y: [5]
    linear(2)
}
"""

# how each command is run so that what it writes lands on standard output
WRITES = {"check": [], "stats": ["--format", "json"], "compile": ["-o", "-"],
          "render": ["-o", "-", "--format", "dot"]}


@pytest.fixture
def two(tmp_path):
    path = tmp_path / "two.net"
    path.write_text(TWO)
    return str(path)


def _subparsers():
    parser = app.parser()
    (action,) = [a for a in parser._actions if a.dest == "command"]
    return action.choices


def test_every_loading_command_declares_every_loading_option():
    subparsers = _subparsers()
    for command in LOADING:
        flags = {s for a in subparsers[command]._actions for s in a.option_strings}
        assert set(OPTIONS) <= flags, (command, set(OPTIONS) - flags)


def torch_conv_params(cin: int, cout: int, k: int) -> int:
    return sum(p.numel() for p in torch.nn.Conv2d(cin, cout, k).parameters())


@pytest.mark.parametrize("command", LOADING)
def test_network_picks_the_network(netdsl, two, command):
    assert_user_error(netdsl(command, two, *WRITES[command]), "several networks",
                      "--network NAME")
    done = netdsl(command, two, *WRITES[command], "--network", "other")
    assert done.returncode == 0, done.stderr
    expected = {"check": "", "stats": '"network": "other"', "compile": "class Other(",
                "render": 'digraph "other"'}[command]
    assert expected in done.stdout
    assert_user_error(netdsl(command, two, *WRITES[command], "--network", "othre"),
                      "did you mean 'other'?")


@pytest.mark.parametrize("command", ["stats", "compile", "render"])
def test_set_and_input_reach_the_output(netdsl, two, command):
    done = netdsl(command, two, *WRITES[command], "--network", "small", "--set", "c=8",
                  "--input", "3x16x16")
    assert done.returncode == 0, done.stderr
    side = torch.nn.Conv2d(3, 8, 3)(torch.zeros(1, 3, 16, 16)).shape[-1]  # 14
    if command == "stats":
        data = json.loads(done.stdout)
        assert data["inputs"] == {"x": [3, 16, 16]}
        conv = {r["name"]: r for r in data["layers"]}["0"]
        assert conv["params"] == torch_conv_params(3, 8, 3)
        assert conv["output"] == [8, side, side]
    elif command == "compile":  # the set value is the class's default; the input its size
        assert "c: int = 8" in done.stdout and "nn.Conv2d(3, c, 3)" in done.stdout
        assert f"nn.Linear(c * {side} * {side}, 10)" in done.stdout
        assert "(16, 16)" in done.stdout
    else:
        assert "conv 3x3, 8" in done.stdout and "3\u00d716\u00d716" in done.stdout
        assert f"8\u00d7{side}\u00d7{side}" in done.stdout


@pytest.mark.parametrize("command", LOADING)
def test_max_nodes_is_a_located_limit(netdsl, tmp_path, command):
    path = tmp_path / "deep.net"
    path.write_text("network n {\n    input x: [3, 8, 8]\n    relu * 50\n}\n")
    assert netdsl(command, str(path), *WRITES[command], "--max-nodes", "100").returncode == 0
    done = netdsl(command, str(path), *WRITES[command], "--max-nodes", "20")
    assert_user_error(done, f"{path}:3:", "more than 20 layers")
    assert done.stdout == ""


@pytest.mark.parametrize("command", LOADING)
@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_max_nodes_must_be_positive(netdsl, two, command, value):
    assert_user_error(netdsl(command, two, "--max-nodes", value), "--max-nodes",
                      "expected a whole number >= 1")


@pytest.mark.parametrize("command", LOADING)
def test_dtype_is_accepted_and_checked(netdsl, two, command):
    done = netdsl(command, two, *WRITES[command], "--network", "other", "--dtype", "float16")
    assert done.returncode == 0, done.stderr
    assert_user_error(netdsl(command, two, "--dtype", "float13"), "invalid choice", "float16")


@pytest.mark.parametrize("command", LOADING)
@pytest.mark.parametrize("option", [["--set", "c"], ["--set", "nosuch=1"],
                                    ["--input", "3xax2"], ["--input", "z=3x8x8"],
                                    ["--set", "c=4", "--set", "c=8"],
                                    ["--include", "/etc/passwd"], ["--include", "/no/such"]])
def test_bad_loading_options_are_user_errors(netdsl, two, command, option):
    done = netdsl(command, two, *WRITES[command], "--network", "small", *option)
    assert_user_error(done)
    assert done.stdout == ""


def test_a_parameter_set_twice_and_an_include_that_is_no_folder_say_so(netdsl, two):
    """Both were taken silently: the last value won; a file as a folder found no import."""
    assert_user_error(netdsl("stats", two, "--network", "small", "--set", "c=4", "--set", "c=8"),
                      "--set:1:1: error: --set c is given twice")
    assert_user_error(netdsl("stats", two, "--network", "small", "--include", "/etc/passwd"),
                      "--include /etc/passwd: not a folder")


def test_a_set_value_of_the_wrong_type_is_shown_at_its_argument(netdsl, tmp_path):
    """`--set version=1_0` for a `str` parameter reads the number 10: the mistake is in the
    argument, which the message quotes, with how to pass text."""
    spec = tmp_path / "v.net"
    spec.write_text('network n(version: str = "1_0", c: int = 4) {\n    input x: [3, 8, 8]\n'
                    "    conv(c, 1)\n}\n")
    done = netdsl("check", str(spec), "--set", "c=4", "--set", "version=1_1")
    assert_user_error(done, "--set:2:1: error: 'n' parameter 'version' must be str, got int 11",
                      "    version=1_1\n", "help: to pass it as text, quote it: "
                      "--set version='\"1_1\"'")
    assert_user_error(netdsl("check", str(spec), "--set", "c=2.5"),
                      "--set:1:1: error: 'n' parameter 'c' must be int, got float 2.5")
    assert netdsl("check", str(spec), "--set", 'version="1_1"').returncode == 0


def test_check_sees_set_and_input(netdsl, tmp_path):
    spec = tmp_path / "expect.net"
    spec.write_text("network n(c: int = 4) {\n    input x: [3, 8, 8]\n    conv(c, 3)\n"
                    "    expect output == [8, 14, 14]\n}\n")
    assert_user_error(netdsl("check", str(spec)), f"{spec}:4:")
    assert netdsl("check", str(spec), "--set", "c=8", "--input", "3x16x16").returncode == 0


def test_check_counts_bytes_in_dtype(netdsl, tmp_path):
    """`expect activation_bytes` is in elements of --dtype: torch's float16 has 2 bytes."""
    spec = tmp_path / "bytes.net"
    spec.write_text("network n {\n    input x: [3, 8, 8]\n    conv(4, 3)\n}\n")
    elements = json.loads(netdsl("stats", str(spec), "--format", "json").stdout)[
        "activation_elements"]
    half = torch.zeros(0, dtype=torch.float16).element_size()
    spec.write_text(spec.read_text().replace(
        "}\n", f"    expect activation_bytes == {elements * half}\n}}\n"))
    assert_user_error(netdsl("check", str(spec)), "activation_bytes")
    assert netdsl("check", str(spec), "--dtype", "float16").returncode == 0


@pytest.mark.parametrize("command", LOADING)
def test_an_input_of_the_wrong_rank_is_an_error_at_the_input(netdsl, tmp_path, command):
    """`--input 224x224` once silently made an image network 1-D (its conv 7x7 became 1-D)."""
    spec = tmp_path / "image.net"
    spec.write_text("network n {\n    input x: [3, 32, 32]\n    conv(8, 7, s=2, p=3)\n}\n")
    done = netdsl(command, str(spec), *WRITES[command], "--input", "32x32")
    assert_user_error(done, f"{spec}:2:5:")
    assert "2 dimensions (32x32), but it is declared with 3 (3x32x32)" in done.stderr
    assert "--input 3x32x32" in done.stderr


UNKNOWN_NAMES = {  # once located at the network's line, as if the spec were wrong
    ("--set", "cc=8"): """\
--set:1:1: error: network 'small' has no parameter 'cc'  [usage]
    cc=8
    ^~
help: did you mean 'c'?
""",
    ("--set", " width = 8"): """\
--set:1:2: error: network 'small' has no parameter 'width'  [usage]
     width = 8
     ^~~~~
help: signature: small(c: int = ...)
""",
    ("--input", "z=3x8x8"): """\
--input:1:1: error: --input names 'z', which is not an input of 'small'  [usage]
    z=3x8x8
    ^
help: inputs: x
""",
}


@pytest.mark.parametrize(("command", "option"), [
    *((command, option) for command in LOADING for option in UNKNOWN_NAMES),
    *(("sweep", option) for option in UNKNOWN_NAMES)],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else v)
def test_a_name_the_network_lacks_is_located_in_its_argument(netdsl, two, command, option):
    """Shaped like the other errors in a --set or --input argument (`--set c`, `--input
    3xax2`): the argument quoted, the name underlined, exit 2; a sweep checks its --set and
    --input names before any variant."""
    done = netdsl(command, two, *WRITES.get(command, []), "--network", "small", *option)
    assert_user_error(done)
    assert (done.stdout, done.stderr) == ("", UNKNOWN_NAMES[option])


def test_each_argument_of_an_option_is_a_line_of_its_own(netdsl, two):
    done = netdsl("check", two, "--network", "small", "--set", "c=8", "--set", "cc=8",
                  "--input", "3x8x8", "--input", "y=3x8x8", "--input", "z=3x8x8")
    assert_user_error(done)
    assert done.stderr.startswith("--set:2:1: error: network 'small' has no parameter 'cc'")
    done = netdsl("check", two, "--network", "small", "--input", "y=3x8x8", "--input",
                  "z=3x8x8")
    assert [line for line in done.stderr.splitlines() if line.startswith("--input")] == [
        "--input:1:1: error: --input names 'y', which is not an input of 'small'  [usage]",
        "--input:2:1: error: --input names 'z', which is not an input of 'small'  [usage]"]


def test_in_python_an_unknown_parameter_is_located_at_the_network(two):
    import netdsl
    with pytest.raises(netdsl.NetdslError) as info:
        netdsl.load(two, "small", cc=8)
    (diag,) = info.value.diagnostics
    assert (diag.span.line, diag.code, diag.help) == (1, "arg", "did you mean 'c'?")


@pytest.mark.parametrize(("value", "shown"), [("len", "the function 'len'"),
                                              ("[1, max]", "list [1, max]")])
def test_a_function_given_to_set_is_located_in_its_argument(netdsl, two, value, shown):
    """`--set c=len` named a builtin: it reached the network unlocated ('got Function')."""
    done = netdsl("check", two, "--network", "small", "--set", f"c={value}")
    assert_user_error(done)
    assert done.stderr.startswith(
        f"--set:1:3: error: --set c must be a number, bool, string or list, not {shown}  [type]")
    assert ("help: to pass the word, quote it: --set c='\"len\"'" in done.stderr) == \
        (value == "len")


def test_set_gives_a_layer_parameter_an_operator_by_name(netdsl, tmp_path):
    path = tmp_path / "act.net"
    path.write_text("network n(act: layer = relu) {\n    input x: [3, 8, 8]\n"
                    "    conv(4, 3) -> act\n}\n")
    done = netdsl("compile", str(path), "-o", "-", "--set", "act=gelu")
    assert done.returncode == 0, done.stderr
    assert "act: Callable[..., nn.Module] = nn.GELU" in done.stdout
    assert_user_error(netdsl("check", str(path), "--set", "act=gleu"), "names no operator",
                      "did you mean 'gelu'?")
