"""Placing a definition's relative fields: the path for square images, whose two axes are one
object, gives what the per-axis path gives (test_hierarchy.py holds every row of the zoo to
the flat graph's fields, and test_receptive_field.py those to autograd)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from netdsl.analysis.receptive_field import Axis, Field, compose_relative, square

AXES = st.builds(lambda size, stride, start, least: Axis(size, stride, start, least),
                 st.integers(1, 500), st.integers(1, 32), st.integers(-300, 0),
                 st.integers(1, 500))
FIELDS = st.builds(lambda a, b, aligned: Field((a, b), aligned), AXES, AXES, st.booleans())


@given(FIELDS, FIELDS)
def test_square_fields_compose_as_their_axes_do(base, rel):
    expected = compose_relative(base, rel)
    placed = compose_relative(square(base), square(rel))
    assert placed == expected
    assert (placed.axes[0] is placed.axes[1]) == (base.axes[0] == base.axes[1]
                                                  and rel.axes[0] == rel.axes[1])


@given(AXES)
def test_square_makes_equal_axes_one_and_keeps_the_field_equal(axis):
    field = Field((axis, Axis(*axis)))
    assert square(field) == field and square(field).axes[0] is square(field).axes[1]
    other = Field((axis, axis._replace(size=axis.size + 1)))
    assert square(other) is other
