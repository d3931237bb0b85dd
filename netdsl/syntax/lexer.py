"""Text -> tokens for the LALR parser: lark's terminals, matched in one tight loop.

lark's basic lexer re-checks every NAME against the keyword regex, counts lines through a helper
object and builds each token through two constructors; on a spec that is half of the parse.
This lexer takes the same terminals in lark's own order of precedence (so it accepts exactly the
same language), turns keywords into a dictionary lookup, and folds in the newline filter: a
newline ends a statement unless the statement plainly continues (see `grammar.lark`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lark.exceptions import UnexpectedCharacters
from lark.lexer import BasicLexer, LexerState, Token

MAX_NESTING = 200

# A newline right after one of these continues the statement on the next line.
_CONTINUES_AFTER = frozenset({"", "{", "->", ",", "=", "+", "-", "*", "/", "//", "%", "**", "==",
                              "!=", "<", ">", "<=", ">=", "and", "or", "not", ":"})
# A newline right before one of these continues the statement too.
_CONTINUES_BEFORE = frozenset({"->", "else", "elif"})
BRACKETS = {"(": ")", "[": "]", "{": "}"}
_OPENERS = frozenset(BRACKETS)
_CLOSERS = frozenset(BRACKETS.values())
_ATOMS = frozenset({"STRING", "NAME", "NUMBER"})


class NestingError(Exception):
    """Brackets nested deeper than `MAX_NESTING`; the parser reports it at `tok`."""

    def __init__(self, tok: Token):
        super().__init__(tok)
        self.tok = tok


class SpecLexer(BasicLexer):
    """lark's terminals and precedence, one master regex, keywords by lookup, newlines filtered."""

    __future_interface__ = 2  # lark passes (lexer_state, parser_state) to `lex`

    def __init__(self, conf: Any, comparator: Any = None) -> None:
        super().__init__(conf, comparator)
        if conf.callbacks:
            raise ValueError("SpecLexer applies no terminal callbacks")
        patterns = [t for t in self.terminals if t.pattern.type == "re"]
        self._keywords: dict[str, str] = {}
        kept = []
        for t in self.terminals:
            value = t.pattern.value
            if t.pattern.type == "str" and any(re.fullmatch(n.pattern.to_regexp(), value)
                                               for n in patterns):
                self._keywords[value] = t.name
            else:
                kept.append(t)
        pattern = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in kept)
        self._match = re.compile(pattern, conf.g_regex_flags).match

    def lex(self, state: LexerState, parser_state: Any) -> Iterator[Token]:
        text = state.text.text
        match, keywords, ignore, multiline = (self._match, self._keywords, self.ignore_types,
                                              self.newline_types)
        new = str.__new__
        pos, end, line, line_start = 0, len(text), 1, 0
        depth = 0  # open brackets of every kind
        parens = 0  # open () and [], inside which newlines never matter
        pending: Token | None = None  # a newline that ends the statement unless what follows
        previous = ""  # continues it; the last token's text, or "<atom>" for a name or literal
        while pos < end:
            m = match(text, pos)
            if m is None:
                raise UnexpectedCharacters(text, pos, line, pos - line_start + 1,
                                           allowed=self.scanner.allowed_types - ignore,
                                           state=parser_state,
                                           terminals_by_name=self.terminals_by_name)
            value = m.group()
            kind = m.lastgroup
            if kind == "NAME":
                kind = keywords.get(value, kind)
            start, column, start_line = pos, pos - line_start + 1, line
            pos = m.end()
            if kind in multiline and "\n" in value:
                line += value.count("\n")
                line_start = start + value.rindex("\n") + 1
            if kind in ignore:
                continue
            tok = new(Token, value)
            tok.type, tok.value, tok.start_pos, tok.end_pos = kind, value, start, pos
            tok.line, tok.column, tok.end_line = start_line, column, line
            tok.end_column = pos - line_start + 1
            if kind == "_NL":
                if parens == 0 and pending is None and previous not in _CONTINUES_AFTER:
                    pending = tok
                continue
            if pending is not None:
                if value not in _CONTINUES_BEFORE:
                    yield pending
                pending = None
            if value in _OPENERS:
                depth += 1
                parens += value != "{"
                if depth > MAX_NESTING:
                    raise NestingError(tok)
            elif value in _CLOSERS:
                depth -= 1
                parens = max(parens - (value != "}"), 0)
            previous = "<atom>" if kind in _ATOMS else value
            yield tok
        if pending is not None:
            yield pending
