"""The collector pause around parsing: off inside, restored after, even on an error."""

from __future__ import annotations

import gc

import pytest

from netdsl.errors import NetdslError
from netdsl.gc_pause import paused_gc
from netdsl.syntax.parser import parse


def test_collector_is_off_inside_and_restored_after():
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # an inner pause does not end the outer one
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_syntax_error_does_not_leave_the_collector_off():
    with pytest.raises(NetdslError):
        parse("network n {\n @\n}\n")
    assert gc.isenabled()
