"""How netdsl writes its values, shapes and block calls: the one home of that text.

Messages, the stats table, diagrams and generated code all quote values of the language; each
reads them from here, so `true`, `[3, 3]` and `bottleneck(width=64, s=2)` look the same
everywhere. Values the language defines as classes (a layer, a tensor, a function, a shared
module) say how they are written through a `notation()` method and what they are called through
a `kind` class attribute, so this module depends on nothing of netdsl.

Messages say what a value is in the language's words (`kind_text`, `described`): `int 3`,
`list [1, 2]`, `list of tensors [c3, c4]`, `the shared module 'head'`; never the name of a
Python class.

Two precisions: `exact` (messages, code: the value as it is, `0.037500000000000006`) and
display (tables, diagrams: twelve significant digits, `0.0375`), which never shows the noise
of binary floating point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SHOWN = 200  # characters of a value quoted in a message
DISPLAY_DIGITS = 12  # significant digits of a float in tables and diagrams


def value_text(value: Any, limit: int | None = SHOWN, exact: bool = True) -> str:
    """A value as the language writes it; past `limit` characters, cut short with "..."
    (a message never spells out a list of ten million values). `limit=None`: all of it."""
    text = _Text(limit, exact)
    try:
        text.add(value)
    except _Full:
        return "".join(text.parts)[:limit] + "..."
    return "".join(text.parts)


def float_text(value: float, exact: bool = True) -> str:
    """A float, rounded to `DISPLAY_DIGITS` significant digits unless `exact`."""
    if exact or value != value or value in (float("inf"), float("-inf")):
        return repr(value)
    return repr(float(f"{value:.{DISPLAY_DIGITS}g}"))


def shape_text(shape: Sequence[int], style: str = "x") -> str:
    """A tensor shape: `3x224x224` (tables, the command line; `-` when it has no axes),
    `[3, 224, 224]` (messages, style "list") or `3×224×224` (diagrams, style "times")."""
    if style == "list":
        return "[" + ", ".join(str(d) for d in shape) + "]"
    if not shape:
        return "-"
    return ("\u00d7" if style == "times" else "x").join(str(d) for d in shape)


def call_text(block: str, args: Mapping[str, Any], omit: Mapping[str, Any] | None = None,
              exact: bool = True) -> str:
    """`bottleneck(width=64, s=2)`: a block call, leaving out the arguments `omit` gives with an
    equal value of the same type (a default the call did not change)."""
    omit = omit or {}
    shown = [f"{k}={value_text(v, exact=exact)}" for k, v in args.items()
             if not (k in omit and omit[k] == v and type(omit[k]) is type(v))]
    return f"{block}({', '.join(shown)})" if shown else block


def kind_text(value: Any, article: bool = False) -> str:
    """What a value is, in the language's words: `int`, `string`, `list`, `list of tensors`,
    `tensor`, `layer`, `shared module`, ...; with `article`, `an int`, `a shared module`."""
    kind = _kind(value)
    if not article:
        return kind
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def described(value: Any, limit: int | None = SHOWN) -> str:
    """A value in a message, its kind first: `int 3`, `list [1, 2]`, `list of tensors [c3, c4]`;
    a value the language defines as a class by its kind and name: `the tensor 'c3'`, `the
    shared module 'head'`, `the layer 'relu'`."""
    kind = getattr(type(value), "kind", None)
    if kind is None:
        return f"{_kind(value)} {value_text(value, limit)}"
    text = value_text(value, limit)
    return f"the {kind} '{text}'" if getattr(type(value), "named", True) else f"the {kind} {text}"


_KINDS = {bool: "bool", int: "int", float: "float", str: "string", type(None): "none"}


def _kind(value: Any) -> str:
    own = getattr(type(value), "kind", None)
    if own is not None:
        return own
    if isinstance(value, tuple):
        tensors = value and all(getattr(type(v), "kind", None) == "tensor" for v in value)
        return "list of tensors" if tensors else "list"
    for python, word in _KINDS.items():
        if isinstance(value, python):
            return word
    return "value"


class _Full(Exception):
    """The text of `value_text` reached its limit."""


class _Text:
    """The pieces of a value's text, and how long they are."""

    def __init__(self, limit: int | None, exact: bool):
        self.parts: list[str] = []
        self.length = 0
        self.limit = limit
        self.exact = exact

    def add(self, value: Any) -> None:
        if isinstance(value, tuple):
            self.put("[")
            for i, item in enumerate(value):
                if i:
                    self.put(", ")
                self.add(item)
            self.put("]")
        else:
            self.put(self.scalar(value))

    def scalar(self, value: Any) -> str:
        own = getattr(type(value), "notation", None)
        if own is not None:
            return own(value)
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            text = value if self.limit is None else value[:self.limit + 1]
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(value, float):
            return float_text(value, self.exact)
        if isinstance(value, int):
            return str(value)
        return _kind(value)  # a value that says nothing of itself: never a Python repr

    def put(self, piece: str) -> None:
        self.parts.append(piece)
        self.length += len(piece)
        if self.limit is not None and self.length > self.limit:
            raise _Full
