"""Hostile command lines end in a located message and exit 2, and writes never replace what the
command read: `--set` and `--input` values are located in the argument itself (shown as the
files `--set`, `--input`), `--max-steps` bounds evaluation, `--include` / NETDSL_PATH open
another folder to imports, a diagram too large to draw is located at its spec, a flood of errors
is cut short, and compile, render, stats -o and fmt refuse to write over a spec or a non-file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.cli.conftest import assert_user_error

LOADING = ("check", "stats", "compile", "render")
WRITES = {"check": [], "stats": ["--format", "json"], "compile": ["-o", "-"],
          "render": ["-o", "-", "--format", "dot"]}
NET = "network n(c: int = 4) {\n    input x: [3, 8, 8]\n    conv(c, 3)\n}\n"
LOCATED = re.compile(r"^(--set|--input):(\d+):(\d+): error: ", re.MULTILINE)


@pytest.fixture
def spec(tmp_path: Path) -> str:
    path = tmp_path / "n.net"
    path.write_text(NET)
    return str(path)


def located_at(stderr: str) -> tuple[str, int, int]:
    match = LOCATED.search(stderr)
    assert match, stderr
    return match.group(1), int(match.group(2)), int(match.group(3))


# ------------------------------------------------------------------ --set and --input

@pytest.mark.parametrize("setting, line, col, words", [
    ("c=10\njunk", 2, 5, "unexpected end of line"),  # was accepted as 10
    ("c=10; junk", 1, 11, "unexpected end of line"),
    ("c=", 1, 3, "incomplete"),
    ("c", 1, 1, "--set needs name=value"),
    ("1c=3", 1, 1, "--set needs name=value"),
    ("=3", 1, 1, "--set needs name=value"),
    ("c=(8", 1, 3, "never closed"),
    ("c=[1] * 10 ** 9", 1, 3, "more than the 10,000,000 a list may hold"),
    ("c=10 ** 10 ** 10", 1, 3, "too large"),
    ("c=1e400", 1, 3, "too large for a float"),
    ("c=relu(3)", 1, 3, "unknown function"),
    ("c=" + "(" * 5000 + "1" + ")" * 5000, 1, 3, ""),
    ("c=" + "9" * 5000, 1, 3, ""),
])
@pytest.mark.parametrize("command", LOADING)
def test_a_bad_set_value_is_located_in_the_argument(netdsl, spec, command, setting, line, col,
                                                    words):
    done = netdsl(command, spec, *WRITES[command], "--set", setting)
    assert_user_error(done, words)
    assert done.stdout == ""
    source, *where = located_at(done.stderr)
    assert source == "--set"
    if setting.startswith("c=(("):
        return  # where the parser gives up is its own business
    assert where == [line, col], done.stderr


def test_set_values_are_expressions_and_a_bare_word_is_a_string(netdsl, spec):
    done = netdsl("stats", spec, "--format", "json", "--set", "c = 2 * 4")
    assert done.returncode == 0, done.stderr
    assert '"output": [\n' in done.stdout or '"output": [8' in done.stdout
    done = netdsl("check", spec, "--set", "c=fast")
    assert_user_error(done, 'must be int, got string "fast"')


def test_a_set_value_spends_its_own_work_budget(netdsl, spec):
    bomb = "c=len([0] * 2000)"
    assert netdsl("check", spec, "--set", bomb).returncode == 0
    done = netdsl("check", spec, "--set", bomb, "--max-steps", "1000")
    assert_user_error(done, "--max-steps")
    assert located_at(done.stderr)[0] == "--set"


@pytest.mark.parametrize("shape", ["3xax2", "x=0x3", "", "x=", "3x" + "9" * 5000])
def test_a_bad_input_shape_is_located_in_the_argument(netdsl, spec, shape):
    done = netdsl("check", spec, "--input", shape)
    assert_user_error(done, "--input needs [name=]CxHxW")
    assert located_at(done.stderr)[0] == "--input"


# ------------------------------------------------------------------ the work budget

@pytest.mark.parametrize("command", LOADING)
def test_max_steps_bounds_work_that_makes_no_layers(netdsl, tmp_path, command):
    path = tmp_path / "calls.net"  # about 140,000 steps of calls, no layers
    path.write_text("def f(n) = 0 if n == 0 else f(n - 1) + f(n - 1)\nX = f(12)\n"
                    "network n {\n    input x: [3, 8, 8]\n    relu\n}\n")
    assert netdsl(command, str(path), *WRITES[command]).returncode == 0
    done = netdsl(command, str(path), *WRITES[command], "--max-steps", "50000")
    assert_user_error(done, f"{path}:", "--max-steps N")
    assert done.stdout == ""


@pytest.mark.parametrize("value", ["0", "-1", "lots"])
def test_max_steps_must_be_positive(netdsl, spec, value):
    assert_user_error(netdsl("check", spec, "--max-steps", value), "--max-steps",
                      "expected a whole number >= 1")


# ------------------------------------------------------------------ the include path

@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "project").mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "blocks.net").write_text("block twice { relu -> relu }\n")
    (tmp_path / "project" / "main.net").write_text(
        'import "blocks.net"\nnetwork n {\n    input x: [3, 8, 8]\n    twice\n}\n')
    return tmp_path


@pytest.mark.parametrize("command", LOADING)
def test_include_opens_a_folder_to_imports(netdsl, tree, command, monkeypatch):
    monkeypatch.delenv("NETDSL_PATH", raising=False)
    main = str(tree / "project" / "main.net")
    assert_user_error(netdsl(command, main, *WRITES[command]), f"{main}:1:1",
                      'cannot find the imported file "blocks.net"', "--include")
    done = netdsl(command, main, *WRITES[command], "--include", str(tree / "shared"))
    assert done.returncode == 0, done.stderr


def test_netdsl_path_is_searched_after_include(netdsl, tree, monkeypatch):
    main = str(tree / "project" / "main.net")
    (tree / "other").mkdir()
    (tree / "other" / "blocks.net").write_text("block twice { relu }\n")
    monkeypatch.setenv("NETDSL_PATH", os.pathsep.join(["", str(tree / "nowhere"),
                                                       str(tree / "shared")]))
    done = netdsl("stats", main, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('"op": "relu"') == 2
    done = netdsl("stats", main, "--format", "json", "--include", str(tree / "other"))
    assert done.stdout.count('"op": "relu"') == 1


def test_an_import_outside_stays_refused_without_include(netdsl, tree):
    main = tree / "project" / "main.net"
    main.write_text(main.read_text().replace('"blocks.net"', '"../shared/blocks.net"'))
    assert_user_error(netdsl("check", str(main)), f"{main}:1:1", "outside the folders")
    done = netdsl("check", str(main), "--include", str(tree / "shared"))
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------ diagrams and error floods

def test_a_diagram_too_large_to_draw_is_located_at_its_spec(netdsl, tmp_path):
    path = tmp_path / "wide.net"
    path.write_text("network n {\n    input x: [8]\n    add(" + ", ".join(["relu"] * 3100)
                    + ")\n}\n")
    done = netdsl("render", str(path), "-o", str(tmp_path / "d.svg"), "--depth", "all")
    assert_user_error(done, f"{path}: error: the diagram is too large", "--depth")
    assert not (tmp_path / "d.svg").exists()


def test_a_flood_of_errors_is_cut_short_and_counted(netdsl, tmp_path):
    path = tmp_path / "many.net"
    path.write_text("".join(f"x{i} = nosuch{i}\n" for i in range(500)) + NET)
    done = netdsl("check", str(path))
    assert_user_error(done, "20 errors")
    assert done.stderr.count(": error: ") == 20
    bad = []
    for i in range(25):  # fmt gathers one error per file; the report shows 20 of them
        bad.append(tmp_path / f"bad{i}.net")
        bad[-1].write_text("network n {\n")
    done = netdsl("fmt", *map(str, bad))
    assert_user_error(done, "... 5 more errors not shown\n25 errors\n")
    assert done.stderr.count(": error: ") == 20


# ------------------------------------------------------------------ writes

@pytest.fixture
def imports(tmp_path: Path) -> Path:
    """main.net imports lib/blocks.net and lib/blocks.dot: outputs can be aimed at either."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.net").write_text("block twice { relu -> relu }\n")
    (tmp_path / "main.net").write_text(
        'import "lib/blocks.net"\nnetwork n {\n    input x: [3, 8, 8]\n    twice\n}\n')
    return tmp_path


