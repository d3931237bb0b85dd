"""Text -> syntax tree: lark's LALR tables over `SpecLexer`'s tokens, and located syntax errors.

lark builds the tables and the error information; the loop that runs them is ours because
lark's general one (asserts, attribute look-ups and a rule comparison per step) took a third
of `netdsl.load(...).stats()` on EfficientNet-B0; this one takes a quarter of that."""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import lark
from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import LexerState
from lark.parsers.lalr_analysis import Shift
from lark.utils import TextSlice

from netdsl.errors import SOURCES, Diagnostic, NetdslError, Span
from netdsl.gc_pause import paused_gc
from netdsl.limits import MAX_STEPS, STEPS_HELP, TOKEN_STEPS
from netdsl.syntax import ast
from netdsl.syntax.lexer import BRACKETS, MAX_NESTING, NestingError, SpecLexer
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


class _Tables:
    """lark's LALR tables in the form the loop in `run` reads fastest: per state, per token
    type, either the next state (a shift, an int) or a reduction (rule length, rule name,
    callback). Built once, like the tables themselves."""

    def __init__(self, lark_parser: lark.Lark):
        frontend = lark_parser.parser
        lalr = frontend.parser.parser
        table = lalr.parse_table
        self.lexer = frontend.lexer
        self.start = table.start_states["module"]
        self.end = table.end_states["module"]
        self.raw = table.states
        reductions: dict = {}
        self.actions: dict = {}
        for state, row in table.states.items():
            self.actions[state] = actions = {}
            for kind, (action, arg) in row.items():
                if action is Shift:
                    actions[kind] = arg
                    continue
                if arg not in reductions:
                    reductions[arg] = (len(arg.expansion), arg.origin.name, lalr.callbacks[arg])
                actions[kind] = reductions[arg]
        if any(isinstance(key, str) for key in lalr.callbacks):
            raise ValueError("the LALR loop applies no terminal callbacks")

    def run(self, text: str, limit: TokenLimit) -> ast.Module:
        """Lex and parse `text`, spending `limit`; raise lark's UnexpectedToken or
        UnexpectedCharacters, or TooManyTokens."""
        actions, states, values = self.actions, [self.start], []
        token = None
        left = limit.left
        try:
            for token in self.lexer.lex(LexerState(TextSlice.cast_from(text)), None):
                left -= 1
                if left < 0:
                    raise TooManyTokens(token)
                self._feed(token, actions, states, values)
        finally:
            limit.left = max(left, 0)
        end = Token.new_borrow_pos("$END", "", token) if token else Token("$END", "", 0, 1, 1)
        return self._feed(end, actions, states, values)

    def _feed(self, token: Token, actions: dict, states: list, values: list) -> Any:
        """Reduce as far as the token allows, then shift it; at the end marker, reduce to the
        module and return it."""
        kind = token.type
        while True:
            try:
                arg = actions[states[-1]][kind]
            except KeyError:
                expected = {s for s in self.raw[states[-1]] if s.isupper()}
                raise UnexpectedToken(token, expected) from None
            if type(arg) is int:
                states.append(arg)
                values.append(token)
                return None
            size, origin, callback = arg
            if size:
                children = values[-size:]
                del states[-size:], values[-size:]
            else:
                children = []
            states.append(actions[states[-1]][origin])
            values.append(callback(children))
            if kind == "$END" and states[-1] == self.end:
                return values[-1]


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    return _Tables(_parser())


