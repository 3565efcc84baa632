"""`npaf export-nhse` writes NHS England's league-table layout, and the league-table reader reads it back."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from npaf_pipeline.cli import main
from npaf_pipeline.engine.numeric import round_value
from npaf_pipeline.publish import publish_quarters
from npaf_pipeline.sources import nof_league_table
from tests.test_publish_tables import Q1, Q2, synthetic_run


def test_league_table_export_reads_back_as_the_engine_computed_it(tmp_path: Path) -> None:
    result, orgs, values, rs = synthetic_run((Q1, Q2))
    publish_quarters(result, orgs, values, rs, tmp_path / "out")
    dest, league = tmp_path / "nhse.csv", tmp_path / "league.csv"
    args = ["export-nhse", "--from", str(tmp_path / "out"), "--out", str(dest), "--league-table", str(league)]
    assert main(args) == 0
    raw = league.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines()[0].split(",") == nof_league_table.COLUMNS
    back = nof_league_table.read([league])
    assert back.quarantine.is_empty()
    seg = result.segmentation.filter(pl.col("adjusted_segment").is_not_null() & pl.col("amr_rank").is_not_null())
    expected = seg.select(
        "quarter",
        "org_code",
        pl.col("average_score").map_elements(lambda v: round_value(v, 2), return_dtype=pl.Float64),
        pl.col("average_low"),
        pl.col("average_high"),
        pl.col("adjusted_segment").cast(pl.Int64).alias("segment"),
        pl.col("override_flag").fill_null(False).alias("financial_deficit"),
        pl.col("amr_rank").cast(pl.Int64).alias("rank"),
        "rank_low",
        "rank_high",
    )
    got = back.rows.select(expected.columns)
    assert got.height == expected.height > 0
    assert got.sort("quarter", "org_code").equals(expected.sort("quarter", "org_code"))
    assert set(got["quarter"].to_list()) == {Q1, Q2}


def test_export_writes_the_league_table_beside_the_dashboard_file_by_default(tmp_path: Path) -> None:
    publish_quarters(*synthetic_run((Q1,)), tmp_path / "out")
    assert main(["export-nhse", "--from", str(tmp_path / "out"), "--out", str(tmp_path / "nhse.csv")]) == 0
    assert nof_league_table.is_league_table(tmp_path / "nhse-league-table.csv")
