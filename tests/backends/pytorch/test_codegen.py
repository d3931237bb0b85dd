"""The generated source: golden files, determinism across interpreters, ruff on every spec, one
class per block the spec uses, network parameters as keyword arguments, no spatial size baked
into a forward, no code injection, and the `netdsl compile` command as a user runs it."""

from __future__ import annotations

import ast
import importlib.util
import os
import py_compile
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch
from torch.nn import functional as F

import netdsl
from netdsl.backends.pytorch import module_namespace
from netdsl.backends.pytorch.codegen import generate, network_class
from netdsl.backends.pytorch.generator import RUNTIME as RUNTIME_FILE
from netdsl.backends.pytorch.generator import blocks_reached
from tests.backends.pytorch.conftest import assert_state_matches_ir, import_source
from tests.conftest import FAST_SPECS, SPECS, run_cli, spec_paths, zoo_params

GOLDEN = Path(__file__).parent / "golden"
BENCH_CODEGEN = SPECS.parent / "bench" / "codegen.py"
GOLDEN_SPECS = ["lenet5", "resnet50", "mobilenet_v2", "efficientnet_b0", "unet", "inception_v3",
                "fpn_resnet50"]


RUNTIME = {n.name for n in ast.parse(RUNTIME_FILE.read_text()).body
           if isinstance(n, ast.ClassDef)}


def _classes(source: str) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}


def _init_params(cls: ast.ClassDef) -> list[str]:
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    return [a.arg for a in init.args.args[1:]]


def _assigned(source: str, cls: str, target: str) -> str:
    """What a class's constructor assigns to `target`, as source text."""
    init = next(n for n in _classes(source)[cls].body if isinstance(n, ast.FunctionDef))
    return next(ast.unparse(n.value) for n in ast.walk(init) if isinstance(n, ast.Assign)
                and ast.unparse(n.targets[0]) == target)


def _codegen_bench() -> ModuleType:
    """bench/codegen.py, whose measures the goals of the compiled code are stated in."""
    spec = importlib.util.spec_from_file_location("bench_codegen", BENCH_CODEGEN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(source: str, **params: object) -> torch.nn.Module:
    return module_namespace(source, "test")[network_class(source)](**params)


@pytest.mark.parametrize("name", GOLDEN_SPECS)
def test_golden(name: str, update_goldens: bool) -> None:
    source = generate(netdsl.load(SPECS / f"{name}.net"))
    golden = GOLDEN / f"{name}.py"
    if update_goldens:
        golden.write_text(source, encoding="utf-8")
    assert source == golden.read_text(encoding="utf-8")


def test_generation_is_deterministic_across_interpreters() -> None:
    """Two interpreters with different hash seeds (set and dict orders) write the same bytes."""
    code = ("import sys, netdsl\n"
            "from netdsl.backends.pytorch.codegen import generate\n"
            "sys.stdout.write(generate(netdsl.load('specs/googlenet.net', aux=True)))\n")
    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=SPECS.parent, env=env)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and "class Googlenet" in outputs[0]


@pytest.mark.parametrize("specs", [
    pytest.param([SPECS / f"{name}.net" for name in sorted(FAST_SPECS)], id="representative"),
    pytest.param(spec_paths(), id="zoo", marks=pytest.mark.slow)])
