"""`netdsl fmt`: the canonical layout of a .net file.

The formatter works on tokens, not on the syntax tree, so it keeps every comment and the
author's line breaks and can only change whitespace: indentation (4 spaces per open brace;
continuation lines inside brackets align after the bracket, as in the specs), spaces between
tokens (`a -> b`, `k=v` in calls, `x: int = 1` in parameter lists, `a + b`), at most one blank
line, no trailing spaces, one final newline. It reads the parser's own tokens (whitespace,
comments and newlines included, see `SpecLexer.layout`), so the same tokens in the same lines
mean the same program; `format_source` re-lexes its own output and fails loudly if the tokens
ever differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lark import Token

from netdsl.limits import MAX_STEPS, TOKEN_STEPS
from netdsl.syntax.lexer import BRACKETS
from netdsl.syntax.parser import TokenLimit, parse, spec_lexer

INDENT = 4
_CLOSERS = frozenset(BRACKETS.values())
_BINARY = {"ADD_OP", "MUL_OP", "POW_OP", "COMP_OP", "__ANON_0", "AND", "OR", "EQUAL"}
_COMPOUND = {"AND", "OR", "NOT"}
# After these a '+' or '-' is a sign, not a subtraction.
_BEFORE_UNARY = {"ADD_OP", "MUL_OP", "POW_OP", "COMP_OP", "__ANON_0", "EQUAL", "COMMA", "COLON",
                 "LPAR", "LSQB", "LBRACE", "IF", "ELIF", "ELSE", "IN", "NOT", "AND", "OR",
                 "EXPECT", "_NL", None}

# A `[` right after one of these is an index or a slice, not a list.
_SUBSCRIPTED = {"NAME", "CALLED_NAME", "STRING", "RPAR", "RSQB", "PATH_INDEX"}


@dataclass
class _Open:
    """An open bracket: the column its contents align to, and whether `=` inside is spaced."""

    char: str
    indent: int  # column of the lines inside
    spaced_equals: bool
    closer_indent: int  # column of a closing bracket that starts a line
    statement: int  # the enclosing statement's column, restored when the bracket closes
    subscript: bool = False  # `[` of an index or a slice: `levels[1:]`, no space after `:`


def format_source(text: str, path: str = "<string>", max_steps: int = MAX_STEPS) -> str:
    """The canonical text of a spec; raises NetdslError if it does not parse, or if it is
    longer than `max_steps` of work pay for: the tokens loading accepts (formatting lexes them
    a few times more, in linear time), so that whatever `netdsl check` reads can be formatted."""
    parse(text, path, TokenLimit(max_steps // TOKEN_STEPS))  # valid specs only
    text = text.replace("\r\n", "\n")  # the canonical file has Unix line ends
    out = _Layout().run(_lines(text))
    if _significant(out) != _significant(text) or _parsed(out) != _parsed(text):
        raise AssertionError(f"formatting {path} changed its tokens")  # a formatter bug
    return out


def _parsed(text: str) -> list[tuple[str, str]]:
    """The tokens the parser reads, the newlines that end statements included, of `text`
    ended by a newline as the parser reads it (a file need not end with one)."""
    return [(t.type, t.value if t.type != "_NL" else "")
            for t in spec_lexer().tokens(text if text.endswith("\n") else text + "\n")]


def _significant(text: str) -> list[tuple[str, str]]:
    return [(t.type, t.value.rstrip() if t.type == "COMMENT" else t.value)
            for t in spec_lexer().layout(text + "\n")
            if not t.type.startswith("__IGNORE") and t.type != "_NL"]


def _lines(text: str) -> list[tuple[list[Token], int, bool]]:
    """Tokens of each physical line, the blank lines before it, and whether it ends with a
    backslash continuation."""
    lines: list[tuple[list[Token], int, bool]] = []
    current: list[Token] = []
    blanks = 0
    for tok in spec_lexer().layout(text + "\n"):
        if tok.type == "__IGNORE_1":  # backslash-newline
            lines.append((current, blanks, True))
            current, blanks = [], 0
        elif tok.type == "_NL":
            parts = tok.value.replace("\r", "").split(";")
            for i, part in enumerate(parts):
                if i:  # a ';' stays on its line
                    current.append(Token("SEMI", ";"))
                newlines = part.count("\n")
                if newlines:
                    lines.append((current, blanks, False))
                    current, blanks = [], min(newlines - 1, 1)
        elif tok.type.startswith("__IGNORE"):
            if current and current[-1].type != "WS":
                current.append(Token("WS", tok.value))
        else:
            current.append(tok)
    if current:
        lines.append((current, blanks, False))
    return lines


class _Layout:
    """Lays out lines of tokens, tracking open brackets across lines."""

    def __init__(self) -> None:
        self.stack: list[_Open] = []
        self.out: list[str] = []
        self.statement = 0  # column where the current statement starts
        self.spaced_equals = True  # whether the last '=' seen takes spaces
        self.last: list[Token] = []  # the last two significant tokens laid out

    def run(self, lines: list[tuple[list[Token], int, bool]]) -> str:
        continued = False
        previous_line_ends_arrow = False
        for tokens, blanks, backslash in lines:
            words = [t for t in tokens if t.type != "WS"]
            if not words and (backslash or continued):
                continue  # an empty line inside a backslash continuation: it goes on
            if not words:
                if self.out and self.out[-1] != "":
                    self.out.append("")
                continue
            if blanks and self.out and self.out[-1] != "":
                self.out.append("")
            continuation = continued or previous_line_ends_arrow
            carry = self.last if continuation or self._in_brackets() else []
            indent = self._indent(words[0], continuation)
            if not continuation and not self._in_brackets() and words[0].value not in _CLOSERS:
                self.statement = indent
            line = self._line(tokens, indent, carry).rstrip()
            self.out.append(line + " \\" if backslash else line)
            continued = backslash
            code = [t for t in words if t.type != "COMMENT"]
            previous_line_ends_arrow = bool(code) and code[-1].type in _BINARY | {"COMMA"} \
                and not self._in_brackets()
        while self.out and self.out[0] == "":
            self.out.pop(0)
        while self.out and self.out[-1] == "":
            self.out.pop()
        return "\n".join(self.out) + "\n" if self.out else ""

    def _in_brackets(self) -> bool:
        return bool(self.stack) and self.stack[-1].char != "{"

    def _indent(self, first: Token, continuation: bool) -> int:
        if not self.stack:
            base = 0
        elif first.value in _CLOSERS:
            base = self.stack[-1].closer_indent
        else:
            base = self.stack[-1].indent
        if continuation or (first.type == "__ANON_0" and not self._in_brackets()):
            base += INDENT
        return base

    def _line(self, tokens: list[Token], indent: int, carry: list[Token]) -> str:
        text = " " * indent
        seen: list[Token] = list(carry)  # significant tokens so far (a continued line: with
        start = len(seen)  # the previous line's last ones, so a '-' there stays binary)
        gap = ""
        code = [k for k, t in enumerate(tokens) if t.type not in ("WS", "COMMENT")]
        last = code[-1] if code else -1  # a bracket there ends the line's code: it is trailing
        for i, tok in enumerate(tokens):
            if tok.type == "WS":
                gap = tok.value
                continue
            if tok.type == "COMMENT":
                sep = "" if not seen else (gap if len(gap) >= 2 else "  ")
                text += sep + tok.value.rstrip()
                gap = ""
                continue
            if tok.type == "EQUAL":
                self.spaced_equals = self._spaced_equals(tokens[k] for k in
                                                         range(i + 1, len(tokens)))
            if len(seen) > start and self._space(seen, tok):
                text += " "
            if tok.value in _CLOSERS and self.stack:
                self.statement = self.stack.pop().statement
            if tok.type == "SEMI" or (seen and seen[-1].type == "SEMI"):
                self.statement = len(text)
            text += tok.value
            if tok.value in BRACKETS:
                self._open(tok, i == last, len(text), seen)
            seen.append(tok)
            gap = ""
        self.last = seen[-2:]
        return text

    def _open(self, tok: Token, trailing: bool, column: int, seen: list[Token]) -> None:
        """Open a bracket; `trailing`: nothing but comments follows it on its line. (Slicing
        the rest of the line per bracket made a line of 20,000 brackets take minutes.)"""
        inner = self.statement + INDENT if trailing else column + (1 if tok.value == "{" else 0)
        header = (tok.value == "(" and len(seen) >= 2 and seen[-1].type == "NAME"
                  and seen[-2].type in ("BLOCK", "NETWORK", "DEF"))
        subscript = tok.value == "[" and bool(seen) and seen[-1].type in _SUBSCRIPTED
        self.stack.append(_Open(tok.value, inner, header, self.statement, self.statement,
                                subscript))
        if tok.value == "{":
            self.statement = inner

    def _spaced_equals(self, rest: Iterable[Token]) -> bool:
        """`=` is spaced outside calls, in parameter lists, and before a keyword argument
        whose value is a compound expression (`when = s == 1 and in.c == out`)."""
        top = self.stack[-1] if self.stack else None
        if top is None or top.char != "(" or top.spaced_equals:
            return True
        depth = 0
        for tok in rest:
            if tok.value in BRACKETS:
                depth += 1
            elif tok.value in _CLOSERS:
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and tok.type == "COMMA":
                break
            elif depth == 0 and tok.type in _COMPOUND:
                return True
        return False

    def _space(self, seen: list[Token], tok: Token) -> bool:
        prev = seen[-1]
        p, t = prev.type, tok.type
        if p == "NUMBER" and t == "DOT":  # `2 .c`: without the space, `2.c` lexes as `2.` `c`
            return True
        if p in ("LPAR", "LSQB", "DOT") or t in ("RPAR", "RSQB", "COMMA", "COLON", "DOT", "SEMI"):
            return False
        if p == "COLON" and self.stack and self.stack[-1].subscript:  # a slice: `[1:n]`
            return False
        if t == "EQUAL" or p == "EQUAL":
            return self.spaced_equals
        if t == "LPAR":
            return p != "NAME"
        if t == "LSQB":
            return p not in _SUBSCRIPTED
        if p == "ADD_OP":  # a sign binds to its operand
            before = seen[-2].type if len(seen) >= 2 else None
            return before not in _BEFORE_UNARY
        return True
