"""The writer's line breaking, checked against what Python parses back and ruff's width."""

import ast
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch import writer


def _written(source: str, depth: int = 2) -> list[str]:
    return "\n".join(writer.statement(ast.parse(source).body[0], depth)).splitlines()


def test_many_assignment_targets_are_one_a_line():
    source = ("(backbone_fpn_0, backbone_fpn_1, backbone_fpn_2, backbone_fpn_3, backbone_fpn_4)"
              " = self.backbone(image)")
    lines = _written(source)
    assert lines[0] == "        ("
    assert lines[1] == "            backbone_fpn_0,"
    assert lines[-1] == "        ) = self.backbone(image)"
    assert all(len(line) <= writer.WIDTH for line in lines)
    assert ast.dump(ast.parse("\n".join(s.strip() for s in lines))) == ast.dump(ast.parse(source))


def test_a_method_follows_the_bracket_of_a_broken_call():
    source = ("x = torchvision.ops.roi_align(features, list(boxes), output_size=7, "
              "spatial_scale=1 / 16, sampling_ratio=2).unflatten(0, boxes.shape[:2])")
    lines = _written(source)
    assert lines[-1] == "        ).unflatten(0, boxes.shape[:2])"
    assert all(len(line) <= writer.WIDTH for line in lines)
    assert ast.dump(ast.parse("\n".join(s.strip() for s in lines))) == ast.dump(ast.parse(source))


def test_a_generator_argument_keeps_the_calls_parentheses():
    short = "self.layer_blocks = nn.ModuleList(ConvLayer(width, width, 3) for _ in range(n))"
    assert _written(short) == ["        " + short]  # not nn.ModuleList((... for ...))
    source = ("self.inner_blocks = nn.ModuleList(ConvLayer(in_channels, width, 1) for "
              "in_channels in in_channels_list_of_a_long_name)")
    lines = _written(source)
    assert lines == ["        self.inner_blocks = nn.ModuleList(",
                     "            ConvLayer(in_channels, width, 1)",
                     "            for in_channels in in_channels_list_of_a_long_name",
                     "        )"]
    assert ast.dump(ast.parse("\n".join(s.strip() for s in lines))) == ast.dump(ast.parse(source))


def test_a_long_list_comprehension_breaks_inside_its_brackets():
    source = ("inner_blocks = [inner_block(f) for inner_block, f in zip(self.inner_blocks, "
              "features, strict=True)]")
    lines = _written(source)
    assert lines[0] == "        inner_blocks = [" and lines[-1] == "        ]"
    assert all(len(line) <= writer.WIDTH for line in lines)
    assert ast.dump(ast.parse("\n".join(s.strip() for s in lines))) == ast.dump(ast.parse(source))


# ---------------------------------------------------------------- parentheses and operators

NAMES = {"channels_of_the_stem": 3, "width_multiplier": -2, "version_number": 1,
         "groups_per_stage": 0, "d": 2}


def _leaf() -> st.SearchStrategy[ast.expr]:
    names = st.sampled_from(sorted(NAMES)).map(lambda n: ast.Name(n, ast.Load()))
    return st.one_of(names, st.integers(0, 3).map(ast.Constant))


