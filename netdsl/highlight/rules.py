"""The one description of how .net text is coloured: an ordered table of regular expressions,
each with its Pygments token type and TextMate scope, per capture group where it has groups.

The expressions keep to what Python's `re` and TextMate's Oniguruma read alike. Operators and
builtin functions are listed from netdsl's own registries, so a new operator is coloured once
the TextMate file is regenerated (the lexer reads them when imported).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from netdsl.elaborate.builtins import BUILTINS
from netdsl.elaborate.constructs import CONSTRUCTS
from netdsl.names import NAME_PATTERN
from netdsl.ops import REGISTRY
from netdsl.syntax.keywords import CONSTANTS, CONTROL, DECLARATIONS, WORDS

NAME = NAME_PATTERN
TYPES = ("int", "float", "bool", "str", "list", "layer", "tensor", "tensors")


@dataclass(frozen=True)
class Rule:
    """`pattern`, and for the whole match (one entry) or for each capture group in order: the
    Pygments token type (dotted, as `pygments.token` names them) and the TextMate scope."""

    name: str
    pattern: str
    tokens: tuple[str, ...]
    scopes: tuple[str, ...]


def _words(words: list[str] | tuple[str, ...]) -> str:
    """A whole-word alternation, longest first (so `conv_transpose` is not read as `conv`)."""
    ordered = sorted(words, key=lambda w: (-len(w), w))
    return r"\b(?:" + "|".join(re.escape(w) for w in ordered) + r")\b"


def operators() -> list[str]:
    return sorted({*REGISTRY, *CONSTRUCTS})


def rules() -> list[Rule]:
    """The table, in the order the rules are tried at each position."""
    return [
        # `#2` glued to a name is a call number (`head#2`), not a comment
        Rule("call", r"(?<=[A-Za-z0-9_])#\d+", ("Name",), ("variable.other.netdsl",)),
        Rule("comment", r"#.*$", ("Comment.Single",), ("comment.line.number-sign.netdsl",)),
        Rule("string", r'"(?:[^"\\\n]|\\.)*"', ("String.Double",),
             ("string.quoted.double.netdsl",)),
        Rule("definition", rf"\b(block|network|def)(\s+)({NAME})",
             ("Keyword.Declaration", "Text.Whitespace", "Name.Class"),
             ("storage.type.netdsl", "", "entity.name.type.netdsl")),
        Rule("declaration", _words(DECLARATIONS), ("Keyword.Declaration",),
             ("storage.type.netdsl",)),
        Rule("control", _words(CONTROL), ("Keyword",), ("keyword.control.netdsl",)),
        Rule("logical", _words(WORDS), ("Operator.Word",), ("keyword.operator.logical.netdsl",)),
        Rule("constant", _words(CONSTANTS), ("Keyword.Constant",),
             ("constant.language.netdsl",)),
        Rule("label", rf"({NAME})(\s*)(:)", ("Name.Label", "Text.Whitespace", "Punctuation"),
             ("entity.name.tag.netdsl", "", "punctuation.separator.netdsl")),
        Rule("operator", _words(operators()), ("Name.Function",),
             ("support.function.operator.netdsl",)),
        Rule("builtin", _words([*BUILTINS, *TYPES]), ("Name.Builtin",),
             ("support.function.builtin.netdsl",)),
        Rule("number", r"(?:\b\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][-+]?\d+)?\b",
             ("Number",), ("constant.numeric.netdsl",)),
        Rule("arrow", r"->", ("Operator",), ("keyword.operator.arrow.netdsl",)),
        Rule("symbol", r"\*\*|//|==|!=|<=|>=|[-+*/%<>=]", ("Operator",),
             ("keyword.operator.netdsl",)),
        Rule("punctuation", r"[()\[\]{},.;:\\]", ("Punctuation",),
             ("punctuation.separator.netdsl",)),
        Rule("name", NAME, ("Name",), ("variable.other.netdsl",)),
        Rule("space", r"\s+", ("Text.Whitespace",), ("",)),
    ]
