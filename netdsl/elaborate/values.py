"""The expression evaluator: the language's own small interpreter, never Python's `eval`.

Values are ints, floats, bools, strings, tuples (the language's lists), `Symbol`s (bare words
such as `global`), `Function`s (`def` and builtins), `LayerRef`s (an operator or block used as a
value, e.g. `act=relu6`) and `TensorValue`s (a labeled tensor or `in`, with `.c`, `.h`, `.w`).
"""

from __future__ import annotations

import inspect
import math
import numbers
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, ClassVar

from netdsl.elaborate.budget import Budget
from netdsl.errors import Span, SpecError, did_you_mean
from netdsl.limits import MAX_CALL_DEPTH, MAX_INT_BITS
from netdsl.notation import described, kind_text, shape_text, value_text
from netdsl.ops.base import Symbol
from netdsl.syntax import ast

CALL_STEPS = 8  # a call of a `def` costs this many steps besides its expressions' (a scope,
# its bindings): so that a step takes about as long whatever the spec does


TENSOR_ATTRIBUTES = ("c", "shape", "rank", "h", "w", "d", "l")


def reads_size(e: ast.Attribute) -> bool:
    """Whether `t.c` reads a size of a tensor (`.c`, `.h`, `.shape`, ...) rather than naming
    a label inside it; quoted (`g."c"`), it is the label."""
    return e.attr in TENSOR_ATTRIBUTES and not e.quoted


@dataclass(frozen=True)
class TensorValue:
    """A tensor seen from an expression: its node and shape."""

    node: str
    shape: tuple[int, ...]
    label: str
    kind: ClassVar[str] = "tensor"

    def notation(self) -> str:
        return self.label

    def attribute(self, attr: str) -> Any:
        s = self.shape
        spatial = s[1:]
        table: dict[str, Callable[[], Any]] = {
            "c": lambda: s[0],
            "shape": lambda: s,
            "rank": lambda: len(s),
            "h": lambda: spatial[-2] if len(spatial) >= 2 else None,
            "w": lambda: spatial[-1] if spatial else None,
            "d": lambda: spatial[-3] if len(spatial) >= 3 else None,
            "l": lambda: spatial[-1] if len(spatial) == 1 else None,
        }
        if attr not in table:
            raise SpecError(f"a tensor has no attribute '{attr}'", "name",
                            help=did_you_mean(attr, table) or "use c, h, w, d, l, shape or rank")
        value = table[attr]()
        if value is None:
            raise SpecError(f"a tensor of shape {shape_text(s, 'list')} has no '{attr}'", "shape")
        return value


def holds_tensors(value: Any) -> bool:
    """Whether a value is a tensor or a list, at any depth, of nothing but tensors (a list of
    lists of them: U-Net++'s rows of nodes)."""
    if isinstance(value, tuple):
        return bool(value) and all(holds_tensors(v) for v in value)
    return isinstance(value, TensorValue)


