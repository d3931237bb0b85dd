"""Standard input and the log as the language server uses them, bounded and without tracebacks.

pygls reads a message's body as its `Content-Length` header says and a header line up to its
newline, so a client's `Content-Length: 99999999999999` was a MemoryError and a header without
a newline grew without end. `BoundedInput` hands pygls the stream with both bounded: a longer
body ends the session (the server reports it and exits 2), a longer header line arrives in
pieces that match no header. pygls logs a message it cannot decode, or whose parameters do not
fit the protocol's types, with its traceback (an exception group's, for the latter) inside the
message; `OneLine` keeps the message's first line and `SummaryFormatter` adds the innermost
exceptions' one line each (the client shows stderr in a log). Requests still pending when the
client closes the input are cancelled: not a problem, so not logged.

pygls closes the output it writes to when the client sends `exit`; `KeptOutput` hands it
standard output with `close` only flushing, so the program ends as any other command does.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import BinaryIO

MAX_MESSAGE_BYTES = 64 * 2 ** 20  # a 64 MiB message: a spec of a million lines, as JSON
MAX_HEADER_BYTES = 64 * 2 ** 10


class BoundedInput:
    """The client's byte stream, refusing a message body longer than `MAX_MESSAGE_BYTES`."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.refused: int | None = None  # the length of a message refused

    def readline(self) -> bytes:
        return self.stream.readline(MAX_HEADER_BYTES)

    def read(self, size: int = -1) -> bytes:
        if not 0 <= size <= MAX_MESSAGE_BYTES:
            self.refused = size
            return b""  # the end of the input, for pygls: it shuts down
        return self.stream.read(size)


class KeptOutput:
    """Standard output for pygls, flushed but left open when pygls closes it at `exit`."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream

    def write(self, data: bytes) -> int:
        return self.stream.write(data)

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class OneLine(logging.Filter):
    """A record's first line, with the exception being handled when the rest was its
    traceback; a request cancelled by the end of the session is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        first, *rest = record.getMessage().split("\n", 1)
        if rest and record.exc_info is None and sys.exc_info()[1] is not None:
            record.exc_info = sys.exc_info()
        if record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError):
            return False
        record.msg, record.args = first, None
        return True


class SummaryFormatter(logging.Formatter):
    """Log records with an exception's type and message instead of its traceback; for an
    exception group (cattrs's, for parameters that do not fit), those of the exceptions inside."""

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return "; ".join(_innermost(ei[1])) if ei and ei[1] is not None else ""


def _innermost(exc: BaseException) -> list[str]:
    """The leaves of an exception group (the builtin's, or before Python 3.11 the backport's
    cattrs raises: both have `exceptions`), else the exception itself."""
    inner = getattr(exc, "exceptions", None)
    if isinstance(inner, (list, tuple)) and inner:
        return [line for each in inner for line in _innermost(each)]
    return [f"{type(exc).__name__}: {exc}"]
