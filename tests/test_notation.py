"""The one home of value, shape and call text (netdsl.notation)."""

from hypothesis import given
from hypothesis import strategies as st

from netdsl.elaborate.values import Function, LayerRef
from netdsl.notation import call_text, float_text, shape_text, value_text
from netdsl.ops.base import Symbol


def test_values_as_the_language_writes_them():
    assert (value_text((1, "x", 2.5, True, None, Symbol("same")))
            == '[1, "x", 2.5, true, none, same]')
    assert value_text(LayerRef("relu")) == "relu"
    assert value_text(Function("double")) == "double"
    assert value_text('say "hi"') == '"say \\"hi\\""'


def test_long_values_are_cut_at_the_limit():
    text = value_text(tuple(range(10_000_000)), limit=40)
    assert len(text) == 43 and text.endswith("...") and text.startswith("[0, 1, 2")


def test_display_precision_hides_float_noise_and_exact_keeps_it():
    noisy = 0.1 * 0.375
    assert float_text(noisy) == repr(noisy) and repr(noisy) != "0.0375"
    assert float_text(noisy, exact=False) == "0.0375"
    assert float_text(1.0, exact=False) == "1.0"
    assert float_text(float("inf"), exact=False) == "inf"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_display_text_reads_back_within_twelve_digits(x):
    shown = float(float_text(x, exact=False))
    assert abs(shown - x) <= abs(x) * 1e-11


def test_shape_styles():
    assert shape_text((3, 224, 224)) == "3x224x224"
    assert shape_text((3, 224, 224), "list") == "[3, 224, 224]"
    assert shape_text((3, 224, 224), "times") == "3\u00d7224\u00d7224"
    assert shape_text(()) == "-" and shape_text((), "list") == "[]"


def test_call_text_leaves_out_unchanged_defaults_of_the_same_type():
    args = {"width": 64, "s": 2, "bias": True, "r": 1}
    assert call_text("unit", args) == "unit(width=64, s=2, bias=true, r=1)"
    assert call_text("unit", args, {"s": 2, "bias": True, "r": 1.0}) == "unit(width=64, r=1)"
    assert call_text("unit", {"s": 2}, {"s": 2}) == "unit"
    assert call_text("mb", {"p": 0.1 * 0.375}, exact=False) == "mb(p=0.0375)"
