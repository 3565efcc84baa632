"""The Great Expectations acceptance suite: passes on the tables of a real Q1 run, fails on corrupted copies,
names the quarter of each failure when it validates several at once, and writes Data Docs that open offline.

GX is imported once for the module (the ``gx`` fixture every test uses); each validation then takes a couple of
seconds, which keeps the module within a minute or two.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline.engine import run
from npaf_pipeline.publish.data_docs import DataDocsError, localise_page
from npaf_pipeline.publish.expectations import (
    NULL_REQUIRED,
    AcceptanceError,
    AcceptanceResult,
    ExpectationOutcome,
    final_segments,
    import_gx,
    segments,
    table_specs,
    validate_tables,
)
from npaf_pipeline.publish.parquet import conform
from npaf_pipeline.publish.snapshot import publish_quarters
from npaf_pipeline.publish.tables import build_tables, describe_inputs
from npaf_pipeline.ruleset import RuleSet
from npaf_pipeline.ruleset.model import IntensiveSupport
from npaf_pipeline.sources import nof_csv
from schemas.common import ODS_CODE
from schemas.published import published_models
from tests.browser import chromium
from tests.conftest import ROOT

Tables = dict[str, pl.DataFrame]

pytestmark = pytest.mark.usefixtures("gx")


@pytest.fixture(scope="module")
def gx() -> object:
    """The one GX import of the module (seconds); every validation below reuses it."""
    return import_gx()


Q1, Q2 = "2025-26 Q1", "2025-26 Q2"


@pytest.fixture(scope="module")
def q1_inputs(q1_files: list[Path], rs: RuleSet) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Metric values, organisations and flags of the real Q1 2025/26 release."""
    release = nof_csv.read_nof_csv(q1_files)
    return nof_csv.metric_values(release, rs), nof_csv.organisations(release, rs), nof_csv.flags(release)


@pytest.fixture(scope="module")
def published(q1_inputs: tuple[pl.DataFrame, ...], q1_files: list[Path], rs: RuleSet) -> Tables:
    """Every published table of the real Q1 2025/26 run, conformed to its model as a publish would."""
    values, orgs, flags = q1_inputs
    result = run(values, orgs, rs, flags)
    frames = build_tables(result, orgs, values, rs, inputs=describe_inputs(q1_files))
    models = published_models([(d.id, d.name) for d in rs.domains])
    return {name: conform(frames[name], model) for name, model in models.items()}


@pytest.fixture(scope="module")
def accepted(published: Tables, rs: RuleSet, tmp_path_factory: pytest.TempPathFactory) -> AcceptanceResult:
    docs = tmp_path_factory.mktemp("out") / "data-docs" / "2025-26" / "Q1"
    return validate_tables(published, rs, docs)


def set_first(frame: pl.DataFrame, column: str, value: object) -> pl.DataFrame:
    """``frame`` with ``column`` of its first row replaced by ``value``."""
    first = pl.int_range(pl.len()) == 0
    return frame.with_columns(
        pl.when(first).then(pl.lit(value)).otherwise(pl.col(column)).cast(frame.schema[column]).alias(column)
    )


def failed(result: AcceptanceResult) -> set[tuple[str, str, str | None]]:
    return {(table, o.expectation, o.column) for table, o in result.failures()}


def outcome(result: AcceptanceResult, table: str, expectation: str, column: str | None) -> ExpectationOutcome:
    matches = [o for o in result.tables[table].outcomes if (o.expectation, o.column) == (expectation, column)]
    assert len(matches) == 1, (table, expectation, column, matches)
    return matches[0]


# --- the suite itself, without running GX ----------------------------------------------------------------


def test_importing_the_module_does_not_import_gx() -> None:
    code = "import sys, npaf_pipeline.publish.expectations; sys.exit('great_expectations' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0


