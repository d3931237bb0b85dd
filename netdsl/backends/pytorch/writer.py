"""Renders generated statements (`ast` trees) as source lines of at most 88 columns: a line
that is too long breaks inside its outermost call or list, arguments packed or one a line, or
before its loosest operators, as black would write it; parentheses only where Python's grammar
needs them."""

from __future__ import annotations

import ast

try:  # ast.unparse's machinery, with how tightly each expression binds (Python's grammar);
    from _ast_unparse import Unparser as _PythonUnparser  # a module of its own since 3.14
    from _ast_unparse import _Precedence
except ImportError:
    from ast import _Precedence
    from ast import _Unparser as _PythonUnparser

INDENT = "    "
WIDTH = 88


class _Unparser(_PythonUnparser):
    """`ast.unparse` with minimal parentheses where it adds more: every operand of `and` or
    `or` binds as tightly as the operator needs (ast.unparse raises the level operand by
    operand, writing `a and b and (c > 1)`), an exponent may be negated (`2 ** -k`, not
    `2 ** (-k)`), and a generator that is a call's only argument is in the call's own
    parentheses (`nn.ModuleList(m for c in cs)`)."""

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        operator = self.boolops[type(node.op).__name__]
        precedence = self.boolop_precedence[operator]
        with self.require_parens(precedence, node):
            self.set_precedence(precedence.next(), *node.values)
            self.interleave(lambda: self.write(f" {operator} "), self.traverse, node.values)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if not isinstance(node.op, ast.Pow):
            super().visit_BinOp(node)
            return
        (_, base, binding), (_, exponent, exponent_binding) = _operands(node)
        with self.require_parens(_Precedence.POWER, node):
            self.set_precedence(binding, base)
            self.traverse(base)
            self.write(" ** ")
            self.set_precedence(exponent_binding, exponent)
            self.traverse(exponent)

    def visit_Call(self, node: ast.Call) -> None:
        if len(node.args) == 1 and not node.keywords and \
                isinstance(node.args[0], ast.GeneratorExp):
            self.set_precedence(_Precedence.ATOM, node.func)
            self.traverse(node.func)
            self.traverse(node.args[0])
            return
        super().visit_Call(node)


def unparse(node: ast.AST) -> str:
    """The source of a tree, on one line."""
    return _Unparser().visit(node)


def _bound(node: ast.expr, precedence: _Precedence) -> str:
    """The source of an expression where the grammar needs `precedence`: parenthesised when
    it binds more loosely (`b + c` after `a -`)."""
    unparser = _Unparser()
    unparser.set_precedence(precedence, node)
    return unparser.visit(node)


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
        lines = [f"{pad}if {_header(stmt.test, len(pad) + 3, pad)}:"]
        lines += statements(stmt.body, depth + 1) or [f"{pad}{INDENT}pass"]
        orelse = stmt.orelse
        while len(orelse) == 1 and isinstance(orelse[0], ast.If):
            inner = orelse[0]
            lines.append(f"{pad}elif {_header(inner.test, len(pad) + 5, pad)}:")
            lines += statements(inner.body, depth + 1) or [f"{pad}{INDENT}pass"]
            orelse = inner.orelse
        if orelse:
            lines.append(f"{pad}else:")
            lines += statements(orelse, depth + 1)
        return lines
    if isinstance(stmt, ast.For):
        head = f"{pad}for {unparse(stmt.target)} in "
        return [f"{head}{_header(stmt.iter, len(head), pad)}:"] + statements(stmt.body, depth + 1)
    text = unparse(stmt)
    if len(pad) + len(text) <= WIDTH:
        return [pad + text]
    return _broken(stmt, pad)


def _header(node: ast.expr, column: int, pad: str) -> str:
    """The expression of an `if` or a `for` (indented by `pad`) starting at `column`, before
    the colon that ends the line, broken over lines when too long."""
    text = unparse(node)
    if column + len(text) + 1 <= WIDTH:
        return text
    return "\n".join(_lines(node, column + 1, "", pad))  # the colon's column counted


