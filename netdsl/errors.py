"""Source spans, diagnostics and the one error type netdsl raises for bad input.

Every phase reports problems as `Diagnostic`s carrying a `Span`; a phase that cannot go on raises
`NetdslError` holding all diagnostics gathered so far. Rendering follows rustc/ruff:
``path:line:col: error: message  [code]``, the source line, a caret under the span, notes, help.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate

from netdsl.limits import MAX_ERRORS

# Error codes, registered once (as mypy's errorcodes.py does). The code is printed in brackets.
ERROR_CODES: dict[str, str] = {
    "syntax": "the text does not parse",
    "name": "an unknown or ambiguous name (operator, block, value, tensor, label)",
    "arg": "wrong arguments to an operator, block or function",
    "type": "a value of the wrong type",
    "value": "a value out of range, or an expression that cannot be evaluated",
    "shape": "tensor shapes that do not fit the operator",
    "label": "a duplicate or invalid label",
    "import": "an import that cannot be resolved",
    "recursion": "blocks that call themselves without end",
    "limit": "a spec that expands past a configured limit",
    "expect": "an `expect` statement that does not hold",
    "io": "a file that cannot be read or written",
    "lower": "a network that cannot be lowered to PyTorch",
    "usage": "a command-line argument that is not valid",
    "trace": "a PyTorch model that torch.fx cannot trace (`netdsl import`)",
    "unmapped": "a PyTorch call that no operator of netdsl describes (`netdsl import`)",
    "unused": "computation that no output depends on (a warning)",
    "twice": "a merge that takes one tensor twice (a warning)",
}


_MAX_SITES = 6  # call-site notes shown for one diagnostic


@dataclass(frozen=True)
class Span:
    """A region of a source file, 1-based lines and columns, end exclusive; line 0 stands for
    the whole file (a file that cannot be read, an output path, a file with no network).

    A line is what the lexer counts: text up to a newline ("\n", or "\r\n"). A form feed,
    a vertical tab or U+2028 inside a line does not start a new one, here or in the lexer.
    """

    path: str
    line: int
    col: int
    end_line: int
    end_col: int

    @staticmethod
    def file(path: str) -> Span:
        """The whole of the file `path`."""
        return Span(path, 0, 0, 0, 0)

    def __str__(self) -> str:
        if self.line == 0:
            return self.path
        return f"{self.path}:{self.line}:{self.col}"


@dataclass
class Override:
    """A network parameter or input named by the caller (`--set`, `--input`, or `load`'s
    keyword arguments) that the network does not have, or not of that type."""

    kind: str  # "parameter" or "input"
    name: str
    quote: bool = False  # the value should have been text: suggest quoting it


@dataclass
class Diagnostic:
    """One message for the user: what went wrong, where, and how to fix it."""

    message: str
    span: Span | None = None
    code: str = "value"
    severity: str = "error"
    notes: list[tuple[Span | None, str]] = field(default_factory=list)
    help: str | None = None
    # set when the fault is a name the caller passed rather than the spec (located at the
    # network); the command line quotes the `--set` or `--input` argument that gave it
    argument: Override | None = None

    def __post_init__(self) -> None:
        assert self.code in ERROR_CODES, self.code

    def with_context(self, call_sites: Iterable[tuple[str, Span]]) -> Diagnostic:
        """Add 'in block X instantiated at ...' notes for the chain of block call sites.

        A deep chain (a runaway recursion) keeps its innermost and outermost sites only.
        """
        sites = list(call_sites)
        if len(sites) > _MAX_SITES:
            hidden = len(sites) - _MAX_SITES
            kept = sites[:_MAX_SITES - 2] + [None] + sites[-2:]
        else:
            kept, hidden = sites, 0
        for entry in kept:
            if entry is None:
                self.notes.append((None, f"... {hidden} more block instantiations ..."))
                continue
            block, site = entry
            self.notes.append((site, f"in block '{block}' instantiated at {site}"))
        return self


class NetdslError(Exception):
    """Raised for any problem in the user's input; carries one or more diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = diagnostics
        super().__init__("; ".join(d.message for d in diagnostics))

    def __str__(self) -> str:
        """Every diagnostic as the command line prints it (path:line:col, the quoted line, notes
        and help), so a Python caller printing the error sees where and what to do. Rendered
        when asked: callers may still locate a diagnostic after raising (imports do)."""
        return "\n".join(render(d) for d in self.diagnostics)


