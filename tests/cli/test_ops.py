"""`netdsl ops`: each operator's signature, then its whole description, wrapped."""

from __future__ import annotations

import inspect

from netdsl.ops import REGISTRY


def test_every_operator_with_its_whole_description(netdsl):
    done = netdsl("ops")
    assert done.returncode == 0
    entries = {}
    for line in done.stdout.splitlines():
        if line and not line.startswith(" "):
            current = entries.setdefault(line, [])
        elif line:
            current.append(line)
    assert sorted(entries) == sorted(cls.signature() for cls in REGISTRY.values())
    for cls in REGISTRY.values():
        printed = " ".join(" ".join(entries[cls.signature()]).split())
        assert printed == " ".join(inspect.cleandoc(cls.__doc__).split()), cls.name
        assert all(len(line) <= 100 for line in entries[cls.signature()])


def test_multi_line_descriptions_are_printed_whole(netdsl):
    """Once only the first line of each docstring was printed."""
    long = [cls for cls in REGISTRY.values() if len(inspect.cleandoc(cls.__doc__).splitlines()) > 1]
    assert long  # bn, conv, add, ... describe themselves in more than one line
    out = netdsl("ops").stdout
    for cls in long:
        last_words = " ".join(inspect.cleandoc(cls.__doc__).split()[-3:])
        assert last_words in " ".join(out.split()), cls.name