def _broken(stmt: ast.stmt, pad: str) -> list[str]:
    """A long simple statement: `lead = value` with the value broken."""
    if isinstance(stmt, ast.Assign):
        lead = " = ".join(unparse(t) for t in stmt.targets) + " = "
        value = stmt.value
        target = stmt.targets[0]
        if len(stmt.targets) == 1 and isinstance(target, ast.Tuple) and \
                len(pad) + len(lead) > WIDTH - 24:
            # many names: one a line, as black writes them
            names = [f"{pad}{INDENT}{unparse(e)}," for e in target.elts]
            return [pad + "("] + names + _lines(value, len(pad) + 4, pad + ") = ", pad)
    elif isinstance(stmt, ast.Return) and stmt.value is not None:
        lead, value = "return ", stmt.value
    elif isinstance(stmt, ast.Expr):
        lead, value = "", stmt.value
    elif isinstance(stmt, ast.Raise) and stmt.exc is not None:
        lead, value = "raise ", stmt.exc
    else:
        return [pad + unparse(stmt)]
    return _lines(value, len(pad) + len(lead), pad + lead, pad)


def _lines(node: ast.expr, column: int, lead: str, pad: str) -> list[str]:
    """`node` written after `lead` (which ends at `column`), continuation lines at `pad`."""
    text = unparse(node)
    if column + len(text) <= WIDTH:
        return [lead + text]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            isinstance(node.func.value, ast.Call) and \
            column + len(unparse(node.func)) + 1 > WIDTH:
        # `f(...).unflatten(0, n)`: the inner call broken, the method after its bracket
        lines = _lines(node.func.value, column, lead, pad)
        tail = unparse(ast.Call(ast.Name("_"), node.args, node.keywords))[1:]
        lines[-1] += f".{node.func.attr}{tail}"
        return lines
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords and \
            isinstance(node.args[0], ast.GeneratorExp):  # `nn.ModuleList(m for c in cs)`
        return _comprehension(node.args[0], lead + unparse(node.func) + "(", ")", pad)
    if isinstance(node, ast.ListComp):
        return _comprehension(node, lead + "[", "]", pad)
    if isinstance(node, ast.Call):
        head = unparse(node.func) + "("
        items = [unparse(a) if not isinstance(a, ast.Starred) else unparse(a)
                 for a in node.args]
        items += [f"{k.arg}={unparse(k.value)}" if k.arg else f"**{unparse(k.value)}"
                  for k in node.keywords]
        nodes = list(node.args) + [k.value for k in node.keywords]
        names = [""] * len(node.args) + [f"{k.arg}=" for k in node.keywords]
        return _bracketed(lead + head, ")", items, nodes, names, pad)
    if isinstance(node, ast.Dict):
        items = [f"{unparse(k)}: {unparse(v)}" for k, v in zip(node.keys, node.values,
                                                                       strict=True)]
        labels = [f"{unparse(k)}: " for k in node.keys]
        return _bracketed(lead + "{", "}", items, list(node.values), labels, pad)
    if isinstance(node, (ast.List, ast.Tuple)):
        opener, closer = ("[", "]") if isinstance(node, ast.List) else ("(", ")")
        items = [unparse(e) for e in node.elts]
        if all(_literal(e) for e in node.elts):
            return _packed(lead + opener, closer, items, pad)
        return _bracketed(lead + opener, closer, items, list(node.elts), [""] * len(items), pad)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call):
        index = f"[{unparse(node.slice)}]"  # `self.attn(...)[0]`
        lines = _lines(node.value, column, lead, pad)
        lines[-1] += index
        return lines
    if isinstance(node, _OPERATORS):
        return _operator_lines(node, lead, pad)
    if isinstance(node, ast.UnaryOp):  # `not (...)`, `-f(...)`
        operator = _Unparser.unop[type(node.op).__name__]
        precedence = _Unparser.unop_precedence[operator]
        prefix = operator + (" " if precedence is not _Precedence.FACTOR else "")
        return _operand_lines(node.operand, precedence, column + len(prefix), lead + prefix,
                              pad)
    return [lead + text]


def _comprehension(node: ast.ListComp | ast.GeneratorExp, opening: str, closer: str,
                   pad: str) -> list[str]:
    """A comprehension in its brackets: on one continuation line if it fits, else its element
    and each of its `for`s and `if`s on a line of its own (as black breaks them)."""
    inner = pad + INDENT
    element = unparse(node.elt)
    clauses: list[tuple[str, ast.expr, _Precedence]] = []  # `for c in`, cs; `if`, cond
    for loop in node.generators:
        head = f"{'async ' * loop.is_async}for {_bound(loop.target, _Precedence.TUPLE)} in "
        clauses.append((head, loop.iter, _Precedence.TEST.next()))
        clauses += [("if ", cond, _Precedence.TEST.next()) for cond in loop.ifs]
    whole = element + "".join(f" {head}{_bound(e, p)}" for head, e, p in clauses)
    if len(inner) + len(whole) <= WIDTH:
        return [opening, inner + whole, pad + closer]
    lines = [opening, *_lines(node.elt, len(inner), inner, inner)]
    for head, expr, precedence in clauses:
        lines += _operand_lines(expr, precedence, len(inner + head), inner + head, inner)
    return lines + [pad + closer]