@dataclass(frozen=True)
class LayerRef:
    """An operator or block used as a value, possibly with arguments bound: `leaky_relu(0.2)`."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    kind: ClassVar[str] = "layer"

    def notation(self) -> str:
        return self.name

    def bound_text(self) -> str:
        """The value as the call that made it, `unit(4)` or `leaky_relu(slope=0.2)`: what a
        comment about a class written for it shows (`str` of it, `notation`, is the name)."""
        if not self.args and not self.kwargs:
            return self.name
        given = [value_text(a) for a in self.args] + \
            [f"{k}={value_text(v)}" for k, v in self.kwargs]
        return f"{self.name}({', '.join(given)})"


@dataclass(frozen=True)
class Function:
    """A value function: a builtin or a `def`."""

    name: str
    params: tuple[str, ...] = ()
    body: ast.Expr | None = None
    closure: Env | None = None
    builtin: Callable[..., Any] | None = None
    kind: ClassVar[str] = "function"

    def notation(self) -> str:
        return self.name


class Poisoned:
    """The value of a definition that failed: using it raises `FollowOnError`, not a second
    report of the same mistake."""

    @staticmethod
    def named(env: Env, dotted: str) -> bool:
        """Whether `dotted` (`a`, or `a.b` inside it) names what a failed statement made."""
        return any(isinstance(env.find(name), Poisoned)
                   for name in (dotted, dotted.partition(".")[0]))


@dataclass(frozen=True)
class Unavailable:
    """A name that exists but has no value here; using it says why (`output` in a network with
    several outputs)."""

    message: str
    help: str | None = None


class FollowOnError(SpecError):
    """A consequence of an error already reported; callers drop it."""

    @classmethod
    def of(cls, name: str, span: Span) -> FollowOnError:
        """The use of `name`, whose definition failed (its value is `Poisoned`)."""
        return cls(f"'{name}' could not be defined", "value", span)


UNBOUND: Any = object()  # what `Env.find` returns for a name no scope binds
_SCALARS = frozenset((int, float, bool))  # values a name gives as they are, at no cost


@dataclass
class Env:
    """A scope of value bindings."""

    vars: dict[str, Any] = field(default_factory=dict)
    parent: Env | None = None

    def lookup(self, name: str) -> Any:
        value = self.find(name)
        if value is UNBOUND:
            raise KeyError(name)
        return value

    def find(self, name: str) -> Any:
        """The value bound to `name`, or UNBOUND. Without an exception: most names a chain
        looks up are operators and blocks, which no scope binds."""
        env: Env | None = self
        while env is not None:
            value = env.vars.get(name, UNBOUND)
            if value is not UNBOUND:
                return value
            env = env.parent
        return UNBOUND

    def names(self) -> set[str]:
        out: set[str] = set()
        env: Env | None = self
        while env is not None:
            out.update(env.vars)
            env = env.parent
        return out

    def child(self, /, **values: Any) -> Env:  # `/`: a parameter may be named `self`
        return Env(dict(values), self)


class Resolver:
    """What names mean beyond value bindings: tensors, layers, `in`. The elaborator supplies it."""

    def tensor(self, name: str) -> TensorValue | None:
        return None

    def block_input(self) -> TensorValue:
        raise SpecError("`in` is only defined inside a block", "name")

    def is_layer(self, name: str) -> bool:
        return False

    def layer_names(self) -> set[str]:
        return set()

    def layer_kind(self, name: str) -> str | None:
        """What the layer `name` is (`operator`, `block`), None if no layer is so named."""
        return None

    def tensor_names(self) -> set[str]:
        """Names `tensor` knows, for a did-you-mean."""
        return set()

    def tensor_at(self, path: ast.From) -> Any:
        """The tensor (or list of tensors) `from path` names."""
        raise SpecError("there are no tensors here", "name", path.span)

    def applies_layers(self, chain: ast.Chain) -> bool:
        """Whether a chain makes tensors (layers applied) rather than a value."""
        return False

    def calls_on_items(self, e: ast.Comprehension) -> bool:
        """Whether a comprehension's item calls a layer on the items of a list of tensors."""
        return False

    def apply_chain(self, chain: ast.Chain, env: Env, index: int, count: int) -> Any:
        """The tensor(s) a chain makes, pass `index` of `count` (a comprehension's item)."""
        raise SpecError("layers are not values here", "type", chain.span,
                        help="layers go in a network's or a block's body")


def checked(value: Any, span: Any) -> Any:
    """A number result as the language allows it: ints of at most `MAX_INT_BITS` bits, finite
    floats and never a complex number (Python makes one of `(-8) ** 0.5`)."""
    kind = type(value)
    if kind is int:
        if value.bit_length() > MAX_INT_BITS:
            raise SpecError(f"the number has more than {MAX_INT_BITS} bits", "limit", span)
    elif kind is float:
        if not math.isfinite(value):
            raise SpecError("the result is too large for a float (infinite)"
                            if math.isinf(value) else "the result is not a number (NaN)",
                            "value", span)
    elif kind is complex:
        raise SpecError("the result has no real value (a negative number to a fractional "
                        "power, or the like)", "value", span)
    return value


def language_value(value: Any) -> Any:
    """A value from Python (`netdsl.load(..., name=value)`) as a value of the language: ints
    of at most `MAX_INT_BITS` bits, finite floats, bools, strings and lists (tuples) of them."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return checked(int(value), None)
    if isinstance(value, numbers.Real):
        return checked(float(value), None)
    if isinstance(value, (list, tuple)):
        items = tuple(language_value(v) for v in value)
        Budget().new_list(items, None)  # the size and depth any list of the language has
        return items
    raise SpecError(f"a parameter must be an int, float, bool, string or list, got "
                    f"{type(value).__name__}", "type")


def _text(value: str) -> str:
    """A string from Python, which may hold what no text file can: a lone surrogate (a byte
    that was not UTF-8), no character, which no label or file name can be written with."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SpecError(f"a parameter string holds {value[exc.start]!r}, a lone surrogate: no "
                        f"character", "value") from None
    return value


