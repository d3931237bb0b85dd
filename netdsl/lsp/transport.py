"""Standard input and the log as the language server uses them, bounded and without tracebacks.

pygls reads a message's body as its `Content-Length` header says and a header line up to its
newline, so a client's `Content-Length: 99999999999999` was a MemoryError and a header without
a newline grew without end. `BoundedInput` hands pygls the stream with both bounded: a longer
body ends the session (the server reports it and exits 2), a longer header line arrives in
pieces that match no header. pygls logs a message it cannot decode with its traceback;
`SummaryFormatter` writes the exception's one line instead (the client shows stderr in a log).
"""

from __future__ import annotations

import logging
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


class SummaryFormatter(logging.Formatter):
    """Log records with an exception's type and message instead of its traceback."""

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return f"{ei[0].__name__}: {ei[1]}" if ei and ei[0] else ""
