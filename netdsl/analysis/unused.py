"""Computation no output depends on: the warnings `netdsl check` and the editor give.

A layer whose result nothing reads and no `output` lists is almost always a slip (a branch
never merged, a `from` that skipped it), and the figures still count it. Each distinct
definition is looked at once, so the cost follows the definitions, not the layers.
"""

from __future__ import annotations

from collections.abc import Iterable

from netdsl.errors import Diagnostic, Span
from netdsl.ir import Call, Definition, Node

_HELP = "label it and read it (`from LABEL -> ...`), list it in `output`, or remove it"


def unused_warnings(top: Definition) -> list[Diagnostic]:
    """One warning per spec location where computation is never used, in source order."""
    return once_each(diag for d in definitions(top) for diag in _unused_in(d))


def once_each(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Warnings said once per location and message (a block's are found in each of its
    definitions), in source order."""
    found: dict[tuple[Span, str], Diagnostic] = {}
    for diag in diagnostics:
        found.setdefault((diag.span, diag.message), diag)
    return sorted(found.values(), key=lambda g: (g.span.path, g.span.line, g.span.col))


def definitions(top: Definition) -> list[Definition]:
    """`top` and every definition called from it, each once."""
    seen: dict[int, Definition] = {id(top): top}
    stack = [top]
    while stack:
        for call in stack.pop().calls():
            if id(call.definition) not in seen:
                seen[id(call.definition)] = call.definition
                stack.append(call.definition)
    return list(seen.values())


def dead_items(d: Definition) -> set[str]:
    """The names of the items of `d` (layers, block calls, inputs) that none of its outputs
    depends on."""
    live = set(d.outputs)
    dead: set[str] = set()
    for item in reversed(d.items.values()):
        if any(ref in live for ref in _made(item)):
            live.update(item.inputs)
        else:
            dead.add(item.name)
    return dead


def _unused_in(d: Definition) -> list[Diagnostic]:
    """One warning per place in `d` where computation no output of `d` depends on starts,
    with how many later items hang on it."""
    dead = dead_items(d)
    made_by = {ref: name for name in dead for ref in _made(d.items[name])}
    roots: dict[str, set[str]] = {}  # dead item -> the dead items it starts from
    followers: dict[str, int] = {}
    for item in d.items.values():
        if item.name not in dead:
            continue
        parents = {made_by[ref] for ref in item.inputs if ref in made_by}
        roots[item.name] = set().union(*(roots[p] for p in parents)) if parents else {item.name}
        for root in roots[item.name] - {item.name}:
            followers[root] = followers.get(root, 0) + 1
    return [_warning(d.items[name], followers.get(name, 0))
            for name, starts in roots.items() if starts == {name} and d.items[name].span]


def _made(item: Node | Call) -> list[str]:
    return [item.name] if isinstance(item, Node) else item.outputs


def _warning(item: Node | Call, later: int) -> Diagnostic:
    if isinstance(item, Node) and item.is_input:
        return Diagnostic(f"input '{item.name}' is never used", item.span, "unused",
                          severity="warning", help="read it (`from NAME -> ...`) or remove it")
    what = f"'{item.definition.block}'" if isinstance(item, Call) else item.op_name
    message = f"the result of this {what} is never used"
    if later == 1:
        message += ", nor is the layer computed from it"
    elif later:
        message += f", nor are the {later:,} layers computed from it"
    return Diagnostic(message, item.span, "unused", severity="warning", help=_HELP)