def _num(value: Any, what: str, span: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{what} needs a number, got {described(value)}",
                        "type", span)
    return value


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and not isinstance(value, Symbol)


def arithmetic(op: str, a: Any, b: Any, span: Any, budget: Budget) -> Any:
    """`a op b` as the language computes it: numbers checked, lists and strings joined and
    repeated within `budget`."""
    if type(a) in _NUMBERS and type(b) in _NUMBERS:  # most arithmetic: checked below
        return _number_arith(op, a, b, span)
    if op == "+" and isinstance(a, tuple) and isinstance(b, tuple):
        (ai, ad), (bi, bd) = budget.measure(a), budget.measure(b)
        budget.combine(len(a) + len(b), ai + bi, max(ad, bd), span)
        return budget.remember(a + b, ai + bi, max(ad, bd))
    if op == "+" and _is_text(a) and _is_text(b):
        budget.new_string(len(a) + len(b), span)
        return a + b
    if op == "*" and isinstance(a, tuple) and isinstance(b, int) and not isinstance(b, bool):
        items, depth = budget.measure(a)
        n = max(b, 0)
        budget.combine(len(a) * n, items * n, depth, span)
        return budget.remember(a * n, items * n, depth)
    return _number_arith(op, _num(a, f"'{op}'", span), _num(b, f"'{op}'", span), span)


_NUMBERS = frozenset((int, float))  # bool, a subclass of int, is not a number here
_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod,
}


def _number_arith(op: str, a: int | float, b: int | float, span: Any) -> Any:
    try:
        if op == "**":
            if isinstance(b, int) and isinstance(a, int) and abs(a) > 1 and \
                    b * math.log2(abs(a)) > MAX_INT_BITS:
                raise SpecError(f"{a} ** {b} is too large", "limit", span)
            return checked(a ** b, span)
        function = _ARITHMETIC.get(op)
        if function is None:
            raise AssertionError(op)
        return checked(function(a, b), span)
    except ZeroDivisionError:
        raise SpecError("division by zero", "value", span) from None
    except OverflowError:
        raise SpecError("the result is too large", "value", span) from None


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}