def _operator(children: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
    """Every kind of operator node the generator writes, nested any way (also as ast never
    parses them: `(a and b) and c`), and calls and comprehensions around them."""
    binops = st.sampled_from([ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod])
    compares = st.sampled_from([ast.Lt, ast.LtE, ast.Eq, ast.NotEq, ast.Gt, ast.GtE])
    small_power = st.one_of(st.integers(0, 2).map(ast.Constant),
                            st.just(ast.UnaryOp(ast.USub(), ast.Constant(1))))
    return st.one_of(
        st.builds(lambda a, op, b: ast.BinOp(a, op(), b), children, binops, children),
        st.builds(lambda a, b: ast.BinOp(a, ast.Pow(), b), children, small_power),
        st.builds(lambda op, vs: ast.BoolOp(op(), vs), st.sampled_from([ast.And, ast.Or]),
                  st.lists(children, min_size=2, max_size=4)),
        st.builds(lambda a, rest: ast.Compare(a, [op() for op, _ in rest], [b for _, b in rest]),
                  children, st.lists(st.tuples(compares, children), min_size=1, max_size=3)),
        st.builds(ast.IfExp, children, children, children),
        st.builds(lambda op, a: ast.UnaryOp(op(), a),
                  st.sampled_from([ast.USub, ast.UAdd, ast.Not, ast.Invert]), children),
        st.builds(lambda a, b: ast.Call(ast.Name("max", ast.Load()), [a, b], []),
                  children, children),
        st.builds(_summed, children, st.lists(children, max_size=1)),
    )


def _summed(element: ast.expr, ifs: list[ast.expr]) -> ast.expr:
    """`sum([element for i in range(2) if ...])`."""
    loop = ast.comprehension(ast.Name("i", ast.Store()),
                             ast.Call(ast.Name("range", ast.Load()), [ast.Constant(2)], []),
                             ifs, 0)
    return ast.Call(ast.Name("sum", ast.Load()), [ast.ListComp(element, [loop])], [])


trees = st.recursive(_leaf(), _operator, max_leaves=10)


def _outcome(code: ast.Expression | str) -> object:
    """What Python computes, or the exception it raises (`1 // 0`, `~0.5`)."""
    try:
        return eval(compile(code, "<tree>", "eval"), dict(NAMES))  # noqa: S307
    except (ArithmeticError, TypeError, ValueError) as exc:
        return type(exc)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_expressions_are_written_as_the_tree_with_minimal_parentheses(tree: ast.expr) -> None:
    """Any operator tree, on one line or broken over lines as an assignment's value, an `if`'s
    test or a `for`'s iterable, reads back as the same tree (so it computes what the tree
    computes, which is checked too), within the line width."""
    text = writer.unparse(tree)
    expected = ast.dump(tree)
    assert ast.dump(ast.parse(text, mode="eval").body) == expected
    assert _outcome(text) == _outcome(ast.fix_missing_locations(ast.Expression(tree)))
    for statement, value in [
            (ast.Assign([ast.Name("value", ast.Store())], tree), lambda s: s.value),
            (ast.If(tree, [ast.Pass()], []), lambda s: s.test),
            (ast.For(ast.Name("i", ast.Store()), tree, [ast.Pass()], []), lambda s: s.iter)]:
        lines = "\n".join(writer.statement(statement, 2)).splitlines()
        assert all(len(line) <= writer.WIDTH for line in lines), "\n".join(lines)
        parsed = ast.parse(textwrap.dedent("\n".join(lines))).body[0]
        assert ast.dump(value(parsed)) == expected


def _minimal(tree: ast.expr) -> bool:
    """Whether no pair of parentheses in the tree's one-line text could go."""
    text = writer.unparse(tree)
    for start, char in enumerate(text):
        if char != "(" or start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            continue  # a call's parentheses
        depth = 0
        for end in range(start, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        shorter = text[:start] + text[start + 1:end] + text[end + 1:]
        try:
            same = ast.dump(ast.parse(shorter, mode="eval").body) == ast.dump(tree)
        except SyntaxError:
            same = False
        if same:
            return False
    return True


@settings(max_examples=300, deadline=None)
@given(trees)
def test_no_parenthesis_could_go(tree: ast.expr) -> None:
    """One line has the parentheses Python's grammar needs and no others (as ast.unparse,
    but for its `a and b and (c > 1)` and `2 ** (-k)`)."""
    assert _minimal(tree), writer.unparse(tree)


@pytest.mark.parametrize("source, text", [
    ("a > 1 and b > 1 and c > 1 and not d", "a > 1 and b > 1 and c > 1 and not d"),
    ("a or b or c == 1 or (d and e)", "a or b or c == 1 or d and e"),
    ("x + (d * 1000)", "x + d * 1000"),
])
def test_operands_of_a_long_chain_have_no_extra_parentheses(source: str, text: str) -> None:
    assert writer.unparse(ast.parse(source, mode="eval").body) == text


def test_an_and_of_ands_is_one_chain() -> None:
    """`if a > 1 and b > 1 and c > 1` compiled as `if (a > 1 and b > 1) and c > 1`: the
    translator joined two operands at a time."""
    parts = [P.compare([">"], [P.name(n), P.lit(1)]) for n in "abc"]
    joined = P.boolop("and", P.boolop("and", parts[0], parts[1]), parts[2])
    assert joined.text() == "a > 1 and b > 1 and c > 1"
    assert P.boolop("or", parts[0], P.boolop("or", parts[1], parts[2])).text() == \
        "a > 1 or b > 1 or c > 1"
    assert P.boolop("or", P.boolop("and", parts[0], parts[1]), parts[2]).text() == \
        "a > 1 and b > 1 or c > 1"


@pytest.mark.parametrize("source, lines", [
    ("channels = int(width_multiplier * 64) if version == '1_0' else "
     "int(width_multiplier * 32) + channels_after_the_stem",
     ["        channels = (",
      "            int(width_multiplier * 64)",
      "            if version == '1_0'",
      "            else int(width_multiplier * 32) + channels_after_the_stem",
      "        )"]),
    ("self.append(nn.Conv2d(channels, int(width_multiplier * 64) if version == '1_0' else "
     "int(width_multiplier * 32) + channels_after_the_stem, 1))",
     ["        self.append(",
      "            nn.Conv2d(",
      "                channels,",
      "                (",
      "                    int(width_multiplier * 64)",
      "                    if version == '1_0'",
      "                    else int(width_multiplier * 32) + channels_after_the_stem",
      "                ),",
      "                1,",
      "            ),",
      "        )"]),
    ("if version == '1_0' and classes > 10 and drop < 0.7 and width_multiplier > 0.25 and "
     "classes < 100000:\n    pass",
     ["        if (",
      "            version == '1_0'",
      "            and classes > 10",
      "            and drop < 0.7",
      "            and width_multiplier > 0.25",
      "            and classes < 100000",
      "        ):",
      "            pass"]),
    ("d = [int(c * alpha) if int(c * alpha) >= 0.9 * c * alpha else int(c * alpha) + 8000 "
     "for c in WIDTHS]",
     ["        d = [",
      "            (",
      "                int(c * alpha)",
      "                if int(c * alpha) >= 0.9 * c * alpha",
      "                else int(c * alpha) + 8000",
      "            )",
      "            for c in WIDTHS",
      "        ]"]),
    ("total = first_stage_width_in_channels * 1000 + second_stage_width_in_channels * 1000 "
     "- divisor * 1000",
     ["        total = (",
      "            first_stage_width_in_channels * 1000",
      "            + second_stage_width_in_channels * 1000",
      "            - divisor * 1000",
      "        )"]),
])
def test_a_long_expression_breaks_before_its_loosest_operators(source: str,
                                                               lines: list[str]) -> None:
    """As black writes them: a conditional as an argument, an `if`'s `and` chain, a
    comprehension's element (they were one line past the width, ruff E501); a sum's terms
    without parentheses (`+ (divisor * 1000)`)."""
    assert _written(source) == lines


def test_long_conditions_break_one_operand_a_line():
    """`and`/`or` chains, conditional expressions and comparisons were one parenthesised line
    of any length (E501): each operand on its own line after its word, as black writes them,
    and broken in turn when still too long."""
    source = ("x = nn.Conv2d(3, 8 if widths_of_the_stage == (0, 1) and depths_of_the_stage == "
              "(0, 1) and ratios_of_the_stage == (2, 2, 0, 1) and not groups_of_the_stage or "
              "first_widths_of_the_stage != (1, 2, 2) else 4, 1)")
    lines = _written(source)
    assert all(len(line) <= writer.WIDTH for line in lines)
    assert ast.dump(ast.parse("\n".join(s.strip() for s in lines))) == ast.dump(ast.parse(source))
    stripped = [line.strip() for line in lines]
    assert "if (" in stripped and "else 4" in stripped
    assert "and depths_of_the_stage == (0, 1)" in stripped
    compared = _written("return " + " + ".join(f"value_{k}" for k in range(20)) + " == "
                        + " + ".join(f"other_{k}" for k in range(20)), 1)
    assert all(len(line) <= writer.WIDTH for line in compared)
    assert any(line.strip().startswith("== (") for line in compared)


def test_an_operand_keeps_its_parentheses_when_it_fits_only_without_them():
    """`(a if c else b) + d` broken where the conditional fits a line bare but not in its
    parentheses: it was written bare, and Python read `a if c else (b + d)`."""
    conditional = "(tuple(i for i in range(k)) if k > 1 else tuple(i for i in range(k)))"
    source = f"x = f(3, {conditional} + (tuple(i for i in range(k)) + tuple(i for i in range(k))))"
    lines = _written(source, 3)
    assert all(len(line) <= writer.WIDTH for line in lines)
    assert ast.dump(ast.parse("\n".join(s.strip() for s in lines))) == ast.dump(ast.parse(source))
