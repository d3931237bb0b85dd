"""A sweep's rows against separate loads of each variant: every figure a sweep reports is the
one `netdsl stats` gives for the same settings, though the sweep elaborates its variants from
one parse, takes the definitions earlier variants made (with the analyses' figures kept on
them) and collects its garbage its own way. (Those figures are tested against torchvision in
tests/cli/test_sweep.py.)"""

from __future__ import annotations

import json

import pytest

import netdsl
from netdsl.elaborate import load_program, read_source
from netdsl.sweep import Axis, Variant, combinations, sweep
from tests.conftest import SPECS

# (spec, axes, inputs): a width sweep makes new definitions at each value, a depth sweep
# reuses most; gpt2_small shares a weight (the tied embedding); `expect`s fail in some variants
# of each (resnet18's `expect params` with 10 classes).
GRIDS = [
    ("efficientnet_b0", [Axis("width", (0.5, 0.75, 1.0, 1.1)), Axis("depth", (1.0, 1.2, 1.5))],
     {"x": (3, 64, 64)}),
    ("efficientnet_b0", [Axis("depth", (1.0, 2.0)), Axis("width", (1.0, 0.5))], None),
    ("gpt2_small", [Axis("num_layers", (2, 4)), Axis("context", (64, 128))], None),
    ("resnet18", [Axis("classes", (10, 1000))], None),
]


def alone(spec: str, settings: dict, inputs: dict | None) -> dict:
    """The row of one variant loaded by itself, as `netdsl stats` loads it."""
    network = netdsl.load(spec, inputs=inputs, **settings)
    stats = network.stats()
    failed = [f"line {d.span.line}: {d.message}" for d in network.check()]
    return Variant(settings, stats.params, stats.macs, stats.flops, stats.peak_activation_bytes,
                   stats.param_bytes, dict(stats.outputs), failed).as_dict()


@pytest.mark.parametrize(("name", "axes", "inputs"), GRIDS, ids=[g[0] for g in GRIDS])
def test_every_row_is_that_of_the_variant_loaded_alone(name, axes, inputs):
    spec = str(SPECS / f"{name}.net")
    rows = [v.as_dict() for v in sweep(load_program(read_source(spec), spec), axes,
                                        inputs=inputs)]
    assert rows == [alone(spec, settings, inputs) for settings in combinations(axes)]
    assert len({row["params"] for row in rows}) == len(rows)  # no two variants alike
    assert all(row["error"] is None for row in rows)


def test_a_row_is_what_netdsl_stats_prints(cli):
    spec = str(SPECS / "efficientnet_b0.net")
    axes = [Axis("width", (0.5, 1.1)), Axis("depth", (1.2,))]
    rows = list(sweep(load_program(read_source(spec), spec), axes))
    done = cli("stats", spec, "--set", "width=1.1", "--set", "depth=1.2", "--format", "json")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert (rows[1].params, rows[1].macs, rows[1].flops, rows[1].peak_activation_bytes,
            rows[1].param_bytes) == (stats["params"], stats["macs"], stats["flops"],
                                     stats["peak_activation_bytes"], stats["param_bytes"])