def test_expectations_come_from_the_models_and_the_rule_set(rs: RuleSet) -> None:
    specs = table_specs(rs)
    models = published_models([(d.id, d.name) for d in rs.domains])
    assert set(specs) == set(models)
    for name, model in models.items():
        keys = list(model.to_schema().unique)
        unique = [s.kwargs["column_list"] for s in specs[name] if s.expectation == "ExpectCompoundColumnsToBeUnique"]
        assert unique == [keys]
    for name, column in [
        ("organisation_segmentation", "org_code"),
        ("league_table", "trust_code"),
        ("icb_league_table", "icb_code"),
    ]:
        regex = [s.kwargs["regex"] for s in specs[name] if s.expectation == "ExpectColumnValuesToMatchRegex"]
        columns = [s.column for s in specs[name] if s.expectation == "ExpectColumnValuesToMatchRegex"]
        assert regex[columns.index(column)] == ODS_CODE
    assert segments(rs) == [1, 2, 3, 4] and final_segments(rs) == [1, 2, 3, 4, 5]
    without_support = rs.model_copy(update={"intensive_support": IntensiveSupport(source="none")})
    assert final_segments(without_support) == [1, 2, 3, 4]


# --- the real run passes ---------------------------------------------------------------------------------


@pytest.mark.real_data
def test_real_q1_tables_pass(accepted: AcceptanceResult, published: Tables) -> None:
    assert accepted.success, accepted.summary()
    assert set(accepted.tables) == set(published)
    for name, table in accepted.tables.items():
        assert table.rows == published[name].height and table.outcomes and table.success
    seg = accepted.tables["organisation_segmentation"]
    assert seg.rows == 195
    assert outcome(accepted, "organisation_segmentation", "expect_column_values_to_be_between", "amr_rank").success
    assert outcome(accepted, "league_table", "expect_column_pair_values_to_be_equal", "segment").success


@pytest.mark.real_data
def test_data_docs_index_names_every_suite(accepted: AcceptanceResult) -> None:
    index = accepted.data_docs_index
    assert index is not None and index.is_file()
    assert index.parent.parts[-3:] == ("data-docs", "2025-26", "Q1")
    html = index.read_text(encoding="utf-8")
    for table in accepted.tables.values():
        assert table.suite in html


@pytest.mark.real_data
def test_validation_prints_no_progress_bars(published: Tables, rs: RuleSet, capfd: pytest.CaptureFixture) -> None:
    assert validate_tables(published, rs).success
    captured = capfd.readouterr()
    assert "Calculating Metrics" not in captured.err + captured.out


# --- corrupted copies fail, naming the expectation and the column ---------------------------------------


def _segment_of_seven(t: Tables) -> Tables:
    return {**t, "organisation_segmentation": set_first(t["organisation_segmentation"], "final_segment", 7)}


def _duplicated_key(t: Tables) -> Tables:
    metric_scores = t["metric_scores"]
    return {**t, "metric_scores": pl.concat([metric_scores, metric_scores.head(1)])}


def _score_above_four(t: Tables) -> Tables:
    return {**t, "metric_scores": set_first(t["metric_scores"], "score", 4.5)}


def _amr_rank_zero(t: Tables) -> Tables:
    return {**t, "organisation_segmentation": set_first(t["organisation_segmentation"], "amr_rank", 0)}


def _amr_rank_past_the_type(t: Tables) -> Tables:
    seg = t["organisation_segmentation"]
    count = seg.filter(pl.col("org_type") == seg["org_type"][0]).height
    return {**t, "organisation_segmentation": set_first(seg, "amr_rank", count + 1)}


def _league_disagrees(t: Tables) -> Tables:
    league = t["league_table"]
    other = league["segment"][0] % 4 + 1  # another valid segment, so only the cross-table check can fail
    return {**t, "league_table": set_first(league, "segment", other)}


def _scored_but_not_segmented(t: Tables) -> Tables:
    seg = t["organisation_segmentation"]
    return {**t, "organisation_segmentation": seg.filter(pl.col("org_code") != seg["org_code"][0])}


def _note_missing(t: Tables) -> Tables:
    return {**t, "segment_distance": set_first(t["segment_distance"], "note", None)}


def _nan_contribution(t: Tables) -> Tables:
    return {**t, "segment_explanation": set_first(t["segment_explanation"], "contribution", float("nan"))}


