"""The scorecard site, built from a snapshot the real pipeline published from sample data (the draft NPAF, so ICBs
are segmented and have system considerations), and looked at in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import polars as pl
import pytest

from npaf_pipeline.cli import main
from npaf_pipeline.site import build_site
from npaf_pipeline.site.model import slug
from tests.browser import chromium

QUARTERS = ("2025-26 Q1", "2025-26 Q2")
ARTIFACTS = Path(
    os.environ.get("NPAF_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "build" / "test-artifacts")
)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample landing zone -> npaf backfill (Dagster, ephemeral instance) -> published snapshot and its site."""
    base = tmp_path_factory.mktemp("site")
    landing, out = base / "landing", base / "output"
    assert main(["sample-data", "--quarters", "2", "--seed", "7", "--out", str(landing)]) == 0
    home = os.environ.pop("DAGSTER_HOME", None)
    try:
        code = main(
            [
                "backfill",
                "--from",
                "2025-26Q1",
                "--to",
                "2025-26Q2",
                "--landing",
                str(landing),
                "--output",
                str(out),
                "--framework",
                "npaf-2025-26-draft",
                "--quiet",
            ]
        )
    finally:
        if home is not None:
            os.environ["DAGSTER_HOME"] = home
    assert code == 0
    return out


def _read(root: Path, table: str) -> pl.DataFrame:
    files = sorted((root / table).glob("fy=*/quarter=*/*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append(value)
            if name == "id" and value:
                self.ids.add(value)


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _crawl(site: Path) -> tuple[list[Path], list[str]]:
    """Every HTML file of the site and every href/src that does not resolve to a file (or an id) of the site."""
    pages = sorted(site.rglob("*.html"))
    ids = {p: _parse(p).ids for p in pages}
    broken = []
    for page in pages:
        for link in _parse(page).links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc:
                broken.append(f"{page.relative_to(site)}: {link} leaves the site")
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page.resolve()
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {link} does not exist")
            elif (
                parts.fragment
                and target.suffix == ".html"
                and parts.fragment not in ids.get(target, _parse(target).ids)
            ):
                broken.append(f"{page.relative_to(site)}: {link} names no element")
    return pages, broken


# --- the site the Dagster asset wrote ----------------------------------------------------------------------


def test_the_pipeline_writes_the_site_into_the_output_folder(published: Path) -> None:
    site = published / "site"
    assert (site / "index.html").is_file() and (site / ".npaf-site").is_file()
    seg = _read(published, "organisation_segmentation")
    for code, label in seg.select("org_code", "quarter_label").iter_rows():
        assert (site / "org" / code / f"{slug(label)}.html").is_file(), (code, label)


def test_every_organisation_has_a_page_and_every_link_resolves(published: Path) -> None:
    site = published / "site"
    codes = set(_read(published, "organisation_segmentation")["org_code"]) | set(
        _read(published, "metric_scores")["org_code"]
    )
    assert {p.name for p in (site / "org").iterdir()} == codes
    pages, broken = _crawl(site)
    assert broken == []
    assert len(pages) > len(codes)
    # the Data Docs of the publish are linked (the site sits inside the output folder), and every quarter listed
    quality = (site / "quality.html").read_text(encoding="utf-8")
    assert 'href="../data-docs/index.html"' in quality
    assert all(label in quality for label in QUARTERS)


def test_a_site_outside_the_snapshot_names_the_data_docs_without_linking(published: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    assert main(["site", "--out", str(out), "--snapshot", str(published)]) == 0
    quality = (out / "quality.html").read_text(encoding="utf-8")
    assert "data-docs" in quality and 'href="../data-docs' not in quality
    assert "named by their path rather than linked" in quality
    assert _crawl(out)[1] == []


# --- in the browser -------------------------------------------------------------------------------------------


def _wait_for_charts(page: object) -> None:
    charts = page.locator(".chart")
    for i in range(charts.count()):
        page.locator(".chart").nth(i).locator("svg").first.wait_for(timeout=15000)


def test_every_page_loads_offline_with_no_errors_and_draws_its_charts(published: Path) -> None:
    """Every page but the organisation pages of earlier quarters (same template, and their links are crawled
    above): every league, national and site page, and every organisation's newest page."""
    site = published / "site"
    pages = [p for p in sorted(site.rglob("*.html")) if p.parent.parent.name != "org"]
    pages += [sorted(folder.glob("*.html"))[-1] for folder in sorted((site / "org").iterdir())]
    problems = []
    drawn = 0
    with chromium() as browser:
        for path in pages:
            with browser.visit(path) as (page, visit):
                _wait_for_charts(page)
                drawn += page.locator(".chart svg").count()
                assert page.locator("h1").count() == 1, path
            if visit.console_errors or visit.page_errors or visit.outside_requests:
                problems.append((str(path.relative_to(site)), visit))
    assert problems == []
    assert drawn >= len(list((site / "org").iterdir()))  # at least a history chart per organisation


def test_an_organisations_history_is_kept_once_and_shown_on_each_of_its_pages(published: Path) -> None:
    """The history table is in the organisation's history.js, not repeated in each quarter page; in the browser
    each page shows it, a row per published quarter with the published average, the page's own quarter marked."""
    site = published / "site"
    seg = _read(published, "organisation_segmentation").sort("quarter_label")
    code = seg["org_code"].sort()[0]
    mine = seg.filter(pl.col("org_code") == code)
    quarters = mine["quarter_label"].to_list()
    averages = [f"{a:.2f}" for a in mine["average_score"]]
    folder = site / "org" / code
    assert (folder / "history.js").is_file()
    with chromium() as browser:
        for label in quarters:
            page_file = folder / f"{slug(label)}.html"
            assert 'id="history-table"' not in page_file.read_text(encoding="utf-8")
            with browser.visit(page_file) as (page, visit):
                table = page.locator("#history-table")
                shown = table.locator("tbody th").all_inner_texts()
                shown_averages = table.locator("tbody td:first-of-type").all_inner_texts()
                marked = table.locator("tbody tr.current th").all_inner_texts()
            assert shown == quarters and shown_averages == averages
            assert marked == [label]
            assert visit.console_errors == [] and visit.page_errors == [] and visit.outside_requests == []


def test_league_tables_keep_the_published_order_and_sort_and_filter_in_the_page(published: Path) -> None:
    site = published / "site"
    seg = _read(published, "organisation_segmentation").select("quarter_label", "org_code", "org_type")
    trusts = _read(published, "league_table").join(
        seg, left_on=["quarter_label", "trust_code"], right_on=["quarter_label", "org_code"]
    )
    icbs = _read(published, "icb_league_table")
    assert icbs.height > 0
    expected: dict[str, list[tuple[int, str]]] = {}
    for row in trusts.iter_rows(named=True):
        expected.setdefault(f"{slug(row['quarter_label'])}/league-{row['org_type']}.html", []).append(
            (row["rank"], row["trust_code"])
        )
    for row in icbs.iter_rows(named=True):
        expected.setdefault(f"{slug(row['quarter_label'])}/league-icb.html", []).append((row["rank"], row["icb_code"]))
    assert sorted(p.relative_to(site).as_posix() for p in site.glob("*/league-*.html")) == sorted(expected)
    with chromium() as browser:
        for name, ranked in expected.items():
            want = [code for _, code in sorted(ranked)]
            with browser.visit(site / name) as (page, visit):
                codes = page.locator("#league tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
                ranks = page.locator("#league tbody tr td:first-child").all_inner_texts()
            assert codes == want, name
            assert [int(r) for r in ranks] == sorted(r for r, _ in ranked), name

        name = f"{slug(QUARTERS[-1])}/league-icb.html"
        regions = icbs.filter(pl.col("quarter_label") == QUARTERS[-1])["region"]
        region = regions.mode().sort()[0]
        with browser.visit(site / name) as (page, visit):
            page.get_by_role("button", name="Organisation").click()
            names = page.locator("#league tbody th[scope=row]").evaluate_all("c => c.map(x => x.dataset.v)")
            assert names == sorted(names, key=str.lower)
            page.get_by_role("button", name="Organisation").click()  # again: descending
            names = page.locator("#league tbody th[scope=row]").evaluate_all("c => c.map(x => x.dataset.v)")
            assert names == sorted(names, key=str.lower, reverse=True)
            page.get_by_label("Region").select_option(region)
            shown = page.locator("#league tbody tr:not([hidden])").evaluate_all(
                "rows => rows.map(r => r.dataset.region)"
            )
            assert shown and set(shown) == {region} and len(shown) == (regions == region).sum()
            assert page.locator("output.count").inner_text() == f"{len(shown)} of {regions.len()} shown"
            # keyboard: a sort button takes focus, shows it, and sorts on Enter
            page.get_by_label("Region").select_option("")
            page.get_by_label("Region").focus()
            for _ in range(4):  # Tab through the remaining filters to the first sort button
                page.keyboard.press("Tab")
                if page.evaluate("() => document.activeElement.textContent") == "Rank":
                    break
            outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            page.keyboard.press("Enter")
            sort_state = page.locator("#league thead th").first.get_attribute("aria-sort")
        assert outline != "none"
        assert sort_state in ("ascending", "descending")
        assert visit.console_errors == [] and visit.outside_requests == []


def test_screenshots_keep_the_layout_of_the_league_table_and_an_organisation_page(published: Path) -> None:
    """Saves the screenshots under build/test-artifacts (to look at) and checks the geometry that a layout
    regression breaks: the table filling the page without scrolling sideways, rows that do not balloon, the range
    bar drawn to scale, the summary cards side by side, the history chart drawn, and no sideways scrolling on a
    phone (where the wide columns hide). Pixel colours and fonts are not compared: those differ between machines."""
    site = published / "site"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    label = QUARTERS[-1]
    league = site / slug(label) / "league-acute.html"
    first = _read(published, "league_table").filter(pl.col("quarter_label") == label).sort("rank")["trust_code"][0]
    org = site / "org" / first / f"{slug(label)}.html"
    with chromium() as browser:
        with browser.visit(league, width=1280) as (page, _):
            page.screenshot(path=str(ARTIFACTS / "site-league.png"), full_page=True)
            main_box = page.locator("main").bounding_box()
            table = page.locator("#league").bounding_box()
            assert table["width"] >= 0.9 * (main_box["width"] - 40)
            heights = page.locator("#league tbody tr").evaluate_all(
                "rows => rows.map(r => r.getBoundingClientRect().height)"
            )
            assert max(heights) < 110, "league rows balloon (text wrapping or a broken cell)"
            sideways = page.locator("#league").evaluate(
                "t => t.parentElement.scrollWidth - t.parentElement.clientWidth"
            )
            assert sideways <= 0, "the league table no longer fits a desktop window"
            for row in page.locator("#league tbody tr").all()[:5]:
                bar = row.locator(".rb").bounding_box()
                dot = row.locator(".rb-dot").bounding_box()
                avg = float(row.locator(".avg").inner_text())
                assert abs((dot["x"] + dot["width"] / 2 - bar["x"]) / bar["width"] - (avg - 1) / 3) < 0.04
        with browser.visit(org, width=1280) as (page, _):
            _wait_for_charts(page)
            page.screenshot(path=str(ARTIFACTS / "site-organisation.png"), full_page=True)
            tops = {round(b["y"]) for b in (c.bounding_box() for c in page.locator(".card").all())}
            assert len(tops) == 1, "the summary cards no longer sit side by side"
            chart = page.locator("#h-history ~ .chart svg").first.bounding_box()
            assert chart["width"] > 600 and chart["height"] > 150
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0
        with browser.visit(league, width=390, height=800) as (page, _):
            page.screenshot(path=str(ARTIFACTS / "site-league-phone.png"))
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
            assert not page.locator("#league thead th.hide-s").first.is_visible()
    assert (ARTIFACTS / "site-league.png").stat().st_size > 10_000


# --- explanation panels, from fixture tables in the declared columns ---------------------------------------------


def _with_explanations(published: Path, target: Path) -> dict[str, pl.DataFrame]:
    """A copy of the snapshot plus small segment_explanation, segment_distance and segment_changes tables in the
    declared columns (fixture values derived from the published rows, not the explanation method itself)."""
    shutil.copytree(
        published, target, ignore=shutil.ignore_patterns("site", ".state", "data-docs", "*.duckdb", *EXPLANATION)
    )
    seg = _read(published, "organisation_segmentation")
    scores = _read(published, "metric_scores").filter(pl.col("role") == "scored")
    n = scores.group_by("quarter_label", "org_code").agg(pl.len().alias("n"))
    mean = scores.group_by("quarter_label", "org_type", "metric_id").agg(pl.col("score").mean().alias("m"))
    expl = (
        scores.join(n, on=["quarter_label", "org_code"])
        .join(mean, on=["quarter_label", "org_type", "metric_id"])
        .join(seg.select("quarter_label", "org_code", "org_name", "cutpoint_1_2"), on=["quarter_label", "org_code"])
        .select(
            "fy",
            "quarter",
            "quarter_label",
            "org_code",
            "org_name",
            "org_type",
            pl.col("metric_id").alias("item_id"),
            pl.col("metric_name").alias("item_name"),
            "domain",
            "score",
            (1 / pl.col("n")).alias("weight"),
            (pl.col("score") / pl.col("n")).alias("contribution"),
            ((pl.col("score") - pl.col("m")) / pl.col("n")).alias("pull_vs_type_mean"),
            ((pl.col("score") - pl.col("cutpoint_1_2")) / pl.col("n")).alias("pull_vs_cut_above"),
        )
        .with_columns(
            pl.col("pull_vs_type_mean")
            .rank("ordinal", descending=True)
            .over("quarter_label", "org_code")
            .cast(pl.Int64)
            .alias("driver_rank")
        )
    )
    first = (
        scores.filter(pl.col("value").is_not_null())
        .sort("metric_id")
        .group_by("quarter_label", "org_code", maintain_order=True)
        .first()
    )
    dist = (
        first.join(seg, on=["quarter_label", "org_code"], suffix="_seg")
        .select(
            "fy",
            "quarter",
            "quarter_label",
            "org_code",
            "org_type",
            "unadjusted_segment",
            "adjusted_segment",
            "final_segment",
            "average_score",
            pl.col("improvement_to_next_segment").alias("points_to_better"),
            pl.lit(0.05).alias("points_to_worse"),
            "metric_id",
            "metric_name",
            "unit",
            "value",
            (pl.col("value") * 1.1).alias("value_for_better"),
            pl.lit(True).alias("can_close_alone"),
            pl.lit("fixture note").alias("note"),
            "override_flag",
            pl.col("unadjusted_segment").alias("segment_without_override"),
        )
        .rename({"override_flag": "override_capped"})
    )
    q1, q2 = (seg.filter(pl.col("quarter_label") == q) for q in QUARTERS)
    both = q2.join(q1, on="org_code", suffix="_p")
    classes = ["override", "significant", "not_significant"]
    changes = (
        both.with_row_index("i")
        .select(
            "fy",
            "quarter",
            "quarter_label",
            "org_code",
            "org_type",
            pl.col("quarter_label_p").alias("previous_quarter_label"),
            pl.col("average_score_p").alias("previous_average"),
            "average_score",
            (pl.col("average_score") - pl.col("average_score_p")).alias("average_change"),
            pl.col("adjusted_segment_p").alias("previous_segment"),
            pl.col("adjusted_segment").alias("segment"),
            pl.col("final_segment_p").alias("previous_final_segment"),
            "final_segment",
            pl.col("amr_rank_p").alias("previous_rank"),
            pl.col("amr_rank").alias("rank"),
            (pl.col("adjusted_segment") != pl.col("adjusted_segment_p")).alias("segment_changed"),
            pl.lit("own_score").alias("cause"),
            pl.col("i").map_elements(lambda i: classes[i % 3], return_dtype=pl.String).alias("change_class"),
        )
        .rename({"average_score": "average"})
    )
    tables = {"segment_explanation": expl, "segment_distance": dist, "segment_changes": changes}
    for name, frame in tables.items():
        for (fy, q), part in frame.group_by("fy", "quarter"):
            folder = target / name / f"fy={fy}" / f"quarter={q}"
            folder.mkdir(parents=True)
            part.write_parquet(folder / "part-0.parquet")
    return tables


EXPLANATION = ("segment_explanation", "segment_distance", "segment_changes", "segment_change_items")


def test_explanation_panels_show_the_explanation_tables(published: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot"
    tables = _with_explanations(published, snapshot)
    report = build_site(snapshot, snapshot / "site")
    assert report.missing == []
    label = QUARTERS[-1]
    expl = tables["segment_explanation"].filter(pl.col("quarter_label") == label)
    code = expl["org_code"][0]
    html = (snapshot / "site" / "org" / code / f"{slug(label)}.html").read_text(encoding="utf-8")
    drivers = expl.filter(pl.col("org_code") == code).sort("driver_rank")
    section = html.split('id="h-drivers"')[1].split("</section>")[0]
    names = re.findall(r'<th scope="row"[^>]*>([^<]+)</th>', section)
    assert names == drivers["item_name"].to_list()
    distance = html.split('id="h-distance"')[1].split("</section>")[0]
    assert "fixture note" in distance and "no <code>segment_distance</code>" not in distance

    changes = tables["segment_changes"]
    national = (snapshot / "site" / slug(label) / "national.html").read_text(encoding="utf-8")
    acute = changes.filter(pl.col("org_type") == "acute")
    changed = acute.filter(pl.col("segment_changed"))
    summary = national.split('id="h-summary"')[1].split("</section>")[0].replace("\n", "")
    row = re.search(r'<th scope="row">Acute trust</th>(.*?)</tr>', summary)
    counts = [int(x) for x in re.findall(r"<td[^>]*>(\d+)</td>", row.group(1))]
    assert len(counts) == 8  # compared, changed, better, worse, override, significant, not significant, no change
    assert counts[0] == acute.height
    assert counts[1] == changed.height
    assert counts[4:7] == [
        changed.filter(pl.col("change_class") == c).height for c in ("override", "significant", "not_significant")
    ]
    assert counts[7] == acute.filter(~pl.col("segment_changed") & (pl.col("change_class") == "significant")).height

    with chromium() as browser:
        with browser.visit(snapshot / "site" / "org" / code / f"{slug(label)}.html") as (page, visit):
            _wait_for_charts(page)
            assert page.locator("#h-drivers ~ .chart svg").count() == 1
        with browser.visit(snapshot / "site" / slug(label) / "league-icb.html") as (page, visit2):
            classes = set(page.locator("#league .cls").all_inner_texts())
    assert visit.console_errors == [] and visit2.console_errors == [] and visit.outside_requests == []
    assert classes <= {"override", "significant", "not significant"} and classes


def test_without_explanation_tables_the_panels_say_so(published: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "older-snapshot"  # a snapshot published before the explanation tables existed
    shutil.copytree(published, snapshot, ignore=shutil.ignore_patterns("site", ".state", "*.duckdb", *EXPLANATION))
    site = snapshot / "site"
    build_site(snapshot, site)
    page = next((site / "org").iterdir()) / f"{slug(QUARTERS[-1])}.html"
    html = page.read_text(encoding="utf-8")
    assert "no <code>segment_explanation</code> table" in html
    assert "no <code>segment_distance</code> table" in html


# --- layout the site may meet, and bad input -------------------------------------------------------------------


def test_tables_behind_symlinks_read_the_same(published: Path, tmp_path: Path) -> None:
    """<out>/<table> may become a symlink into a versioned snapshot: the site must come out the same."""
    versioned = tmp_path / "versions" / "v1"
    root = tmp_path / "out"
    root.mkdir()
    for entry in published.iterdir():
        if entry.name in ("site", ".state"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, versioned / entry.name)
            (root / entry.name).symlink_to(versioned / entry.name, target_is_directory=True)
        else:
            shutil.copy(entry, root / entry.name)
    report = build_site(root, root / "site")
    plain = build_site(published, tmp_path / "plain")
    assert report.pages == plain.pages
    name = f"{slug(QUARTERS[-1])}/league-acute.html"
    assert (root / "site" / name).read_text() == (tmp_path / "plain" / name).read_text()


def test_refuses_a_folder_that_is_not_a_site_and_a_folder_that_is_not_a_snapshot(
    published: Path, tmp_path: Path
) -> None:
    keep = tmp_path / "documents"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a site built by npaf site"):
        build_site(published, keep)
    assert (keep / "notes.txt").read_text() == "mine"
    with pytest.raises(FileNotFoundError, match="organisation_segmentation"):
        build_site(tmp_path / "documents", tmp_path / "new-site")
    assert main(["site", "--out", str(tmp_path / "x"), "--snapshot", str(tmp_path / "nowhere")]) == 2


def test_a_rebuild_drops_pages_of_organisations_no_longer_published(published: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build_site(published, site)
    stale = site / "org" / "ZZZ9" / "2020-21-Q1.html"
    stale.parent.mkdir()
    stale.write_text("old")
    build_site(published, site)
    assert not stale.exists() and (site / "index.html").is_file()
    assert not list(tmp_path.glob(".site.*"))


def test_pages_split_over_processes_come_out_byte_for_byte_the_same(
    published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from npaf_pipeline.site import build as site_build

    monkeypatch.setattr(site_build, "PARALLEL_FROM", 10**9)
    one = build_site(published, tmp_path / "one")
    monkeypatch.setattr(site_build, "PARALLEL_FROM", 1)
    monkeypatch.setattr(site_build, "_workers", lambda n: 2)
    two = build_site(published, tmp_path / "two")
    assert one.pages == two.pages == len(list((tmp_path / "one").rglob("*.html")))

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert files(tmp_path / "one") == files(tmp_path / "two")