class Evaluator:
    """Evaluates expressions in an environment. `symbols` lets unbound bare words stand for
    themselves (only in call arguments, where `global` or `same` are meaningful)."""

    def __init__(self, resolver: Resolver | None = None, budget: Budget | None = None):
        self.resolver = resolver or Resolver()
        self.budget = budget or Budget()  # shared by every evaluator of one load
        self.depth = 0  # nested calls of `def` functions, bounded to catch endless recursion
        self.methods: dict[type, Any] = {}  # expression class -> its `_Class` method

    def eval(self, expr: ast.Expr, env: Env, symbols: bool = False) -> Any:
        budget = self.budget  # one step per expression node evaluated
        budget.left -= 1
        if budget.left < 0:
            budget.exhausted(expr.span)
        method = self.methods.get(type(expr))
        if method is None:
            method = getattr(self, "_" + type(expr).__name__, None)
            if method is not None:
                self.methods[type(expr)] = method
        if method is None:
            raise SpecError("a layer is not a value here", "type", expr.span,
                            help="layers go in chains; values in expressions")
        return method(expr, env, symbols)

    def truth(self, expr: ast.Expr, env: Env) -> bool:
        value = self.eval(expr, env)
        if not isinstance(value, bool):
            raise SpecError(f"a condition must be true or false, got {described(value)}",
                            "type", expr.span)
        return value

    # ------------------------------------------------------------ leaves

    def _Number(self, e: ast.Number, env: Env, symbols: bool) -> Any:
        return e.value

    def _String(self, e: ast.String, env: Env, symbols: bool) -> Any:
        self.budget.use(e.value, e.span)
        return e.value

    def _Bool(self, e: ast.Bool, env: Env, symbols: bool) -> Any:
        return e.value

    def _Name(self, e: ast.Name, env: Env, symbols: bool) -> Any:
        value = env.find(e.id)
        if type(value) in _SCALARS:  # most names: nothing to check or charge
            return value
        if value is not UNBOUND:
            if isinstance(value, Poisoned):
                raise FollowOnError.of(e.id, e.span)
            if isinstance(value, Unavailable):
                raise SpecError(value.message, "name", e.span, help=value.help)
            self.budget.use(value, e.span)
            return value
        tensor = self.resolver.tensor(e.id)
        if tensor is not None:
            return tensor
        if self.resolver.is_layer(e.id):
            return LayerRef(e.id)
        if symbols:
            return Symbol(e.id)
        known = env.names() | self.resolver.tensor_names()
        if "#" not in e.id:
            raise SpecError(f"unknown name '{e.id}'", "name", e.span,
                            help=did_you_mean(e.id, known))
        raise SpecError(f"unknown name '{e.id}'", "name", e.span,
                        help=did_you_mean(e.id, {k for k in known if "#" in k})
                        or call_number_help(e.id))

    def _dotted_tensor(self, e: ast.Attribute, env: Env) -> TensorValue | None:
        """A label inside a labeled group by its dotted path (`concat(branch1.conv)`,
        `"block1-0".conv`); the tensor attributes (`enc4.c`, `.h`, `.shape`...) keep their
        meaning unless quoted."""
        if reads_size(e):
            return None
        parts = [e.attr]
        value: ast.Expr = e.value
        while isinstance(value, ast.Attribute):
            parts.append(value.attr)
            value = value.value
        if isinstance(value, ast.String):
            parts.append(value.value)
        elif isinstance(value, ast.Name) and env.find(value.id) is UNBOUND:
            parts.append(value.id)
        else:
            return None
        return self.resolver.tensor(".".join(reversed(parts)))

    def _quoted(self, e: ast.String) -> Any:
        """`"block1-0"` before a dot: a layer or tensor by a name that is not an identifier."""
        found = self.resolver.tensor(e.value)
        if found is None:
            raise SpecError(f"no layer or tensor is named {value_text(e.value)}", "name",
                            e.span, help=did_you_mean(e.value, self.resolver.tensor_names()))
        return found

    def _BlockInput(self, e: ast.BlockInput, env: Env, symbols: bool) -> Any:
        try:
            return self.resolver.block_input()
        except SpecError as exc:
            exc.span = exc.span or e.span
            raise

    def _Attribute(self, e: ast.Attribute, env: Env, symbols: bool) -> Any:
        labeled = self._dotted_tensor(e, env)
        if labeled is not None:
            return labeled
        base = self._quoted(e.value) if isinstance(e.value, ast.String) else \
            self.eval(e.value, env)
        if e.quoted:
            raise SpecError(f"{described(base)} has no layer or tensor {value_text(e.attr)}",
                            "name", e.span)
        if isinstance(base, TensorValue):
            try:
                return base.attribute(e.attr)
            except SpecError as exc:
                exc.span = e.span
                if e.attr.isdigit():  # `add(f.1)`: a layer inside f, by its number
                    exc.help = f"to name the layer '{base.label}.{e.attr}' here, write " \
                               f"`from {base.label}.{e.attr}`"
                raise
        if hasattr(base, "attribute"):  # analysis records in `expect`
            try:
                return base.attribute(e.attr)
            except SpecError as exc:
                exc.span = e.span
                raise
        raise SpecError(f"{described(base)} has no attribute '{e.attr}'", "type",
                        e.span)

    def _Index(self, e: ast.Index, env: Env, symbols: bool) -> Any:
        base = self.eval(e.value, env)
        if isinstance(e.index, ast.Slice):
            return self._slice(base, e.index, env, e.span)
        index = self.eval(e.index, env)
        if not isinstance(base, (tuple, str)) or isinstance(base, Symbol):
            raise SpecError(f"cannot index {described(base)}", "type", e.span)
        if isinstance(index, bool) or not isinstance(index, int):
            raise SpecError(f"an index must be an int, got {described(index)}", "type",
                            e.index.span)
        if not -len(base) <= index < len(base):
            raise SpecError(f"index {index} is out of range for a list of {len(base)}", "value",
                            e.index.span)
        return base[index]

    def _slice(self, base: Any, e: ast.Slice, env: Env, span: Any) -> Any:
        """`base[start:stop:step]` of a list (of values or of tensors) or a string, as Python
        slices: bounds may be negative or past the end; a step may be negative, not 0."""
        if not isinstance(base, (tuple, str)) or isinstance(base, Symbol):
            raise SpecError(f"cannot slice {described(base)}", "type", span,
                            help="lists and strings can be sliced: levels[1:], name[:3]")
        start, stop, step = (self._bound(b, env) for b in (e.start, e.stop, e.step))
        if step == 0:
            assert e.step is not None
            raise SpecError("a slice step cannot be 0", "value", e.step.span)
        part = base[start:stop:step]
        if isinstance(part, str):
            self.budget.new_string(len(part), span)
            return part
        return self.budget.new_list(part, span)

    def _bound(self, expr: ast.Expr | None, env: Env) -> int | None:
        if expr is None:
            return None
        value = self.eval(expr, env)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(f"a slice bound must be an int, got {described(value)}", "type",
                            expr.span)
        return value

    def _ListExpr(self, e: ast.ListExpr, env: Env, symbols: bool) -> Any:
        """`[a, b]`; an item that is a chain applies its layers (the resolver applies it)
        and is the tensor it makes."""
        return self.budget.new_list(tuple(
            self.resolver.apply_chain(item, env, 0, 1) if type(item) is ast.Chain
            else self.eval(item, env, symbols) for item in e.items), e.span)

    def _From(self, e: ast.From, env: Env, symbols: bool) -> Any:
        """`from name` used in an expression (`from levels[0] -> conv(8, 1)`): the tensor."""
        return self.resolver.tensor_at(e)

    def _Comprehension(self, e: ast.Comprehension, env: Env, symbols: bool) -> Any:
        """`[item for x in xs if c]`; an item that applies layers makes tensors (the
        resolver applies it), any other is a value."""
        items = self.eval(e.iterable, env)
        if not isinstance(items, tuple):
            raise SpecError("a comprehension needs a list, got "
                            f"{described(items)}", "type", e.iterable.span,
                            help="[f(i) for i in range(n)]")
        chosen = []
        for item in items:
            inner = env.child(**{e.var: item})
            if e.condition is None or self.truth(e.condition, inner):
                chosen.append(inner)
        element = e.element
        if not (self.resolver.applies_layers(element) or self.resolver.calls_on_items(e)):
            return tuple(self.eval(single(element), inner, symbols) for inner in chosen)
        return tuple(self.resolver.apply_chain(element, inner, i, len(chosen))
                     for i, inner in enumerate(chosen))

    # ------------------------------------------------------------ operators

    def _BinOp(self, e: ast.BinOp, env: Env, symbols: bool) -> Any:
        return arithmetic(e.op, self.eval(e.left, env), self.eval(e.right, env), e.span,
                          self.budget)

    def _Unary(self, e: ast.Unary, env: Env, symbols: bool) -> Any:
        value = _num(self.eval(e.operand, env), f"unary '{e.op}'", e.span)
        return -value if e.op == "-" else value

    def _Compare(self, e: ast.Compare, env: Env, symbols: bool) -> Any:
        values = [self.eval(x, env) for x in e.operands]
        for op, (a, b) in zip(e.ops, pairwise(values), strict=True):
            try:
                if not _COMPARE[op](a, b):
                    return False
            except TypeError:
                raise SpecError(f"cannot compare {kind_text(a)} and {kind_text(b)} with '{op}'",
                                "type", e.span) from None
        return True

    def _BoolOp(self, e: ast.BoolOp, env: Env, symbols: bool) -> Any:
        left = self.truth(e.left, env)
        if e.op == "and":
            return left and self.truth(e.right, env)
        return left or self.truth(e.right, env)

    def _Not(self, e: ast.Not, env: Env, symbols: bool) -> Any:
        return not self.truth(e.operand, env)

    def _Conditional(self, e: ast.Conditional, env: Env, symbols: bool) -> Any:
        branch = e.then if self.truth(e.cond, env) else e.otherwise
        return self.eval(branch, env, symbols)

    # ------------------------------------------------------------ calls

    def _Call(self, e: ast.Call, env: Env, symbols: bool) -> Any:
        func = env.find(e.func)
        if func is UNBOUND:
            func = None
        if func is None and self.resolver.is_layer(e.func):
            args, kwargs = self.arguments(e.args, env, symbols=True)
            return LayerRef(e.func, tuple(args), tuple(kwargs.items()))
        if func is None:
            raise SpecError(f"unknown function '{e.func}'", "name", e.func_span,
                            help=did_you_mean(e.func, {n for n in env.names()
                                                       if isinstance(_safe(env, n), Function)}
                                              | self.resolver.layer_names()))
        if isinstance(func, LayerRef):
            args, kwargs = self.arguments(e.args, env, symbols=True)
            return LayerRef(func.name, func.args + tuple(args), func.kwargs + tuple(kwargs.items()))
        if not isinstance(func, Function):
            hidden = self.resolver.layer_kind(e.func)
            if hidden is not None and kind_text(func) == "shared module":
                raise hides(e.func, func, hidden, e.func_span)
            raise SpecError(f"'{e.func}' is {kind_text(func, article=True)}, not a function",
                            "type", e.func_span)
        args, kwargs = self.arguments(e.args, env, symbols)
        return self.apply(func, args, kwargs, e)

    def arguments(self, args: tuple[ast.Arg, ...], env: Env,
                  symbols: bool = False) -> tuple[list[Any], dict[str, Any]]:
        positional: list[Any] = []
        keywords: dict[str, Any] = {}
        for arg in args:
            value = self.eval(single(arg.value), env, symbols)
            if arg.name is None:
                if keywords:
                    raise SpecError("a positional argument follows a keyword argument", "arg",
                                    arg.span)
                positional.append(value)
            elif arg.name in keywords:
                raise SpecError(f"argument '{arg.name}' given twice", "arg", arg.span)
            else:
                keywords[arg.name] = value
        return positional, keywords

    def apply(self, func: Function, args: list[Any], kwargs: dict[str, Any], call: ast.Call) -> Any:
        if func.builtin is not None:
            try:
                return checked(func.builtin(self.budget, *args, **kwargs), call.span)
            except SpecError as exc:
                exc.span = exc.span or call.span
                raise
            except TypeError as exc:
                raise SpecError(f"bad arguments to '{func.name}': {_arity(func, exc)}", "arg",
                                call.span) from None
            except (ValueError, ArithmeticError) as exc:
                raise SpecError(f"'{func.name}': {_plain(exc)}", "value", call.span) from None
        if kwargs or len(args) != len(func.params):
            raise SpecError(f"'{func.name}' takes {len(func.params)} positional argument"
                            f"{'s' if len(func.params) != 1 else ''} "
                            f"({', '.join(func.params)}), got {len(args)}"
                            f"{' and keywords' if kwargs else ''}", "arg", call.span)
        assert func.body is not None and func.closure is not None
        if self.depth >= MAX_CALL_DEPTH:
            raise SpecError(f"'{func.name}' calls itself more than {MAX_CALL_DEPTH} deep",
                            "recursion", call.span,
                            help="a recursive def needs a condition that stops it")
        budget = self.budget
        budget.charge(CALL_STEPS, call.span)
        outermost = self.depth == 0 and budget.call is None
        if outermost:  # a runaway recursion is reported at the call the spec wrote
            budget.call = (func.name, call.span)
        self.depth += 1
        try:
            bound = dict(zip(func.params, args, strict=True))
            return self.eval(func.body, func.closure.child(**bound))
        finally:
            self.depth -= 1
            if outermost:
                budget.call = None


