"""Questions the translator asks of a block's syntax before it writes code: which labels name
tensors read again later, whether the block reads its input after its first layer, the
operands of an argument, whether a loop runs over a range."""

from __future__ import annotations

from typing import Any

from netdsl.backends.pytorch.values import Unsupported
from netdsl.syntax import ast as syn


def walk(stmts: tuple[syn.Stmt, ...], skip: type | tuple[type, ...] = ()):
    """Every node of a body's syntax, not entering other blocks nor nodes of type `skip`."""
    stack: list[Any] = list(stmts)
    while stack:
        node = stack.pop()
        if skip and isinstance(node, skip):
            continue
        yield node
        if isinstance(node, syn.Node):
            for value in vars(node).values():
                if isinstance(value, syn.Node):
                    stack.append(value)
                elif isinstance(value, tuple):
                    stack.extend(v for v in value if isinstance(v, (syn.Node, tuple)))
        elif isinstance(node, tuple):
            stack.extend(v for v in node if isinstance(v, (syn.Node, tuple)))


def labels(stmts: tuple[syn.Stmt, ...]) -> set[str]:
    return {n.label for n in walk(stmts) if isinstance(n, syn.Element)
            and isinstance(n.label, str)}


def label_counts(stmts: tuple[syn.Stmt, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for n in walk(stmts):
        if isinstance(n, syn.Element) and isinstance(n.label, str):
            counts[n.label] = counts.get(n.label, 0) + 1
    return counts


_SIZES = frozenset({"c", "h", "w", "d", "shape", "output"})  # `t.h` reads a size, no tensor


def referenced_labels(stmts: tuple[syn.Stmt, ...],
                      skip: type | tuple[type, ...] = ()) -> set[str]:
    """Labels a body names as tensors after making them (from, merge arguments, .h), outside
    nodes of type `skip`. A name may be a computed label (`("t" + str(i)): conv(8, 3)` then
    `concat(t1)`) when the body has one."""
    named = labels(stmts) | {n.name for n in walk(stmts) if isinstance(n, syn.Input)}
    computed = any(isinstance(n, syn.Element) and n.label is not None
                   and not isinstance(n.label, str) for n in walk(stmts))
    calls = layer_names(stmts)
    out = set()
    for n in walk(stmts, skip):
        if id(n) in calls:
            continue
        if isinstance(n, syn.From):
            out.add(".".join(n.path))
            out.add(n.path[0])
        elif isinstance(n, syn.Name) and (n.id in named or computed):
            out.add(n.id)
        elif isinstance(n, syn.Attribute) and n.attr not in _SIZES:  # `add(h.a)`
            path = dotted_path(n)
            if path is not None and path.split(".")[0] in named:
                out.add(path)
        elif isinstance(n, syn.Output):
            for path in n.names:
                out.add(".".join(path))
                out.add(path[0])
    return out


def layer_names(stmts: tuple[syn.Stmt, ...]) -> set[int]:
    """The plain names a body applies as layers, by node id: an element of a chain calls the
    operator or block of that name even where a label has it too (`relu: conv(8, 1)` then
    `relu`), as the elaborator applies it; only a tensor argument of one name (`add(relu)`)
    or a list item's element reads a label by it."""
    chains = [n.value if isinstance(n, syn.Arg) else n.element for n in walk(stmts)
              if isinstance(n, (syn.Arg, syn.Comprehension))]
    reads = {id(chain) for chain in chains if len(chain.elements) == 1}
    return {id(e.value) for n in walk(stmts) if isinstance(n, syn.Chain) and id(n) not in reads
            for e in n.elements if isinstance(e.value, syn.Name)}


def names_read(stmts: tuple[syn.Stmt, ...]) -> set[str]:
    """Every name a body reads, as a value or as the start of a path."""
    return {n.id for n in walk(stmts) if isinstance(n, syn.Name)}


def named_as_values(stmts: tuple[syn.Stmt, ...]) -> set[str]:
    """Names a body uses as whole values (`fpn(body)`, `body[i - 1]`), not as the start of a
    path (`body.layer1.c`) nor in an `expect`."""
    out: set[str] = set()
    bases: set[int] = set()
    for n in walk(stmts, skip=syn.Expect):
        if isinstance(n, syn.Attribute):
            bases.add(id(n.value))
        elif isinstance(n, syn.Name) and id(n) not in bases:
            out.add(n.id)
    return out


def uses_block_input(stmts: tuple[syn.Stmt, ...]) -> bool:
    """Whether the body reads `in` as a tensor (from in, a merge argument) or its sizes other
    than its channels."""
    return reads_block_input(stmts) or any(
        isinstance(n, syn.Attribute) and isinstance(n.value, syn.BlockInput) and n.attr != "c"
        for n in walk(stmts))


def reads_block_input(stmts: tuple[syn.Stmt, ...]) -> bool:
    """Whether the body reads its input tensor (`from in`, `add(in)`, `t = in`, `[in, t]`),
    not only its sizes (`in.c`): some `in` is not the base of an attribute."""
    inputs = sizes = 0
    for n in walk(stmts):
        if isinstance(n, syn.From) and n.path[:1] == ("in",):
            return True
        inputs += isinstance(n, syn.BlockInput)
        sizes += isinstance(n, syn.Attribute) and isinstance(n.value, syn.BlockInput)
    return inputs > sizes


def first_label(chain: syn.Chain, blocks: Any) -> str | None:
    """The first label in a path on a block call or a group (not on a single operator)."""
    for el in chain.elements:
        value = el.value
        name = value.id if isinstance(value, syn.Name) else \
            value.func if isinstance(value, syn.Call) else None
        if isinstance(el.label, str) and (isinstance(value, syn.Group) or name in blocks):
            return el.label
        if isinstance(el.label, str):
            return None
        if isinstance(value, syn.Group):
            for stmt in value.body:
                if isinstance(stmt, syn.Chain):
                    found = first_label(stmt, blocks)
                    if found is not None:
                        return found
    return None


def path_labels(chain: syn.Chain) -> list[str]:
    """The labels a path gives, in its chain and in the groups it is made of."""
    out: list[str] = []
    for el in chain.elements:
        if isinstance(el.label, str):
            out.append(el.label)
        elif isinstance(el.value, syn.Group):
            for stmt in el.value.body:
                if isinstance(stmt, syn.Chain):
                    out += path_labels(stmt)
    return out


def dotted_path(e: syn.Expr) -> str | None:
    parts = []
    while isinstance(e, syn.Attribute):
        parts.append(e.attr)
        e = e.value
    if isinstance(e, syn.Name):
        parts.append(e.id)
        return ".".join(reversed(parts))
    return None


def single(chain: syn.Chain) -> syn.Expr:
    if len(chain.elements) != 1 or chain.elements[0].label is not None or \
            isinstance(chain.elements[0].value, syn.Merge):
        raise Unsupported("a chain of layers as a value")
    return chain.elements[0].value  # type: ignore[return-value]


def over_range(iterable: syn.Expr, env: Any) -> bool:
    """Whether a loop's variable takes a `range`'s values (ints): `range` not rebound."""
    return isinstance(iterable, syn.Call) and iterable.func == "range" and \
        env.find("range") is None
