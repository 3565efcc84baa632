"""The Great Expectations acceptance suite: passes on the tables of a real Q1 run, fails on corrupted copies.

GX is imported once for the module (the ``gx`` fixture every test uses); each validation then takes a couple of
seconds, which keeps the module within a minute.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline.engine import run
from npaf_pipeline.publish.expectations import (
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
from npaf_pipeline.publish.tables import build_tables, describe_inputs
from npaf_pipeline.ruleset import RuleSet
from npaf_pipeline.ruleset.model import IntensiveSupport
from npaf_pipeline.sources import nof_csv
from schemas.common import ODS_CODE
from schemas.published import published_models
from tests.conftest import ROOT

Tables = dict[str, pl.DataFrame]

pytestmark = pytest.mark.usefixtures("gx")


@pytest.fixture(scope="module")
def gx() -> object:
    """The one GX import of the module (seconds); every validation below reuses it."""
    return import_gx()


@pytest.fixture(scope="module")
def published(q1_files: list[Path], rs: RuleSet) -> Tables:
    """Every published table of the real Q1 2025/26 run, conformed to its model as a publish would."""
    release = nof_csv.read_nof_csv(q1_files)
    values, orgs = nof_csv.metric_values(release, rs), nof_csv.organisations(release, rs)
    result = run(values, orgs, rs, nof_csv.flags(release))
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
