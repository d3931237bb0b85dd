"""Turning DOT text into SVG, PNG or PDF with the `dot` program, through the graphviz package."""

from __future__ import annotations

import shutil

from netdsl.errors import Diagnostic, NetdslError

FORMATS = ("svg", "png", "pdf", "dot")
BINARY_FORMATS = ("png", "pdf")  # the others are text
INSTALL_HELP = ("install Graphviz, which provides `dot`: `sudo apt-get install graphviz` "
                "(Debian/Ubuntu), `brew install graphviz` (macOS), `conda install -c conda-forge "
                "graphviz`, or https://graphviz.org/download/; or write a .dot file "
                "(-o diagram.dot), which needs no Graphviz")


def dot_missing() -> NetdslError:
    return NetdslError(Diagnostic("the Graphviz program `dot` was not found on PATH", None,
                                  "usage", help=INSTALL_HELP))


def render_bytes(dot_text: str, fmt: str) -> bytes:
    """Lay out and draw `dot_text` as `fmt` (svg, png, pdf)."""
    if fmt not in FORMATS or fmt == "dot":
        raise ValueError(fmt)
    if shutil.which("dot") is None:
        raise dot_missing()
    import graphviz
    try:
        return graphviz.Source(dot_text).pipe(format=fmt, engine="dot")
    except graphviz.ExecutableNotFound:
        raise dot_missing() from None
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip()
        raise NetdslError(Diagnostic(f"Graphviz failed to draw the diagram: {detail}", None,
                                     "io")) from None
