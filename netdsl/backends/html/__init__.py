"""HTML views of a network: the notebook display (`Network._repr_html_`) and the self-contained
report page (`netdsl report`). The charts are drawn by plotly.js, which the page carries
inline, so that it opens with no network access."""

from __future__ import annotations

from netdsl.backends.html.notebook import notebook_html
from netdsl.backends.html.report import report_html

__all__ = ["notebook_html", "report_html"]
