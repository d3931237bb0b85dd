"""Text -> tokens for the LALR parser: lark's terminals, matched in one tight loop.

A custom lexer through lark's public interface (`Lark(..., lexer=SpecLexer)`). lark's basic
lexer re-checks every NAME against the keyword regex, counts lines through a helper object and
builds each token through two constructors; this one takes the same terminals in lark's
documented order of precedence, turns keywords into a dictionary lookup, and adds what a
context-free lexer cannot do:

- the newline filter: a newline ends a statement unless the statement plainly continues (see
  `grammar.lark`); inside `(` or `[` newlines never matter, inside a `{` opened within them
  they separate statements again (a stack of open brackets);
- path indices: `.12` glued to a name, a string, `)`, `]` or an earlier index
  (`features.12.rf`, `"block1-0".0`) is a dot and the index `12`, not the float `.12`;
- call numbers: `#2` glued to a name (`cls_logits#2`, the second call of a shared module, as
  `netdsl stats` names it) is part of one CALLED_NAME token, not a comment.

`SpecLexer.layout` gives every token, whitespace and comments included and newlines unfiltered,
for the formatter: the same tokens the parser reads, so formatting cannot change their meaning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from lark.common import LexerConf
from lark.exceptions import UnexpectedCharacters
from lark.lexer import Lexer, LexerState, TerminalDef, Token

from netdsl.limits import MAX_STEPS, TOKEN_STEPS
from netdsl.syntax.first_chars import ASCII, first_chars

MAX_NESTING = 200

# A newline right after one of these continues the statement on the next line.
_CONTINUES_AFTER = frozenset({"", "{", "->", ",", "=", "+", "-", "*", "/", "//", "%", "**", "==",
                              "!=", "<", ">", "<=", ">=", "and", "or", "not", ":"})
# A newline right before one of these continues the statement too.
_CONTINUES_BEFORE = frozenset({"->", "else", "elif"})
BRACKETS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(BRACKETS.values())
PATH_INDEX = "PATH_INDEX"  # the token type of `12` in `features.12`, declared in grammar.lark
CALLED_NAME = "CALLED_NAME"  # `head#2`: a name and a call number, declared in grammar.lark
# What a path index may follow (`"block1-0".0`: a quoted label too)
_PATH_ENDS = frozenset({"NAME", "STRING", "RPAR", "RSQB", PATH_INDEX, CALLED_NAME})
_DIGITS = re.compile(r"\d+")
_CALL_NUMBER = re.compile(r"#\d+")


class TokenLimit:
    """The tokens the parses of one load may still read: the work budget's share for parsing
    (a token costs `TOKEN_STEPS` steps), spent by every parse, retries after errors included."""

    def __init__(self, tokens: int = MAX_STEPS // TOKEN_STEPS):
        self.tokens = self.left = tokens

    def spend(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for tok in tokens:
            self.left -= 1
            if self.left < 0:
                self.left = 0
                raise TooManyTokens(tok)
            yield tok


class TooManyTokens(Exception):
    """A parse read all the tokens its `TokenLimit` allowed; `tok` is the next one."""

    def __init__(self, tok: Token):
        super().__init__(tok)
        self.tok = tok


_ACTIVE: list[TokenLimit] = []  # the limit of the parse under way (the parser holds a lock)


@contextmanager
def token_limit(limit: TokenLimit) -> Iterator[None]:
    """Make `limit` the one the lexer spends while the block runs."""
    _ACTIVE.append(limit)
    try:
        yield
    finally:
        _ACTIVE.pop()


class NestingError(Exception):
    """Brackets nested deeper than `MAX_NESTING`; the parser reports it at `tok`."""

    def __init__(self, tok: Token):
        super().__init__(tok)
        self.tok = tok


def _precedence(terminal: TerminalDef) -> tuple:
    """lark's documented order among terminals that match at one place: priority, the longest
    possible match, the longest definition, then the name."""
    pattern = terminal.pattern
    return -terminal.priority, -pattern.max_width, -len(pattern.value), terminal.name


class SpecLexer(Lexer):
    """lark's terminals and precedence, one master regex, keywords by lookup, newlines filtered,
    path indices split from floats."""

    __future_interface__ = 2  # lark passes (lexer_state, parser_state) to `lex`

    def __init__(self, conf: LexerConf) -> None:
        if conf.callbacks:
            raise ValueError("SpecLexer applies no terminal callbacks")
        terminals = sorted(conf.terminals, key=_precedence)
        patterns = [t for t in terminals if t.pattern.type == "re"]
        self.keywords: dict[str, str] = {}  # the text of each keyword -> its token type
        self.literals = {t.name: t.pattern.value for t in terminals if t.pattern.type == "str"}
        kept = []
        for t in terminals:
            value = t.pattern.value
            if t.pattern.type == "str" and any(re.fullmatch(n.pattern.to_regexp(), value)
                                               for n in patterns):
                self.keywords[value] = t.name
            else:
                kept.append(t)
        self._match = _alternation(kept, conf.g_regex_flags)
        self._by_first = _by_first_char(kept, conf.g_regex_flags)
        self._ignore = frozenset(conf.ignore)
        self._allowed = {t.name for t in kept} - self._ignore
        self._terminals_by_name = conf.terminals_by_name

    def lex(self, state: LexerState, parser_state: Any) -> Iterator[Token]:
        """The tokens the parser reads, as many as the active `TokenLimit` allows."""
        if not state.text.is_complete_text():
            raise TypeError("SpecLexer lexes whole texts, not slices")
        return self.tokens(state.text.text, parser_state)

    def tokens(self, text: str, parser_state: Any = None) -> Iterator[Token]:
        """`lex` for a text: the tokens the parser reads."""
        tokens = self._scan(text, parser_state, False)
        limit = _ACTIVE[-1] if _ACTIVE else None
        return tokens if limit is None else limit.spend(tokens)

    def layout(self, text: str) -> Iterator[Token]:
        """Every token, whitespace and comments included, newlines unfiltered."""
        return self._scan(text, None, True)

    def _scan(self, text: str, parser_state: Any, layout: bool) -> Iterator[Token]:
        match, by_first, keywords, ignore = self._match, self._by_first, self.keywords, self._ignore
        new = str.__new__
        pos, end, line, line_start = 0, len(text), 1, 0
        stack: list[str] = []  # the open brackets
        dropping = False  # the innermost open bracket is `(` or `[`: newlines do not matter
        pending: Token | None = None  # a newline that ends the statement unless what follows
        last = ""  # continues it; the last token's text
        path_end = -1  # where the last name, `)`, `]` or path index ended
        while pos < end:
            m = by_first.get(text[pos], match)(text, pos)
            if m is None:
                raise UnexpectedCharacters(text, pos, line, pos - line_start + 1,
                                           allowed=self._allowed, state=parser_state,
                                           terminals_by_name=self._terminals_by_name)
            value = m.group()
            kind = m.lastgroup
            if kind == "NAME":
                kind = keywords.get(value, kind)
                if kind == "NAME" and text.startswith("#", m.end()):
                    called = _CALL_NUMBER.match(text, m.end())
                    if called:
                        value += called.group()
                        kind = CALLED_NAME
            elif kind == "NUMBER" and pos == path_end and value[0] == ".":
                dot, index = _path_index(new, text, pos, line, pos - line_start + 1)
                yield dot
                yield index
                pos = path_end = index.end_pos
                last = index.value
                continue
            start, column, start_line = pos, pos - line_start + 1, line
            pos = start + len(value)
            if "\n" in value:
                line += value.count("\n")
                line_start = start + value.rindex("\n") + 1
            if kind in ignore:
                if layout:
                    yield _token(new, kind, value, start, pos, start_line, column, line,
                                 pos - line_start + 1)
                continue
            tok = new(Token, value)  # as `_token` does, inline: this is the lexer's hot path
            tok.type, tok.value, tok.start_pos, tok.end_pos = kind, value, start, pos
            tok.line, tok.column, tok.end_line = start_line, column, line
            tok.end_column = pos - line_start + 1
            if kind == "_NL":
                if layout:
                    yield tok
                elif not dropping and pending is None and last not in _CONTINUES_AFTER:
                    pending = tok
                continue
            if pending is not None:
                if value not in _CONTINUES_BEFORE:
                    yield pending
                pending = None
            if value in BRACKETS:
                stack.append(value)
                dropping = value != "{"
                if len(stack) > MAX_NESTING:
                    raise NestingError(tok)
            elif value in _CLOSERS and stack:
                stack.pop()
                dropping = bool(stack) and stack[-1] != "{"
            if kind in _PATH_ENDS:
                path_end = pos
            last = value
            yield tok
        if pending is not None:
            yield pending


def _alternation(terminals: list[TerminalDef], flags: int) -> Callable[[str, int], Any]:
    """One regex trying `terminals` in order, each a group named after it (`lastgroup`)."""
    return re.compile("|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals),
                      flags).match


def _by_first_char(terminals: list[TerminalDef], flags: int) -> dict[str, Callable]:
    """For each ASCII character, the alternation of only the terminals that can start with it,
    in the same order: at a position the same terminal matches as with all of them, without
    `re` trying the others first (most of the lexer's time, before). Characters that no
    terminal starts with are left out, so that they reach the full alternation and its
    error."""
    starts = [(t, first_chars(t.pattern.to_regexp(), flags)) for t in terminals]
    groups: dict[tuple[str, ...], Callable] = {}  # one regex for the characters that share it
    by_char = {}
    for char in sorted(ASCII):
        members = [t for t, chars in starts if char in chars]
        if members:
            key = tuple(t.name for t in members)
            if key not in groups:
                groups[key] = _alternation(members, flags)
            by_char[char] = groups[key]
    return by_char


def _path_index(new: Any, text: str, pos: int, line: int, column: int) -> tuple[Token, Token]:
    """`.12` right after a name, `)`, `]` or a path index: the dot and the index `12`."""
    digits = _DIGITS.match(text, pos + 1).group()
    end = pos + 1 + len(digits)
    dot = _token(new, "DOT", ".", pos, pos + 1, line, column, line, column + 1)
    return dot, _token(new, PATH_INDEX, digits, pos + 1, end, line, column + 1, line,
                       column + 1 + len(digits))


def _token(new: Any, kind: str, value: str, start: int, end: int, line: int, column: int,
           end_line: int, end_column: int) -> Token:
    """A lark Token built directly: its constructor's argument handling costs as much as the
    rest of the lexer's work on a token."""
    tok = new(Token, value)
    tok.type, tok.value, tok.start_pos, tok.end_pos = kind, value, start, end
    tok.line, tok.column, tok.end_line, tok.end_column = line, column, end_line, end_column
    return tok
