"""The README's sample outputs are what the commands print now (docs/make_readme.py)."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import ROOT
from tests.docs.test_zoo_table import _first_difference


def _make_readme():
    spec = importlib.util.spec_from_file_location("make_readme", ROOT / "docs" / "make_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_samples_are_current():
    make_readme = _make_readme()
    committed = (ROOT / "README.md").read_text(encoding="utf-8")
    assert {"stats specs/resnet50.net --depth 1", "check docs/examples/bad.net"} <= \
        set(make_readme.samples(committed))
    expected = make_readme.build(committed)
    if committed != expected:
        pytest.fail("README.md's samples are stale: run make readme\n"
                    + _first_difference(committed, expected))


def test_a_changed_sample_is_caught():
    make_readme = _make_readme()
    committed = (ROOT / "README.md").read_text(encoding="utf-8")
    stale = committed.replace("conv 7x7/2, 64", "conv 7x7/2, 65", 1)
    assert stale != committed and make_readme.build(stale) == committed
