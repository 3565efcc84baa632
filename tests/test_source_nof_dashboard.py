"""The NOF dashboard CSV as a landing source: canonical values with lineage and every row accounted for."""

from __future__ import annotations

import polars as pl

from npaf_pipeline.engine import run
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