class SpecError(Exception):
    """A located problem raised deep inside elaboration; converted to a Diagnostic by the caller.

    Unlike `NetdslError` it holds a single message and may lack a span until a caller that knows
    the position fills it in.
    """

    def __init__(self, message: str, code: str = "value", span: Span | None = None,
                 help: str | None = None, notes: list[tuple[Span | None, str]] | None = None,
                 attribute: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.span = span
        self.help = help
        # the operator attribute at fault, whose argument the caller locates the error at
        self.attribute = attribute
        # the chain of block calls (outermost first) the error happened in; set once, by the
        # innermost block it escapes from
        self.call_sites: tuple[tuple[str, Span], ...] | None = None
        self.notes = notes or []

    def diagnostic(self) -> Diagnostic:
        return Diagnostic(self.message, self.span, self.code, notes=list(self.notes),
                          help=self.help)


# Names other tools use for ours (torch's `batchnorm` for netdsl's `bn`), each to ours; filled by
# the operator classes from their `aliases`.
OTHER_NAMES: dict[str, str] = {}
CUTOFF = 0.6  # how alike a did-you-mean suggestion must be (difflib's ratio)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean' hint for a misspelt name or another tool's name for one of `candidates`,
    or None when nothing is close."""
    names = set(candidates)
    ours = OTHER_NAMES.get(name.lower())
    if ours in names:
        return f"did you mean '{ours}'?"
    # difflib's ratio is at most 2 * shorter / (sum of the lengths): a name several times longer
    # or shorter than a candidate cannot be close to it, and indexing a 10 MB name takes seconds
    reachable = [c for c in sorted(names) if 2 * min(len(c), len(name)) >= CUTOFF *
                 (len(c) + len(name))]
    close = difflib.get_close_matches(name, reachable, n=3, cutoff=CUTOFF) if reachable else []
    if not close:
        return None
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


class LineIndex:
    """Lines of a text as the lexer counts them (see `Span`), found without splitting it:
    a list of 20 million lines costs 600 MB, this index 8 bytes per block of `block`
    characters. A line is found by bisection over the blocks' newline counts, then by at
    most a block's worth of `find`."""

    def __init__(self, text: str, block: int = 4096):
        self.text = text
        self.block = block
        self.newlines = list(accumulate(
            (text.count("\n", at, at + block) for at in range(0, len(text), block)),
            initial=0))  # newlines before each block

    def start(self, number: int) -> int | None:
        """The offset where line `number` (1-based) starts; None past the end."""
        if number < 1 or number - 1 > self.newlines[-1]:
            return None
        block = bisect_left(self.newlines, number - 1) - 1
        if block < 0:
            return 0
        at = block * self.block
        for _ in range(number - 1 - self.newlines[block]):
            at = self.text.index("\n", at) + 1
        return at

    def bounds(self, number: int) -> tuple[int, int] | None:
        """Where line `number` starts and where its "\n" (or the text) ends it."""
        start = self.start(number)
        if start is None:
            return None
        end = self.text.find("\n", start)
        return start, len(self.text) if end < 0 else end

    def line(self, number: int) -> str | None:
        """Line `number` without its end ("\n" or "\r\n")."""
        bounds = self.bounds(number)
        if bounds is None:
            return None
        line = self.text[bounds[0]:bounds[1]]
        return line[:-1] if line.endswith("\r") else line


class SourceCache:
    """The text of every file read, so diagnostics can quote lines from any of them. Each text
    is indexed once, when a message first quotes it (60,000 messages about one file must not
    scan it 60,000 times)."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._lines: dict[str, LineIndex] = {}

    def add(self, path: str, text: str) -> None:
        self._texts[path] = text
        self._lines.pop(path, None)

    def line(self, path: str, number: int) -> str | None:
        lines = self._lines.get(path)
        if lines is None:
            text = self._texts.get(path)
            if text is None:
                return None
            lines = self._lines[path] = LineIndex(text)
        return lines.line(number)


SOURCES = SourceCache()

_MAX_QUOTED = 160


def render(diag: Diagnostic, sources: SourceCache = SOURCES) -> str:
    """Render a diagnostic as text: location, message, quoted line with caret, notes, help."""
    where = f"{diag.span}: " if diag.span else ""
    out = [f"{where}{diag.severity}: {_short(diag.message)}  [{diag.code}]"]
    if diag.span and diag.span.line > 0:
        out.extend(_quote(diag.span, sources))
    for _, note in diag.notes:
        out.append(f"note: {_short(note)}")
    if diag.help:
        out.append(f"help: {_short(diag.help)}")
    return "\n".join(out)


def render_all(diagnostics: list[Diagnostic], limit: int = MAX_ERRORS,
               sources: SourceCache = SOURCES) -> str:
    """Every diagnostic up to `limit`, then how many more there were, then the count, as a
    compiler reports them; the text ends with a newline."""
    shown = render_first(diagnostics, "error", limit, sources)
    if len(diagnostics) > 1:
        shown.append(f"{len(diagnostics):,} errors")
    return "\n".join(shown) + "\n"


def render_first(diagnostics: list[Diagnostic], noun: str, limit: int = MAX_ERRORS,
                 sources: SourceCache = SOURCES) -> list[str]:
    """Each diagnostic up to `limit`, rendered, then how many more there were (`... 3 more
    warnings not shown`)."""
    shown = [render(d, sources) for d in diagnostics[:limit]]
    hidden = len(diagnostics) - len(shown)
    if hidden > 0:
        shown.append(f"... {hidden:,} more {noun}{'s' if hidden != 1 else ''} not shown")
    return shown


def _short(text: str) -> str:
    """Elide the middle of absurdly long words (a 10 MB name must not flood the terminal)."""
    if len(text) <= _MAX_QUOTED:
        return text
    text = re.sub(r"\S{60,}", lambda m: m.group()[:40] + "..." + m.group()[-10:], text)
    return text if len(text) <= 4 * _MAX_QUOTED else text[:4 * _MAX_QUOTED] + "..."


def _quote(span: Span, sources: SourceCache) -> list[str]:
    line = sources.line(span.path, span.line)
    if line is None:
        return []
    start = min(max(span.col - 1, 0), len(line))
    if span.end_line == span.line:
        width = max(span.end_col - span.col, 1)
    else:
        width = max(len(line) - start, 1)
    if len(line) > _MAX_QUOTED:  # keep a 10 MB line from flooding the terminal
        lo = max(start - 40, 0)
        line = ("..." if lo else "") + line[lo:lo + _MAX_QUOTED] + "..."
        start = start - lo + (3 if lo else 0)
        width = min(width, _MAX_QUOTED - 40)
    shown = "".join(map(_visible, line))
    end = min(start + width, len(line))
    caret_at = _width(line[:start])
    caret_width = max(_width(line[start:end]), 1)
    caret = " " * caret_at + "^" + "~" * (caret_width - 1)
    return ["    " + shown.rstrip(), "    " + caret]


def _visible(char: str) -> str:
    """A character as it is quoted: tabs as a space, control and line-breaking characters
    (a form feed, U+2028, a stray carriage return) as '?', so the terminal shows one line; a
    lone surrogate (no character, which no stream can write) as '?' too."""
    if char == "\t":
        return " "
    if char < " " or char == "\x7f" or unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cs"):
        return "?"
    return char


def _width(text: str) -> int:
    """Terminal columns of `text`: wide East Asian characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total