class TokenLimit:
    """The tokens a parse may still read: the work budget's share for parsing (a token costs
    `TOKEN_STEPS` steps), spent by every parse of a load, retries after errors included."""

    def __init__(self, tokens: int = MAX_STEPS // TOKEN_STEPS):
        self.tokens = self.left = tokens


class TooManyTokens(Exception):
    """The parse read all the tokens its `TokenLimit` allowed; `tok` is the next one."""

    def __init__(self, tok: Token):
        super().__init__(tok)
        self.tok = tok


def parse(text: str, path: str = "<string>", limit: TokenLimit | None = None) -> ast.Module:
    """Parse the text of a .net file; raise NetdslError with located diagnostics on failure.
    The parse reads at most `limit`'s tokens (by default, the default work budget's)."""
    limit = limit or TokenLimit()
    SOURCES.add(path, text)
    if "\x00" in text:
        at = text.index("\x00")
        line = text[:at].count("\n") + 1
        col = at - (text.rfind("\n", 0, at) + 1) + 1
        raise NetdslError(Diagnostic("the file contains a NUL byte: is it a binary file?",
                                     Span(path, line, col, line, col + 1), "syntax"))
    try:
        with _PARSING, paused_gc():
            _TO_AST.path = path
            return _parse_recovering(text, path, limit)
    except TooManyTokens as exc:
        raise NetdslError(Diagnostic(
            f"the spec is longer than the work budget allows ({limit.tokens:,} tokens)",
            _token_span(exc.tok, path), "limit", help=STEPS_HELP)) from None
    except NestingError as exc:
        raise NetdslError(Diagnostic(
            f"brackets nested more than {MAX_NESTING} deep", _token_span(exc.tok, path), "limit",
            help="split the expression or the body into named blocks")) from None
    except RecursionError:  # e.g. `- - - ... 1` 20,000 times: its tree is that deep
        raise NetdslError(Diagnostic("the file is nested too deeply to parse", Span.file(path),
                                     "limit", help="split expressions into named values")) from None


def _parse_recovering(text: str, path: str, limit: TokenLimit) -> ast.Module:
    """Parse; after a syntax error, blank out the line it is on and parse again, so that
    several independent mistakes are reported at once. Recovery stops at a line whose brackets
    do not balance (blanking it would only cause more errors), at the end of the file, and
    after `MAX_SYNTAX_ERRORS`."""
    lines = (text + "\n").split("\n")
    errors: list[Diagnostic] = []
    blanked: set[int] = set()
    while True:
        try:
            module = _tables().run("\n".join(lines), limit)
        except UnexpectedInput as exc:
            errors.append(_syntax_diagnostic(exc, path, text))
            line = _error_line(exc)
            if any(span and span.line != line for span, _ in errors[-1].notes):
                raise NetdslError(errors) from None  # a bracket open since an earlier line
            if (line is None or line in blanked or len(errors) >= MAX_SYNTAX_ERRORS
                    or not 1 <= line <= len(lines) or not _balanced(lines[line - 1])):
                raise NetdslError(errors) from None
            blanked.add(line)
            lines[line - 1] = ""
            continue
        if errors:
            raise NetdslError(errors)
        return module


MAX_SYNTAX_ERRORS = 10


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
    code = re.sub(r'"[^"\\]*(?:\\.[^"\\]*)*"|#.*', "", line)
    return all(code.count(a) == code.count(b) for a, b in BRACKETS.items())


def _token_span(tok: Token, path: str) -> Span:
    line, col = tok.line or 1, tok.column or 1
    return Span(path, line, col, line, col + max(len(str(tok.value)), 1))


_EXPECTED_NAMES = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "_NL": "a new line",
    "$END": "the end of the file", "__ANON_0": "'->'", "COMP_OP": "a comparison",
    "ADD_OP": "'+' or '-'", "MUL_OP": "'*', '/', '//' or '%'", "POW_OP": "'**'",
}
# Tokens that can start an expression; when most are possible, say "an expression".
_EXPRESSION_START = {"NAME", "NUMBER", "STRING", "LPAR", "LSQB", "LBRACE", "ADD_OP", "TRUE",
                     "FALSE", "IN", "OUTPUT", "FROM", "NOT"}


