"""The ASCII characters a regular expression's matches can start with.

The lexer tries its terminals as one alternation, and Python's `re` tries the alternatives in
turn at every position: a dozen failed branches before a `(` or a blank. Knowing which
terminals can start with which character lets it try only those, in the same order, so the
first that matches is the one the whole alternation would have chosen.

The sets are over-approximations, which is all that correctness needs: anything this module
does not understand (a back-reference, case-insensitive matching) counts as "any character",
and so does a pattern that can match the empty string.
"""

from __future__ import annotations

import re
import re._constants as sre  # the parser's opcodes, stable across the 3.11+ releases we support
import re._parser as sre_parse

ASCII = frozenset(map(chr, range(128)))
_ZERO_WIDTH = {sre.AT, sre.ASSERT, sre.ASSERT_NOT}
_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT}


def first_chars(pattern: str, flags: int = 0) -> frozenset[str]:
    """The ASCII characters a match of `pattern` can start with (every one if it can be empty
    or is beyond this analysis)."""
    if flags & re.IGNORECASE:
        return ASCII
    chars, nullable = _sequence(list(sre_parse.parse(pattern, flags)), flags)
    return ASCII if nullable else frozenset(chars)


def _sequence(items: list, flags: int) -> tuple[set[str], bool]:
    """First characters of a sequence of items, and whether the whole sequence can be empty."""
    found: set[str] = set()
    for op, av in items:
        chars, nullable = _item(op, av, flags)
        found |= chars
        if not nullable:
            return found, False
    return found, True


def _item(op: object, av: object, flags: int) -> tuple[set[str], bool]:
    if op is sre.LITERAL:
        return {chr(av)} & ASCII, False  # type: ignore[arg-type]
    if op is sre.NOT_LITERAL:
        return set(ASCII - {chr(av)}), False  # type: ignore[arg-type]
    if op is sre.IN:
        return _in(av, flags), False  # type: ignore[arg-type]
    if op is sre.BRANCH:
        found: set[str] = set()
        nullable = False
        for branch in av[1]:  # type: ignore[index]
            chars, empty = _sequence(list(branch), flags)
            found |= chars
            nullable = nullable or empty
        return found, nullable
    if op is sre.SUBPATTERN:
        _, add_flags, _, inner = av  # type: ignore[misc]
        if add_flags & re.IGNORECASE:
            return set(ASCII), True
        return _sequence(list(inner), flags)
    if op in _REPEATS:
        low, _, inner = av  # type: ignore[misc]
        chars, empty = _sequence(list(inner), flags)
        return chars, empty or low == 0
    if op is sre.ATOMIC_GROUP:
        return _sequence(list(av), flags)  # type: ignore[arg-type]
    if op in _ZERO_WIDTH:
        return set(), True
    return set(ASCII), True  # ANY, back-references: anything, conservatively


def _in(items: list, flags: int) -> set[str]:
    """The ASCII members of a character class `[...]`."""
    members: set[str] = set()
    negated = False
    for op, av in items:
        if op is sre.NEGATE:
            negated = True
        elif op is sre.LITERAL:
            members.add(chr(av))
        elif op is sre.RANGE:
            members.update(map(chr, range(av[0], min(av[1], 127) + 1)))
        elif op is sre.CATEGORY and av in _CATEGORIES:
            members.update(c for c in ASCII if re.match(_CATEGORIES[av], c, flags))
        else:
            return set(ASCII)
    members &= ASCII
    return set(ASCII - members) if negated else members


_CATEGORIES = {sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_NOT_DIGIT: r"\D",
               sre.CATEGORY_SPACE: r"\s", sre.CATEGORY_NOT_SPACE: r"\S",
               sre.CATEGORY_WORD: r"\w", sre.CATEGORY_NOT_WORD: r"\W"}
