"""Syntax errors as located messages: what was unexpected, where, and a help line.

The help comes from a short table of common mistakes (a keyword used as a label, a ':' missing
after a quoted label, a conditional iterable in a comprehension, an empty argument, a missing
',' or newline); otherwise it lists what the grammar expected there, in words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from netdsl.errors import Diagnostic, LineIndex, Span
from netdsl.syntax.lexer import BRACKETS, SpecLexer

_CLOSER_TYPES = {"RPAR": "(", "RSQB": "[", "RBRACE": "{"}
_EXPECTED_NAMES = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "_NL": "a new line",
    "$END": "the end of the file", "__ANON_0": "'->'", "COMP_OP": "a comparison",
    "ADD_OP": "'+' or '-'", "MUL_OP": "'*', '/', '//' or '%'", "POW_OP": "'**'",
    "PATH_INDEX": "a layer number",
}
# Tokens that can start an expression; when most are possible, say "an expression".
_EXPRESSION_START = {"NAME", "NUMBER", "STRING", "LPAR", "LSQB", "LBRACE", "ADD_OP", "TRUE",
                     "FALSE", "IN", "OUTPUT", "FROM", "NOT", "CALLED_NAME"}
# Keywords that can only start a statement; when all are possible, say "a statement".
_STATEMENT_START = {"INPUT", "EXPECT", "DEF", "IF", "FOR", "SHARED"}
# What may follow an operand; when all binary operators are possible, say "an operator".
_BINARY = {"ADD_OP", "MUL_OP", "POW_OP", "COMP_OP", "AND", "OR"}
_AFTER_OPERAND = _BINARY | {"DOT", "LSQB"}
MAX_SHOWN = 7


@dataclass
class _Opener:
    """A bracket still open where the parser stopped."""

    line: int
    col: int
    char: str
    inside: str  # the code after it, strings and comments blanked


@dataclass
class _Mistake:
    """Where the parser stopped: the material the table of common mistakes reads."""

    token: Token
    expected: set[str]
    opener: _Opener | None
    previous: Token | None  # the token before, on the same line
    after: str  # the rest of the line after the token
    lexer: SpecLexer


def syntax_diagnostic(exc: UnexpectedInput, path: str, text: str,
                      lexer: SpecLexer) -> Diagnostic:
    """The message for one syntax error that lark raised while parsing `text`."""
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
    span = token_span(tok, path) if tok.type != "_NL" else Span(path, line, col, line, col + 1)
    bounds = LineIndex(text).bounds(line)
    current = text[bounds[0]:bounds[1]] if bounds else ""
    opener = _unclosed((text[:bounds[0]] if bounds else text + "\n") + current[:col - 1])
    mistake = _Mistake(tok, set(exc.expected), opener, _previous(lexer, current[:col - 1]),
                       current[col - 1 + len(tok.value):], lexer)
    notes: list[tuple[Span | None, str]] = []
    if _bracket_unfinished(mistake):
        where = Span(path, opener.line, opener.col, opener.line, opener.col + 1)
        if opener.line != line:
            notes.append((where, f"the '{opener.char}' at {where} is still open"))
    hint = next(filter(None, (rule(mistake) for rule in _COMMON_MISTAKES)), None)
    return Diagnostic(f"unexpected {shown}", span, "syntax", notes=notes,
                      help=hint or _expected(mistake))


def token_span(tok: Token, path: str) -> Span:
    line, col = tok.line or 1, tok.column or 1
    return Span(path, line, col, line, col + max(len(str(tok.value)), 1))


# ---------------------------------------------------------------- the table of common mistakes


def _bracket_unfinished(m: _Mistake) -> bool:
    """Inside `(` or `[`, where a ',' could come: the list goes on or the bracket is not
    closed (`conv(8 3)`, `[3, 224` then a new line)."""
    return (m.opener is not None and m.opener.char != "{" and "COMMA" in m.expected
            and m.token.value not in BRACKETS.values())


def _missing_comma(m: _Mistake) -> str | None:
    if _bracket_unfinished(m):
        return f"a ',' or '{BRACKETS[m.opener.char]}' may be missing"
    return None


def _conditional_iterable(m: _Mistake) -> str | None:
    """`[a for x in ys if c else zs]`: the `if` was read as the comprehension's filter."""
    if (m.token.value == "else" and m.opener is not None and m.opener.char == "["
            and re.search(r"\bfor\b", _top_level(m.opener.inside))):
        return ("a comprehension's 'if' filters its items: put a conditional iterable in "
                "parentheses, `in (a if c else b)`")
    return None


def _else_without_if(m: _Mistake) -> str | None:
    if m.token.value in ("else", "elif"):
        return f"'{m.token.value}' must follow the closing '}}' of an 'if' or 'elif' body"
    return None


def _keyword_as_name(m: _Mistake) -> str | None:
    """`network: relu`, `shared: conv(8, 3)`, `for in in xs`: a keyword where a name goes."""
    keywords = m.lexer.keywords
    if m.token.type == "COLON":  # `shared: ...`: the keyword was read, the ':' is unexpected
        word = m.previous.value if m.previous is not None else ""
        return _quote_label(word) if word in keywords else None
    word = m.token.value
    if word not in keywords:
        return None
    if m.after.lstrip().startswith(":"):
        return _quote_label(word)
    if m.expected == {"NAME"}:
        return f"'{word}' is a keyword, not a name"
    return None


