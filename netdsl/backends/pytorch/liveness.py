"""Passes over a generated forward: temporaries share a name once the earlier one is dead
(`x = self.layer1(x)` rather than `x_2 = self.layer1(x_1)`), a value returned right after it
is computed is returned directly, and a long-lived skip tensor is deleted after its last use
so that the forward holds no more memory than the spec's peak-activation figure assumes.
"""

from __future__ import annotations

import ast
import keyword
import re
from typing import NamedTuple

from netdsl.backends.pytorch.names import AMBIGUOUS


def _names(node: ast.AST, ctx: type) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}


def ranges(body: list[ast.stmt], params: list[str]) -> dict[str, list[int]]:
    """Per variable, [first definition, last use] over the top-level statements (a nested
    `if` counts as one statement); parameters are defined before the first."""
    out: dict[str, list[int]] = {p: [-1, -1] for p in params}
    for i, stmt in enumerate(body):
        for name in _names(stmt, ast.Load):
            if name in out:
                out[name][1] = max(out[name][1], i)
        for name in _names(stmt, ast.Store):
            if name not in out:
                out[name] = [i, i]
            else:
                out[name][1] = max(out[name][1], i)
    return out


class Value(NamedTuple):
    """One value a variable holds: the top-level statement that reads it last (-1: none)."""

    name: str
    end: int
    argument: bool  # the caller's argument, which the caller holds whatever the forward does
    last: bool  # the variable's value when the statements end
    rebound: int = -1  # the statement that binds the variable's next value


def values(body: list[ast.stmt], params: list[str],
           entering: frozenset[str] | set[str] = frozenset()) -> list[Value]:
    """The values variables hold over the top-level statements, from the caller's arguments
    `params` and the values `entering` names hold when the statements start (a branch's). A
    simple statement that binds a name without reading it starts a new value (`x` reused for
    another temporary once the first is dead), and so does `x = f(x)`; a compound one
    continues the old value (a branch may bind it or not)."""
    held: dict[str, Value] = {p: Value(p, -1, True, True) for p in params}
    held.update((n, Value(n, -1, False, True)) for n in entering)
    ended: list[Value] = []
    for i, stmt in enumerate(body):
        reads = _names(stmt, ast.Load)
        for name in reads & held.keys():
            held[name] = held[name]._replace(end=i)
        for name in _names(stmt, ast.Store):
            old = held.get(name)
            if old is not None and isinstance(stmt, _COMPOUND):
                held[name] = old._replace(end=i, argument=False)
                continue
            if old is not None:  # read here (`x = f(x)`) or before: it ends, freed by the store
                ended.append(old._replace(last=False, rebound=i))
            held[name] = Value(name, i, False, True)
    return ended + list(held.values())


def coalesce(body: list[ast.stmt], params: list[str], temps: dict[str, str],
             reserved: frozenset[str] | set[str] = frozenset()) -> None:
    """Rename each temporary to the first name of its kind (`x`, `out`) when that one is dead
    by the time the temporary is made, or to that name itself when nothing uses it (a
    statement that held it was folded away); never to a `reserved` name."""
    live = ranges(body, params)
    owners: dict[str, str] = {}  # hint -> the name temporaries of that hint take
    for var in sorted(temps, key=lambda v: live.get(v, [10 ** 9])[0]):
        if var not in live:
            continue
        hint = temps[var]
        target = owners.get(hint, hint if hint in live else None)
        if target is None and var != hint and _suffixed(var, hint) and \
                hint not in reserved and hint not in _all_names(body):
            _rename(body, var, hint)  # the name it wanted is free (`x`, not `x_`)
            live[hint] = live.pop(var)
            owners[hint] = hint
            continue
        if target is None or target == var:
            owners[hint] = var
            continue
        start, end = live[var]
        last = live[target][1]
        # in one simple statement the read comes before the store (`x = f(x)`); in an `if`,
        # the temporary may be made before the other's last read (`t = p[:, :c]; t + x`)
        if last < start or last == start and not isinstance(body[start], _COMPOUND):
            _rename(body, var, target)
            live[target][1] = max(live[target][1], end)
            del live[var]
        owners.setdefault(hint, target)


