"""`netdsl report` in a real browser (Debian's Chromium through playwright): the page loads
with no console error and no request beyond its own file, the table sorts by a click on a
header and filters, the charts drew what the stats say, and a click on a block expands it."""

from __future__ import annotations

import re

import pytest

import netdsl
from tests.backends.html.browser import Page, chromium
from tests.conftest import SPECS, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "resnet50.html"
    done = run_cli("report", str(SPECS / "resnet50.net"), "-o", str(out))
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def page(report):
    with chromium() as browser:
        page = Page(browser)
        page.open(report)
        yield page


def test_the_page_needs_nothing_but_itself(report, page):
    html = report.read_text()
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)  # all inline
    assert page.errors == []
    assert [u for u in page.requests if not u.startswith("file:")] == []


def test_clicking_a_header_sorts_the_table(page):
    p = page.page
    stats = netdsl.load(SPECS / "resnet50.net").stats()
    p.click("#layers th[data-key=params]")
    p.click("#layers th[data-key=params]")  # the second click: largest first
    names = p.eval_on_selector_all("#layers tbody tr", "rows => rows.map(r => r.dataset.name)")
    expected = sorted(stats.layers, key=lambda r: -r.params)
    assert [stats.row(n).params for n in names] == [r.params for r in expected]
    assert names[0] == "layer4"  # 15.0 M of ResNet-50's 25.6 M
    p.click("#layers th[data-key=order]")
    first = p.eval_on_selector_all("#layers tbody tr", "rows => rows.map(r => r.dataset.name)")
    assert first == [r.name for r in stats.layers]


def test_typing_filters_the_table(page):
    p = page.page
    p.fill("#filter", "downsample")
    shown = p.eval_on_selector_all("#layers tbody tr:not([hidden])",
                                   "rows => rows.map(r => r.dataset.name)")
    assert shown and all("downsample" in n for n in shown)
    assert len(shown) == 12  # 4 stages x (the group, its conv and its bn)
    p.fill("#filter", "")


def test_the_charts_drew_the_figures(page):
    p = page.page
    stats = netdsl.load(SPECS / "resnet50.net").stats()
    for chart in ("chart-blocks", "chart-field", "chart-memory"):
        assert p.locator(f"#{chart} .main-svg").count() >= 1
    blocks = [r for r in stats.layers if r.depth == 1 and (r.params or r.macs)]
    bars = p.locator("#chart-blocks .bars .point").count()
    assert bars == 2 * len(blocks)  # a params bar and a MACs bar each
    drawn = p.evaluate("() => document.getElementById('chart-memory').data[1].y[0]")
    assert drawn == pytest.approx(stats.peak_activation_bytes / 2 ** 20)
    assert p.locator("#chart-memory .annotation-text").text_content().startswith("peak 10.5 MiB")


def test_a_click_on_a_block_expands_it(page):
    p = page.page
    assert p.locator(".pane[data-depth='1']").is_visible()
    p.locator(".pane[data-depth='1'] g.node.expandable", has_text="layer2").first.click()
    assert p.locator(".pane[data-depth='2']").is_visible()
    assert not p.locator(".pane[data-depth='1']").is_visible()
    assert p.locator(".pane[data-depth='2'] g.cluster.focus title").text_content() == \
        "cluster_layer2"
