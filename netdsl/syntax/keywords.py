"""The reserved words of the language, by role: the one list the highlighter, the editor's
completion and the importer's writer read (a test checks it against the grammar)."""

from __future__ import annotations

DECLARATIONS = ("import", "block", "inline", "network", "input", "output", "expect", "def",
                "shared")
CONTROL = ("if", "elif", "else", "for", "in", "from")
WORDS = ("and", "or", "not")
CONSTANTS = ("true", "false")
KEYWORDS = DECLARATIONS + CONTROL + CONSTANTS + WORDS
