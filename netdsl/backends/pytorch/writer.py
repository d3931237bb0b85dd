"""Renders generated statements (`ast` trees) as source lines of at most 88 columns: a line
that is too long breaks inside its outermost call or list, arguments packed or one a line, as
black would write it."""

from __future__ import annotations

import ast

from netdsl.backends.pytorch.pyexpr import without_tuple

INDENT = "    "
WIDTH = 88


def _unparse(node: ast.AST) -> str:
    """`ast.unparse`, with a generator that is a call's only argument in the call's own
    parentheses (`nn.ModuleList(m for c in cs)`, not `nn.ModuleList((m for c in cs))`)."""
    text = ast.unparse(node)
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and len(call.args) == 1 and not call.keywords and \
                isinstance(call.args[0], ast.GeneratorExp):
            doubled = ast.unparse(call)
            text = text.replace(doubled, ast.unparse(call.func) + ast.unparse(call.args[0]))
    return text


def statements(body: list[ast.stmt], depth: int) -> list[str]:
    lines: list[str] = []
    for stmt in body:
        lines += statement(stmt, depth)
    return lines


def statement(stmt: ast.stmt, depth: int) -> list[str]:
    stmt = without_tuple(stmt)  # type: ignore[assignment]
    ast.fix_missing_locations(stmt)
    pad = INDENT * depth
    if isinstance(stmt, ast.If):
        lines = [f"{pad}if {expression(stmt.test, len(pad) + 3)}:"]
        lines += statements(stmt.body, depth + 1) or [f"{pad}{INDENT}pass"]
        orelse = stmt.orelse
        while len(orelse) == 1 and isinstance(orelse[0], ast.If):
            inner = orelse[0]
            lines.append(f"{pad}elif {expression(inner.test, len(pad) + 5)}:")
            lines += statements(inner.body, depth + 1) or [f"{pad}{INDENT}pass"]
            orelse = inner.orelse
        if orelse:
            lines.append(f"{pad}else:")
            lines += statements(orelse, depth + 1)
        return lines
    if isinstance(stmt, ast.For):
        head = f"{pad}for {_unparse(stmt.target)} in {expression(stmt.iter, len(pad) + 8)}:"
        return [head] + statements(stmt.body, depth + 1)
    text = _unparse(stmt)
    if len(pad) + len(text) <= WIDTH:
        return [pad + text]
    return _broken(stmt, pad)


