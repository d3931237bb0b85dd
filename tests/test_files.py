"""Output files: atomic, never over an input spec, with the permissions a user expects."""

import os
import stat

import pytest

from netdsl.errors import NetdslError
from netdsl.files import write_atomic


def test_new_file_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "model.py", "x = 1\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "model.py").stat().st_mode) == 0o644


def test_existing_file_keeps_its_mode_and_no_temp_is_left(tmp_path):
    target = tmp_path / "out.dot"
    target.write_text("old")
    target.chmod(0o600)
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.dot"]


def test_refuses_to_overwrite_the_input(tmp_path):
    spec = tmp_path / "a.net"
    spec.write_text("network n { input x: [1] }\n")
    with pytest.raises(NetdslError, match="refusing to overwrite"):
        write_atomic(spec, "boom", protect=[spec])
    assert spec.read_text() == "network n { input x: [1] }\n"
