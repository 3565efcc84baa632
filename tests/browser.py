"""Headless Chromium for tests of what a person looks at (Data Docs, the site).

Chromium comes from Debian's packages (``make browser``, run by ``make test``); Playwright drives it through its
bundled driver, so nothing is downloaded at test time. Every page is opened with the network cut off: any request
that is not for a local file is aborted and recorded, so a test can assert that nothing left the machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str:
    """The Chromium binary (``NPAF_CHROMIUM`` overrides); skip with the reason where it cannot be had."""
    override = os.environ.get("NPAF_CHROMIUM")
    if override:
        return override
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("headless Chromium is not installed (make browser installs Debian's chromium package as root)")


@dataclass
class PageVisit:
    """What happened while a page was open: console errors, failed loads and requests that tried to leave."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)


def _local(url: str) -> bool:
    return url.startswith(("file:", "data:", "blob:", "about:"))


@dataclass
class Browser:
    """One Chromium for a test module; ``visit`` opens a page offline and records what it did."""

    _browser: object

    @contextmanager
    def visit(self, target: Path | str, *, width: int = 1280, height: int = 900) -> Iterator[tuple[object, PageVisit]]:
        url = Path(target).resolve().as_uri() if isinstance(target, Path) else target
        record = PageVisit()
        context = self._browser.new_context(viewport={"width": width, "height": height}, offline=True)

        def route(r: object) -> None:
            if _local(r.request.url):
                r.continue_()
            else:
                record.outside_requests.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: record.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: record.page_errors.append(str(e)))
        try:
            page.goto(url, wait_until="load")
            yield page, record
        finally:
            context.close()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Launch headless Chromium (skip with the reason where it or Playwright is missing)."""
    path = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a test dependency (make install)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield Browser(browser)
        finally:
            browser.close()
