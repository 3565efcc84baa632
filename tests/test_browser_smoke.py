"""The browser harness itself: a page that reaches for the network or logs an error is caught."""

from __future__ import annotations

from pathlib import Path

from tests.browser import chromium


def test_harness_records_outside_requests_and_console_errors(tmp_path: Path) -> None:
    page_file = tmp_path / "page.html"
    page_file.write_text(
        '<html><head><title>probe</title><link rel="stylesheet" href="https://cdn.example.org/x.css"></head>'
        '<body><h1>Probe</h1><script>console.error("broken on purpose")</script></body></html>',
        encoding="utf-8",
    )
    with chromium() as browser, browser.visit(page_file) as (page, visit):
        assert page.title() == "probe"
        assert page.locator("h1").inner_text() == "Probe"
        shot = tmp_path / "shot.png"
        page.screenshot(path=str(shot))
    assert visit.outside_requests == ["https://cdn.example.org/x.css"]
    assert "broken on purpose" in visit.console_errors
    assert shot.stat().st_size > 1000


def test_a_clean_local_page_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "style.css").write_text("h1 { color: rgb(0, 94, 184); }", encoding="utf-8")
    page_file = tmp_path / "index.html"
    page_file.write_text('<link rel="stylesheet" href="style.css"><h1>Local</h1>', encoding="utf-8")
    with chromium() as browser, browser.visit(page_file) as (page, visit):
        colour = page.locator("h1").evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(0, 94, 184)"
    assert visit.outside_requests == [] and visit.console_errors == [] and visit.page_errors == []