def test_every_spec_compiles_to_source_that_passes_ruff(tmp_path: Path, specs: list[Path]) -> None:
    for spec in specs:
        path = tmp_path / f"{spec.stem}.py"
        path.write_text(generate(netdsl.load(spec)), encoding="utf-8")
        py_compile.compile(str(path), doraise=True)
    ruff = Path(sys.executable).with_name("ruff")
    done = subprocess.run([str(ruff), "check", "--isolated", "--select", "E,F,W,B,I",
                           str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    for path in tmp_path.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert imported <= {"torch", "torch.nn", "torch.nn.functional", "math", "collections",
                            "collections.abc", "functools", "torchvision",
                            "torchvision.ops"}, path.name


@pytest.mark.parametrize("spec", zoo_params())
def test_one_class_per_block_the_spec_uses(spec: Path) -> None:
    """Counted from the spec's text: the blocks its network reaches, plus the network."""
    network = netdsl.load(spec)
    classes = set(_classes(generate(network))) - RUNTIME  # operators' helpers are not blocks
    expected = len(blocks_reached(network.program, network.name)) + 1
    assert len(classes) == expected


def test_a_block_is_one_class_taking_its_parameters() -> None:
    source = generate(netdsl.load(SPECS / "resnet50.net"))
    classes = _classes(source)
    assert list(classes) == ["Bottleneck", "Stage", "Resnet50"]
    assert _init_params(classes["Bottleneck"]) == ["in_channels", "width", "s", "groups",
                                                   "base_width", "d"]
    assert _assigned(source, "Bottleneck", "self.conv2") == \
        "nn.Conv2d(mid, mid, 3, stride=s, padding=d, dilation=d, groups=groups, bias=False)"
    assert "if s != 1 or in_channels != out:" in source  # the spec's `if`, at construction
    assert "if self.downsample is not None:" in source  # read back by the forward
    assert "self.layer1 = Stage(64, Bottleneck, 64, n=3)" in source


def test_densenet_layers_are_one_class_and_channels_flow_through_expressions() -> None:
    source = generate(netdsl.load(SPECS / "densenet121.net"))
    assert _init_params(_classes(source)["DenseLayer"]) == ["in_channels", "growth", "bn_size"]
    assert _assigned(source, "DenseLayer", "self.conv1") == \
        "nn.Conv2d(in_channels, bn_size * growth, 1, bias=False)"
    # torchvision's denseblock1 layers see 64 + 32 * i channels
    model = _build(source)
    block = model.features.denseblock1
    assert [block[i].conv1.in_channels for i in range(6)] == [64 + 32 * i for i in range(6)]


def test_network_parameters_are_keyword_arguments() -> None:
    resnet = _build(generate(netdsl.load(SPECS / "resnet50.net")), classes=10)
    assert resnet.fc.out_features == 10
    unet_source = generate(netdsl.load(SPECS / "unet.net"))
    assert "def __init__(self, classes: int = 2, base: int = 64) -> None:" in unet_source
    unet = _build(unet_source, classes=3, base=4)
    reference = netdsl.build(netdsl.load(SPECS / "unet.net", classes=3, base=4))
    assert {k: v.shape for k, v in unet.state_dict().items()} == \
        {k: v.shape for k, v in reference.state_dict().items()}


def test_floats_read_as_the_spec_wrote_them() -> None:
    source = generate(netdsl.load(SPECS / "efficientnet_b0.net"))
    assert "drop * (first + j) / total" in source
    assert "0.037500000000000006" not in source and "stochastic_depth(x, 0.0" not in source


@pytest.mark.parametrize(("outputs", "annotation"), [
    (2, "tuple[Tensor, Tensor]"), (5, f"tuple[{', '.join(['Tensor'] * 5)}]"),
    (12, "tuple[Tensor, ...]")])
def test_a_forward_of_many_outputs_is_annotated_within_the_line(outputs: int,
                                                               annotation: str) -> None:
    """FCOS's fifteen outputs spelt one by one made the `def forward` line 135 columns."""
    names = [f"o{i}" for i in range(outputs)]
    body = "\n".join(f"    {n}: {{ from x -> relu }}" for n in names)
    source = generate(netdsl.load(f"network n {{\n    input x: [4, 8, 8]\n{body}\n"
                                  f"    output {', '.join(names)}\n}}\n"))
    assert f"    def forward(self, x: Tensor) -> {annotation}:\n" in source
    assert max(map(len, source.splitlines())) <= 88
    assert len(_build(source)(torch.zeros(1, 4, 8, 8))) == outputs


WIDTH_MULTIPLIER = """
block b(c) {
    conv(c, 3, p=1) -> bn -> relu
}
network n(w: float = 1.0) {
    input x: [3, 8, 8]
    conv(64 * w, 1)
    conv(32, 3, p=1.0)
    b(16 * w)
    flatten
    linear(10 * w)
}
"""


@pytest.mark.parametrize("w", [1.0, 1.5])
def test_a_whole_float_where_an_int_is_needed_is_an_int_in_the_module(w: float) -> None:
    """The language reads 64.0 channels as 64 (`conv(64 * w)` with a float width multiplier),
    so the module must: torch refuses floats for sizes (`nn.Conv2d(3, 64.0, 1)`)."""
    network = netdsl.load(WIDTH_MULTIPLIER, w=w)
    model = netdsl.build(network)
    assert sum(p.numel() for p in model.parameters()) == network.stats().params
    assert model(torch.zeros(1, 3, 8, 8)).shape == (1, int(10 * w))
    source = generate(network)
    assert "nn.Conv2d(3, int(64 * w), 1)" in source and "padding=1)" in source
    assert "nn.Conv2d(32, 64, 3" not in source  # the channels flow as expressions


def test_sizes_come_from_tensors_at_run_time() -> None:
    """A spec that reads its input's size works at a size other than the one it was loaded
    with, as torch computes it."""
    spec = """
block top_half {
    slice(0, in.h // 2, axis=1)
}
network n {
    input x: [2, 8, 8]
    a: conv(3, 1)
    top_half
    upsample(size=[a.h, a.w])
}
"""
    source = generate(netdsl.load(spec))
    assert "x.shape[-2] // 2" in source and "8" not in source.split("class N")[1]
    model = _build(source).eval()
    x = torch.randn(1, 2, 12, 10)
    with torch.no_grad():
        a = model.a(x)
        expected = torch.nn.functional.interpolate(a[:, :, :6], size=(12, 10))
        torch.testing.assert_close(model(x), expected)


def test_a_constructor_that_needs_the_input_size_checks_it() -> None:
    model = netdsl.build(SPECS / "lenet5.net")
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    with pytest.raises(AssertionError, match="32x32"):
        model(torch.zeros(2, 1, 28, 28))


SIZE_DECIDES = {
    "if": "if x.h > 4 { conv(8, 3, p=1) } else { conv(8, 1) }",
    "inline_residual": "tail(8)",
    "repeat_count": "conv(8, 3, p=1) * (x.h // 8)",
    "loop_range": "for i in range(x.w // 8) { conv(8, 1) }",
    "tensor_list": "ys = [from x -> conv(4, 1) for i in range(x.h // 8)]\n    concat",
    "layer_list": "ys: [from x -> conv(4, 1) for i in range(x.h // 8)]\n    concat",
}


@pytest.mark.parametrize("body", SIZE_DECIDES.values(), ids=list(SIZE_DECIDES))
def test_a_network_whose_structure_its_input_s_size_decides_checks_that_size(
        body: str) -> None:
    """The constructor chose the 3x3 convolution (or two passes) for 16x16: at 4x4 the
    analysis chooses other layers, so the module refuses that size rather than compute what
    the spec does not say. Only the layers' own arguments used to set the check."""
    spec = ("inline block tail(c: int) {\n    residual(when = in.h > 4) { conv(c, 3, p=1) }\n}\n"
            f"network n {{\n    input x: [8, 16, 16]\n    {body}\n}}\n")
    net = netdsl.load(spec)
    model = netdsl.build(net)
    (expected,) = net.stats().outputs.values()
    assert tuple(model(torch.zeros(1, 8, 16, 16)).shape[1:]) == tuple(expected)
    with pytest.raises(AssertionError, match="built for 16x16 inputs, got 4x4"):
        model(torch.zeros(1, 8, 4, 4))


CHANNELS_LAST_INPUT = """
network n {
    input x: [8, 6, 3]
    linear(16) -> relu
    layernorm
"""


@pytest.mark.parametrize("flat", [False, True])
def test_an_input_read_as_channels_last_has_its_other_axes_as_sizes(flat: bool) -> None:
    """A [H, W, C] input whose readers take their channels from its last axis: H and W are
    the sizes. A network that uses none runs at any other (it once checked W and C as its
    "spatial" axes and refused 16x12 maps); one whose flatten makes them its structure checks
    them, not the channels."""
    spec = netdsl.load(CHANNELS_LAST_INPUT + ("flatten -> linear(4)\n}" if flat else "}"))
    stats = spec.stats()
    (out,) = stats.outputs.values()
    model = netdsl.build(spec).eval()
    assert sum(p.numel() for p in model.parameters()) == stats.params
    with torch.no_grad():
        assert tuple(model(torch.randn(2, 8, 6, 3)).shape[1:]) == out
        if flat:
            with pytest.raises(AssertionError, match="built for 8x6 inputs, got 16x12"):
                model(torch.randn(2, 16, 12, 3))
        else:
            assert model(torch.randn(2, 16, 12, 3)).shape == (2, 16, 12, 16)


def _ruff(source: str, tmp_path: Path) -> str:
    """What ruff says of the source, as the zoo's generated files are checked."""
    path = tmp_path / "generated.py"
    path.write_text(source, encoding="utf-8")
    ruff = Path(sys.executable).with_name("ruff")
    return subprocess.run([str(ruff), "check", "--isolated", "--select", "E,F,W,B,I",
                           str(path)], capture_output=True, text=True).stdout


LABEL_AGAIN = """
inline block b(c: int) {
    stem: conv(c, 1)
}
network net(deep: bool = false) {
    input x: [3, 8, 8]
    %s
    add { identity; conv(4, 1) }
}
"""


@pytest.mark.parametrize("body", ["b(4)\n    if deep { b(4) }", "if deep { b(4) }\n    b(4)"])
def test_a_label_a_branch_gives_again_is_written_for_the_specs_value(body: str) -> None:
    """`stem` unconditionally and in `if deep`: a valid spec only while deep is false (else
    a duplicate label). The class was written for any `deep`, the branch's module replacing
    the first (`self.stem = None`): a TypeError as it ran. Now it is written for the spec's
    value and says why."""
    net = netdsl.load(LABEL_AGAIN % body)
    source = generate(net)
    assert "# Written for deep = false (as the spec sets it): a branch it chooses gives the " \
           "label\n# 'stem'" in source
    model = netdsl.build(net).eval()
    assert sum(p.numel() for p in model.parameters()) == net.stats().params == 36
    with torch.no_grad():
        assert model(torch.randn(2, 3, 8, 8)).shape == (2, 4, 8, 8)


def test_a_layer_default_made_by_a_call_is_made_in_the_constructor(tmp_path: Path) -> None:
    """`act: layer = leaky_relu(0.1)` was `act=partial(nn.LeakyReLU, ...)` in the signature,
    made once when the class is defined (ruff B008); now `act=None`, made in the constructor,
    as torchvision's `norm_layer=None`."""
    spec = """
block b(act: layer = leaky_relu(0.1)) {
    conv(4, 1) -> act
}
network net {
    input x: [3, 8, 8]
    b
    b(act=relu)
}
"""
    source = generate(netdsl.load(spec))
    assert "act: Callable[..., nn.Module] | None = None," in source
    assert "if act is None:\n            act = partial(nn.LeakyReLU, negative_slope=0.1)" in source
    assert _ruff(source, tmp_path) == "All checks passed!\n"
    model = _build(source)
    assert isinstance(model[0][1], torch.nn.LeakyReLU) and model[0][1].negative_slope == 0.1
    assert isinstance(model[1][1], torch.nn.ReLU)


def test_a_constant_only_an_unrolled_loop_read_is_not_written(tmp_path: Path) -> None:
    """`concat { for w in WS { ... } }` is written out path by path: `WS = [2, 4]` was still
    written, read by nothing, and two blank lines after the imports (isort wants one before a
    constant, ruff I001)."""
    spec = """
WS = [2, 4]
SCALE = [2]
network net {
    input x: [3, 8, 8]
    concat { for w in WS { conv(w, 1) } }
    upsample(SCALE[0])
}
"""
    source = generate(netdsl.load(spec))
    assert "WS" not in source and "SCALE" not in source
    assert _ruff(source, tmp_path) == "All checks passed!\n"
    kept = generate(netdsl.load("WS = [2, 4]\nnetwork net(i: int = 0) {\n input x: [3, 8, 8]\n"
                                " conv(WS[i], 1)\n}\n"))
    assert "from torch import nn\n\nWS = (2, 4)\n\n\nclass Net" in kept
    assert _ruff(kept, tmp_path) == "All checks passed!\n"


SPEC_FUNCTIONS = {
    "def calling a def": "def f(v) = v + 1\ndef g(v) = f(v) * 2\n%s",
    "constant a def reads": "K = 3\ndef g(v) = v * K\n%s",
    "table a def reads": "T = [4, 8, 16]\ndef g(i) = T[i]\n%s",
    "defs and constants reading each other": "K = 2\nT = [4, 8, K * 8]\n"
                                             "def f(v) = T[v] + K\ndef e(v) = f(v) - f(0)\n"
                                             "def g(v) = e(v) * K + f(v)\n%s",
}
CALLED_FROM = {
    "the network": "network n(a: int = 1) {\n    input x: [3, 8, 8]\n    conv(g(a), 1)\n}\n",
    "a block": "block b(c: int) { conv(g(c), 1) }\n"
               "network n(a: int = 1) {\n    input x: [3, 8, 8]\n    b(a)\n}\n",
}


@pytest.mark.parametrize("caller", list(CALLED_FROM))
@pytest.mark.parametrize("functions", list(SPEC_FUNCTIONS))
def test_what_a_spec_function_reads_is_written_before_it(functions: str, caller: str,
                                                         tmp_path: Path) -> None:
    """A `def` only another `def` called crashed the compiler (its body, written while the
    module's functions were listed, registered a new one: `dictionary changed size during
    iteration`), and a constant only a `def` read was not written (NameError as it built, ruff
    F821). Now the module holds every function and constant its functions read, each function
    after those it calls, and builds what the analysis counts for any argument."""
    spec = SPEC_FUNCTIONS[functions] % CALLED_FROM[caller]
    source = generate(netdsl.load(spec))
    assert _ruff(source, tmp_path) == "All checks passed!\n"
    defined = [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    for function in defined:
        body = next(n for n in ast.parse(source).body if getattr(n, "name", None) == function)
        called = {n.func.id for n in ast.walk(body) if isinstance(n, ast.Call)
                  and isinstance(n.func, ast.Name) and n.func.id in defined}
        assert all(defined.index(c) < defined.index(function) for c in called - {function})
    for a in (1, 2):
        network = netdsl.load(spec, a=a)
        model = _build(source, a=a).eval()
        assert_state_matches_ir(model, network)
        with torch.no_grad():
            out = model(torch.randn(2, 3, 8, 8))
        shapes = [network.graph[n].shape for n in network.graph.outputs.values()]
        assert [tuple(out.shape[1:])] == shapes


LONG_EXPRESSIONS = {
    "and chain": ("""
network n(a: int = 2, b: int = 2, c: int = 2) {
    input x: [3, 8, 8]
    if a > 1 and b > 1 and c > 1 { conv(8, 1) } else { conv(4, 1) }
}
""", "if a > 1 and b > 1 and c > 1:", [{}, {"b": 1}]),
    "conditionals and a long if": ("""
network n(version: str = "1_0", classes: int = 1000, drop: float = 0.5, width: float = 1.0) {
    input x: [3, 8, 8]
    channels_after_the_stem = int(width * 64) if version == "1_0" else int(width * 32) + 8
    if version == "1_0" and classes > 10 and drop < 0.7 and width > 0.25 and classes < 100000 {
        conv(channels_after_the_stem, 1)
    } else {
        conv(16, 1)
    }
    conv(int(width * 64) if version == "1_0"
         else int(width * 32) + channels_after_the_stem, 1)
}
""", """        channels_after_the_stem = (
            int(width * 64) if version == "1_0" else int(width * 32) + 8
        )
        if (
            version == "1_0"
            and classes > 10
            and drop < 0.7
            and width > 0.25
            and classes < 100000
        ):""", [{}, {"version": "1_1"}, {"drop": 0.8, "width": 0.5}]),
    "a long comprehension": ("""
WIDTHS = [8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 136]
network n(alpha: float = 1.0) {
    input x: [3, 8, 8]
    d = [int(c * alpha) if int(c * alpha) >= 0.9 * c * alpha
         else int(c * alpha) + 8000 for c in WIDTHS]
    conv(d[1], 1)
}
""", """        d = tuple(
            (
                int(c * alpha)
                if int(c * alpha) >= 0.9 * c * alpha
                else int(c * alpha) + 8000
            )
            for c in WIDTHS
        )""", [{}, {"alpha": 0.25}]),
}


@pytest.mark.parametrize("name", list(LONG_EXPRESSIONS))
def test_long_expressions_break_before_operators_with_minimal_parentheses(
        name: str, tmp_path: Path) -> None:
    """A conditional as an argument, an `if`'s condition, a comprehension's element were one
    line past ruff's width (E501); an `and` chain read `if (a > 1 and b > 1) and c > 1`. Now
    they break as black breaks them, with the parentheses Python needs, and build what the
    analysis counts for each value of the network's parameters."""
    spec, excerpt, arguments = LONG_EXPRESSIONS[name]
    source = generate(netdsl.load(spec))
    assert excerpt in source
    assert _ruff(source, tmp_path) == "All checks passed!\n"
    for params in arguments:
        network = netdsl.load(spec, **params)
        model = _build(source, **params).eval()
        assert_state_matches_ir(model, network)
        with torch.no_grad():
            out = model(torch.randn(2, 3, 8, 8))
        shapes = [network.graph[n].shape for n in network.graph.outputs.values()]
        assert [tuple(out.shape[1:])] == shapes


def test_a_layer_after_the_last_output_is_computed_but_not_named(tmp_path: Path) -> None:
    """The conv after `b` reads no one: its call stays (the spec's MACs count it), its
    variable goes (ruff F841: `x = getattr(self, "3")(b)` never read)."""
    spec = """
network net {
    input x: [3, 4, 4]
    conv(2, 1)
    a: relu
    b: relu -> conv(2, 1)
    output a, b
}
"""
    source = generate(netdsl.load(spec))
    assert '        getattr(self, "3")(b)\n        return (a, b)' in source
    assert _ruff(source, tmp_path) == "All checks passed!\n"


def test_labeled_layers_only_a_dead_merge_reads_are_computed_but_not_named(
        tmp_path: Path) -> None:
    """`add(a)` after the last `output` is dropped (it has no weights); `a` and `b`, which
    only it read, keep their calls without their names (ruff F841 flagged `a = self.a(x)`:
    the unread assignments were found front to back, while the merge still read them)."""
    spec = """
network net {
    input x: [3, 4, 4]
    a: conv(4, 1)
    from x -> b: conv(4, 1)
    add(a)
    output x
}
"""
    source = generate(netdsl.load(spec))
    assert "        self.a(x)\n        self.b(x)\n        return x" in source
    assert _ruff(source, tmp_path) == "All checks passed!\n"


def test_a_forward_loop_whose_variable_is_unread_names_it_underscore(tmp_path: Path) -> None:
    spec = """
block crops(n: int = 2) {
    for i in range(n) { crop(size=[2, 2]) }
}
network net {
    input x: [3, 8, 8]
    shared s: crops(2)
    a = from x -> s
    from a -> s
}
"""
    source = generate(netdsl.load(spec))
    assert "        for _ in range(self.n):\n            x = center_crop(x, [2, 2])" in source
    assert _ruff(source, tmp_path) == "All checks passed!\n"


@pytest.mark.parametrize("name", ["mobilenet_v2", "efficientnet_b0"])
def test_a_width_the_constructor_computes_is_written_once(name: str) -> None:
    """The stem's width was written in the stem's call and again for the running channels;
    the constructor names it first, as torchvision's `input_channel` is."""
    source = generate(netdsl.load(SPECS / f"{name}.net"))
    assert "        channels = make_divisible(32 * width, 8)\n" \
        "        features = [ConvBnAct(3, channels, 3, s=2" in source
    assert source.count("make_divisible(32 * width, 8)") == 1


def test_a_module_made_twice_is_not_named_once() -> None:
    """Two `nn.Sequential()` in a row are two modules: naming the second first and writing
    `extra = layers` would make them one (SSD's extra layers)."""
    from netdsl.backends.pytorch.render import _named_first
    ctor = ast.parse("extra = nn.Sequential()\nlayers = nn.Sequential()\n"
                     "a = Block(w * 2)\nb = w * 2\nc = f(w) + 1\nd = f(w) + 1\n"
                     "e = g(v)\nk = 0\nh = g(v)\n"
                     "m = g(u)\nu = u + 1\nn = g(u)\n").body
    assert ast.unparse(ast.Module(_named_first(ctor), [])).splitlines() == [
        "extra = nn.Sequential()", "layers = nn.Sequential()",
        "b = w * 2", "a = Block(b)", "d = f(w) + 1", "c = d",
        "h = g(v)", "e = h", "k = 0",  # past a statement that touches neither
        "m = g(u)", "u = u + 1", "n = g(u)"]  # not past one that changes what it reads


def test_the_run_time_helpers_pass_the_generated_files_lint(tmp_path: Path) -> None:
    """Their source is copied into the files that use them (`pad_same` for `p=same`,
    `spec_str`), which ruff checks at 88 columns: three of them were wider."""
    assert _ruff(RUNTIME_FILE.read_text(), tmp_path) == "All checks passed!\n"


def test_positions_after_ifs_are_named_once_not_copied_into_each_branch() -> None:
    """Each `if deep { relu }` moves the positions after it. The position was one expression
    copied into both branches of the next: 2^n copies (20 ifs did not compile in two
    minutes). Now each is a variable the next reads."""
    spec = ("network net(deep: bool = false) {\n input x: [3, 4, 4]\n"
            " add { identity; conv(3, 1) }\n" + " if deep { relu }\n" * 20 +
            " conv(3, 1)\n}\n")
    source = generate(netdsl.load(spec))
    assert len(source) < 4000
    assert "position = 3 if deep else 2\n" in source
    assert "position_ = position + 1 if deep else position\n" in source
    for deep in (False, True):
        net = netdsl.load(spec, deep=deep)
        model = _build(source, deep=deep).eval()
        names = {name for name, _ in model.named_children()}
        assert names == {"0", "22" if deep else "2"}
        assert sum(p.numel() for p in model.parameters()) == net.stats().params


@pytest.mark.parametrize("name", ["self", "in_channels", "in_features"])
def test_a_spec_function_named_as_a_methods_own_name_is_renamed(name: str) -> None:
    """`def in_channels(a) = a + 1` was written as a module-level function of that name,
    which the constructor's `in_channels` parameter shadows: `in_channels(w)` called an int
    (`self(3)` the module itself)."""
    spec = f"""
def {name}(a) = a + 1
block b(w: int) {{ conv({name}(w), 1) -> linear({name}(w)) }}
network n {{
    input x: [3, 8, 8]
    b(4)
}}
"""
    source = generate(netdsl.load(spec))
    assert f"def {name}_(a):" in source
    net = netdsl.load(spec)
    model = netdsl.build(net).eval()
    assert sum(p.numel() for p in model.parameters()) == net.stats().params
    with torch.no_grad():
        assert model(torch.randn(2, 3, 8, 8)).shape == (2, 5, 8, 5)


def test_a_block_taken_as_a_layer_and_called_with_an_argument_it_is_written_for() -> None:
    """`stage` takes `unit` as a layer and calls `u(c, flag=true)`; the positions in `unit`
    depend on `flag`. Stage was once handed the class for the default, flag = false, and
    passed it `flag=True`: a TypeError. Now Unit is one class that takes `flag` and computes
    the positions it decides in its constructor."""
    spec = """
block unit(c: int, flag: bool = false) {
    residual(when = flag) { conv(c, 1) }
    if not flag { conv(c, 1) }
}
block stage(u: layer, c: int) {
    u(c, flag=true)
}
network net {
    input x: [3, 8, 8]
    stage(unit, 3)
}
"""
    net = netdsl.load(spec)
    source = generate(net)
    assert "position = 2 if flag else 1" in source and "u(in_channels, c, flag=True)" in source
    assert len(_classes(source)) == 3  # Unit, Stage, Net
    model = netdsl.build(net).eval()
    assert sum(p.numel() for p in model.parameters()) == net.stats().params == 12
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        conv = getattr(model[0][0], "0")
        torch.testing.assert_close(model(x), x + conv(x))


def test_a_shared_call_bound_to_a_name_is_the_tensor_it_makes() -> None:
    """`c = sh(a, b)` names a tensor, as `c: { sh(a, b) }` does (it was refused)."""
    spec = """
block fuse(a: tensor, b: tensor) {
    from a -> add(b)
}
network net {
    input x: [3, 8, 8]
    a: conv(4, 1)
    b: conv(4, 1)
    shared sh: fuse
    %s
    from c -> relu
    sh(c, b)
}
"""
    for statement in ("c = sh(a, b)", "c: { sh(a, b) }"):
        model = netdsl.build(netdsl.load(spec % statement)).eval()
        x = torch.randn(2, 3, 8, 8)
        with torch.no_grad():
            a = model.a(x)
            b = model.b(a)
            torch.testing.assert_close(model(x), a + 2 * b)


OPTIONAL_PATH = """
block mix(c: int, skip: bool) {
    add {
        conv(c, 3, p=1)
        if skip { identity }
    }
}
network n {
    input x: [8, 16, 16]
    mix(8, true)
    mix(8, false)
}
"""


def test_a_specialised_class_says_why() -> None:
    """A merge whose number of paths depends on a parameter cannot be one class: one per
    value, each saying why."""
    source = generate(netdsl.load(OPTIONAL_PATH))
    assert set(_classes(source)) == {"Mix", "Mix2", "N"}
    assert "# `mix` with skip=true: the number of paths of a merge depends on it" in source
    assert "# `mix` with skip=false: the number of paths of a merge depends on it" in source


SHIFTED = """
block down(c: int, pre: bool = true) {
    add {
        { if pre { relu }
          conv(c, 3, p=1) -> relu -> conv(c, 3, p=1)
          maxpool(3, s=2, p=1) }
        { conv(c, 1, s=2) -> bn }
    }
}
network n {
    input x: [3, 16, 16]
    down(8, pre=false)
    down(8)
}
"""


SHIFTED_TWICE = """
block down(c: int, pre: bool = true, mid: bool = false) {
    if pre { relu }
    conv(c, 3, p=1)
    if mid { relu -> relu }
    conv(c, 1) -> bn -> add(in)
}
network n {
    input x: [8, 16, 16]
    a: down(8, pre=false)
    b: down(8)
    c: down(8, mid=true)
    d: down(8, pre=false, mid=true)
}
"""


def test_positions_two_ifs_decide_build_on_each_other() -> None:
    network = netdsl.load(SHIFTED_TWICE)
    source = generate(network)
    assert "position_ = position + 3 if mid else position + 1" in source
    model = netdsl.build(network).eval()
    assert_state_matches_ir(model, network)
    assert {"a.0.weight", "b.3.running_mean", "c.4.weight", "d.4.running_var"} <= \
        set(model.state_dict())
    x = torch.randn(2, 8, 16, 16)
    with torch.no_grad():
        compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
        torch.testing.assert_close(compiled(x), model(x))


def test_positions_an_if_decides_are_computed_by_the_constructor() -> None:
    """Xception's module: `if pre { relu }` moves the positions that name the layers after it
    (`0.0` without the relu, `1.1` with it); one class computes them, and torch.compile
    reads them back without a graph break."""
    network = netdsl.load(SHIFTED)
    source = generate(network)
    assert [c for c in _classes(source)] == ["Down", "N"]
    assert "position = 1 if pre else 0" in source
    assert "self.add_module(str(position + 2), nn.Conv2d(c, c, 3, padding=1))" in source
    model = netdsl.build(network).eval()
    assert_state_matches_ir(model, network)
    assert {"0.0.weight", "0.5.running_mean", "1.1.weight", "1.6.running_mean"} <= \
        set(model.state_dict())
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
        torch.testing.assert_close(compiled(x), model(x))


CASES = """
block stack(c: int, last: bool) {
    body: conv(c, 3, p=1) -> relu
    out: conv(2, 1)
    if last { output out } else {
        from in -> next: add(from body -> conv(c, 1))
        output out, next
    }
}
network n {
    input x: [4, 8, 8]
    s1: stack(4, false)
    from s1.next -> s2: stack(4, true)
    output s1.out, s2
}
"""


def test_outputs_the_constructor_chooses_are_one_class() -> None:
    """hg_stack: `if last { output out } else { ... output out, next }` is one class whose
    forward returns what the constructor chose; each call unpacks what its arguments give."""
    network = netdsl.load(CASES)
    source = generate(network)
    assert list(_classes(source)) == ["Stack", "N"]
    assert "def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:" in source
    assert "if self.last:\n            return out\n" in source
    assert "s1_out, s1_next = self.s1(x)" in source and "s2 = self.s2(s1_next)" in source
    model = netdsl.build(network).eval()
    assert_state_matches_ir(model, network)
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        out, last = model(x)
        s1 = model.s1
        torch.testing.assert_close(out, s1.out(F.relu(s1.body(x))))
        nxt = x + getattr(s1, "3")(s1.body(x))
        torch.testing.assert_close(last, model.s2.out(F.relu(model.s2.body(nxt))))
        compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
        torch.testing.assert_close(compiled(x), (out, last))


def test_a_loop_that_names_layers_is_a_loop_of_the_constructor_and_the_forward() -> None:
    """The hourglass's `for i in range(stacks - 1) { ... ("stack" + str(i + 1)): hg_stack(...)
    }`: `stacks` is a constructor argument, the stacks are made in a loop and run in one, so
    the class compiled at 8 stacks builds 4 and gives 4 outputs, as the spec loaded at 4 does."""
    source = generate(netdsl.load(SPECS / "hourglass.net"))
    assert "def __init__(self, stacks: int = 8, joints: int = 16, f: int = 256)" in source
    assert ('for i in range(stacks - 1):\n'
            '            self.add_module("stack" + str(i + 1), HgStack(f, f, joints, False))'
            ) in source
    assert 'out, inter = getattr(self, "stack" + str(i + 1))(inter)' in source
    four = netdsl.load(SPECS / "hourglass.net", inputs={"image": (3, 64, 64)}, stacks=4)
    reference = netdsl.build(four).eval()
    model = _build(source, stacks=4).eval()
    model.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        outs, expected = model(x), reference(x)
    assert len(outs) == 4
    for a, b in zip(outs, expected, strict=True):
        torch.testing.assert_close(a, b)


LOOP = """
block unit(c: int) { conv(c, 3, p=1) -> relu }
network chain(n: int = 3) {
    input x: [4, 8, 8]
    t = x
    outs = []
    for i in range(n) {
        t = from t -> ("unit" + str(i + 1)): unit(4)
        outs = outs + [t]
    }
    output outs
}
"""


def test_a_loop_that_names_layers_compiles_fullgraph() -> None:
    network = netdsl.load(LOOP)
    source = generate(network)
    assert 't = getattr(self, "unit" + str(i + 1))(t)' in source
    model = netdsl.build(network).eval()
    assert_state_matches_ir(model, network)
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
        torch.testing.assert_close(compiled(x), model(x))


CARRIED = """
block dense(n: int) {
    for i in range(n) { concat { identity
                                 ("layer" + str(i + 1)): conv(2, 3, p=1) } }
}
block res(n: int) {
    for i in range(n) { add { identity
                              ("unit" + str(i + 1)): conv(4, 3, p=1) } }
}
network n {
    input x: [4, 8, 8]
    r: res(3)
    d: dense(3)
}
"""


def test_a_loop_that_names_layers_carries_the_chain_when_its_channels_stay() -> None:
    """The chain's tensor goes from pass to pass: a residual loop keeps its channels and is a
    loop; a dense loop grows them (each pass's layer is built for other channels), so it is
    written for its count, as before."""
    network = netdsl.load(CARRIED)
    source = generate(network)
    assert 'out = getattr(self, "unit" + str(i + 1))(x)\n            x = x + out' in source
    assert "self.layer2 = nn.Conv2d(in_channels + 2, 2, 3, padding=1)" in source
    model = netdsl.build(network).eval()
    assert_state_matches_ir(model, network)
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        t = x
        for i in range(3):
            t = t + getattr(model.r, f"unit{i + 1}")(t)
        for i in range(3):
            t = torch.cat([t, getattr(model.d, f"layer{i + 1}")(t)], 1)
        torch.testing.assert_close(model(x), t)


# Constructs the zoo has few of: a block calling itself, several inputs and outputs, 1-D and
# 3-D layers, labeled repeats, a residual that is there for some instances only.
CONSTRUCTS = {
    "recursion": """block hourglass(n: int, c: int) {
    add {
        { maxpool(2) -> conv(c, 3, p=1) -> relu
          if n > 1 { hourglass(n - 1, c) } else { conv(c, 3, p=1) -> relu }
          conv(c, 3, p=1) -> upsample(2) }
        { conv(c, 3, p=1) -> relu }
    }
}
network hg(depth: int = 3) {
    input x: [8, 32, 32]
    stem: conv(16, 3, p=1)
    hg: hourglass(depth, 16)
    out: conv(4, 1)
}
""",
    "inputs_and_outputs": """block act { relu }
network two {
    input a: [3, 16]
    input b: [5, 16]
    pa: conv(4, 3, p=1)
    from b -> pb: conv(4, 3, p=1) -> act
    sum: add(pa)
    cat: concat(dim=1) { from pa; from pb }
    flat: { from cat -> flatten -> linear(7) }
    rep: act * 2
    output sum, flat, rep
}
""",
    "volumes": """block res3(c: int) {
    residual(when = in.c == c) { conv(c, 3, p=1) -> bn -> relu }
}
network v {
    input x: [2, 8, 8, 8]
    conv(4, 1)
    res3(4) * 2
    l: res3(6) * 2
    adaptive_avgpool(1) -> flatten -> dropout(0.0) -> linear(3)
}
""",
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
def test_constructs_lower_exactly(name: str) -> None:
    network = netdsl.load(CONSTRUCTS[name])
    model = netdsl.build(network).eval()
    assert_state_matches_ir(model, network)
    graph = network.graph
    inputs = [torch.randn(2, *graph[n].shape) for n in graph.inputs]
    with torch.no_grad():
        out = model(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    assert [tuple(o.shape[1:]) for o in outs] == [graph[n].shape for n in graph.outputs.values()]


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
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
               and isinstance(n.value, str)]
    assert any("echo pwned" in s for s in strings)  # the text is kept, as a string only
    module = import_source(source, tmp_path, "victim")  # importing runs nothing of the spec
    assert module.Victim()(torch.zeros(1, 3, 8, 8)).shape == (1, 3, 8, 8)


def test_compile_command(tmp_path: Path) -> None:
    out = tmp_path / "model.py"
    done = run_cli("compile", "specs/lenet5.net", "-o", str(out), "--set", "classes=7")
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "def __init__(self, classes: int = 7) -> None:" in text
    assert "nn.Linear(84, classes)" in text
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


def test_a_chain_of_layers_stays_a_sequential_with_its_loops() -> None:
    """YOLO's head reshapes its flat features (`nn.Unflatten`), which once made the whole
    network an nn.Module of `getattr(self, "9")(image)` calls; `for i in range(4)` is a
    loop over `range(4)`, not over `(0, 1, 2, 3)`."""
    source = generate(netdsl.load(SPECS / "yolov1.net"))
    network = _classes(source)["Yolov1"]
    assert ast.unparse(network.bases[0]) == "nn.Sequential"
    assert 'getattr(self, "' not in source
    assert "nn.Unflatten(1, (cells, cells, boxes * 5 + classes))" in source
    assert "for _ in range(4):" in source and "for _ in range(2):" in source


def test_a_chain_then_an_upsample_to_the_input_is_a_sequential_with_a_forward() -> None:
    """DeepLabV3's image pooling, as torchvision's ASPPPooling: the layers an nn.Sequential,
    the forward runs them and upsamples back to the input's size (it was an nn.Module of
    `getattr(self, "1")` calls)."""
    source = generate(netdsl.load(SPECS / "deeplabv3_resnet50.net"))
    pooling = _classes(source)["AsppPooling"]
    assert ast.unparse(pooling.bases[0]) == "nn.Sequential"
    forward = next(n for n in pooling.body if isinstance(n, ast.FunctionDef)
                   and n.name == "forward")
    assert [ast.unparse(s) for s in forward.body] == [
        "out = super().forward(x)",
        "return F.interpolate(out, size=x.shape[2:], mode='bilinear', align_corners=False)"]


LIST_CONCAT = """block spp(levels: list = [6, 3, 2, 1]) {
    pooled = [from in -> adaptive_maxpool(n) -> flatten for n in levels]
    concat
}
network n {
    input x: [8, 13, 13]
    spp()
    linear(10)
}
"""


def test_a_class_that_cannot_say_its_channels_to_its_caller_is_a_located_error() -> None:
    """The concatenation of a list whose items' channels depend on the item (8 * n * n): the
    class once left out `out_channels` and the network's constructor failed on reading it."""
    with pytest.raises(netdsl.NetdslError) as info:
        generate(netdsl.load(LIST_CONCAT))
    (diag,) = info.value.diagnostics
    assert diag.message == ("cannot compile 'n' to PyTorch: the output channels of block "
                            "'spp', which its caller needs, are known only as it runs")
    assert (diag.span.line, diag.span.col) == (1, 1)


SELECTED_CHANNELS = """block tail() {
    relu -> conv(4, 1) -> select(-1)
}
network n {
    input x: [4, 9]
    concat {
        tail
        tail
    }
}
"""


def test_channels_that_are_an_input_size_are_not_written_as_a_constructor_value() -> None:
    """After `select` on the channel axis, a block's channels are its input's length (9),
    which only the forward sees: the constructor once read an undefined `__size0__`."""
    with pytest.raises(netdsl.NetdslError) as info:
        generate(netdsl.load(SELECTED_CHANNELS))
    (diag,) = info.value.diagnostics
    assert "output channels of block 'tail'" in diag.message
    assert (diag.span.line, diag.span.col) == (1, 1)


@pytest.mark.parametrize("body", [
    "maxpool(2)",                                        # 8 -> 4 -> 2 -> 1
    "sigmoid -> maxpool(2) -> avgpool(3, s=1, p=1)",     # found by fuzzing compiled blocks
    "conv(4, 3, s=2, p=1) -> relu",
])
def test_a_run_of_a_block_that_shrinks_the_map_sizes_what_follows_it(body: str) -> None:
    """`b * 3` is a constructor loop; the linear after it once took its features from the
    map after one call of `b` (64), not after three (4)."""
    source = (f"block b() {{\n    {body}\n}}\nnetwork n {{\n    input x: [4, 8, 8]\n"
              f"    b * 3\n    flatten -> linear(5)\n}}\n")
    model = netdsl.build(source)
    stats = netdsl.load(source).stats()
    assert sum(p.numel() for p in model.parameters()) == stats.params
    assert model(torch.zeros(2, 4, 8, 8)).shape == (2, 5)


def _network_parameters(source: str) -> list[str]:
    network = [n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)][-1]
    init = next(f for f in network.body if isinstance(f, ast.FunctionDef))
    return [a.arg for a in init.args.args[1:]]


def test_a_network_takes_only_parameters_its_module_follows(tmp_path: Path) -> None:
    """ViT's encoder class is built for 197 tokens (its position embedding): the network is
    written for the spec's patch_size, and says so. Its token width is a constructor argument
    of every class: `VitB16(hidden_dim=64)` is the spec loaded with hidden_dim=64 (it was
    once baked in as 768, and such a module failed on its first input). ConvNeXt runs at any
    size: its `image` parameter, which changed nothing, is not an argument."""
    source = generate(netdsl.load(SPECS / "vit_b_16.net"))
    assert _network_parameters(source) == ["classes", "num_layers", "num_heads", "hidden_dim",
                                           "mlp_dim"]
    assert "# Written for patch_size = 16 (as the spec sets it): block 'encoder' is built " \
           "for one\n# size of its input.\nclass VitB16" in source
    assert "768" not in source.split("class VitB16")[0]  # the classes take the width
    small = import_source(source, tmp_path, "vit").VitB16(
        classes=10, num_layers=1, num_heads=4, hidden_dim=64, mlp_dim=32).eval()
    from torchvision.models.vision_transformer import VisionTransformer
    reference = VisionTransformer(224, 16, 1, 4, 64, 32, num_classes=10).eval()
    small.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(small(x), reference(x))
    convnext = generate(netdsl.load(SPECS / "convnext_tiny.net"))
    assert _network_parameters(convnext) == ["classes", "depths", "dims", "drop"]


def test_a_language_model_takes_its_width(tmp_path: Path) -> None:
    """GPT-2's block reads the width of its tokens: an embedding puts the features on the
    last axis, so the block takes them as `in_features` and the network's `width` is an
    argument (it was baked in as 768, the block called with the context length)."""
    source = generate(netdsl.load(SPECS / "gpt2_small.net"))
    assert _network_parameters(source) == ["vocab", "context", "num_layers", "num_heads",
                                           "width", "drop"]
    assert "Gpt2Block(width, num_heads, drop)" in source and "768" not in \
        source.split("class Gpt2Small")[0]
    # the block names its tokens' width `d` (`d = in.shape[-1]`): so does its constructor
    assert "def __init__(self, d: int, num_heads: int, drop: float = 0.1)" in source
    assert '("c_fc", nn.Linear(d, 4 * d))' in source
    assert "shape[2:]" not in source  # token ids have no spatial size to check
    settings = {"vocab": 50, "context": 8, "num_layers": 2, "num_heads": 2, "width": 16}
    model = import_source(source, tmp_path, "gpt2").Gpt2Small(**settings).eval()
    expected = netdsl.load(SPECS / "gpt2_small.net", **settings).stats()
    assert sum(p.numel() for p in model.parameters()) == expected.params
    assert model(torch.zeros(3, 8, dtype=torch.long)).shape == (3, 8, 50)


SHARED_IN_GROUPS = """network n {
    input x: [3, 8, 8]
    stem: conv(4, 3, p=1)
    shared h: conv(4, 3, p=1)
    p: { h }
    q: { from p -> maxpool(2) -> h }
    from q -> upsample(2)
    add(p)
}
"""


def test_a_shared_module_called_in_labeled_groups_is_called_by_the_forward() -> None:
    """A labeled group that calls a shared module is no nn.Sequential (which would hold the
    module a second time): the forward calls `self.h` at each site. Compiling it once failed
    on an internal assertion (found by fuzzing)."""
    model = netdsl.build(SHARED_IN_GROUPS)
    assert list(model.state_dict()) == ["stem.weight", "stem.bias", "h.weight", "h.bias"]
    stats = netdsl.load(SHARED_IN_GROUPS).stats()
    assert sum(p.numel() for p in model.parameters()) == stats.params
    assert model(torch.zeros(2, 3, 8, 8)).shape == (2, 4, 8, 8)


SIZE_DECIDES = """block down(c: int) {
    if in.h > 8 {
        conv(c, 3, s=2, p=1) -> relu
    } else {
        conv(c, 3, p=1) -> relu
    }
}
block tower(n: int) {
    for i in range(n) {
        down(8)
    }
}
network n {
    input x: [3, 32, 32]
    tower(4)
}
"""


def test_a_block_whose_structure_depends_on_its_input_size_is_a_class_per_size() -> None:
    """`if in.h > 8` chooses layers: once a located "cannot compile" error. Now a class per
    input size, each saying so; the loop that calls them is written once per pass (each pass
    sees another size), and the network checks the size it was built for."""
    source = generate(netdsl.load(SIZE_DECIDES))
    assert "# `down` for 32x32 and 16x16 inputs: its structure depends on the size of its " \
        "input" in source  # the two sizes whose class is the same share it
    assert "# `down` for 8x8 inputs" in source
    assert source.count("\nclass Down") == 2
    model = netdsl.build(SIZE_DECIDES)
    stats = netdsl.load(SIZE_DECIDES).stats()
    (out,) = stats.outputs.values()  # 32 -> 16 -> 8 -> 8 -> 8
    assert out == (8, 8, 8)
    assert model(torch.zeros(1, 3, 32, 32)).shape[1:] == out
    assert sum(p.numel() for p in model.parameters()) == stats.params
    with pytest.raises(AssertionError, match="built for 32x32 inputs"):
        model(torch.zeros(1, 3, 64, 64))


def test_a_block_that_names_its_input_channels_takes_them_under_that_name() -> None:
    """ConvNeXt's block says `c = in.c`: its class takes `c`, as torchvision's CNBlock takes
    `dim`, rather than `in_channels` followed by `c = in_channels`."""
    source = generate(netdsl.load(SPECS / "convnext_tiny.net"))
    block = source[source.index("class CnBlock"):]
    assert block.splitlines()[1] == \
        "    def __init__(self, c: int, drop: float, scale: float = 1e-06) -> None:"
    assert "nn.Conv2d(c, c, 7, padding=3, groups=c)" in block
    assert "in_channels" not in block.split("class ", 2)[1]


@pytest.mark.parametrize("path", zoo_params(
    [SPECS / f"{n}.net" for n in sorted(_codegen_bench().TORCHVISION)]))
def test_compiled_file_is_no_longer_than_torchvisions_classes(path: Path) -> None:
    """The goal of bench/codegen.md: a class per block used plus the network's, in a file no
    longer than torchvision's model classes for the same network (inspect.getsource)."""
    bench = _codegen_bench()
    measured = bench.measure(path)
    assert measured["classes"] == measured["blocks"] + 1
    assert measured["lines"] <= bench.torchvision_classes(path.stem)[1]


RUNNING_CHANNELS = """
block stack(widths: list) {
    for w in widths { conv(w, 3, p=1) -> relu }
    MIX
}
network n {
    input x: [3, 16, 16]
    s: stack([8, 16])
}
"""


@pytest.mark.parametrize("reads_input_again", [False, True])
def test_running_channels_start_from_the_input_channels_under_one_name(
        tmp_path: Path, reads_input_again: bool) -> None:
    """A block whose running channels start from its input's takes them under the running
    name, as torchvision's make_layers updates `in_channels`; where the block reads its input's
    channels again, the input keeps its own name and the loop a copy."""
    spec = tmp_path / "n.net"
    spec.write_text(RUNNING_CHANNELS.replace("MIX", "conv(in.c, 1)" if reads_input_again else ""))
    net = netdsl.load(spec)
    source = generate(net)
    stack = _classes(source)["Stack"]
    assert _init_params(stack)[0] == ("in_channels" if reads_input_again else "channels")
    assert ("channels = in_channels" in ast.unparse(stack)) == reads_input_again
    model = _build(source)
    assert sum(p.numel() for p in model.parameters()) == net.stats().params
    assert tuple(model(torch.zeros(2, 3, 16, 16)).shape[1:]) == \
        (3 if reads_input_again else 16, 16, 16)



IDENTITY_FIRST = """
block b(c: int, s: int = 1) {
    add {
        conv(c, 1, s=s)
        if COND { identity } else { shortcut: conv(c, 1, s=s) }
    }
}
network n {
    input x: [8, 8, 8]
    b(8)
    b(16)
    b(16, s=2)
}
"""


@pytest.mark.parametrize("cond, test", [
    ("in.c == c", "if in_channels != c:"),
    ("in.c == c and s == 1", "if not (in_channels == c and s == 1):"),
])
def test_an_if_whose_first_branch_makes_nothing_is_written_with_its_test_negated(cond, test):
    """`if in_channels == c: pass / else: self.shortcut = ...` reads as `if in_channels != c:
    self.shortcut = ...` (`not` where the test has no inverse comparison); the module computes
    the spec's sums, checked with torch's functional calls."""
    net = netdsl.load(IDENTITY_FIRST.replace("COND", cond).replace(
        "b(16, s=2)", "b(16, s=2)" if "s ==" in cond else ""))
    source = generate(net)
    assert "pass" not in source and f"\n        {test}\n" in source, source
    model = netdsl.build(net).eval()
    x = torch.randn(2, 8, 8, 8)
    expected = x
    for block, s in zip(model, [1, 1, 2], strict=False):
        main = getattr(block, "0")
        shortcut = getattr(block, "shortcut", None)
        expected = F.conv2d(expected, main.weight, main.bias, stride=s) + (
            expected if shortcut is None else
            F.conv2d(expected, shortcut.weight, shortcut.bias, stride=s))
    torch.testing.assert_close(model(x), expected)