def _suffixed(var: str, hint: str) -> bool:
    """`x_2` is the name a namespace gave for `x` once taken, and `x` a name Python and
    pycodestyle accept."""
    return hint.isidentifier() and not keyword.iskeyword(hint) and hint not in AMBIGUOUS and \
        re.fullmatch(re.escape(hint) + r"_\d*", var) is not None


def _all_names(body: list[ast.stmt]) -> set[str]:
    return {n.id for s in body for n in ast.walk(s) if isinstance(n, ast.Name)}


_COMPOUND = (ast.If, ast.For, ast.While, ast.With, ast.Try)


def _rename(body: list[ast.stmt], old: str, new: str) -> None:
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and node.id == old:
                node.id = new


def drop_unread(body: list[ast.stmt]) -> list[ast.stmt]:
    """Assignments in a forward that nothing reads: of values that call nothing (a size the
    constructor needed, `d = x.shape[-1]`; `n = len(features)`), dropped; of a layer's output
    (a layer after the last `output`), the call kept without the name, as the spec's figures
    count it. From the last statement back, so that what only a dropped statement read is
    unread too (`a` of a dead `s = a + b`)."""
    out: list[ast.stmt] = []
    read: set[str] = set()
    for s in reversed(body):
        if _unpacks(s):
            s, release = _unpacked_read(s, read, out)  # type: ignore[arg-type]
            if release is not None:
                out.append(release)
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and \
                isinstance(s.targets[0], ast.Name) and s.targets[0].id not in read:
            if not any(isinstance(n, ast.Call) and not _is_len(n) for n in ast.walk(s.value)):
                continue
            s = ast.copy_location(ast.Expr(s.value), s)
        out.append(s)
        read |= _names(s, ast.Load)
    return out[::-1]


def _unpacks(s: ast.stmt) -> bool:
    return isinstance(s, ast.Assign) and len(s.targets) == 1 and \
        isinstance(s.targets[0], ast.Tuple) and \
        all(isinstance(e, ast.Name) for e in s.targets[0].elts)


def _unpacked_read(s: ast.Assign, read: set[str], after: list[ast.stmt],
                   ) -> tuple[ast.stmt, ast.stmt | None]:
    """An unpacking of a call's outputs, of which some are never read (PSPNet's backbone
    gives four maps, the head reads the last): the one read taken by its index (`x =
    self.backbone(image)[3]`), or the others bound to `_`, deleted right away when more is
    made after; the spec's figures free an output nobody reads as soon as the call returns.
    With the `del` (if any) to put after it. `after`: the statements after it, reversed."""
    names = [e.id for e in s.targets[0].elts]  # type: ignore[attr-defined]
    kept = [k for k, name in enumerate(names) if name in read]
    if len(kept) == len(names):
        return s, None
    if len(kept) <= 1:  # one read, or none (the call kept without names, as a lone value's)
        target = ast.Name(names[kept[0]] if kept else "_", ast.Store())
        value = ast.Subscript(s.value, ast.Constant(kept[0]), ast.Load()) if kept else s.value
        return ast.copy_location(ast.Assign([target], value), s), None
    elts = [ast.Name(name if k in kept else "_", ast.Store()) for k, name in enumerate(names)]
    unpack = ast.copy_location(ast.Assign([ast.Tuple(elts, ast.Store())], s.value), s)
    held = _allocates(after[::-1])
    return unpack, ast.Delete([ast.Name("_", ast.Del())]) if held else None


def inline_returns(body: list[ast.stmt]) -> list[ast.stmt]:
    """`v = expr; return v` as `return expr`."""
    out: list[ast.stmt] = []
    for s in body:
        if isinstance(s, ast.If):
            s.body = inline_returns(s.body)
            s.orelse = inline_returns(s.orelse)
        if isinstance(s, ast.Return) and isinstance(s.value, ast.Name) and out and \
                isinstance(out[-1], ast.Assign) and len(out[-1].targets) == 1 and \
                isinstance(out[-1].targets[0], ast.Name) and \
                out[-1].targets[0].id == s.value.id:
            s = ast.Return(out.pop().value)
        out.append(s)
    return out


