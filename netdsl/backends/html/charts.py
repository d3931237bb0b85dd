"""The report's charts as plotly figures (drawn in the page by plotly.js): parameters and MACs
per block, receptive field against depth, live activation memory through the forward pass,
and a sweep's parameters against MACs with its Pareto front.

plotly is an optional dependency (`pip install netdsl[report]`); its Python package carries
plotly.js, which the pages inline so they open offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netdsl.analysis import Stats
from netdsl.analysis.receptive_field import Field
from netdsl.backends.table import human, human_bytes, rf_text
from netdsl.errors import Diagnostic, NetdslError

PARAMS_COLOUR, MACS_COLOUR, LINE_COLOUR, PEAK_COLOUR = "#4c78a8", "#f58518", "#54a24b", "#e45756"
MIB = 2 ** 20


def plotly() -> Any:
    """plotly.graph_objects, or a usage error that says how to install it."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise NetdslError(Diagnostic(
            "the report's charts need the plotly package", None, "usage",
            help="install it: pip install 'netdsl[report]' (or pip install plotly)")) from None
    return go


def plotly_js() -> str:
    """plotly.js, as the plotly package ships it, to inline in a page."""
    plotly()
    from plotly.offline import get_plotlyjs
    return get_plotlyjs()


def _layout(title: str, **more: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "template": "plotly_white", "height": 380,
            "margin": {"l": 60, "r": 60, "t": 50, "b": 60}, **more}


def blocks_figure(stats: Stats) -> Any:
    """Parameters and MACs of each top-level block or layer that has any."""
    go = plotly()
    rows = [r for r in stats.layers if r.depth == 1 and (r.params or r.macs)]
    names = [r.name for r in rows]
    hover = [f"{r.name}: {r.summary}<br>params {r.params:,}<br>MACs {r.macs:,}" for r in rows]
    figure = go.Figure()
    figure.add_bar(x=names, y=[r.params for r in rows], name="params", offsetgroup="params",
                   marker_color=PARAMS_COLOUR, hovertext=hover, hoverinfo="text")
    figure.add_bar(x=names, y=[r.macs for r in rows], name="MACs", offsetgroup="macs",
                   yaxis="y2", marker_color=MACS_COLOUR, hovertext=hover, hoverinfo="text")
    figure.update_layout(**_layout(
        "Parameters and MACs per block", barmode="group",
        yaxis={"title": {"text": "parameters"}},
        yaxis2={"title": {"text": "MACs"}, "overlaying": "y", "side": "right",
                "showgrid": False},
        legend={"orientation": "h", "y": 1.1, "x": 1, "xanchor": "right"}))
    return figure


def field_figure(stats: Stats) -> Any:
    """The receptive field's size (largest side) of every layer, in forward order."""
    go = plotly()
    xs, sizes, strides, hover = [], [], [], []
    layers = [r for r in stats.layers if not r.is_block]
    for position, row in enumerate(layers):
        if not isinstance(row.rf, Field):
            continue
        rf = row.rf.as_dict()
        xs.append(position)
        sizes.append(max(rf["size"]))  # type: ignore[type-var]
        strides.append(max(rf["stride"]))  # type: ignore[type-var]
        hover.append(f"{row.name} ({row.summary})<br>receptive field {rf_text(row.rf)}")
    figure = go.Figure()
    figure.add_scatter(x=xs, y=sizes, mode="lines+markers", name="size", hovertext=hover,
                       hoverinfo="text", marker={"size": 4, "color": PARAMS_COLOUR})
    figure.add_scatter(x=xs, y=strides, mode="lines", name="stride", hovertext=hover,
                       hoverinfo="text", line={"dash": "dot", "color": MACS_COLOUR})
    figure.update_layout(**_layout(
        "Receptive field against depth", xaxis={"title": {"text": "layer, in forward order"}},
        yaxis={"title": {"text": "input pixels (largest side)"}, "type": "log"},
        legend={"orientation": "h", "y": 1.1, "x": 1, "xanchor": "right"}))
    return figure


def memory_figure(curve: Sequence[tuple[str, int]], dtype: str) -> Any:
    """Activation bytes alive while each layer runs, the peak marked."""
    go = plotly()
    names = [name for name, _ in curve]
    mib = [value / MIB for _, value in curve]
    top = max(range(len(curve)), key=lambda i: curve[i][1]) if curve else 0
    figure = go.Figure()
    figure.add_scatter(x=list(range(len(curve))), y=mib, mode="lines", name="live",
                       line={"color": LINE_COLOUR}, fill="tozeroy", hovertext=[
                           f"{n}: {human_bytes(v)}" for n, v in curve], hoverinfo="text")
    if curve:
        peak = f"peak {human_bytes(curve[top][1])} at {names[top]}"
        figure.add_scatter(x=[top], y=[mib[top]], mode="markers", name="peak",
                           marker={"color": PEAK_COLOUR, "size": 11, "symbol": "diamond"},
                           hovertext=[peak], hoverinfo="text")
        figure.add_annotation(x=top, y=mib[top], text=peak, showarrow=True, arrowhead=2,
                              ax=40, ay=-30)
    figure.update_layout(**_layout(
        f"Live activation memory through the forward pass ({dtype}, batch 1)",
        xaxis={"title": {"text": "layer, in forward order"}},
        yaxis={"title": {"text": "MiB alive"}}, showlegend=False))
    return figure


def pareto_front(points: Sequence[tuple[int, int]]) -> list[int]:
    """Indices of the points no other point beats on both axes (fewer or equal params and
    MACs, one strictly fewer), ordered by params."""
    order = sorted(range(len(points)), key=lambda i: points[i])
    front: list[int] = []
    best = None
    for i in order:
        if best is None or points[i][1] < best:
            front.append(i)
            best = points[i][1]
    return front


def sweep_figure(rows: Sequence[dict[str, Any]], labels: Sequence[str]) -> Any:
    """Each variant's parameters against its MACs, the Pareto front joined."""
    go = plotly()
    points = [(r["params"], r["macs"]) for r in rows]
    front = pareto_front(points)
    hover = [f"{label}<br>params {human(p)}, MACs {human(m)}"
             for label, (p, m) in zip(labels, points, strict=True)]
    failed = [bool(r.get("failed")) for r in rows]
    figure = go.Figure()
    figure.add_scatter(x=[p for p, _ in points], y=[m for _, m in points], mode="markers",
                       name="variants", hovertext=hover, hoverinfo="text",
                       marker={"size": 8, "color": [PEAK_COLOUR if f else PARAMS_COLOUR
                                                    for f in failed]})
    figure.add_scatter(x=[points[i][0] for i in front], y=[points[i][1] for i in front],
                       mode="lines+markers", name="Pareto front",
                       line={"color": MACS_COLOUR, "shape": "hv"},
                       hovertext=[hover[i] for i in front], hoverinfo="text")
    figure.update_layout(**_layout(
        "Parameters against MACs", xaxis={"title": {"text": "parameters"}},
        yaxis={"title": {"text": "MACs"}}))
    return figure


def figure_json(figure: Any) -> str:
    """A figure as the JSON plotly.js draws (`Plotly.newPlot(div, data, layout)`)."""
    return figure.to_json()