OUTPUTS = {"compile": "x.py", "render": "x.dot", "stats": "x.json"}


def _writes(command: str, spec: Path, out: Path) -> list[str]:
    fmt = {"compile": "py", "render": "dot", "stats": "json"}[command]
    return [command, str(spec), "-o", str(out), "--format", fmt]


@pytest.mark.parametrize("command", sorted(OUTPUTS))
@pytest.mark.parametrize("target", ["main.net", "lib/blocks.net", "link.py"])
def test_no_command_writes_over_a_spec_it_read(netdsl, imports, command, target):
    (imports / "link.py").symlink_to(imports / "lib" / "blocks.net")
    before = {p: p.read_bytes() for p in imports.rglob("*.net")}
    done = netdsl(*_writes(command, imports / "main.net", imports / target))
    assert_user_error(done, f"{imports / target}: error: refusing to overwrite")
    assert {p: p.read_bytes() for p in imports.rglob("*.net")} == before
    assert (imports / "link.py").is_symlink()


@pytest.mark.parametrize("command", sorted(OUTPUTS))
@pytest.mark.parametrize("kind", ["fifo", "dir", "missing folder", "dangling folder"])
def test_an_output_that_is_not_a_file_is_a_located_error(netdsl, imports, command, kind):
    out = imports / "out"
    if kind == "fifo":
        os.mkfifo(out)
    elif kind == "dir":
        out.mkdir()
    elif kind == "missing folder":
        out = imports / "nowhere" / "x"
    else:
        (imports / "gone").symlink_to(imports / "not-there")
        out = imports / "gone" / "x"
    done = netdsl(*_writes(command, imports / "main.net", out))
    assert_user_error(done, f"{out}: error: ")
    assert done.stderr.count("error:") == 1