def release(body: list[ast.stmt], params: list[str], keep: set[str],
            used_after: frozenset[str] = frozenset(), allocates_after: bool = False,
            bound: frozenset[str] | set[str] = frozenset(),
            entering: frozenset[str] | set[str] = frozenset()) -> list[ast.stmt]:
    """`del a, b` after the statement that last reads a tensor held while others are made
    (U-Net's skips, a temporary after a concatenation, what a loop left bound, a branch's
    temporaries), unless the statement rebinds it or the forward ends there: the forward then
    holds what the analysis counts as alive, no more. In a branch of an `if`, `used_after`
    are the names read after the `if`, `allocates_after` whether anything is made there, and
    `entering` the names bound before it that the branch may delete."""
    dying: dict[int, list[str]] = {}
    for value in values(body, params, entering):
        if value.name not in keep and _dies(value, body, used_after):
            dying.setdefault(value.end, []).append(value.name)
    out: list[ast.stmt] = []
    bound = set(params) | set(bound)  # names every path through the statements so far binds
    for i, stmt in enumerate(body):
        later = body[i + 1:]
        after = used_after | frozenset().union(*(_names(s, ast.Load) for s in later))
        # inside, only what the branch or pass binds first: a name bound before it is deleted
        # after it, here (deleting it inside too would delete it twice)
        inner_keep = keep | bound
        if isinstance(stmt, ast.If):
            more = allocates_after or _allocates(later)
            # with nothing made after the `if`, nothing deletes there: a name bound before
            # and read last in a branch is deleted in that branch (OctConv's `bn_h`)
            freed = set() if more else \
                bound - _undeletable(keep, params, body[:i]) - after
            stmt.body = release(stmt.body, [], inner_keep - freed, after, more, bound, freed)
            stmt.orelse = release(stmt.orelse, [], inner_keep - freed, after, more, bound,
                                  freed)
        elif isinstance(stmt, ast.For) and not stmt.orelse:
            # what a pass binds and drops before the next pass (not what the next one reads
            # before binding it: `last` in FPN's top-down loop)
            carried = _read_before_bound(stmt.body) | _names(stmt.target, ast.Store)
            stmt.body = release(stmt.body, [], inner_keep | carried, after | carried, False,
                                bound)
        out.append(stmt)
        # a statement that rebinds a name frees the old value itself; a loop or a branch
        # leaves bound what it binds, which is deleted only if it was bound before (a loop
        # that ran no pass, or the other branch, would leave nothing to delete)
        if isinstance(stmt, _COMPOUND):
            names = [n for n in dying.get(i, []) if n in bound]
        else:
            names = [n for n in dying.get(i, []) if n not in _names(stmt, ast.Store)]
            bound |= _names(stmt, ast.Store)
        if names and not isinstance(stmt, ast.Return) and \
                (_allocates(later) or allocates_after and not _returns(later)):
            out.append(ast.Delete([ast.Name(n, ast.Del()) for n in sorted(names)]))
    return out


def _undeletable(keep: set[str], params: list[str], before: list[ast.stmt]) -> set[str]:
    """What a branch must not delete of the names bound before it: names that hold no
    tensor, and arguments not rebound (the caller holds them)."""
    rebound = {n for s in before for n in _names(s, ast.Store)}
    return keep | (set(params) - rebound)


def _dies(value: Value, body: list[ast.stmt], used_after: frozenset[str]) -> bool:
    """Whether a value is worth deleting after its last reader: not the caller's argument
    (the caller holds it), not what a name read after the `if` holds last, and not a value
    whose next store comes before anything else is made (that store frees it). A store that
    computes its value frees the old one only once the new one is made: `x = out + out_`
    holds both for a moment, so the old `x` goes first."""
    if value.argument or value.end < 0:
        return False
    if value.last:
        return value.name not in used_after
    store = body[value.rebound]
    return _allocates(body[value.end + 1:value.rebound]) or \
        isinstance(store, ast.Assign) and _computes(store.value)


def _read_before_bound(body: list[ast.stmt]) -> set[str]:
    """Names a loop body reads before it binds them (so a pass reads the previous pass's)."""
    bound: set[str] = set()
    out: set[str] = set()
    for s in body:
        out |= _names(s, ast.Load) - bound
        bound |= _names(s, ast.Store)
    return out


def _allocates(stmts: list[ast.stmt]) -> bool:
    """Whether the statements make a tensor: an assignment, an `if`, or a return of a
    computed value (`return out + out_3`, not `return x` nor an in-place activation)."""
    for s in stmts:
        if isinstance(s, (ast.Assign, ast.If)):
            return True
        if isinstance(s, ast.Return):
            return s.value is not None and _computes(s.value)
    return False


