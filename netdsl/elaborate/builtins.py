"""The value functions every spec can call."""

from __future__ import annotations

import math
from typing import Any

from netdsl.elaborate.values import MAX_SEQUENCE, Env, Function, show, type_name
from netdsl.errors import SpecError
from netdsl.ops.base import Symbol


def _number(name: str, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"'{name}' needs numbers, got {type_name(value)} {show(value)}", "type")
    return value


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"'{name}' needs ints, got {type_name(value)} {show(value)}", "type")
    return value


def _extreme(name: str, pick: Any) -> Any:
    def f(*args: Any) -> Any:
        values = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
        if not values:
            raise SpecError(f"'{name}' needs at least one value", "arg")
        return pick(_number(name, v) for v in values)
    return f


def _range(*args: Any) -> tuple[int, ...]:
    if not 1 <= len(args) <= 3:
        raise SpecError("'range' takes 1 to 3 ints", "arg")
    ints = [_int("range", a) for a in args]
    r = range(*ints)
    if len(r) > MAX_SEQUENCE:
        raise SpecError(f"range of {len(r)} values is too long", "limit")
    return tuple(r)


def make_divisible(value: Any, divisor: Any = 8, min_value: Any = None) -> int:
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


def _str(value: Any) -> str:
    if isinstance(value, (Symbol,)):
        return str(value)
    if isinstance(value, str):
        return value
    return show(value)


def _len(value: Any) -> int:
    if not isinstance(value, (tuple, str)):
        raise SpecError(f"'len' needs a list or string, got {type_name(value)}", "type")
    return len(value)


def _sum(values: Any) -> Any:
    if not isinstance(values, tuple):
        raise SpecError(f"'sum' needs a list, got {type_name(values)}", "type")
    return sum(_number("sum", v) for v in values)


def _to_int(value: Any) -> int:
    if isinstance(value, str):
        raise SpecError("'int' needs a number", "type")
    return int(_number("int", value))


def _sqrt(value: Any) -> float:
    value = _number("sqrt", value)
    if value < 0:
        raise SpecError("'sqrt' of a negative number", "value")
    return math.sqrt(value)


def _log(value: Any, base: Any = None) -> float:
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


def _exp(value: Any) -> float:
    value = _number("exp", value)
    if value > 700:  # beyond what a float holds
        raise SpecError(f"'exp' of {value} is too large", "value")
    return math.exp(value)


BUILTINS: dict[str, Any] = {
    "min": _extreme("min", min),
    "max": _extreme("max", max),
    "ceil": lambda x: math.ceil(_number("ceil", x)),
    "floor": lambda x: math.floor(_number("floor", x)),
    "round": lambda x, n=None: round(_number("round", x)) if n is None else
    round(_number("round", x), _int("round", n)),
    "abs": lambda x: abs(_number("abs", x)),
    "int": _to_int,
    "float": lambda x: float(_number("float", x)),
    "sqrt": _sqrt,
    "log": _log,
    "log2": lambda x: _log(x, 2),
    "log10": lambda x: _log(x, 10),
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
