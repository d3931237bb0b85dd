"""The report's charts, without a browser: what their hover texts say."""

from __future__ import annotations

import netdsl
from netdsl.backends.html.charts import field_figure

# a resize by 44/45 makes every later receptive field a fraction of an input pixel
RESIZED = """network n {
    input x: [3, 45, 45]
    upsample(size=44)
    c: conv(8, 3)
}
"""


def test_a_fractional_receptive_field_is_hovered_as_the_table_prints_it():
    stats = netdsl.load(RESIZED).stats()
    size = stats.row("c").rf.as_dict()["size"][0]
    assert 3.04 < size < 3.05 and size != round(size, 3)  # 1 + 2 x 45/44
    (sizes, _) = field_figure(stats).data
    hover = dict(zip(sizes.x, sizes.hovertext, strict=True))[2]
    assert hover == "c (conv 3x3, 8)<br>receptive field 3.05 /1.02"