def _quote_label(word: str) -> str:
    return f"'{word}' is a keyword: quote a label that is one (\"{word}\": ...)"


def _label_without_colon(m: _Mistake) -> str | None:
    """`"block1-0" conv(8, 3)`: a quoted label without its ':'."""
    if m.previous is not None and m.previous.type == "STRING" and "COLON" in m.expected \
            and m.token.type in ("NAME", "STRING", "NUMBER", "LBRACE"):
        return "a ':' may be missing after the label"
    return None


def _missing_newline(m: _Mistake) -> str | None:
    if m.token.type in ("NAME", "NUMBER", "STRING") and "_NL" in m.expected:
        return "a new line or ';' may be missing before it"
    return None


def _empty_item(m: _Mistake) -> str | None:
    """`conv(8, , 3)`, `[1, , 2]`: nothing between two commas."""
    if m.token.type == "COMMA" and m.previous is not None \
            and m.previous.type in ("COMMA", "LPAR", "LSQB"):
        return "a value is missing before this ','"
    return None


_COMMON_MISTAKES: tuple[Callable[[_Mistake], str | None], ...] = (
    _missing_comma, _conditional_iterable, _else_without_if, _keyword_as_name,
    _label_without_colon, _missing_newline, _empty_item,
)


# ---------------------------------------------------------------- what the grammar expected


def _expected(m: _Mistake) -> str | None:
    """The expected tokens in words, without a closing bracket that closes nothing open (the
    LALR tables merge states, so their lists can name one)."""
    innermost = m.opener.char if m.opener is not None else None
    names = {n for n in m.expected if not n.startswith("__IGNORE")
             and _CLOSER_TYPES.get(n, innermost) == innermost}
    if "NAME" in names:  # `head#2` is a name too
        names.discard("CALLED_NAME")
    shown: list[str] = []
    if len(names & _EXPRESSION_START) >= 6:
        if names >= _STATEMENT_START:
            names -= _STATEMENT_START
            shown.append("a statement")
        else:
            shown.append("an expression")
        names -= _EXPRESSION_START
    if names >= _BINARY:
        names -= _AFTER_OPERAND
        shown.append("an operator")
    literals = m.lexer.literals
    shown += sorted(_EXPECTED_NAMES.get(n) or f"'{literals.get(n, n.lower())}'" for n in names)
    if not shown:
        return None
    if len(shown) > MAX_SHOWN:
        shown = shown[:MAX_SHOWN] + ["..."]
    return "expected " + ", ".join(shown)


# ---------------------------------------------------------------- reading the text


def _previous(lexer: SpecLexer, prefix: str) -> Token | None:
    """The last token of a line's text before the error, if that text lexes."""
    try:
        tokens = [t for t in lexer.layout(prefix)
                  if not t.type.startswith("__IGNORE") and t.type != "COMMENT"]
    except UnexpectedCharacters:
        return None
    return tokens[-1] if tokens else None


def _eof_diagnostic(text: str, path: str) -> Diagnostic:
    """The file ended inside brackets: point at the innermost one left open."""
    opener = _unclosed(text)
    if opener is None:
        lines = text.splitlines() or [""]
        n = len(lines)
        end = len(lines[-1]) + 1
        return Diagnostic("unexpected end of file: the last statement is incomplete",
                          Span(path, n, end, n, end + 1), "syntax")
    return Diagnostic(f"unexpected end of file: this '{opener.char}' is never closed",
                      Span(path, opener.line, opener.col, opener.line, opener.col + 1),
                      "syntax", help=f"add a '{BRACKETS[opener.char]}'")


def _unclosed(text: str) -> _Opener | None:
    """The innermost bracket `text` leaves open (strings and comments skipped)."""
    stack: list[int] = []
    code = re.sub(r'"([^"\\\n]|\\.)*"|#[^\n]*', lambda m: " " * len(m.group()), text)
    for bracket in _BRACKET.finditer(code):  # the brackets alone: a file may be 50 MB
        if bracket.group() in BRACKETS:
            stack.append(bracket.start())
        elif stack:
            stack.pop()
    if not stack:
        return None
    at = stack[-1]
    line, col = code.count("\n", 0, at) + 1, at - code.rfind("\n", 0, at)
    return _Opener(line, col, code[at], code[at + 1:])


_BRACKET = re.compile(r"[()\[\]{}]")


_CLOSED_GROUP = re.compile(r"\([^()\[\]{}]*\)|\[[^()\[\]{}]*\]|\{[^()\[\]{}]*\}")


def _top_level(code: str) -> str:
    """`code` without what the brackets it opens and closes hold."""
    previous = None
    while previous != code:
        previous, code = code, _CLOSED_GROUP.sub(" ", code)
    return code


def _char_help(char: str) -> str | None:
    if char == "'":
        return "strings use double quotes"
    if char in "@$`?!":
        return f"'{char}' has no meaning in the language"
    return None
