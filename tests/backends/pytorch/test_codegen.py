"""The generated source: golden file, determinism, py_compile and ruff, no code injection, the
`netdsl compile` command as a user runs it, and the lowering table's coverage."""

from __future__ import annotations

import ast
import py_compile
import subprocess
import sys
from pathlib import Path

import netdsl
from netdsl.backends.pytorch.codegen import generate
from netdsl.backends.pytorch.ops import missing
from netdsl.ops import REGISTRY
from tests.backends.pytorch.conftest import import_source
from tests.conftest import SPECS, run_cli

GOLDEN = Path(__file__).parent / "golden"


def test_every_operator_has_a_lowering() -> None:
    assert REGISTRY and missing() == []


def test_golden_lenet5(update_goldens: bool) -> None:
    source = generate(netdsl.load(SPECS / "lenet5.net"))
    golden = GOLDEN / "lenet5.py"
    if update_goldens:
        golden.write_text(source, encoding="utf-8")
    assert source == golden.read_text(encoding="utf-8")


def test_generation_is_deterministic() -> None:
    first = generate(netdsl.load(SPECS / "googlenet.net"))
    second = generate(netdsl.load(SPECS / "googlenet.net"))
    assert first == second


def test_every_spec_compiles_to_source_that_passes_ruff(tmp_path: Path) -> None:
    for spec in sorted(SPECS.glob("*.net")):
        path = tmp_path / f"{spec.stem}.py"
        path.write_text(generate(netdsl.load(spec)), encoding="utf-8")
        py_compile.compile(str(path), doraise=True)
    ruff = Path(sys.executable).with_name("ruff")
    done = subprocess.run([str(ruff), "check", "--isolated", "--select", "E,F,W,B",
                           str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    tree = ast.parse((tmp_path / "resnet50.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"torch", "torch.nn", "torch.nn.functional", "math", "collections"}
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    assert classes[-1] == "Resnet50" and "Bottleneck" in classes


def _classes(source: str) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}


def _init_params(cls: ast.ClassDef) -> list[str]:
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    return [a.arg for a in init.args.args[1:]]


def test_densenet_layers_share_one_class_taking_their_input_channels() -> None:
    source = generate(netdsl.load(SPECS / "densenet121.net"))
    classes = _classes(source)
    assert list(classes) == ["DenseLayer", "Densenet121"]
    assert _init_params(classes["DenseLayer"]) == ["in_channels"]
    assert "nn.Conv2d(in_channels, 128, kernel_size=1, bias=False)" in source
    # torchvision's denseblock1 layers see 64 + 32 * i channels
    for i in range(6):
        assert f"('denselayer{i + 1}', DenseLayer({64 + 32 * i}))" in source


def test_resnet_bottlenecks_are_parametrized_by_channels_and_width() -> None:
    source = generate(netdsl.load(SPECS / "resnet50.net"))
    classes = _classes(source)
    assert len(classes) == 4  # the stride-1 and stride-2 first blocks, the rest, the network
    assert _init_params(classes["Bottleneck2"]) == ["in_channels", "width"]
    assert "Bottleneck2(1024, 256)," in source and "Bottleneck3(512, 256)," in source
    assert "self.conv3 = nn.Conv2d(width, in_channels * 2, kernel_size=1, bias=False)" in source


def test_unexplained_differences_keep_separate_classes() -> None:
    spec = """
block unit() {
    concat {
        identity
        conv(in.c * 3 - 1, 3, p=1)
    }
}
network n {
    input x: [3, 8, 8]
    unit
    unit
}
"""
    classes = _classes(generate(netdsl.load(spec)))
    # conv(3 -> 8), then conv(11 -> 32): 8 and 32 are no product of 3 and 11
    assert list(classes) == ["Unit", "Unit2", "N"]
    assert _init_params(classes["Unit"]) == _init_params(classes["Unit2"]) == []


INJECTION = '''
block tagged(note: str) {
    add {
        identity
        conv(3, 3, p=1)
    }
}
network victim {
    input x: [3, 8, 8]
    t: tagged("\\"\\"\\"; import os; os.system('echo pwned') #\\n'; raise SystemExit")
    relu
}
'''


def test_spec_text_cannot_inject_code(tmp_path: Path) -> None:
    network = netdsl.load(INJECTION)
    source = generate(network)
    tree = ast.parse(source)
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                and getattr(n.func, "attr", None) == "system"]
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Raise)]
    module = import_source(source, tmp_path, "victim")  # importing runs nothing of the spec
    assert "echo pwned" in module.Tagged.__doc__  # the text is kept, as a string only
    assert module.Victim()(__import__("torch").zeros(1, 3, 8, 8)).shape == (1, 3, 8, 8)


def test_compile_command(tmp_path: Path) -> None:
    out = tmp_path / "model.py"
    done = run_cli("compile", "specs/lenet5.net", "-o", str(out), "--set", "classes=7")
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "classes=7" in text and "nn.Linear(84, 7)" in text
    py_compile.compile(str(out), doraise=True)


def test_compile_refuses_to_overwrite_its_spec(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.net"
    spec.write_text("network tiny {\n    input x: [3, 8, 8]\n    conv(4, 3)\n}\n")
    done = run_cli("compile", str(spec), "-o", str(spec), "--format", "py")
    assert done.returncode == 2 and "refusing to overwrite" in done.stderr
    assert "Traceback" not in done.stderr and spec.read_text().startswith("network tiny")


def test_writing_source_does_not_import_torch() -> None:
    code = ("import sys, netdsl\n"
            "from netdsl.backends.pytorch.codegen import generate\n"
            "generate(netdsl.load('specs/resnet50.net'))\n"
            "assert 'torch' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=SPECS.parent)
    assert done.returncode == 0, done.stderr
