"""Loading and analysing pause Python's cyclic garbage collector, and always restore it."""

from __future__ import annotations

import gc

import pytest

import netdsl
from netdsl.errors import NetdslError

SPEC = "network n() {\n input x: [3, 8, 8]\n conv(4, 3, p=1) -> relu\n}\n"
BROKEN = "network n() {\n input x: [3, 8, 8]\n conv(4, 9)\n}\n"  # kernel larger than the input


@pytest.fixture
def collector_state():
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_enabled_collector_is_enabled_again(collector_state):
    gc.enable()
    net = netdsl.load(SPEC)
    assert gc.isenabled()
    assert net.stats().params == 4 * 3 * 9 + 4
    assert gc.isenabled()


def test_enabled_again_after_a_spec_error(collector_state):
    gc.enable()
    with pytest.raises(NetdslError):
        netdsl.load(BROKEN)
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled(collector_state):
    gc.disable()
    netdsl.load(SPEC).stats()
    assert not gc.isenabled()
