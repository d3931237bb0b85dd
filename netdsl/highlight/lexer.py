"""The Pygments lexer for .net files, built from `rules` (`pygmentize -l netdsl spec.net`)."""

from __future__ import annotations

import re

from pygments.lexer import RegexLexer, bygroups
from pygments.token import string_to_tokentype

from netdsl.highlight.rules import rules


def _token_table() -> list[tuple]:
    out = []
    for rule in rules():
        types = [string_to_tokentype(t) for t in rule.tokens]
        action = types[0] if len(types) == 1 else bygroups(*types)
        out.append((rule.pattern, action))
    return out


class NetdslLexer(RegexLexer):
    """netdsl's network specs (.net files)."""

    name = "netdsl"
    aliases = ["netdsl"]
    filenames = ["*.net"]
    mimetypes = ["text/x-netdsl"]
    url = "https://pypi.org/project/netdsl/"
    flags = re.MULTILINE
    tokens = {"root": _token_table()}