def expression(node: ast.expr, column: int) -> str:
    """An expression starting at `column`, broken over lines when too long."""
    text = _unparse(node)
    if column + len(text) <= WIDTH:
        return text
    return "\n".join(_lines(node, column, "", INDENT * (column // len(INDENT))))


def _broken(stmt: ast.stmt, pad: str) -> list[str]:
    """A long simple statement: `lead = value` with the value broken."""
    if isinstance(stmt, ast.Assign):
        lead = " = ".join(_unparse(t) for t in stmt.targets) + " = "
        value = stmt.value
        target = stmt.targets[0]
        if len(stmt.targets) == 1 and isinstance(target, ast.Tuple) and \
                len(pad) + len(lead) > WIDTH - 24:
            # many names: one a line, as black writes them
            names = [f"{pad}{INDENT}{_unparse(e)}," for e in target.elts]
            return [pad + "("] + names + _lines(value, len(pad) + 4, pad + ") = ", pad)
    elif isinstance(stmt, ast.Return) and stmt.value is not None:
        lead, value = "return ", stmt.value
    elif isinstance(stmt, ast.Expr):
        lead, value = "", stmt.value
    elif isinstance(stmt, ast.Raise) and stmt.exc is not None:
        lead, value = "raise ", stmt.exc
    else:
        return [pad + _unparse(stmt)]
    return _lines(value, len(pad) + len(lead), pad + lead, pad)


def _lines(node: ast.expr, column: int, lead: str, pad: str) -> list[str]:
    """`node` written after `lead` (which ends at `column`), continuation lines at `pad`."""
    text = _unparse(node)
    if column + len(text) <= WIDTH:
        return [lead + text]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            isinstance(node.func.value, ast.Call) and \
            column + len(_unparse(node.func)) + 1 > WIDTH:
        # `f(...).unflatten(0, n)`: the inner call broken, the method after its bracket
        lines = _lines(node.func.value, column, lead, pad)
        tail = _unparse(ast.Call(ast.Name("_"), node.args, node.keywords))[1:]
        lines[-1] += f".{node.func.attr}{tail}"
        return lines
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords and \
            isinstance(node.args[0], ast.GeneratorExp):  # `nn.ModuleList(m for c in cs)`
        return _comprehension(node.args[0], lead + _unparse(node.func) + "(", ")", pad)
    if isinstance(node, ast.ListComp):
        return _comprehension(node, lead + "[", "]", pad)
    if isinstance(node, ast.Call):
        head = _unparse(node.func) + "("
        items = [_unparse(a) if not isinstance(a, ast.Starred) else _unparse(a)
                 for a in node.args]
        items += [f"{k.arg}={_unparse(k.value)}" if k.arg else f"**{_unparse(k.value)}"
                  for k in node.keywords]
        nodes = list(node.args) + [k.value for k in node.keywords]
        names = [""] * len(node.args) + [f"{k.arg}=" for k in node.keywords]
        return _bracketed(lead + head, ")", items, nodes, names, pad)
    if isinstance(node, ast.Dict):
        items = [f"{_unparse(k)}: {_unparse(v)}" for k, v in zip(node.keys, node.values,
                                                                       strict=True)]
        labels = [f"{_unparse(k)}: " for k in node.keys]
        return _bracketed(lead + "{", "}", items, list(node.values), labels, pad)
    if isinstance(node, (ast.List, ast.Tuple)):
        opener, closer = ("[", "]") if isinstance(node, ast.List) else ("(", ")")
        items = [_unparse(e) for e in node.elts]
        if all(_literal(e) for e in node.elts):
            return _packed(lead + opener, closer, items, pad)
        return _bracketed(lead + opener, closer, items, list(node.elts), [""] * len(items), pad)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call):
        index = f"[{_unparse(node.slice)}]"  # `self.attn(...)[0]`
        lines = _lines(node.value, column, lead, pad)
        lines[-1] += index
        return lines
    if isinstance(node, ast.BinOp | ast.BoolOp | ast.Compare | ast.IfExp):
        return _operator_lines(node, lead, pad)
    return [lead + text]


def _comprehension(node: ast.ListComp | ast.GeneratorExp, opening: str, closer: str,
                   pad: str) -> list[str]:
    """A comprehension in its brackets: on one continuation line if it fits, else its element
    and its `for` on two (as black breaks them)."""
    inner = pad + INDENT
    element = _unparse(node.elt)
    loops = " ".join(_unparse(g).strip() for g in node.generators)  # `for c in cs`
    whole = f"{element} {loops}"
    if len(inner) + len(whole) <= WIDTH:
        return [opening, inner + whole, pad + closer]
    return [opening, inner + element, inner + loops, pad + closer]


_SAME_LEVEL = ((ast.Add, ast.Sub), (ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.MatMult))


def _chain(node: ast.BinOp) -> list[tuple[str, ast.expr]]:
    """The operands of a left-leaning chain of operators of one precedence (`a + b - c`)."""
    level = next((ops for ops in _SAME_LEVEL if isinstance(node.op, ops)), (type(node.op),))
    parts: list[tuple[str, ast.expr]] = []
    current: ast.expr = node
    while isinstance(current, ast.BinOp) and isinstance(current.op, level):
        symbol = _unparse(ast.BinOp(ast.Name("a"), current.op, ast.Name("b")))[2:-2]
        parts.append((symbol, current.right))
        current = current.left
    parts.append(("", current))
    return parts[::-1]


def _operands(node: ast.BinOp | ast.BoolOp | ast.Compare | ast.IfExp,
              ) -> list[tuple[str, ast.expr]]:
    """An expression's operands, each after the word or symbol before it (`a`, `and b`;
    `8`, `if c`, `else 4`), in the order they are written."""
    if isinstance(node, ast.BinOp):
        return _chain(node)
    if isinstance(node, ast.BoolOp):
        word = "and" if isinstance(node.op, ast.And) else "or"
        return [("" if k == 0 else word, v) for k, v in enumerate(node.values)]
    if isinstance(node, ast.Compare):
        symbols = [_unparse(ast.Compare(ast.Name("a"), [op], [ast.Name("b")]))[2:-2]
                   for op in node.ops]
        return [("", node.left), *zip(symbols, node.comparators, strict=True)]
    return [("", node.body), ("if", node.test), ("else", node.orelse)]


# the operands each kind of expression writes in parentheses on its own line
_PARENTHESISED = {ast.BinOp: (ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp),
                  ast.BoolOp: (ast.BoolOp, ast.IfExp),
                  ast.Compare: (ast.BoolOp, ast.Compare, ast.IfExp, ast.UnaryOp),
                  ast.IfExp: (ast.IfExp,)}


def _operator_lines(node: ast.BinOp | ast.BoolOp | ast.Compare | ast.IfExp, lead: str,
                    pad: str) -> list[str]:
    """A long expression in parentheses, one operand a line, each after its operator (as
    black breaks it: `a`, `and b`; `8`, `if c`, `else 4`); an operand that is itself an
    expression is parenthesised, and broken in turn when it is still too long."""
    inner = pad + INDENT
    lines = [lead + "("]
    for symbol, operand in _operands(node):
        prefix = inner + (f"{symbol} " if symbol else "")
        text = _unparse(operand)
        grouped = isinstance(operand, _PARENTHESISED[type(node)]) and \
            not (isinstance(operand, ast.UnaryOp) and not isinstance(operand.op, ast.Not))
        if grouped:
            text = f"({text})"
        if len(prefix) + len(text) <= WIDTH or grouped and isinstance(operand, ast.UnaryOp):
            lines.append(prefix + text)
        elif grouped:  # in its own parentheses, however long it is unbroken
            lines += _operator_lines(operand, prefix, inner)  # type: ignore[arg-type]
        else:
            lines += _lines(operand, len(prefix), prefix, inner)
    lines.append(pad + ")")
    return lines


def _literal(node: ast.expr) -> bool:
    """A constant, or a list or tuple of them (a row of a table)."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(isinstance(e, ast.Constant) for e in node.elts)
    return isinstance(node, ast.Constant)


def _packed(opening: str, closer: str, items: list[str], pad: str) -> list[str]:
    """A table's rows, as many to a line as fit (as the spec writes its tables)."""
    inner = pad + INDENT
    lines = [opening]
    current = ""
    for text in items:
        piece = text + ","
        if current and len(inner) + len(current) + 1 + len(piece) > WIDTH:
            lines.append(inner + current)
            current = ""
        current = f"{current} {piece}" if current else piece
    lines.append(inner + current)
    lines.append(pad + closer)
    return lines


def _bracketed(opening: str, closer: str, items: list[str], nodes: list[ast.expr],
               names: list[str], pad: str) -> list[str]:
    """Items packed on one continuation line if they fit, else one per line."""
    inner = pad + INDENT
    packed = ", ".join(items)
    if len(inner) + len(packed) <= WIDTH:
        return [opening, inner + packed, pad + closer]
    lines = [opening]
    for text, node, label in zip(items, nodes, names, strict=True):
        if len(inner) + len(text) + 1 <= WIDTH:
            lines.append(f"{inner}{text},")
        else:
            body = _lines(node, len(inner) + len(label) + 1, inner + label, inner)
            body[-1] += ","
            lines += body
    lines.append(pad + closer)
    return lines


def signature(name: str, params: list[str], returns: str, depth: int = 1) -> list[str]:
    """`def name(self, ...) -> returns:`, parameters packed on continuation lines if long."""
    pad = INDENT * depth
    line = f"{pad}def {name}({', '.join(params)}) -> {returns}:"
    if len(line) <= WIDTH:
        return [line]
    inner = pad + INDENT
    lines = [f"{pad}def {name}("]
    current = ""
    for p in params:
        if current and len(inner) + len(current) + 1 + len(p) + 1 > WIDTH:
            lines.append(inner + current)
            current = ""
        current = f"{current} {p}," if current else f"{p},"
    lines += [inner + current, f"{pad}) -> {returns}:"]
    return lines
