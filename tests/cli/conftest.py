"""Running `netdsl` in-process as a user would from a shell: arguments in, exit status and the
two streams out (standard output as text and as bytes), standard input and a terminal faked.

In-process runs are a tenth of the cost of a fresh interpreter, so every command can be tried
with every option; tests/cli/test_app.py runs the real processes (`python -m netdsl`, cli.py).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from netdsl.cli import main
from tests.conftest import ROOT


@dataclass
class Result:
    returncode: int
    stdout_bytes: bytes
    stderr: str

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode("utf-8")


class _Stream(io.TextIOWrapper):
    """A text stream over bytes that says whether it is a terminal."""

    def __init__(self, data: bytes = b"", tty: bool = False):
        super().__init__(io.BytesIO(data), encoding="utf-8", newline="")
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty

    def raw_bytes(self) -> bytes:
        self.flush()
        return self.buffer.getvalue()


def run_netdsl(*args: str, stdin: str | bytes = b"", tty: bool = False,
               cwd: Path = ROOT) -> Result:
    """`netdsl ARGS` with `stdin` on standard input; `tty`: standard output is a terminal."""
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    out, err = _Stream(tty=tty), io.StringIO()
    with _in(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            _stdin(_Stream(data)):
        code = main(list(args))
    return Result(code, out.raw_bytes(), err.getvalue())


@contextlib.contextmanager
def _in(folder: Path):
    saved = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(saved)


@contextlib.contextmanager
def _stdin(stream: _Stream):
    saved = sys.stdin
    sys.stdin = stream
    try:
        yield
    finally:
        sys.stdin = saved


@pytest.fixture
def netdsl():
    return run_netdsl


def assert_user_error(result: Result, *fragments: str) -> None:
    """Exit 2, the way a user error must end: a message, no traceback, no internal error."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
