"""`netdsl check` and `netdsl stats` in fresh processes, as a user runs them: exit codes,
formats, options.

References: torchvision's resnet50 (parameter counts, module shapes on a real forward), and
the shape formula of torch's convolution for the --input case.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
import torch
import torchvision

import netdsl
from tests.conftest import SPECS, run_cli

R50 = str(SPECS / "resnet50.net")


@pytest.fixture(scope="module")
def resnet50():
    return torchvision.models.resnet50().eval()


@pytest.fixture(scope="module")
def r50_json():
    done = run_cli("stats", R50, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow  # torchvision's resnet50
def test_json_totals_match_torchvision(r50_json, resnet50):
    params = sum(p.numel() for p in resnet50.parameters())
    buffers = sum(b.numel() for b in resnet50.buffers())
    assert r50_json["params"] == r50_json["trainable_params"] == params == 25_557_032
    assert r50_json["buffers"] == buffers
    assert r50_json["inputs"] == {"x": [3, 224, 224]}
    assert list(r50_json["outputs"].values()) == [[1000]]
    assert r50_json["param_bytes"] == 4 * (params + buffers)
    for key in ("network", "macs", "flops", "connections", "activation_elements",
                "activation_bytes", "peak_activation_bytes", "layers"):
        assert key in r50_json


@pytest.mark.slow  # torchvision's resnet50
def test_json_layers_match_torchvision_modules(r50_json, resnet50):
    """Every leaf row with params names a torchvision module with that many params; blocks too."""
    modules = dict(resnet50.named_modules())
    rows = {r["name"]: r for r in r50_json["layers"]}
    for name in ("conv1", "layer1", "layer2.0", "layer2.0.downsample", "layer4.2.conv3", "fc"):
        assert rows[name]["params"] == sum(p.numel() for p in modules[name].parameters())
    shapes = {}
    hooks = [modules[n].register_forward_hook(
        lambda m, i, o, n=n: shapes.__setitem__(n, list(o.shape[1:])))
        for n in ("conv1", "layer1", "layer3.5", "layer4")]
    with torch.no_grad():
        resnet50(torch.zeros(1, 3, 224, 224))
    for h in hooks:
        h.remove()
    for name, shape in shapes.items():
        assert rows[name]["output"] == shape
    assert rows["layer4"]["block"] is True and rows["conv1"]["rf"]["size"] == [7, 7]
    assert rows["fc"]["rf"] == "global"


def test_set_changes_the_classifier(r50_json):
    done = run_cli("stats", R50, "--format", "json", "--set", "classes=10")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    fc = {r["name"]: r for r in data["layers"]}["fc"]
    assert fc["params"] == 2048 * 10 + 10 and fc["output"] == [10]
    assert data["params"] == r50_json["params"] - (2048 * 1000 + 1000) + (2048 * 10 + 10)


def conv_out(n: int, k: int, s: int, p: int) -> int:
    """torch.nn.Conv2d's output length (docs: floor((n + 2p - k) / s) + 1)."""
    return (n + 2 * p - k) // s + 1


def test_input_changes_shapes():
    done = run_cli("stats", R50, "--format", "json", "--input", "3x299x299")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    rows = {r["name"]: r for r in data["layers"]}
    h = conv_out(299, 7, 2, 3)
    assert data["inputs"] == {"x": [3, 299, 299]} and rows["conv1"]["output"] == [64, h, h]
    h = conv_out(h, 3, 2, 1)  # maxpool
    for _ in range(3):  # layer2..4 downsample by the stride-2 3x3 conv
        h = conv_out(h, 3, 2, 1)
    assert rows["layer4"]["output"] == [2048, h, h] == [2048, 10, 10]
    assert rows["fc"]["output"] == [1000]
    named = run_cli("stats", R50, "--format", "json", "--input", "x=3x299x299")
    assert json.loads(named.stdout)["inputs"] == {"x": [3, 299, 299]}


def test_dtype_halves_bytes(r50_json):
    done = run_cli("stats", R50, "--format", "json", "--dtype", "float16")
    data = json.loads(done.stdout)
    for key in ("activation_bytes", "peak_activation_bytes", "param_bytes"):
        assert data[key] * 2 == r50_json[key]
    assert data["params"] == r50_json["params"]


