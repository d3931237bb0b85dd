"""Rewrites the sample outputs in README.md with what the commands print now.

A sample is a marker naming a command line, followed by a fenced block:

    <!-- netdsl: stats specs/resnet50.net --depth 1 -->
    ```
    $ netdsl stats specs/resnet50.net --depth 1
    ...its standard output, then its standard error...
    ```

Run `python docs/make_readme.py` (or `make readme`) from anywhere; commands run in the
repository's root. tests/docs/test_readme.py fails when a committed sample differs.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netdsl.cli import main  # noqa: E402

README = ROOT / "README.md"
SAMPLE = re.compile(r"^<!-- netdsl: (?P<args>[^\n]+?) -->\n```\n.*?^```$", re.M | re.S)


def output_of(args: str) -> str:
    """What `netdsl ARGS` prints, run in the repository's root."""
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(shlex.split(args))
    finally:
        os.chdir(cwd)
    return out.getvalue() + err.getvalue()


def build(text: str) -> str:
    """`text` with every sample's block replaced by the command's output."""
    def sample(match: re.Match[str]) -> str:
        args = match["args"]
        output = output_of(args)
        if not output.endswith("\n"):
            output += "\n"
        return f"<!-- netdsl: {args} -->\n```\n$ netdsl {args}\n{output}```"
    return SAMPLE.sub(sample, text)


def samples(text: str) -> list[str]:
    """The command lines of the samples in `text`."""
    return [m["args"] for m in SAMPLE.finditer(text)]


if __name__ == "__main__":
    README.write_text(build(README.read_text(encoding="utf-8")), encoding="utf-8")