def _expected(names: set[str]) -> str | None:
    names = {n for n in names if not n.startswith("__IGNORE")}
    shown: list[str] = []
    if len(names & _EXPRESSION_START) >= 6:
        names -= _EXPRESSION_START
        shown.append("an expression")
    literals = {t.name: t.pattern.value for t in _parser().terminals
                if isinstance(t.pattern, lark.lexer.PatternStr)}
    shown += sorted(_EXPECTED_NAMES.get(n) or f"'{literals.get(n, n.lower())}'" for n in names)
    if not shown:
        return None
    if len(shown) > 7:
        shown = shown[:7] + ["..."]
    return "expected " + ", ".join(shown)


def _syntax_diagnostic(exc: UnexpectedInput, path: str, text: str) -> Diagnostic:
    line = getattr(exc, "line", 1) or 1
    col = getattr(exc, "column", 1) or 1
    if isinstance(exc, UnexpectedCharacters):
        char = exc.char if exc.char.isprintable() else repr(exc.char)
        if exc.char == '"':
            return Diagnostic("a string is not closed on its line",
                              Span(path, line, col, line, col + 1), "syntax",
                              help='end it with "')
        return Diagnostic(f"unexpected character {char!r}", Span(path, line, col, line, col + 1),
                          "syntax", help=_char_help(exc.char))
    tok = getattr(exc, "token", None)
    if isinstance(exc, UnexpectedEOF) or tok is None or tok.type == "$END":
        return _eof_diagnostic(text, path)
    shown = "end of line" if tok.type == "_NL" else repr(str(tok.value))
    span = _token_span(tok, path) if tok.type != "_NL" else Span(path, line, col, line, col + 1)
    hint = _expected(set(exc.expected))
    opener = _unclosed(_text_before(text, line, col))
    notes: list[tuple[Span | None, str]] = []
    if opener is not None and opener[2] != "{" and tok.value not in (")", "]", "}"):
        o_line, o_col, char = opener
        where = Span(path, o_line, o_col, o_line, o_col + 1)
        if o_line != line:
            notes.append((where, f"the '{char}' at {where} is still open"))
        hint = f"a ',' or '{BRACKETS[char]}' may be missing"
    elif tok.value in ("else", "elif"):
        hint = f"'{tok.value}' must follow the closing '}}' of an 'if' or 'elif' body"
    elif tok.type in ("NAME", "NUMBER", "STRING") and "_NL" in exc.expected:
        hint = "a new line or ';' may be missing before it"
    return Diagnostic(f"unexpected {shown}", span, "syntax", notes=notes, help=hint)


def _text_before(text: str, line: int, col: int) -> str:
    lines = text.split("\n")
    return "\n".join(lines[:line - 1] + [lines[line - 1][:col - 1] if line <= len(lines) else ""])


def _eof_diagnostic(text: str, path: str) -> Diagnostic:
    """The file ended inside brackets: point at the innermost one left open."""
    opener = _unclosed(text)
    if opener is None:
        lines = text.splitlines() or [""]
        n = len(lines)
        end = len(lines[-1]) + 1
        return Diagnostic("unexpected end of file: the last statement is incomplete",
                          Span(path, n, end, n, end + 1), "syntax")
    line, col, char = opener
    return Diagnostic(f"unexpected end of file: this '{char}' is never closed",
                      Span(path, line, col, line, col + 1), "syntax",
                      help=f"add a '{BRACKETS[char]}'")


def _unclosed(text: str) -> tuple[int, int, str] | None:
    stack: list[tuple[int, int, str]] = []
    code = re.sub(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|#[^\n]*', lambda m: " " * len(m.group()), text)
    line, col = 1, 1
    for ch in code:
        if ch in BRACKETS:
            stack.append((line, col, ch))
        elif ch in ")]}" and stack:
            stack.pop()
        if ch == "\n":
            line, col = line + 1, 1
        else:
            col += 1
    return stack[-1] if stack else None


def _char_help(char: str) -> str | None:
    if char == "'":
        return "strings use double quotes"
    if char in "@$`?!":
        return f"'{char}' has no meaning in the language"
    return None
