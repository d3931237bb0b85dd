"""Text -> syntax tree: the lark LALR parser, newline handling, and located syntax errors."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Iterator

import lark
from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from netdsl.errors import SOURCES, Diagnostic, NetdslError, Span
from netdsl.syntax import ast
from netdsl.syntax.transformer import ToAst

_GRAMMAR = Path(__file__).with_name("grammar.lark")
MAX_NESTING = 200

# A newline right after one of these continues the statement on the next line.
_CONTINUES_AFTER = {"", "{", "->", ",", "=", "+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", ">",
                    "<=", ">=", "and", "or", "not", ":"}
# A newline right before one of these continues the statement too.
_CONTINUES_BEFORE = {"->", "else", "elif"}
_OPEN = {"(": ")", "[": "]", "{": "}"}


class NewlineFilter:
    """Drops the newlines that do not end a statement, and bounds bracket nesting."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        parens = 0  # depth inside () and [], where newlines never matter
        depth = 0
        pending: Token | None = None
        previous = ""
        for tok in stream:
            if tok.type == "_NL":
                if parens == 0 and previous not in _CONTINUES_AFTER and pending is None \
                        and previous not in ("", "{"):
                    pending = tok
                continue
            if pending is not None:
                if tok.value not in _CONTINUES_BEFORE:
                    yield pending
                pending = None
            value = tok.value
            if value in _OPEN:
                depth += 1
                parens += value != "{"
                if depth > MAX_NESTING:
                    raise _nesting_error(tok)
            elif value in (")", "]", "}"):
                depth -= 1
                parens = max(parens - (value != "}"), 0)
            previous = value if tok.type not in ("STRING", "NAME", "NUMBER") else "<atom>"
            yield tok
        if pending is not None:
            yield pending


class _NestingError(Exception):
    def __init__(self, tok: Token):
        self.tok = tok


def _nesting_error(tok: Token) -> _NestingError:
    return _NestingError(tok)


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    return lark.Lark(
        _GRAMMAR.read_text(),
        start="module",
        parser="lalr",
        lexer="basic",  # the newline filter looks ahead, so the lexer must not depend on state
        postlex=NewlineFilter(),
        propagate_positions=True,
        maybe_placeholders=True,
        cache=True,
    )


def parse(text: str, path: str = "<string>") -> ast.Module:
    """Parse the text of a .net file; raise NetdslError with located diagnostics on failure."""
    SOURCES.add(path, text)
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise NetdslError(Diagnostic("the file contains a NUL byte: is it a binary file?",
                                     Span(path, line, 1, line, 2), "syntax"))
    try:
        tree = _parser().parse(text + "\n")
    except _NestingError as exc:
        raise NetdslError(Diagnostic(
            f"brackets nested more than {MAX_NESTING} deep", _token_span(exc.tok, path), "limit",
            help="split the expression or the body into named blocks")) from None
    except UnexpectedInput as exc:
        raise NetdslError(_syntax_diagnostic(exc, path)) from None
    except RecursionError:
        raise NetdslError(Diagnostic("the file is nested too deeply to parse", None, "limit"))
    try:
        return ToAst(path).transform_module(tree)
    except RecursionError:  # e.g. an expression of 20,000 terms: its tree is that deep
        raise NetdslError(Diagnostic("an expression is nested too deeply to parse", None,
                                     "limit", help="split it into named values")) from None


def _token_span(tok: Token, path: str) -> Span:
    line, col = tok.line or 1, tok.column or 1
    return Span(path, line, col, line, col + max(len(str(tok.value)), 1))


_EXPECTED_NAMES = {
    "RPAR": "')'", "RSQB": "']'", "RBRACE": "'}'", "LPAR": "'('", "LBRACE": "'{'",
    "COMMA": "','", "COLON": "':'", "EQUAL": "'='", "NAME": "a name", "NUMBER": "a number",
    "STRING": "a string", "_NL": "a new line", "$END": "end of file",
}


def _syntax_diagnostic(exc: UnexpectedInput, path: str) -> Diagnostic:
    line = getattr(exc, "line", 1) or 1
    col = getattr(exc, "column", 1) or 1
    if isinstance(exc, UnexpectedCharacters):
        char = exc.char if exc.char.isprintable() else repr(exc.char)
        return Diagnostic(f"unexpected character {char!r}", Span(path, line, col, line, col + 1),
                          "syntax", help=_char_help(exc.char))
    if isinstance(exc, UnexpectedEOF):
        return Diagnostic("unexpected end of file", None, "syntax",
                          help="a '}' or ')' may be missing")
    assert isinstance(exc, UnexpectedToken)
    tok = exc.token
    if tok.type == "$END":
        return Diagnostic("unexpected end of file: a '}' or ')' is missing", None, "syntax")
    shown = "end of line" if tok.type == "_NL" else repr(str(tok.value))
    span = _token_span(tok, path) if tok.type != "_NL" else Span(path, line, col, line, col + 1)
    expected = sorted({_EXPECTED_NAMES.get(e, e) for e in exc.expected if not e.startswith("__")})
    hint = "expected " + ", ".join(expected[:6]) if expected else None
    return Diagnostic(f"unexpected {shown}", span, "syntax", help=hint)


def _char_help(char: str) -> str | None:
    if char == "'":
        return "strings use double quotes"
    if char in "@$`?!":
        return f"'{char}' has no meaning in the language"
    return None
