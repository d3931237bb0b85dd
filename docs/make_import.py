"""Writes docs/import.md: for each model `netdsl import` round-trips (tests/backends/pytorch/
test_import.py), the length of the imported spec against the Python that defines the model and
against the zoo's hand-written spec.

Run as `python docs/make_import.py` (or `make import-table`); it imports every model, so it
takes minutes. Lines are counted as docs/make_zoo.py counts them: non-blank lines that are not
only a comment.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import timm  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402

import netdsl  # noqa: E402
from tests.backends.pytorch.test_import import TIMM, TORCHVISION  # noqa: E402

OUT = ROOT / "docs" / "import.md"

INTRO = """# `netdsl import`: imported specs against the models' Python

Each model below is imported with `netdsl import` (`netdsl.from_torch`) on the input shown, and
round-trips in tests/backends/pytorch/test_import.py: the spec passes `netdsl check` and
`netdsl fmt --check`, its parameters, buffers and MACs equal the model's (MACs: half of
FlopCounterMode's count), the model's state_dict loads with `strict=True` into `netdsl.build`
of the spec, and the outputs are equal. Regenerate with `python docs/make_import.py`.
`from_torch` checks what it writes itself, on the example input it is given: the spec must
load, build, take the model's weights strictly and give the model's outputs, or the import is
refused ("netdsl misread the model: ...") and no spec is written.

**Imported** counts the lines of the imported spec, **hand-written** those of the zoo's spec of
the same model (specs/), **Python** those of the file that defines the model's class (for
torchvision, e.g. `resnet.py`, which defines the whole family; helpers such as
`torchvision.ops.misc` are not counted). Every count is of non-blank lines that are not only a
comment. The timm models are ones no spec here describes.
"""


def code_lines(text: str) -> int:
    return sum(1 for t in (s.strip() for s in text.splitlines()) if t and not t.startswith("#"))


def row(name: str, model: torch.nn.Module, shape: tuple[int, ...], library: str) -> str:
    text = netdsl.from_torch(model, torch.randn(1, *shape), name=name)
    source = Path(inspect.getsourcefile(type(model)))
    spec = ROOT / "specs" / f"{name}.net"
    written = str(code_lines(spec.read_text())) if spec.exists() else "—"
    dims = "x".join(map(str, shape))
    return (f"| {library} `{name}` | {dims} | {code_lines(text)} | {written} | "
            f"{code_lines(source.read_text())} ({source.name}) |")


def main() -> None:
    torch.manual_seed(0)
    rows = ["| model | input | imported | hand-written | Python |",
            "| --- | --- | ---: | ---: | ---: |"]
    for name in sorted(TORCHVISION):
        factory, shape = TORCHVISION[name]
        rows.append(row(name, factory().eval(), shape, "torchvision"))
        print(rows[-1], flush=True)
    for name in TIMM:
        rows.append(row(name, timm.create_model(name, pretrained=False).eval(), (3, 64, 64),
                        "timm"))
        print(rows[-1], flush=True)
    versions = f"torchvision {torchvision.__version__}, timm {timm.__version__}."
    OUT.write_text(INTRO + "\n" + versions + "\n\n" + "\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