def test_depth_limits_rows(r50_json):
    done = run_cli("stats", R50, "--format", "json", "--depth", "1")
    names = [r["name"] for r in json.loads(done.stdout)["layers"]]
    assert "layer1" in names and "fc" in names
    assert not any(n.startswith("layer1.") for n in names)
    assert any(r["name"].startswith("layer1.0.") for r in r50_json["layers"])


def test_csv_has_exact_integers():
    done = run_cli("stats", R50, "--format", "csv")
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(done.stdout))}
    assert int(rows["fc"]["params"]) == 2048 * 1000 + 1000
    assert int(rows["conv1"]["params"]) == 64 * 3 * 7 * 7
    assert rows["conv1"]["output"] == "64x112x112"


def test_markdown_and_table_show_totals():
    md = run_cli("stats", R50, "--format", "markdown", "--depth", "1").stdout
    assert md.startswith("### resnet50") and "| `layer4` |" in md and "25,557,032" in md
    table = run_cli("stats", R50).stdout
    assert "25,557,032" in table and "25.6 M" in table and "layer4.2.conv3" in table


def test_check_exit_codes(tmp_path):
    assert run_cli("check", R50).returncode == 0
    assert run_cli("check", R50).stdout == ""
    wrong = tmp_path / "wrong.net"
    wrong.write_text("network n {\n input x: [3, 8, 8]\n conv(4, 3)\n expect params == 1\n}\n")
    done = run_cli("check", str(wrong))
    assert done.returncode == 2 and f"{wrong}:4:" in done.stderr
    broken = tmp_path / "broken.net"
    broken.write_text("network n {\n input x: [3, 8, 8]\n conv(4, 3\n}\n")
    done = run_cli("check", str(broken))
    assert done.returncode == 2 and "error" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [
    ["stats", R50, "--set", "classes=x10"],
    ["stats", R50, "--set", "nosuch=1"],
    ["stats", R50, "--input", "3xax2"],
    ["stats", R50, "--input", "y=3x8x8"],
    ["check", "does/not/exist.net"],
])
def test_user_errors_exit_2(args):
    done = run_cli(*args)
    assert done.returncode == 2, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr


OUTPUT_NAMES = """block two(xs: tensors, c: int = 3) {
    a = [from x -> conv(2, 1) -> conv(c, 1) for x in xs]
    output a
}
block split(c: int) {
    lo: conv(c, 1)
    from in -> hi: conv(c + 1, 3, s=2, p=1)
    output lo, hi
}
inline block both(xs: tensors) {
    w: two(xs, 9)
    output w
}
network n {
    input p: [4, 8, 8]
    input q: [4, 4, 4]
    t: two([p, q])
    from q -> s: split(5)
    o: [from x -> conv(7, 1) -> conv(8, 1) for x in [p, q]]
    both([q, p])
    output w, t, s, o
}
"""


def test_every_output_name_reaches_its_tensor(tmp_path):
    """The outputs line names each output by a name that reaches that very tensor, in
    `expect` and in `from`: `t.0` is the first layer inside the call `t`, not its first
    output (`t.a.0`, by the block's output name); `o.0` the first conv of a labeled
    comprehension, not its first item's result (`o.1`). The shapes differ tensor by
    tensor, so an `expect` of the shape finds the very tensor; each `from` must start at
    the output's node."""
    spec = tmp_path / "names.net"
    spec.write_text(OUTPUT_NAMES)
    table = run_cli("stats", str(spec))
    done = run_cli("stats", str(spec), "--format", "json")
    assert table.returncode == done.returncode == 0, table.stderr + done.stderr
    outputs = json.loads(done.stdout)["outputs"]
    line = next(line for line in table.stdout.splitlines() if line.startswith("outputs:"))
    assert line.split(None, 1)[1] == ", ".join(f"{k} {'x'.join(map(str, v))}"
                                                for k, v in outputs.items())
    assert list(outputs) == ["w.a.0", "w.a.1", "t.a.0", "t.a.1", "s.lo", "s.hi", "o.1", "o.3"]
    body = "".join(f"    expect {name}.shape == {shape}\n    from {name} -> r{i}: relu\n"
                   for i, (name, shape) in enumerate(outputs.items()))
    checked = netdsl.load(OUTPUT_NAMES.rstrip()[:-1] + body + "}\n")
    graph = checked.graph
    for i, name in enumerate(outputs):
        assert graph[f"r{i}"].inputs == [graph.outputs[name]]
    spec.write_text(OUTPUT_NAMES.rstrip()[:-1] + body + "}\n")
    done = run_cli("check", str(spec))
    assert done.returncode == 0, done.stderr
