"""LeNet-5 reproduces the per-layer figures of the course notes (LeCun et al. 1998), and every
spec's own `expect` lines hold."""

from __future__ import annotations

import pytest

import netdsl
from tests.conftest import SPECS, run_cli, spec_paths

# Course notes: layer -> (trainable parameters, connections).
LENET5_FIGURES = {
    "c1": (156, 122_304),
    "s2": (12, 5_880),
    "c3": (1_516, 151_600),
    "s4": (32, 2_000),
    "c5": (48_120, 48_120),
    "f6": (10_164, 10_164),
}


@pytest.fixture(scope="module")
def lenet5_stats():
    return netdsl.load(SPECS / "lenet5.net").stats()


@pytest.mark.parametrize("layer", LENET5_FIGURES)
def test_lenet5_layer_matches_course_notes(lenet5_stats, layer: str):
    row = lenet5_stats.row(layer)
    assert (row.params, row.connections) == LENET5_FIGURES[layer]


def test_lenet5_shapes_follow_the_paper(lenet5_stats):
    """The paper's map sizes: C1 28x28, S2 14x14, C3 10x10, S4 5x5, C5 1x1 (120 maps)."""
    shapes = {name: tuple(lenet5_stats.row(name).output) for name in LENET5_FIGURES}
    assert shapes == {"c1": (6, 28, 28), "s2": (6, 14, 14), "c3": (16, 10, 10),
                      "s4": (16, 5, 5), "c5": (120, 1, 1), "f6": (84,)}


def test_every_spec_checks():
    """`netdsl check specs/*.net` exits 0: every spec's expectations hold."""
    done = run_cli("check", *map(str, spec_paths()))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""