_OPERATORS = (ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp)  # broken before an operator


def _operands(node: ast.expr) -> list[tuple[str, ast.expr, _Precedence]]:
    """An operator expression as black breaks it: each operand after the operator before
    it (the first after none), with how tightly the grammar needs it to bind. A chain of
    operators of one level is one break (`a + b - c`); `**` binds right to left."""
    if isinstance(node, ast.IfExp):
        tight = _Precedence.TEST.next()
        return [("", node.body, tight), ("if", node.test, tight),
                ("else", node.orelse, _Precedence.TEST)]
    if isinstance(node, ast.BoolOp):
        operator = _Unparser.boolops[type(node.op).__name__]
        tight = _Unparser.boolop_precedence[operator].next()
        return [(operator if i else "", value, tight) for i, value in enumerate(node.values)]
    if isinstance(node, ast.Compare):
        tight = _Precedence.CMP.next()
        return [("", node.left, tight)] + [
            (_Unparser.cmpops[type(op).__name__], value, tight)
            for op, value in zip(node.ops, node.comparators, strict=True)]
    if isinstance(node.op, ast.Pow):  # `a ** b ** c` is `a ** (b ** c)`; `2 ** -k` is valid
        return [("", node.left, _Precedence.POWER.next()), ("**", node.right, _Precedence.FACTOR)]
    level = _binary(node)[1]
    chain: list[tuple[str, ast.expr, _Precedence]] = []
    while isinstance(node, ast.BinOp) and _binary(node)[1] is level:
        chain.append((_binary(node)[0], node.right, level.next()))
        node = node.left
    chain.append(("", node, level))
    return chain[::-1]


def _binary(node: ast.BinOp) -> tuple[str, _Precedence]:
    """A binary operation's operator and how tightly it binds."""
    operator = _Unparser.binop[type(node.op).__name__]
    return operator, _Unparser.binop_precedence[operator]


def _operator_lines(node: ast.expr, lead: str, pad: str) -> list[str]:
    """A long operator expression in parentheses: on one continuation line if it fits, else
    broken before each of its loosest operators, one operand a line (as black breaks it)."""
    inner = pad + INDENT
    text = unparse(node)
    if len(inner) + len(text) <= WIDTH:
        return [lead + "(", inner + text, pad + ")"]
    lines = [lead + "("]
    for operator, operand, precedence in _operands(node):
        prefix = inner + (f"{operator} " if operator else "")
        lines += _operand_lines(operand, precedence, len(prefix), prefix, inner)
    return lines + [pad + ")"]


def _operand_lines(node: ast.expr, precedence: _Precedence, column: int, lead: str,
                   pad: str) -> list[str]:
    """An operand written after `lead` where the grammar needs `precedence`; too long, an
    operator expression breaks in parentheses of its own, anything else in its brackets."""
    text = _bound(node, precedence)
    if column + len(text) <= WIDTH:
        return [lead + text]
    if isinstance(node, _OPERATORS):
        return _operator_lines(node, lead, pad)
    if text != unparse(node):  # parenthesised where it stands (`(-x) ** 2`)
        inner = pad + INDENT
        return [lead + "(", *_lines(node, len(inner), inner, inner), pad + ")"]
    return _lines(node, column, lead, pad)


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


# ---------------------------------------------------------------- lists only iterated

_ITERATES = frozenset({"sum", "min", "max", "tuple"})  # builtins that only loop over a list


class _Iterated(ast.NodeTransformer):
    """Where a list is only looped over (a `for`, a comprehension, `sum(...)`), the tuple
    made of a generator or a range is the generator or the range itself."""

    def visit_For(self, node: ast.For) -> ast.For:
        self.generic_visit(node)
        node.iter = _untupled(node.iter)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.comprehension:
        self.generic_visit(node)
        node.iter = _untupled(node.iter)
        return node

    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in _ITERATES and \
                len(node.args) == 1 and not node.keywords:
            node.args = [_untupled(node.args[0])]
        return node


def _untupled(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == "tuple" and len(node.args) == 1 and not node.keywords:
        return node.args[0]
    return node


def without_tuple(node: ast.AST) -> ast.AST:
    """`node` with every list it only iterates read as its generator (`_Iterated`)."""
    return _Iterated().visit(node)
