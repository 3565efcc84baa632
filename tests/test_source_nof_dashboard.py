"""The NOF dashboard CSV as a landing source: canonical values with lineage and every row accounted for."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from test_nof_csv_reader import LATER_HEADER, row, write_csv

from npaf_pipeline.engine import run
from npaf_pipeline.ruleset import RuleSet
from npaf_pipeline.sources import nof_csv, nof_dashboard


def test_real_files_give_canonical_values_and_full_row_accounting(q1_files, rs) -> None:
    result = nof_dashboard.read(q1_files, rs=rs)
    result.check_accounting()
    assert [(a.rows_read, a.rows_accepted, a.rows_quarantined) for a in result.accounts] == [
        (7265, 7265, 0),
        (2242, 2242, 0),
    ]
    values = result.values
    assert values.select("quarter", "org_code", "metric_id").is_duplicated().sum() == 0
    assert set(values["source"]) == {"nof_dashboard"}
    assert values["source_row"].min() >= 2 and values["source_sha256"].str.len_chars().unique().to_list() == [64]
    # the score-only metrics are values too (their score is the input)
    assert {"OF0035", "OF0046", "OF0067", "OF0069"} <= set(values["metric_id"])


def test_canonical_values_score_exactly_like_the_reader_output(q1_files, rs) -> None:
    release = nof_csv.read_nof_csv(q1_files)
    orgs, flags = nof_csv.organisations(release, rs), nof_csv.flags(release)
    direct = run(nof_csv.metric_values(release, rs), orgs, rs, flags, with_ranges=False)
    canonical = run(nof_dashboard.read(q1_files, rs=rs).values, orgs, rs, flags, with_ranges=False)
    keys = ["quarter", "metric_id", "org_code"]  # the engine leaves its large tables unsorted
    assert direct.metric_scores.sort(keys).equals(canonical.metric_scores.sort(keys))
    assert direct.segmentation.equals(canonical.segmentation)


def test_quarter_filter_and_unknown_quarter(q1_files, rs) -> None:
    assert nof_dashboard.read(q1_files, ["2025-26 Q2"], rs).values.height == 0
    only = nof_dashboard.read(q1_files, ["Q1 2025/26"], rs).values
    assert set(only["quarter"]) == {"2025-26 Q1"} and only.height > 3000
    assert only.filter(pl.col("published_rank").is_not_null()).height > 0


@pytest.mark.parametrize("metric", ["OF5004", "OF5002", "OF1003", "OF0003"])
def test_an_ill_formed_code_is_quarantined_on_reference_rows_as_on_value_rows(
    tmp_path: Path, rs: RuleSet, metric: str
) -> None:
    """A row whose code is not an ODS code is quarantined whatever it holds: a flag of ``r1f`` is nobody's flag.

    The row is recorded with file, row, column and value, and the file's rows still add up.
    """
    q1 = "Q1 2025/26"
    rows = [
        row("R1F", "OF0003", "1.5", quarter=q1),
        row("R1F", "OF5004", "1.0", units="flag", date="", quarter=q1),
        row("r1f", metric, "1.0", units="flag" if metric == "OF5004" else "score", date="", quarter=q1),
    ]
    path = write_csv(tmp_path / "code.csv", LATER_HEADER, rows)
    result = nof_dashboard.read([path], rs=rs)
    record = result.quarantine.row(0, named=True)
    assert result.quarantine.height == 1
    assert (record["source_file"], record["source_row"], record["column"], record["value"]) == (
        str(path),
        4,
        "org_code",
        "r1f",
    )
    assert [(a.rows_read, a.rows_accepted, a.rows_quarantined) for a in result.accounts] == [(3, 2, 1)]
    assert result.values["org_code"].to_list() == ["R1F"]
