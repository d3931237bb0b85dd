"""`%%netdsl` in a real IPython shell: the cell's stats table, its diagram and its source
coloured; a mistake shown as `netdsl check` shows it; IPython imported only by the extension."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import torch

from tests.conftest import ROOT

CELL = ("network tiny {\n    input x: [3, 32, 32]\n    features: conv(8, 3) -> relu\n"
        "    flatten\n    classifier: linear(10)\n}\n")


@pytest.fixture(scope="module")
def shell():
    from IPython.testing.globalipapp import start_ipython
    ipython = start_ipython()
    ipython.run_line_magic("load_ext", "netdsl.jupyter")
    return ipython


def test_a_cell_shows_its_table_and_diagram(shell):
    shown = shell.run_cell_magic("netdsl", "", CELL)
    conv = torch.nn.Conv2d(3, 8, 3)
    linear = torch.nn.Linear(8 * 30 * 30, 10)
    params = sum(p.numel() for m in (conv, linear) for p in m.parameters())
    assert f"params:       {params:,}" in repr(shown)
    assert any(line.split()[:5] == ["features", "conv", "3x3,", "8", "8x30x30"]
               for line in repr(shown).split("\n"))
    html = shown._repr_html_()
    assert '<span style="color:' in html and ">features</span>" in html  # coloured source
    if shutil.which("dot"):
        assert "<svg" in html
    assert shell.user_ns["_netdsl"].stats().params == params


def test_options_and_the_stored_network(shell):
    shown = shell.run_cell_magic("netdsl", "--no-diagram --name small --depth 1", CELL)
    assert "<svg" not in shown._repr_html_()
    assert shell.user_ns["small"].name == "tiny"


def test_a_mistake_is_located_without_a_traceback(shell):
    shown = shell.run_cell_magic("netdsl", "",
                                 CELL.replace("conv(8, 3)", "conv(8, 3, groups=2)"))
    text = repr(shown)
    assert "<string>:3:5: error: conv 'features': groups=2 must divide" in text
    assert "[shape]" in text and "Traceback" not in text
    assert "color:#b00020" in shown._repr_html_()


def test_the_module_imports_without_ipython():
    code = ("import sys; sys.modules['IPython'] = None\nimport netdsl.jupyter as j\n"
            "cell = j.render_cell('--no-diagram', {cell!r})\nprint(cell.network.name)")
    done = subprocess.run([sys.executable, "-c", code.format(cell=CELL)], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "tiny"
