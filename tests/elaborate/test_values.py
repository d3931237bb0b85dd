"""The expression evaluator: arithmetic, logic, builtins, and errors (never Python's eval)."""

from __future__ import annotations

import math

import pytest

from netdsl.elaborate.builtins import builtin_env
from netdsl.elaborate.values import Evaluator
from netdsl.errors import NetdslError, SpecError
from netdsl.syntax.parser import parse


def ev(text: str):
    (item,) = parse(f"v = {text}\n").items
    return Evaluator().eval(item.value, builtin_env())


@pytest.mark.parametrize("text, value", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("7 // 2", 3), ("-7 // 2", -4), ("7 % 3", 1),
    ("7 / 2", 3.5), ("2 ** 10", 1024), ("-2 ** 2", -4), ("25_557_032", 25557032),
    ("1 < 2 < 3", True), ("3 > 2 > 2", False), ("1 == 1.0", True), ("2 != 3", True),
    ("true and not false", True), ("false or 0 == 0", True),
    ("4 if 1 > 2 else 5", 5), ("[1, 2, 3][1]", 2), ("[1, [2, 3]]", (1, (2, 3))),
    ("min(3, 1, 2)", 1), ("max([4, 9])", 9), ("ceil(2.1)", 3), ("floor(2.9)", 2),
    ("round(2.5)", 2), ("abs(-3)", 3), ("int(3.9)", 3), ("float(2)", 2.0), ("sqrt(16)", 4.0),
    ('str(3) + "x"', "3x"), ("len([1, 2])", 2), ("sum([1, 2, 3])", 6),
    ("range(3)", (0, 1, 2)), ("range(1, 7, 2)", (1, 3, 5)),
    ("make_divisible(32 * 0.75, 8)", 24), ("make_divisible(17, 8)", 16),
])
def test_expressions(text, value):
    got = ev(text)
    assert got == value and type(got) is type(value)


def test_make_divisible_follows_torchvision():
    """torchvision's _make_divisible: round to the nearest multiple, never below 90%."""
    from torchvision.models._utils import _make_divisible

    for v in (3, 7.5, 16, 17, 24 * 1.4, 96 * 0.35, 100, 1280 * 1.3):
        assert ev(f"make_divisible({v}, 8)") == _make_divisible(v, 8)


@pytest.mark.parametrize("text", [
    "1 / 0", "1 // 0", "1 % 0", "undefined_name", '"a" + 1', "[1][5]", "min()",
    "sqrt(-1)", "2 ** 100000",
])
def test_errors_are_user_errors(text):
    with pytest.raises((NetdslError, SpecError)):
        ev(text)


def test_no_python_escape():
    with pytest.raises((NetdslError, SpecError)):
        ev('__import__("os")')
    with pytest.raises((NetdslError, SpecError)):
        ev("(1).__class__")


def test_float_arithmetic_is_exact_enough():
    assert math.isclose(ev("0.1 + 0.2"), 0.3)


def test_no_complex_number_is_ever_made():
    """Python makes a complex number of `(-8) ** 0.5`; the language refuses it where it is
    made, so no message can describe one (it was once called a "function")."""
    with pytest.raises(SpecError, match="no real value"):
        ev("(-8) ** 0.5")
    with pytest.raises(SpecError, match="no real value"):
        ev("(-8.0) ** (1 / 3)")


def test_values_are_named_by_what_they_are():
    from netdsl.elaborate.values import Function
    from netdsl.notation import kind_text
    assert kind_text(Function("f")) == "function"
    assert kind_text(complex(1, 1)) == "value"  # never a language value; never a Python name


@pytest.mark.parametrize("text, message", [
    ("1e308 * 10", "infinite"), ("1e308 + 1e308", "infinite"), ("-1e308 - 1e308", "infinite"),
    ("2 ** 255 + 2 ** 255", "256 bits"), ("1e308 / 1e-10", "infinite"),
])
def test_no_infinity_and_no_oversized_int_is_ever_made(text, message):
    with pytest.raises(SpecError, match=message):
        ev(text)


@pytest.mark.parametrize("text", ["range(10 ** 70)", "range(-10 ** 70, 0)",
                                  "range(0, -10 ** 70, -1)"])
def test_a_range_past_the_list_bound_says_so_however_long(text):
    """len() of a Python range fails past 2 ** 63 with a message in Python's terms; the bound
    of a list is the language's."""
    with pytest.raises(SpecError, match="a list may hold"):
        ev(text)


def test_a_range_of_huge_bounds_and_few_values_is_python_s():
    assert ev("range(-10 ** 70, 10 ** 70, 10 ** 69)") == tuple(
        range(-10 ** 70, 10 ** 70, 10 ** 69))
    assert ev("range(10 ** 70, 10 ** 70 + 3)") == tuple(range(10 ** 70, 10 ** 70 + 3))


def test_a_range_of_step_zero_is_an_error_in_the_language_s_terms():
    with pytest.raises(SpecError, match="step other than 0"):
        ev("range(0, 5, 0)")
