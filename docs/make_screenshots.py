"""`make screenshots`: the ResNet-50 report (`netdsl report`) in Debian's headless Chromium,
photographed for the README: docs/images/report_resnet50.png (the top of the page: totals
and diagram), report_resnet50_expanded.png (layer2 expanded by a click),
report_resnet50_charts.png (the charts) and report_resnet50_table.png (the layer table sorted
by params)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.backends.html.browser import Page, chromium  # noqa: E402

IMAGES = ROOT / "docs" / "images"


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "resnet50.html"
        subprocess.run([sys.executable, str(ROOT / "cli.py"), "report",
                        "specs/resnet50.net", "-o", str(report)], check=True,
                       cwd=ROOT)
        with chromium() as browser:
            page = Page(browser, 1200, 1000)
            p = page.open(report)
            p.screenshot(path=str(IMAGES / "report_resnet50.png"))
            p.locator(".pane[data-depth='1'] g.node.expandable", has_text="layer2").first.click()
            p.screenshot(path=str(IMAGES / "report_resnet50_expanded.png"))
            p.locator("#charts").screenshot(path=str(IMAGES / "report_resnet50_charts.png"))
            p.click("#layers th[data-key=params]")
            p.click("#layers th[data-key=params]")
            table = p.locator("#layers-section")
            table.scroll_into_view_if_needed()
            p.set_viewport_size({"width": 1200, "height": 700})
            p.screenshot(path=str(IMAGES / "report_resnet50_table.png"))
            if page.errors:
                print("console errors:", *page.errors, sep="\n", file=sys.stderr)
                return 1
    for name in ("report_resnet50.png", "report_resnet50_expanded.png",
                 "report_resnet50_charts.png", "report_resnet50_table.png"):
        print(f"wrote {IMAGES / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
