"""Text -> syntax tree: lark's LALR parser over `SpecLexer`'s tokens; recovery after syntax errors.

lark compiles the grammar, with a custom lexer class and a transformer applied during the
parse, so the syntax tree is built as rules are reduced, without a parse tree or a second pass.
`lalr.Driver` walks lark's tables in a tighter loop; a text it stops on is parsed again by
lark's own parser, whose exception the syntax diagnostics read."""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path

import lark
from lark.exceptions import UnexpectedEOF, UnexpectedInput, UnexpectedToken

from netdsl.errors import SOURCES, Diagnostic, LineIndex, NetdslError, Span
from netdsl.limits import STEPS_HELP
from netdsl.syntax import ast
from netdsl.syntax.lalr import Driver
from netdsl.syntax.lexer import (
    BRACKETS,
    MAX_NESTING,
    NestingError,
    SpecLexer,
    TokenLimit,
    TooManyTokens,
    token_limit,
)
from netdsl.syntax.mistakes import syntax_diagnostic, token_span
from netdsl.syntax.transformer import ToAst

_GRAMMAR = Path(__file__).with_name("grammar.lark")
_TO_AST = ToAst()
_PARSING = threading.Lock()  # guards _TO_AST.path, the file being parsed


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    """lark's parser of the grammar: its terminals, LALR tables and error messages."""
    return lark.Lark(
        _GRAMMAR.read_text(),
        start="module",
        parser="lalr",
        lexer=SpecLexer,  # lark's terminals in one loop, with the newline filter folded in
        transformer=_TO_AST,  # build the AST during the parse: no parse tree, no second pass
        keep_all_tokens=True,  # so that spans include keywords and brackets
        maybe_placeholders=True,
        cache=True,
    )


@lru_cache(maxsize=1)
def _driver() -> Driver:
    return Driver(_parser(), "module")


@lru_cache(maxsize=1)
def spec_lexer() -> SpecLexer:
    """The parser's lexer, for callers that want its tokens without a parse (the formatter)."""
    return SpecLexer(_parser().lexer_conf)


def parse(text: str, path: str = "<string>", limit: TokenLimit | None = None) -> ast.Module:
    """Parse the text of a .net file; raise NetdslError with located diagnostics on failure.
    The parse reads at most `limit`'s tokens (by default, the default work budget's)."""
    limit = limit or TokenLimit()
    SOURCES.add(path, text)
    _refuse_unreadable(text, path)
    try:
        with _PARSING, token_limit(limit):
            _TO_AST.path = path
            return _parse_recovering(text, path, limit)
    except TooManyTokens as exc:
        raise NetdslError(Diagnostic(
            f"the spec is longer than the work budget allows ({limit.tokens:,} tokens)",
            token_span(exc.tok, path), "limit", help=STEPS_HELP)) from None
    except NestingError as exc:
        raise NetdslError(Diagnostic(
            f"brackets nested more than {MAX_NESTING} deep", token_span(exc.tok, path), "limit",
            help="split the expression or the body into named blocks")) from None
    except RecursionError:  # e.g. `- - - ... 1` 20,000 times: its tree is that deep
        raise NetdslError(Diagnostic("the file is nested too deeply to parse", Span.file(path),
                                     "limit", help="split expressions into named values")) from None


_UNREADABLE = re.compile("[\x00\ud800-\udfff]")


def _refuse_unreadable(text: str, path: str) -> None:
    """A NUL (a binary file) or a lone surrogate: the latter is no character, but what Python
    makes of a byte that is not UTF-8 in a command-line argument (`--set s="\\xff"`) or what a
    caller's string may hold; as a label or a name it cannot be written to any file."""
    found = _UNREADABLE.search(text)
    if found is None:
        return
    at = found.start()
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    message = ("the file contains a NUL byte: is it a binary file?" if found.group() == "\x00"
               else f"the text holds {found.group()!r}, a lone surrogate: no character, a byte "
                    f"that is not UTF-8")
    raise NetdslError(Diagnostic(message, Span(path, line, col, line, col + 1), "syntax"))


def _parse_recovering(text: str, path: str, limit: TokenLimit) -> ast.Module:
    """Parse; after a syntax error, blank out the line it is on and parse again, so that
    several independent mistakes are reported at once. Recovery stops at a line whose brackets
    do not balance (blanking it would only cause more errors), at the end of the file, and
    after `MAX_SYNTAX_ERRORS`."""
    source = text + "\n"
    errors: list[Diagnostic] = []
    blanked: set[int] = set()
    while True:
        try:
            module = _parse_once(source, limit)
        except UnexpectedInput as exc:
            errors.append(syntax_diagnostic(exc, path, text, spec_lexer()))
            line = _error_line(exc)
            if any(span and span.line != line for span, _ in errors[-1].notes):
                raise NetdslError(errors) from None  # a bracket open since an earlier line
            bounds = LineIndex(source).bounds(line) if line is not None else None
            start, end = bounds or (0, 0)
            if (start == end or line in blanked or len(errors) >= MAX_SYNTAX_ERRORS
                    or not _balanced(source[start:end])):
                raise NetdslError(errors) from None  # (blanking an empty line changes nothing)
            blanked.add(line)
            source = source[:start] + source[end:]
            continue
        if errors:
            raise NetdslError(errors)
        return module


MAX_SYNTAX_ERRORS = 10


def _parse_once(text: str, limit: TokenLimit) -> ast.Module:
    """Parse with the fast loop; where it stops at a syntax error, parse again with lark's
    parser (the tokens read the first time given back), which raises lark's exception."""
    left = limit.left
    try:
        module = _driver().run(spec_lexer().tokens(text))
    except UnexpectedInput:  # a character no token can start: lark's lexer state is wanted
        module = None
    if module is None:
        limit.left = left
        module = _parser().parse(text)
    return module


def _error_line(exc: UnexpectedInput) -> int | None:
    if isinstance(exc, UnexpectedEOF):
        return None
    if isinstance(exc, UnexpectedToken):
        if exc.token.type == "$END":
            return None
        if exc.token.type == "_NL":  # the statement before the newline is incomplete
            return exc.token.line
    return getattr(exc, "line", None)


def _balanced(line: str) -> bool:
    code = re.sub(r'"([^"\\]|\\.)*"|#.*', "", line)
    return all(code.count(a) == code.count(b) for a, b in BRACKETS.items())
