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
