"""The one home of value, shape and call text (netdsl.notation)."""

from hypothesis import given
from hypothesis import strategies as st

from netdsl.elaborate.values import Function, LayerRef
from netdsl.notation import call_text, described, float_text, kind_text, shape_text, value_text
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


def _language_objects() -> dict[str, object]:
    """One value of every class the evaluator can hand to a message, by the words for it."""
    import netdsl
    from netdsl.analysis.expect import FieldRecord, _ExpectResolver
    from netdsl.elaborate.values import TensorValue
    from netdsl.errors import Span
    from netdsl.ir import Expectation, Instance
    from netdsl.ops.base import TensorArg, TiedWeight

    tensor = TensorValue("c3", (256, 100, 100), "c3")
    stats = netdsl.load("network n {\n    input x: [3, 8, 8]\n    conv1: conv(4, 3)\n}").stats()
    layer = _ExpectResolver(stats, Expectation(None, None, {})).tensor("conv1")
    return {
        "the shared module 'head'": Instance("head", LayerRef("conv", (4, 3)), {},
                                             Span("x.net", 3, 5, 3, 9)),
        "the tensor 'c3'": tensor,
        "list of tensors [c3, c3]": (tensor, tensor),
        "the layer 'relu'": LayerRef("relu"),
        "the function 'double'": Function("double"),
        "the name 'same'": Symbol("same"),
        "the tensor 'pool1'": TensorArg("pool1"),
        "the weight 'wte'": TiedWeight("wte", (50257, 768)),
        "the layer 'conv1'": layer,
        "the receptive field global": FieldRecord("g", "global"),
        "int 3": 3, "list [1, 2]": (1, 2), 'string "a"': "a", "bool true": True,
    }


def test_messages_name_values_in_the_languages_words():
    for words, value in _language_objects().items():
        assert described(value) == words


def test_kinds_take_their_article():
    from netdsl.ir import Instance
    head = Instance("head", LayerRef("conv"), {}, None)
    assert kind_text(head, article=True) == "a shared module"
    assert kind_text(3, article=True) == "an int"
    assert kind_text((), article=True) == "a list"
    assert kind_text(object()) == "value"  # never a Python class name


def test_no_message_about_a_value_names_a_python_class():
    """Each value where an int, a list, a condition, a function or an index was due: the
    message says what it is in the language's words, never a class name or a repr."""
    from netdsl.elaborate.builtins import builtin_env
    from netdsl.elaborate.values import Evaluator
    from netdsl.errors import SpecError
    from netdsl.syntax.parser import parse

    uses = ["v + 1", "v(1)", "len(v)", "v[0]", "v[1:]", "v < 1", "v.x", "max(v, 1)",
            "range(v)", "1 if v else 2", "[1][v]", "[i for i in v]"]
    classes = {type(v).__name__ for v in _language_objects().values()} - {
        "tuple", "int", "str", "bool"}
    for value in _language_objects().values():
        for use in uses:
            (item,) = parse(f"x = {use}\n").items
            env = builtin_env().child(v=value)
            try:
                Evaluator().eval(item.value, env)
            except SpecError as exc:
                text = f"{exc.message} {exc.help or ''}"
                assert not any(name in text for name in classes), (use, text)
                assert "object at 0x" not in text and "Span(" not in text, (use, text)
