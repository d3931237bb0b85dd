"""The one list of reserved words is the grammar's."""

import re
from pathlib import Path

import netdsl.syntax
from netdsl.syntax.keywords import KEYWORDS


def test_keywords_are_the_grammars_words():
    grammar = (Path(netdsl.syntax.__file__).parent / "grammar.lark").read_text()
    assert set(re.findall(r'"([a-z]+)"', grammar)) == set(KEYWORDS)
    assert len(KEYWORDS) == len(set(KEYWORDS)) == 20
