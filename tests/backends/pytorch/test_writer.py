"""The writer's line breaking, checked against what Python parses back and ruff's width."""

import ast

from netdsl.backends.pytorch import writer


def _written(source: str, depth: int = 2) -> list[str]:
    return writer.statement(ast.parse(source).body[0], depth)


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
