"""The collector pause around parsing, elaboration and analysis: off inside, and always restored
to the state it was in, also after an error."""

from __future__ import annotations

import gc

import pytest

import netdsl
from netdsl.errors import NetdslError
from netdsl.gc_pause import paused_gc
from netdsl.syntax.parser import parse

SPEC = "network n() {\n input x: [3, 8, 8]\n conv(4, 3, p=1) -> relu\n}\n"
BROKEN = "network n() {\n input x: [3, 8, 8]\n conv(4, 9)\n}\n"  # kernel larger than the input


@pytest.fixture(autouse=True)
def collector_state():
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_collector_is_off_inside_and_restored_after():
    gc.enable()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # an inner pause does not end the outer one
    assert gc.isenabled()


def test_loading_and_stats_restore_an_enabled_collector():
    gc.enable()
    net = netdsl.load(SPEC)
    assert gc.isenabled()
    assert net.stats().params == 4 * 3 * 9 + 4
    assert gc.isenabled()


@pytest.mark.parametrize("bad", [BROKEN, "network n {\n @\n}\n"])
def test_errors_do_not_leave_the_collector_off(bad):
    gc.enable()
    with pytest.raises(NetdslError):
        netdsl.load(bad)
    with pytest.raises(NetdslError):
        parse(bad) if "@" in bad else netdsl.load(bad)
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    netdsl.load(SPEC).stats()
    with paused_gc():
        pass
    assert not gc.isenabled()


def test_the_pause_is_taken_at_the_public_entry_points_only(monkeypatch):
    """`netdsl.load` and `Network.stats` pause the collector, once each; parsing alone (the
    formatter and the language server parse in a long-lived process) does not."""
    import netdsl.gc_pause as pause
    calls = []
    real = pause.gc.disable
    monkeypatch.setattr(pause.gc, "disable", lambda: (calls.append(1), real())[1])
    parse(SPEC)
    assert calls == []
    net = netdsl.load(SPEC)
    assert calls == [1]
    net.stats()
    assert calls == [1, 1]
