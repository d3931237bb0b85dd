"""Rewrites of a written body that make it shorter and keep every layer's name: labels that only
repeat the position a layer takes anyway are dropped (`"0": conv(...)` in an nn.Sequential is
`conv(...)`), runs of identical calls become repeats (`bottleneck(256) * 3`), and runs that
differ only by a numbered label become loops (`("denselayer" + str(i + 1)): ...`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import replace
from typing import Any

from netdsl.backends.pytorch.importer.elements import (
    Call,
    Element,
    Expr,
    For,
    From,
    Group,
    If,
    Merge,
    Op,
    Ref,
    Repeat,
    Shared,
    Use,
)
from netdsl.backends.pytorch.importer.writer import Writer
from netdsl.names import is_word

_NUMBERED = re.compile(r"(.*?)(\d+)\Z")


def shorten(body: list[Element]) -> list[Element]:
    """Merges over a module list made scopes, positional labels dropped in every scope, then
    runs made repeats and loops."""
    _list_merges(body)
    named = _named(body)
    _drop_positions(body, named)
    return _runs(body, named)


# ---------------------------------------------------------------- module lists


def _list_merges(body: list[Element]) -> None:
    """A merge whose branches are the items of one module list, in order (DeepLab's
    `torch.cat([conv(x) for conv in self.convs])`), is that list's scope: `convs: concat {...}`
    names its branches `convs.0`, `convs.1`, ... as torch does."""
    for e in body:
        if isinstance(e, Merge):
            for branch in e.branches:
                _list_merges(branch)
            prefix = _list_prefix(e) if e.label is None else None
            if prefix is not None:
                e.label = prefix
                for k, branch in enumerate(e.branches):
                    branch[0].label = str(k)
        elif isinstance(e, Group):
            _list_merges(e.body)


def _list_prefix(e: Merge) -> str | None:
    labels = [getattr(b[0], "label", None) if len(b) == 1 else None for b in e.branches]
    if not labels or any(label is None or "." not in label for label in labels):
        return None
    prefix = labels[0].rpartition(".")[0]
    wanted = [f"{prefix}.{k}" for k in range(len(labels))]
    return prefix if labels == wanted and "." not in prefix else None


# ---------------------------------------------------------------- positions


def _drop_positions(body: list[Element], named: set[str]) -> None:
    """A layer's label equal to the position it takes is dropped, unless a tensor is read by
    it (LR-ASPP's `backbone.4`: a spec names only labeled tensors); an unlabeled operator whose
    position is another layer's label (a functional `relu` between the items of a module list
    called in a loop: `"0": conv`, relu, `"1": conv`) is labeled by its operator instead, so
    that the label keeps its layer. So is a merge there (a dense loop, `x = torch.cat([x,
    layer(x)], 1)`: `"0": conv`, concat, `"1": conv`), written inline, as a label on a merge
    written with branches would name their layers in a scope of its own (`concat.0`, where
    torch has `layers.0`); then every merge of that scope is, to read alike."""
    scopes: list[list[tuple[Element, int]]] = [[]]
    _positions(body, [0], scopes[0], scopes)
    for scope in scopes:
        for e, k in scope:
            if isinstance(e, (Op, Call)) and e.label == str(k) and e.label not in named:
                e.label = None
        taken = {e.label for e, _ in scope if e.label}
        if any(isinstance(e, Merge) and e.label is None and str(k) in taken for e, k in scope):
            for e, _ in scope:
                if isinstance(e, Merge) and e.label is None and _inlined(e):
                    e.label = _fresh(e.call.name, taken)
        for e, k in scope:
            if isinstance(e, Op) and e.label is None and str(k) in taken:
                e.label = _fresh(e.call.name, taken)


# Merges whose operands may change places: the same number to the last bit (x + y == y + x).
_COMMUTING = frozenset({"add", "mul"})


def _inlined(e: Merge) -> bool:
    """Makes `e` an inline merge if it can be one: its first branch is the current tensor
    (the second, of two that commute, goes first). Whether it is."""
    if len(e.branches) == 2 and not e.branches[1] and e.call.name in _COMMUTING:
        e.branches.reverse()
    e.inline = not e.branches[0]
    return e.inline


def _positions(body: list[Element], counter: list[int], here: list[tuple[Element, int]],
               scopes: list[list[tuple[Element, int]]]) -> None:
    """Walks one scope in the order the language numbers its layers (a merge's branches before
    the merge), collecting the elements that take a position in it, and each scope a labeled
    group or merge opens. A group's or a merge's label stays: without it, the group would be
    transparent and its contents named in the enclosing scope."""
    for e in body:
        if isinstance(e, (Merge, Group)):
            scope = e.scope if isinstance(e, Merge) else e.label
            inner, inner_counter = (here, counter) if scope is None else ([], [0])
            if scope is not None:
                scopes.append(inner)
            for part in e.branches if isinstance(e, Merge) else [e.body]:
                _positions(part, inner_counter, inner, scopes)
            if isinstance(e, Merge) or e.label is not None:
                here.append((e, counter[0]))
                counter[0] += 1
        elif isinstance(e, (Op, Call)):
            here.append((e, counter[0]))
            counter[0] += 1
        elif isinstance(e, (Repeat, For, If)):  # not written before this pass
            raise AssertionError(type(e))


def _fresh(base: str, taken: set[str]) -> str:
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return name


# ---------------------------------------------------------------- runs


def _runs(body: list[Element], named: set[str]) -> list[Element]:
    body = [_inner(e, named) for e in body]
    out: list[Element] = []
    i = 0
    while i < len(body):
        n = _identical_run(body, i)
        if n > 1:
            out.append(Repeat(body[i], n))
            i += n
            continue
        n, loop = _numbered_run(body, i, named)
        if n > 1:
            out.append(loop)
            i += n
            continue
        out.append(body[i])
        i += 1
    return out


def _inner(e: Element, named: set[str]) -> Element:
    if isinstance(e, Group):
        return replace(e, body=_runs(e.body, named))
    if isinstance(e, Merge):
        return replace(e, branches=[_runs(b, named) for b in e.branches])
    return e


def _named(body: list[Element]) -> set[str]:
    """Every part of every dotted name by which the body refers to a tensor (`level3.tree1`:
    `level3` and `tree1`)."""
    found: set[str] = set()

    def visit(value: Any) -> None:
        if isinstance(value, Ref):
            found.update(value.split("."))
        elif isinstance(value, (list, tuple)):
            for v in value:
                visit(v)
        elif dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                if f.name not in ("node", "instance"):
                    visit(getattr(value, f.name))

    visit(body)
    return found


def text(e: Element) -> str | None:
    """The element as written, or None when it still names a tensor of an enclosing body."""
    try:
        return Writer().element(e)
    except AssertionError:
        return None


def _identical_run(body: list[Element], i: int) -> int:
    first = body[i]
    if not isinstance(first, (Call, Group)) or first.label is not None:
        return 1
    written = text(first)
    n = 1
    while written is not None and i + n < len(body) and text(body[i + n]) == written:
        n += 1
    return n


def _numbered_run(body: list[Element], i: int, named: set[str]) -> tuple[int, Element | None]:
    """Three or more elements that differ only by labels numbered one more each time, none of
    them a tensor the body names (a loop's labels are computed: `concat(tree1)` after a loop
    would make the reader compute them)."""
    first = body[i]
    if isinstance(first, (From, Repeat, For, If)):
        return 1, None
    labels = _labels(first)
    # a computed label must be a name: "block1-0" .. stay written out, as strings
    numbered = [k for k, label in enumerate(labels)
                if label and _NUMBERED.match(label) and is_word(label)]
    if not numbered:
        return 1, None
    shape = text(_relabel(first, {k: "#" for k in numbered}))
    n = 1
    while i + n < len(body) and shape is not None:
        other = body[i + n]
        other_labels = _labels(other) if not isinstance(other, (From, Repeat, For, If)) else []
        if len(other_labels) != len(labels) or text(_relabel(other, {
                k: "#" for k in numbered})) != shape:
            break
        if not all(_follows(labels[k], other_labels[k], n) for k in numbered):
            break
        n += 1
    run_labels = {label for e in body[i:i + n] for label in _labels(e) if label}
    if n < 3 or run_labels & named:
        return 1, None
    names = {}
    for k in numbered:
        prefix, start = _NUMBERED.match(labels[k]).groups()  # type: ignore[union-attr]
        offset = int(start)
        names[k] = Expr(f'"{prefix}" + str(i + {offset})' if offset else f'"{prefix}" + str(i)')
    return n, For("i", n, [_relabel(first, names)])


def _follows(first: str, other: str, step: int) -> bool:
    a, b = _NUMBERED.match(first), _NUMBERED.match(other)
    return bool(a and b and a.group(1) == b.group(1) and int(b.group(2)) == int(a.group(2))
                + step and str(int(b.group(2))) == b.group(2))


def _labels(e: Element) -> list[str | None]:
    """The labels of an element and of what it holds in its own scope, in order."""
    found: list[str | None] = [getattr(e, "label", None)]
    if isinstance(e, Merge):
        for branch in e.branches:
            for x in branch:
                found += _labels(x)
    elif isinstance(e, Group) and e.label is None:
        for x in e.body:
            found += _labels(x)
    return found


def _relabel(e: Element, names: dict[int, str]) -> Element:
    counter = [0]

    def visit(x: Element) -> Element:
        k = counter[0]
        counter[0] += 1
        label = names.get(k, getattr(x, "label", None))
        if isinstance(x, Merge):
            return replace(x, label=label, branches=[[visit(y) for y in b] for b in x.branches])
        if isinstance(x, Group) and x.label is None:
            return replace(x, body=[visit(y) for y in x.body])
        if hasattr(x, "label"):
            return replace(x, label=label)
        return x

    return visit(e)


# ---------------------------------------------------------------- shared names


def unhide(body: list[Element]) -> list[Element]:
    """A shared module's name means that module for the rest of its body (of its group), so
    one named as an operator or a block (torchvision's FCOS head calls its `conv` tower on
    every level, and has `conv` layers besides) hides it: a declaration whose own layer is
    that operator goes first (`shared cls_logits: conv(...)`, then `shared conv: ...`), and a
    body that calls the operator after the declaration holds the module's calls in a group of
    their own, which it is visible in alone. Nested groups first, as they are scopes."""
    body = [_unhide_inner(e) for e in body]
    declared = [e for e in body if isinstance(e, Shared)]
    rest = [e for e in body if not isinstance(e, Shared)]
    hidden = {d.name for d in declared} & {n for e in body for n in _callees(e)}
    if not hidden:
        return body
    for decl in declared:
        if decl.name in hidden and any(decl.name in _callees(e) for e in rest):
            rest = _grouped(decl, rest)
    kept = [d for d in declared if not any(d is x for e in rest for x in _shared_in(e))]
    return _declaration_order(kept) + rest


def _unhide_inner(e: Element) -> Element:
    if isinstance(e, Group):
        return replace(e, body=unhide(e.body))
    if isinstance(e, Merge):
        return replace(e, branches=[unhide(b) for b in e.branches])
    return e


def _grouped(decl: Shared, body: list[Element]) -> list[Element]:
    """`body` with the calls of `decl` and what lies between them in a group that declares
    it, when no call of the operator it hides lies there too (else left: the importer's check
    of the spec refuses it)."""
    calls = [k for k, e in enumerate(body) if decl.name in _applied(e)]
    if not calls:
        return body
    first, last = calls[0], calls[-1]
    if any(decl.name in _callees(e) for e in body[first:last + 1]):
        return body
    return body[:first] + [Group(None, [decl, *body[first:last + 1]])] + body[last + 1:]


def _declaration_order(declared: list[Shared]) -> list[Shared]:
    """Declarations ordered so that each precedes those whose names its layer calls, in their
    order otherwise (a cycle keeps it)."""
    pending, ordered = list(declared), []
    while pending:
        free = next((d for d in pending if not any(
            d.name in _callees(other) for other in pending if other is not d)), pending[0])
        pending.remove(free)
        ordered.append(free)
    return ordered


def _parts(e: Element) -> list[Element]:
    """The elements `e` holds."""
    if isinstance(e, (Group, For)):
        return e.body
    if isinstance(e, Merge):
        return [x for b in e.branches for x in b]
    if isinstance(e, If):
        return e.then + e.orelse
    if isinstance(e, Repeat):
        return [e.element]
    if isinstance(e, Shared):
        return [e.layer]
    return []


def _callees(e: Element) -> set[str]:
    """The operators and blocks `e` calls by name (a shared module's calls are not)."""
    own = {e.call.name} if isinstance(e, (Op, Merge)) else {e.block} if isinstance(e, Call) \
        else set()
    return own.union(*(_callees(x) for x in _parts(e)))


def _applied(e: Element) -> set[str]:
    """The shared modules `e` calls."""
    own = {e.name} if isinstance(e, Use) else set()
    return own.union(*(_applied(x) for x in _parts(e)))


def _shared_in(e: Element) -> list[Shared]:
    """The declarations `e` holds."""
    return [e] if isinstance(e, Shared) else [d for x in _parts(e) for d in _shared_in(x)]
