"""The value functions every spec can call.

Each takes the load's work `Budget` first: a builtin whose work grows with its arguments (a
`range`, `str` of a list, `sum` of one) pays for it before doing it.
"""

from __future__ import annotations

import math
from typing import Any

from netdsl.elaborate.budget import Budget
from netdsl.elaborate.values import Env, Function
from netdsl.errors import SpecError
from netdsl.limits import MAX_INT_BITS
from netdsl.notation import described, value_text
from netdsl.ops.base import Symbol

# Digits of the largest int a spec may hold: rounding to more places than this changes nothing.
_MAX_DIGITS = len(str(2 ** MAX_INT_BITS))


def _number(name: str, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"'{name}' needs numbers, got {described(value)}",
                         "type")
    return value


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"'{name}' needs ints, got {described(value)}", "type")
    return value


def _extreme(name: str, pick: Any) -> Any:
    def f(budget: Budget, *args: Any) -> Any:
        values = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
        if not values:
            raise SpecError(f"'{name}' needs at least one value", "arg")
        budget.charge(len(values), None)
        return pick(_number(name, v) for v in values)
    return f


def _range(budget: Budget, *args: Any) -> tuple[int, ...]:
    if not 1 <= len(args) <= 3:
        raise SpecError("'range' takes 1 to 3 ints", "arg")
    ints = [_int("range", a) for a in args]
    if len(ints) == 3 and ints[2] == 0:
        raise SpecError("'range' needs a step other than 0", "value")
    r = range(*ints)
    length = (r[-1] - r[0]) // r.step + 1 if r else 0  # len(r) fails past 2 ** 63
    budget.check_list(length, 1, None)
    budget.charge(length, None)
    return tuple(r)


def make_divisible(budget: Budget, value: Any, divisor: Any = 8, min_value: Any = None) -> int:
    """Round `value` to the nearest multiple of `divisor`, not going below 90% of it (the rule
    of the MobileNet and EfficientNet reference code)."""
    value = _number("make_divisible", value)
    divisor = _int("make_divisible", divisor)
    if divisor <= 0:
        raise SpecError("'make_divisible' needs a positive divisor", "value")
    floor = divisor if min_value is None else _int("make_divisible", min_value)
    new = max(floor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def _str(budget: Budget, value: Any) -> str:
    if isinstance(value, (Symbol,)):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):  # its text is a few characters per value, nested ones too
        budget.charge(len(value), None)  # at once where the budget is spent: measuring costs
        budget.charge(budget.measure(value)[0] - len(value), None)
    text = value_text(value, limit=None)
    budget.new_string(len(text), None)
    return text


def _len(budget: Budget, value: Any) -> int:
    if not isinstance(value, (tuple, str)):
        raise SpecError(f"'len' needs a list or string, got {described(value)}", "type")
    return len(value)


def _sum(budget: Budget, values: Any) -> Any:
    if not isinstance(values, tuple):
        raise SpecError(f"'sum' needs a list, got {described(values)}", "type")
    budget.charge(len(values), None)
    total = 0
    for v in values:  # each partial sum checked, so a float sum cannot pass infinity
        total = total + _number("sum", v)
        if type(total) is float and not math.isfinite(total):
            raise SpecError("the sum is too large for a float (infinite)", "value")
    return total


def _to_int(budget: Budget, value: Any) -> int:
    if isinstance(value, str):
        raise SpecError("'int' needs a number", "type")
    return int(_number("int", value))


def _sqrt(budget: Budget, value: Any) -> float:
    value = _number("sqrt", value)
    if value < 0:
        raise SpecError("'sqrt' of a negative number", "value")
    return math.sqrt(value)


def _log(budget: Budget, value: Any, base: Any = None) -> float:
    """Natural logarithm, or to `base` (RegNet's widths: round(log(w / w0) / log(wm)))."""
    value = _number("log", value)
    if value <= 0:
        raise SpecError("'log' of a number <= 0", "value")
    if base is None:
        return math.log(value)
    base = _number("log", base)
    if base <= 0 or base == 1:
        raise SpecError("'log' needs a base > 0 other than 1", "value")
    return math.log(value, base)


def _exp(budget: Budget, value: Any) -> float:
    value = _number("exp", value)
    if value > 700:  # beyond what a float holds
        raise SpecError(f"'exp' of {value} is too large", "value")
    return math.exp(value)


def _round(budget: Budget, x: Any, n: Any = None) -> int | float:
    """Python's `round`, without its cost for absurd places: `round(5, -10 ** 8)` would build
    the number 10 ** (10 ** 8) first."""
    x = _number("round", x)
    if n is None:
        return round(x)
    n = _int("round", n)
    if n < -_MAX_DIGITS:
        return 0 if isinstance(x, int) else 0.0
    return round(x, min(n, _MAX_DIGITS + 400))  # 400: past the smallest float's places


BUILTINS: dict[str, Any] = {
    "min": _extreme("min", min),
    "max": _extreme("max", max),
    "ceil": lambda budget, x: math.ceil(_number("ceil", x)),
    "floor": lambda budget, x: math.floor(_number("floor", x)),
    "round": _round,
    "abs": lambda budget, x: abs(_number("abs", x)),
    "int": _to_int,
    "float": lambda budget, x: float(_number("float", x)),
    "sqrt": _sqrt,
    "log": _log,
    "log2": lambda budget, x: _log(budget, x, 2),
    "log10": lambda budget, x: _log(budget, x, 10),
    "exp": _exp,
    "str": _str,
    "len": _len,
    "sum": _sum,
    "range": _range,
    "make_divisible": make_divisible,
}


def builtin_env() -> Env:
    """An environment holding the builtin functions, the root of every spec's environment."""
    return Env({name: Function(name, builtin=f) for name, f in BUILTINS.items()})