SCORES_KEY = "fy, quarter, org_code, metric_id"
CORRUPTIONS = [
    (_segment_of_seven, "organisation_segmentation", "expect_column_values_to_be_in_set", "final_segment", 7),
    (_duplicated_key, "metric_scores", "expect_compound_columns_to_be_unique", SCORES_KEY, None),
    (_score_above_four, "metric_scores", "expect_column_values_to_be_between", "score", 4.5),
    (_amr_rank_zero, "organisation_segmentation", "expect_column_values_to_be_between", "amr_rank", 0),
    (
        _amr_rank_past_the_type,
        "organisation_segmentation",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "amr_rank",
        None,
    ),
    (_scored_but_not_segmented, "metric_scores", "expect_column_values_to_be_null", "org_code", None),
    # every column declared not nullable, checked by one expectation that names the null columns of each row
    (_note_missing, "segment_distance", "expect_column_values_to_be_null", NULL_REQUIRED, "note"),
    (
        _nan_contribution,
        "segment_explanation",
        "expect_column_values_to_be_null",
        NULL_REQUIRED,
        "contribution",
    ),
]


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("corrupt", "table", "expectation", "column", "value"), CORRUPTIONS, ids=[c[0].__name__[1:] for c in CORRUPTIONS]
)
def test_corruption_fails_the_suite(
    published: Tables,
    rs: RuleSet,
    corrupt,
    table: str,
    expectation: str,
    column: str,
    value: object,
) -> None:
    result = validate_tables(corrupt(published), rs)
    assert not result.success and not result.tables[table].success
    assert (table, expectation, column) in failed(result), result.summary()
    hit = outcome(result, table, expectation, column)
    assert hit.unexpected_count and hit.unexpected_count >= 1
    if value is not None:
        assert value in hit.unexpected_values
    with pytest.raises(AcceptanceError, match=expectation):
        result.raise_if_failed()


@pytest.mark.real_data
def test_league_segment_that_disagrees_is_the_only_failure(published: Tables, rs: RuleSet) -> None:
    league = published["league_table"]
    result = validate_tables(_league_disagrees(published), rs)
    hit = outcome(result, "league_table", "expect_column_pair_values_to_be_equal", "segment")
    assert failed(result) == {("league_table", hit.expectation, "segment")}
    code = league["trust_code"][0]
    adjusted = published["organisation_segmentation"].filter(pl.col("org_code") == code)["adjusted_segment"][0]
    assert hit.unexpected_values == ((league["segment"][0] % 4 + 1, adjusted),)


def test_every_published_table_is_required(rs: RuleSet) -> None:
    with pytest.raises(ValueError, match="league_table"):
        validate_tables({"organisation_segmentation": pl.DataFrame()}, rs)


# --- several quarters at once: every failure names its quarter -------------------------------------------