def call_number_help(name: str) -> str:
    """The help for `head#2` where no layer is reached by it."""
    module = name.partition("#")[0]
    return (f"'{name}' names a call of the shared module '{module}' as `netdsl stats` does, in "
            f"`expect` only; to use a call's output, name it: t = from x -> {module}")


def hides(name: str, module: Any, layer: str, span: Span | None) -> SpecError:
    """`conv(2, 1)` after `shared conv: ...`: the name is the shared module's for the rest of
    the body (or of the group that declares it), and hides the operator or block."""
    return SpecError(f"'{name}' is the shared module declared at {module.span}, whose name "
                     f"hides the {layer} '{name}' here", "name", span,
                     help=f"a shared module's name means the module for the rest of its body, "
                          f"or of the group `{{ }}` that declares it: call the {layer} before "
                          f"the declaration, declare the module in a group around its calls, "
                          f"or name it otherwise")


def single(chain: ast.Chain) -> ast.Expr:
    """The one plain expression of an argument chain; layers chains are not values."""
    if len(chain.elements) != 1 or chain.elements[0].label is not None or \
            isinstance(chain.elements[0].value, ast.Merge):
        raise SpecError("a chain of layers is not a value here", "type", chain.span)
    return chain.elements[0].value


def _safe(env: Env, name: str) -> Any:
    try:
        return env.lookup(name)
    except KeyError:
        return None


def _arity(func: Function, exc: TypeError) -> str:
    """What a builtin takes, in the language's terms (Python's message would count the budget
    every builtin receives first, and name a lambda)."""
    try:
        params = list(inspect.signature(func.builtin).parameters.values())[1:]
    except (TypeError, ValueError):
        return _plain(exc)
    shown = [p.name + ("..." if p.kind is p.VAR_POSITIONAL else "")
             + ("" if p.default is p.empty else "=...") for p in params]
    return f"it takes ({', '.join(shown)})"


def _plain(exc: Exception) -> str:
    return str(exc).replace("()", "")