@pytest.mark.parametrize("command", sorted(OUTPUTS))
def test_a_symlinked_output_is_written_through(netdsl, imports, command):
    (imports / "real.txt").write_text("old\n")
    (imports / "link").symlink_to(imports / "real.txt")
    done = netdsl(*_writes(command, imports / "main.net", imports / "link"))
    assert done.returncode == 0, done.stderr
    assert (imports / "link").is_symlink() and (imports / "real.txt").read_text() != "old\n"


def test_fmt_writes_through_a_symlinked_spec(netdsl, tmp_path):
    (tmp_path / "ugly.net").write_text("network n {\n  input x: [3]\n     relu\n}\n")
    (tmp_path / "link.net").symlink_to(tmp_path / "ugly.net")
    done = netdsl("fmt", str(tmp_path / "link.net"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "link.net").is_symlink()
    assert (tmp_path / "ugly.net").read_text() == "network n {\n    input x: [3]\n    relu\n}\n"


@pytest.mark.parametrize("kind", ["fifo", "dir"])
def test_fmt_refuses_what_is_not_a_spec_file(netdsl, tmp_path, kind):
    path = tmp_path / "odd.net"
    os.mkfifo(path) if kind == "fifo" else path.mkdir()
    done = netdsl("fmt", str(path))
    assert_user_error(done, f"{path}: error: ")


@pytest.mark.parametrize("command, output, fmt, col", [
    ("compile", "model.net", None, 6),  # a spec's name: no format, and never written
    ("compile", "x.onnx", "py", 2),
    ("render", "diagram", None, 1),
    ("stats", "table.py", None, 6),
])
def test_an_output_name_that_names_no_format_is_located_at_its_suffix(netdsl, spec, command,
                                                                      output, fmt, col):
    extra = ["--format", fmt] if fmt else []
    done = netdsl(command, spec, "-o", output, *extra)
    assert_user_error(done, f"-o:1:{col}: error: ")
    assert f"\n    {output}\n" in done.stderr


@pytest.mark.parametrize("command", ["check", "fmt", "diff"])  # diff: read it twice, the
def test_standard_input_twice_is_located_at_stdin(netdsl, command):  # second time empty
    assert_user_error(netdsl(command, "-", "-"), "<stdin>: error: standard input ('-') can be")


# ------------------------------------------------------------------ memory a built model takes

HUGE = "network n {\n    input x: [3, 8, 8]\n    flatten -> linear(2 ** 31)\n}\n"


@pytest.mark.parametrize("suffix", [".pt", ".pt2", ".onnx"])
def test_compile_refuses_weights_past_the_bound_before_building(netdsl, tmp_path, suffix):
    """torch's allocator refused 1.5 TiB with a RuntimeError: an internal error, exit 1."""
    spec, out = tmp_path / "huge.net", tmp_path / f"model{suffix}"
    spec.write_text(HUGE)
    done = netdsl("compile", str(spec), "-o", str(out))
    assert_user_error(done, f"{spec}:3:16: error: the network's weights would take 1.51 TiB",
                      "--max-bytes N")
    assert not out.exists()


def test_compile_refuses_running_an_example_input_past_the_bound(netdsl, tmp_path):
    """Exporting runs the network once: the input and the activations count, at the layer
    while whose run the most are alive (the convolution: its input and output; the relu
    after it runs in place)."""
    spec, out = tmp_path / "wide.net", tmp_path / "model.pt"
    spec.write_text("network n {\n    input x: [3, 64, 64]\n    conv(1, 1)\n    relu\n}\n")
    done = netdsl("compile", str(spec), "-o", str(out), "--max-bytes", "40000")
    assert_user_error(done, f"{spec}:3:5: error: running the network on an example input "
                            f"would take 64 KiB (16 B of weights, 64 KiB of activations): "
                            f"65,552 bytes")
    assert not out.exists()
    assert netdsl("compile", str(spec), "-o", str(out), "--max-bytes", "70000").returncode == 0
    assert out.stat().st_size > 0


def test_an_allocation_torch_refuses_is_a_user_error(netdsl, tmp_path):
    """Past a raised bound, the machine's memory is the limit: torch's allocator error is said
    as such (exit 2), not as a bug of netdsl's."""
    spec = tmp_path / "huge.net"
    spec.write_text(HUGE)
    done = netdsl("compile", str(spec), "-o", str(tmp_path / "m.pt"), "--max-bytes", str(2 ** 60))
    assert_user_error(done, "error: torch could not allocate the memory for the weights")


def test_an_input_with_two_shapes_is_no_shape_of_both_sizes(netdsl, spec):
    """The comma was read as an x: '--input gives x 6 dimensions'."""
    done = netdsl("check", spec, "--input", "x=3x8x8,3x8x8")
    assert_user_error(done, "--input needs [name=]CxHxW, got 'x=3x8x8,3x8x8'")
    assert netdsl("check", spec, "--input", "x=3,9,9").returncode == 0


@pytest.mark.parametrize("command", LOADING)
def test_a_byte_that_is_not_utf8_in_a_set_string_is_located(netdsl, tmp_path, command):
    """Python hands a non-UTF-8 byte of an argument on as a lone surrogate; it reached labels:
    render and report failed writing it (UnicodeEncodeError, exit 1), compile wrote it into
    the .py file."""
    path = tmp_path / "label.net"
    path.write_text('network n(s: str = "a") {\n    input x: [3, 8, 8]\n    (s): conv(4, 3)\n}\n')
    done = netdsl(command, str(path), *WRITES[command], "--set", 's="a\udcff"')
    assert_user_error(done, "--set:1:5: error: the text holds '\\udcff', a lone surrogate")
    assert done.stdout == ""
    done.stderr.encode("utf-8")  # the quoted argument shows it as '?'


@pytest.mark.parametrize("length", [300, 252])  # the name itself too long; the name + '.net'
def test_a_spec_name_too_long_is_read_or_not_found_not_written(netdsl, tmp_path, length):
    """The lookup of a bundled model (specs/NAME.net) or of NAME.net failed with the system's
    'File name too long', reported as 'cannot write /…/specs/NAME.net'."""
    name = "a" * length
    done = netdsl("check", name, cwd=tmp_path)
    expected = (f"{name}: error: cannot read " if length > 255 else
                f"{name}: error: no such spec file or bundled model: ")
    assert_user_error(done, expected)
    assert "cannot write" not in done.stderr and "specs" not in done.stderr


def test_diff_of_standard_input_with_itself_reads_it_once(netdsl):
    """`diff - --set-b ...` compares the spec with itself: read twice, the second read found
    nothing ('the file defines no network')."""
    done = netdsl("diff", "-", "--set-b", "c=8", "--format", "json", stdin=NET)
    assert done.returncode == 0, done.stderr
    assert '"params"' in done.stdout
