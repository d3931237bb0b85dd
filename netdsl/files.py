"""Reading spec files and writing output files, safely whatever sits at the path.

Reading: a spec is a regular file of at most `MAX_FILE_BYTES`. It is opened without blocking
(a FIFO with no writer would wait forever), checked with fstat before a byte is read (a device
such as /dev/zero never ends), and read up to the cap (a file in /proc says its size is 0).

Writing: the data goes to a temporary file in the target's folder, renamed into place, so a
failure leaves any previous file untouched. A symlink is written through (its target is
replaced, the link stays); a device, FIFO, socket or directory is refused, as is any file the
command read. Every OS error becomes a diagnostic located at the path.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from netdsl.errors import SOURCES, Diagnostic, NetdslError, Span
from netdsl.limits import MAX_FILE_BYTES

_BOM = b"\xef\xbb\xbf"
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0))


def _error(path: str, message: str, code: str = "io", help: str | None = None) -> NetdslError:
    return NetdslError(Diagnostic(message, Span.file(path), code, help=help))


def file_kind(mode: int) -> str:
    """What a file is, in words, from its `st_mode`."""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symlink"),
                       (stat.S_ISREG, "a regular file")):
        if test(mode):
            return name
    return "not a regular file"


# ------------------------------------------------------------------ reading


def read_bytes(path: str) -> bytes:
    """The bytes of a spec file: a regular file, at most `MAX_FILE_BYTES`."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise _error(path, f"cannot read {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _error(path, f"{path} is {file_kind(info.st_mode)}, not a spec file",
                         help="a spec is a regular .net file")
        if info.st_size > MAX_FILE_BYTES:
            raise _error(path, f"the file is larger than {MAX_FILE_BYTES // 1_000_000} MB",
                         "limit")
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_FILE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise _error(path, f"the file is larger than {MAX_FILE_BYTES // 1_000_000} MB",
                         "limit")
        return b"".join(chunks)
    except OSError as exc:
        raise _error(path, f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)


def decode(data: bytes, path: str) -> str:
    """The text of a spec: UTF-8, a leading byte-order mark dropped; bad bytes are a located
    error (and the line is quoted with them replaced)."""
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        col = len(data[start:exc.start].decode("utf-8", "replace")) + 1
        SOURCES.add(path, data.decode("utf-8", "replace"))
        raise NetdslError(Diagnostic(f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                                     Span(path, line, col, line, col + 1), "syntax",
                                     help="save the file as UTF-8")) from None


def read_spec(path: str) -> str:
    """The text of a spec file; anything but a readable UTF-8 regular file is a located error."""
    return decode(read_bytes(path), path)


def read_stream(stream: BinaryIO, path: str) -> str:
    """The text of a spec read from an open stream (`-`: standard input), named `path` in
    diagnostics; like a file, at most `MAX_FILE_BYTES`."""
    data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _error(path, f"the input is larger than {MAX_FILE_BYTES // 1_000_000} MB", "limit")
    return decode(data, path)


# ------------------------------------------------------------------ writing


def same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def write_atomic(path: str | Path, data: str | bytes, protect: Iterable[str | Path] = ()) -> None:
    """Write `data` to `path` so that a failure leaves any previous file untouched.

    A symlink is written through; anything at the path but a regular file is refused, as is
    any file in `protect` (the files the command read). OS errors become diagnostics.
    """
    shown = str(path)
    try:
        target = Path(os.path.realpath(path))
    except (OSError, ValueError) as exc:
        raise _error(shown, f"cannot write {shown}: {_reason(exc)}") from None
    _check_target(shown, target, protect)
    folder = target.parent
    mode = "wb" if isinstance(data, bytes) else "w"
    tmp = None
    try:
        if not folder.is_dir():
            raise _error(shown, f"cannot write {shown}: the folder {folder} does not exist")
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as f:
            f.write(data)
        os.chmod(tmp, _permissions(target))
        os.replace(tmp, target)
        tmp = None
    except (OSError, ValueError) as exc:
        raise _error(shown, f"cannot write {shown}: {_reason(exc)}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _check_target(shown: str, target: Path, protect: Iterable[str | Path]) -> None:
    """Refuse a target that is not a regular file or was read by the command."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        raise _error(shown, f"cannot write {shown}: {_reason(exc)}") from None
    if not stat.S_ISREG(info.st_mode):
        raise _error(shown, f"refusing to write to {shown}: it is {file_kind(info.st_mode)}",
                     help="write to a regular file; '-' writes to the standard output")
    for p in protect:
        if same_file(target, p):
            raise _error(shown, f"refusing to overwrite {shown}: the command read it as a spec",
                         help="choose another output path")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


def _permissions(target: Path) -> int:
    """Keep an existing file's mode; a new one gets what the umask allows (mkstemp makes 0600)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