_NO_TENSOR = frozenset({"tuple", "list", "len", "crop_at", "center_crop"})  # or a view


def _computes(value: ast.expr) -> bool:
    for node in ast.walk(value):
        if isinstance(node, ast.BinOp):
            return True
        if isinstance(node, ast.Call) and not (
                isinstance(node.func, ast.Name) and node.func.id in _NO_TENSOR) and not any(
                k.arg == "inplace" and isinstance(k.value, ast.Constant) and k.value.value
                for k in node.keywords):
            return True
    return False


def _returns(stmts: list[ast.stmt]) -> bool:
    return any(isinstance(s, ast.Return) for s in stmts)


def parameter_views(body: list[ast.stmt]) -> set[str]:
    """Variables bound to a module's attribute or a view of it (`self.pos_embedding.expand(n,
    -1, -1)`): they hold no activation, and deleting them would free nothing."""
    out = set()
    for s in body:
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and \
                isinstance(s.targets[0], ast.Name) and _of_self(s.value):
            out.add(s.targets[0].id)
    return out


def _of_self(value: ast.expr) -> bool:
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        value = value.func.value  # `self.x.expand(...)`: a method of the attribute
    return isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and \
        value.value.id == "self"


def _is_len(node: ast.Call) -> bool:
    return isinstance(node.func, ast.Name) and node.func.id == "len"


def inline_reads(body: list[ast.stmt], temps: set[str]) -> None:
    """`x = layer_blocks[n - 1]; pool = self.pool(x)` as `pool = self.pool(layer_blocks[n - 1])`:
    a temporary holding an item of a list, read once by the next statement and not after."""
    i = 0
    while i < len(body):
        stmt = body[i]
        if isinstance(stmt, (ast.For, ast.If)):
            inline_reads(stmt.body, temps)
            inline_reads(stmt.orelse, temps)
        nxt = body[i + 1] if i + 1 < len(body) else None
        if nxt is not None and _is_item_read(stmt, temps):
            var = stmt.targets[0].id  # type: ignore[attr-defined]
            reads = [n for n in ast.walk(nxt) if isinstance(n, ast.Name) and n.id == var and
                     isinstance(n.ctx, ast.Load)]
            later = any(var in _names(s, ast.Load) for s in body[i + 2:])
            if len(reads) == 1 and (not later or var in _names(nxt, ast.Store)) and \
                    not isinstance(nxt, (ast.For, ast.If)):
                reads[0].id = "__item__"
                body[i + 1] = _Put(stmt.value).visit(nxt)  # type: ignore[attr-defined]
                del body[i]
                continue
        i += 1


def inline_attributes(body: list[ast.stmt]) -> list[ast.stmt]:
    """`scale = self.layer_scale; out = out * scale` as `out = out * self.layer_scale`: a
    variable bound once to a module's attribute (a parameter) and read once after."""
    out = []
    for i, stmt in enumerate(body):
        var = _attribute_read(stmt)
        later = body[i + 1:]
        reads = [n for s in later for n in ast.walk(s)
                 if isinstance(n, ast.Name) and n.id == var]
        if var is None or len(reads) != 1 or not isinstance(reads[0].ctx, ast.Load):
            out.append(stmt)
            continue
        reads[0].id = "__item__"
        put = _Put(stmt.value)  # type: ignore[attr-defined]
        for s in later:
            put.visit(s)
    return out


def _attribute_read(stmt: ast.stmt) -> str | None:
    """The variable of `v = self.a.b`, else None."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and
            isinstance(stmt.targets[0], ast.Name)):
        return None
    value = stmt.value
    while isinstance(value, ast.Attribute):
        value = value.value
    if isinstance(value, ast.Name) and value.id == "self" and value is not stmt.value:
        return stmt.targets[0].id
    return None


def _is_item_read(stmt: ast.stmt, temps: set[str]) -> bool:
    return isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
        isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id in temps and \
        isinstance(stmt.value, ast.Subscript) and isinstance(stmt.value.value, ast.Name)


class _Put(ast.NodeTransformer):
    def __init__(self, value: ast.expr):
        self.value = value

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.value if node.id == "__item__" else node
