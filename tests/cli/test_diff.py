"""`netdsl diff`: layers added, removed and changed and the totals' deltas, against
torchvision's own modules."""

from __future__ import annotations

import json

import torchvision

from tests.conftest import SPECS


def params_of(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_resnet18_against_resnet34(cli):
    done = cli("diff", str(SPECS / "resnet18.net"), str(SPECS / "resnet34.net"), "--format",
               "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    r18, r34 = torchvision.models.resnet18(), torchvision.models.resnet34()
    added = [c for c in data["layers"] if c["status"] == "added" and "." in c["name"]
             and c["name"].count(".") == 1]
    names34 = {n for n, _ in r34.named_children()}
    assert [c["name"] for c in added] == ["layer1.2", "layer2.2", "layer2.3", "layer3.2",
                                          "layer3.3", "layer3.4", "layer3.5", "layer4.2"]
    for change in added:
        stage, index = change["name"].split(".")
        assert stage in names34
        assert change["b"]["params"] == params_of(getattr(r34, stage)[int(index)])
    assert not [c for c in data["layers"] if c["status"] == "removed"]
    totals = data["totals"]
    assert totals["params"]["a"] == params_of(r18) and totals["params"]["b"] == params_of(r34)
    assert totals["params"]["delta"] == params_of(r34) - params_of(r18)
    stage = next(c for c in data["layers"] if c["name"] == "layer3")
    assert stage["status"] == "changed" and "params" in stage["differs"]
    assert stage["b"]["params"] == params_of(r34.layer3)


def test_one_spec_under_two_sets_of_parameters(cli):
    done = cli("diff", str(SPECS / "mobilenet_v2.net"), "--set-b", "width=0.5", "--set",
               "classes=10", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    full = torchvision.models.mobilenet_v2(num_classes=10)
    half = torchvision.models.mobilenet_v2(num_classes=10, width_mult=0.5)
    assert data["totals"]["params"]["delta"] == params_of(half) - params_of(full)
    assert data["b"].endswith("--set classes=10 --set width=0.5")
    changed = {c["name"]: c for c in data["layers"]}
    first = changed["features.0.0"]  # the stem conv: 32 channels, 16 at width 0.5
    assert first["a"]["output"] == [32, 112, 112] and first["b"]["output"] == [16, 112, 112]
    assert first["b"]["params"] == params_of(half.features[0][0])
    assert all(c["status"] == "changed" for c in data["layers"])


def test_the_table_shows_both_sides_and_the_deltas(cli):
    done = cli("diff", str(SPECS / "resnet18.net"), str(SPECS / "resnet34.net"), "--depth", "1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[2] == "layers: 0 added, 0 removed, 4 changed"
    layer3 = next(line for line in lines if line.startswith("~  layer3"))
    assert "n=2" in layer3 and "n=6" in layer3 and "2.1 M -> 6.82 M" in layer3
    params = next(line for line in lines if line.startswith("params "))
    assert params.split()[1:] == ["11,689,512", "21,797,672", "+10,108,160", "(+86.5%)"]


def test_identical_networks_have_no_changes(cli):
    done = cli("diff", str(SPECS / "lenet5.net"), str(SPECS / "lenet5.net"))
    assert done.returncode == 0
    assert "layers: 0 added, 0 removed, 0 changed" in done.stdout


def test_a_bad_set_is_located(cli):
    done = cli("diff", str(SPECS / "lenet5.net"), "--set-b", "nosuch=1")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "nosuch" in done.stderr
