"""Files: specs read without blocking or reading endlessly; outputs written atomically, through
symlinks, never over a device, a FIFO, a directory or a file the command read, with the
permissions a user expects, and every OS error as a located diagnostic."""

import errno
import os
import stat

import pytest

from netdsl import files
from netdsl.errors import NetdslError
from netdsl.files import read_spec, write_atomic


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


# ---------------------------------------------------------------- writing: whatever is at the path


def test_a_symlink_is_written_through(tmp_path):
    target = tmp_path / "real.py"
    target.write_text("old")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    write_atomic(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.py", "real.py"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.py"
    link.symlink_to(tmp_path / "made.py")
    write_atomic(link, "x")
    assert link.is_symlink() and (tmp_path / "made.py").read_text() == "x"


def _socket(path):
    import socket
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    return s


@pytest.mark.parametrize("kind", ["fifo", "directory", "socket", "link_to_fifo"])
def test_what_is_not_a_regular_file_is_refused_and_left_alone(tmp_path, kind):
    at = tmp_path / "out.py"
    keep = None
    if kind == "fifo":
        os.mkfifo(at)
    elif kind == "directory":
        at.mkdir()
    elif kind == "socket":
        keep = _socket(at)
    else:
        os.mkfifo(tmp_path / "fifo")
        at.symlink_to(tmp_path / "fifo")
    before = os.lstat(at).st_mode
    with pytest.raises(NetdslError) as info:
        write_atomic(at, "data")
    diag = info.value.diagnostics[0]
    assert "refusing to write" in diag.message and "'-'" in diag.help
    assert str(diag.span) == str(at)  # located at the output path
    assert os.lstat(at).st_mode == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    if keep is not None:
        keep.close()


def test_a_character_device_is_refused():
    """/dev/null is never replaced (as root, a rename over it would replace the system node);
    the check refuses before anything is written."""
    before = os.stat("/dev/null")
    with pytest.raises(NetdslError, match="character device"):
        write_atomic("/dev/null", "data")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_no_file_the_command_read_is_overwritten_even_through_a_link(tmp_path):
    spec = tmp_path / "lib.net"
    spec.write_text("block b { relu }\n")
    (tmp_path / "alias.net").symlink_to(spec)
    os.link(spec, tmp_path / "hard.net")
    for path in ("alias.net", "hard.net", "lib.net"):
        with pytest.raises(NetdslError, match="the command read it"):
            write_atomic(tmp_path / path, "boom", protect=[spec])
    assert spec.read_text() == "block b { relu }\n"


def test_os_errors_on_output_are_located_diagnostics(tmp_path, monkeypatch):
    with pytest.raises(NetdslError) as info:
        write_atomic("/proc/netdsl-out.py", "x")  # /proc takes no new files, not even root's
    assert str(info.value.diagnostics[0].span) == "/proc/netdsl-out.py"
    assert info.value.diagnostics[0].code == "io"

    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    (tmp_path / "out.py").write_text("old")
    with pytest.raises(NetdslError, match="no space left"):
        write_atomic(tmp_path / "out.py", "new")
    assert (tmp_path / "out.py").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.py"]  # the temporary file is gone


def test_missing_folder_is_a_located_error(tmp_path):
    with pytest.raises(NetdslError, match="does not exist") as info:
        write_atomic(tmp_path / "no" / "x.py", "x")
    assert info.value.diagnostics[0].span is not None


# ---------------------------------------------------------------- reading specs


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "spec.net"
    os.mkfifo(fifo)
    with pytest.raises(NetdslError, match="FIFO"):
        read_spec(str(fifo))


@pytest.mark.parametrize("path, kind", [("/dev/zero", "character device"),
                                        ("/dev/urandom", "character device")])
def test_endless_devices_are_refused_before_reading(path, kind):
    with pytest.raises(NetdslError, match=kind):
        read_spec(path)


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(NetdslError, match="directory") as info:
        read_spec(str(tmp_path))
    assert info.value.diagnostics[0].span is not None


def test_reading_stops_at_the_size_cap_even_when_the_size_is_unknown(monkeypatch):
    """Files in /proc say their size is 0; the cap holds on the bytes actually read."""
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 10)
    with pytest.raises(NetdslError, match="larger than"):
        read_spec("/proc/self/status")


def test_a_byte_order_mark_is_accepted(tmp_path):
    spec = tmp_path / "bom.net"
    spec.write_bytes(b"\xef\xbb\xbfnetwork n {\n    input x: [3]\n    relu\n}\n")
    assert read_spec(str(spec)).startswith("network")


def test_bad_utf8_is_located_by_character(tmp_path):
    spec = tmp_path / "bad.net"
    spec.write_bytes("X = \"é\" # \xff\n".encode("utf-8", "surrogateescape").replace(
        "\xff".encode(), b"\xff"))
    with pytest.raises(NetdslError) as info:
        read_spec(str(spec))
    span = info.value.diagnostics[0].span
    assert (span.line, span.col) == (1, 11)
