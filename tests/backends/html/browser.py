"""Debian's Chromium, headless, driven by playwright (never playwright's own browser build):
for the report's browser test and the README's screenshots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = os.environ.get("NETDSL_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched browser (playwright's `Browser`)."""
    from playwright.sync_api import sync_playwright
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"no Chromium at {CHROMIUM}: run `make chromium` (as root: "
                           f"apt-get install chromium) or set NETDSL_CHROMIUM")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """A page that records console errors, uncaught exceptions and every request."""

    def __init__(self, browser: Any, width: int = 1280, height: int = 900):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def open(self, path: os.PathLike[str] | str) -> Any:
        self.page.goto(f"file://{os.path.abspath(path)}")
        self.page.wait_for_selector("#chart-memory .main-svg")
        return self.page