def as_second_quarter(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (of 2025-26 Q1) relabelled as 2025-26 Q2."""
    labels = {"fy": "2025-26", "quarter": "Q2", "quarter_label": Q2}
    return frame.with_columns(
        pl.lit(v, dtype=frame.schema[c]).alias(c) for c, v in labels.items() if c in frame.columns
    )


@pytest.mark.real_data
def test_failures_of_a_two_quarter_validation_name_their_quarter(published: Tables, rs: RuleSet) -> None:
    tables = {name: pl.concat([t, as_second_quarter(t)]) for name, t in published.items()}
    tables["metric_scores"] = set_first(tables["metric_scores"], "score", 4.5)  # the first row is Q1's
    tables["organisation_segmentation"] = tables["organisation_segmentation"].filter(
        pl.col("quarter_label") == Q1
    )  # Q2 published with no organisations
    result = validate_tables(tables, rs, quarters=[Q1, Q2])
    assert not result.success
    score = outcome(result, "metric_scores", "expect_column_values_to_be_between", "score")
    assert score.quarters == (Q1,) and score.unexpected_count == 1 and 4.5 in score.unexpected_values
    empty = outcome(
        result, "organisation_segmentation", "expect_column_distinct_values_to_contain_set", "quarter_label"
    )
    assert empty.quarters == (Q2,)
    # Q2's league tables and scores now name organisations the segmentation does not have: Q2's failures only.
    league = outcome(result, "league_table", "expect_column_pair_values_to_be_equal", "segment")
    assert league.quarters == (Q2,) and not league.success
    assert all(o.quarters for _, o in result.failures()), result.summary()
    assert {name for name, _ in result.failures_in(Q1)} == {"metric_scores"}
    assert f"metric_scores ({Q1}): expect_column_values_to_be_between on score" in result.summary()
    assert f"organisation_segmentation ({Q2}): expect_column_distinct_values_to_contain_set" in result.summary()


@pytest.mark.real_data
def test_a_failure_in_one_quarter_of_a_backfill_names_it_and_blocks_the_publish(
    q1_inputs: tuple[pl.DataFrame, ...], q1_files: list[Path], rs: RuleSet, tmp_path: Path
) -> None:
    values, orgs, flags = (pl.concat([f, f.with_columns(pl.lit(Q2).alias("quarter"))]) for f in q1_inputs)
    result = run(values, orgs, rs, flags)
    seg = result.segmentation
    code = seg.filter((pl.col("quarter") == Q2) & pl.col("amr_rank").is_not_null())["org_code"][0]
    past_the_type = (pl.col("quarter") == Q2) & (pl.col("org_code") == code)
    seg = seg.with_columns(
        pl.when(past_the_type).then(pl.col("amr_rank") + 1000).otherwise("amr_rank").alias("amr_rank")
    )
    out = tmp_path / "out"
    with pytest.raises(AcceptanceError) as raised:
        publish_quarters(dataclasses.replace(result, segmentation=seg), orgs, values, rs, out, inputs=q1_files)
    message = str(raised.value)
    assert f"organisation_segmentation ({Q2}): expect_column_pair_values_a_to_be_greater_than_b on amr_rank" in message
    assert Q1 not in message
    published_files = [p for p in out.rglob("*") if p.suffix in (".parquet", ".json", ".duckdb")]
    assert published_files == []  # nothing published, for either quarter
    # a rejected publish keeps the pages that show why outside every snapshot
    page = next((out / "data-docs-rejected" / "validations" / "npaf" / "organisation_segmentation").rglob("*.html"))
    with chromium() as browser, browser.visit(page) as (tab, visit):
        failing_row = tab.locator("tr", has=tab.locator("td", has_text=Q2)).filter(has_text=code)
        assert failing_row.count() >= 1  # the failing row is listed with its quarter and organisation
    assert visit.outside_requests == [] and visit.console_errors == [] and visit.page_errors == []


# --- Data Docs: offline and byte-stable --------------------------------------------------------------------


@pytest.mark.real_data
def test_data_docs_open_offline_listed_and_styled(accepted: AcceptanceResult) -> None:
    index = accepted.data_docs_index
    assert index is not None
    with chromium() as browser, browser.visit(index) as (page, visit):
        rows = page.locator(".ge-index-page-validation-results-table tbody tr")
        assert rows.count() == len(accepted.tables)
        listed = page.locator(".ge-index-page-validation-results-table").inner_text()
        assert all(t.suite in listed for t in accepted.tables.values())
        # Bootstrap's .text-success colour and Font Awesome's font come from the local copies only.
        icon = page.locator(".ge-success-icon").first
        assert icon.evaluate("e => getComputedStyle(e).color") == "rgb(40, 167, 69)"
        assert "Font Awesome" in icon.evaluate("e => getComputedStyle(e).fontFamily")
        assert page.evaluate("document.fonts.check('900 16px \"Font Awesome 6 Free\"')")
        assert rows.first.is_visible()
        with page.expect_navigation():
            rows.first.click()
        assert "/validations/npaf/" in page.url
        assert page.locator("h5", has_text="Overview").is_visible()
        assert page.locator("nav.navbar").first.evaluate("e => getComputedStyle(e).display") == "flex"  # Bootstrap
        assert page.locator("table.table").first.is_visible()
    assert visit.outside_requests == [] and visit.console_errors == [] and visit.page_errors == []


@pytest.mark.real_data
def test_rebuilding_the_same_data_docs_leaves_every_byte(accepted: AcceptanceResult, published: Tables, rs: RuleSet):
    index = accepted.data_docs_index
    assert index is not None
    site = index.parent

    def snapshot() -> dict[str, bytes]:
        return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}

    before = snapshot()
    assert validate_tables(published, rs, site).success
    assert snapshot() == before
    assert sorted(p.name for p in site.parent.iterdir()) == [site.name]  # no building or old copy left


def test_a_page_reaching_for_an_asset_without_a_local_copy_is_refused(tmp_path: Path) -> None:
    page = '<link rel="stylesheet" href="https://cdn.example.org/theme.css"><a href="https://example.org">x</a>'
    with pytest.raises(DataDocsError, match=r"cdn\.example\.org/theme\.css"):
        localise_page(page, ".", Path("index.html"), tmp_path)
    chart = '<script>vegaEmbed("#chart", spec)</script>'
    with pytest.raises(DataDocsError, match="Vega"):
        localise_page(chart, ".", Path("index.html"), tmp_path)
    assert localise_page('<a href="https://example.org">x</a>', ".", Path("i.html"), tmp_path).count("https://") == 1
