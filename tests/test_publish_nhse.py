"""`npaf export-nhse`: NHS England's CSV layout from published Parquet, safe in spreadsheets, read by our reader."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline.cli import main
from npaf_pipeline.engine import EngineResult, run
from npaf_pipeline.engine.numeric import round_value
from npaf_pipeline.publish import publish_quarters
from npaf_pipeline.publish.nhse_csv import COLUMNS, neutralise, number
from npaf_pipeline.ruleset import RuleSet
from npaf_pipeline.sources import nof_csv
from npaf_pipeline.sources.base import sha256_file
from tests.conftest import ACUTE_Q1, MHC_Q1, real_file
from tests.test_publish_tables import FORMULA_NAME, Q1, Q2, synthetic_run

KEYS = ["quarter", "org_code", "metric_id"]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20 7946", "'+44 20 7946"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTrust", "'\tTrust"),
        ("\rTrust", "'\rTrust"),
        ("-", "'-"),
        ("-1.5", "-1.5"),
        ("+2", "+2"),
        ("1e-3", "1e-3"),
        ("Acute - Teaching", "Acute - Teaching"),
        ("", ""),
    ],
)
def test_formula_cells_are_neutralised_and_numbers_kept(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2, "2.0"),
        (3.0, "3.0"),
        (3.64, "3.64"),
        (3.645, "3.65"),
        (2.675, "2.68"),
        (1.005, "1.01"),
        (-0.005, "-0.01"),
        (3.643564, "3.64"),
        (2.8249999999999997, "2.83"),
        (True, "1.0"),
        (None, ""),
    ],
)
def test_values_are_rounded_half_up_to_two_places(value: object, text: str) -> None:
    assert number(value) == text


def _engine_expected(result: EngineResult, rs: RuleSet) -> pl.DataFrame:
    """OF1xxx / OF40xx / OF41xx / OF5xxx values and ranks straight from the engine frames, 2 dp half-up."""
    rows: list[tuple] = []
    for r in result.metric_scores.filter(pl.col("score").is_not_null()).iter_rows(named=True):
        rows.append((r["quarter"], r["org_code"], r["score_id"], r["score"], r["metric_rank"]))
    ids = {d.id: (d.score_id, d.segment_id) for d in rs.domains}
    for r in result.domain_scores.filter(pl.col("score").is_not_null()).iter_rows(named=True):
        rows.append((r["quarter"], r["org_code"], ids[r["domain"]][0], r["score"], r["rank"]))
        if r["segment"] is not None:
            rows.append((r["quarter"], r["org_code"], ids[r["domain"]][1], r["segment"], None))
    summary = [
        ("OF5000", "adjusted_segment", "amr_rank"),
        ("OF5002", "average_score", "average_rank"),
        ("OF5003", "unadjusted_segment", None),
        ("OF5004", "override_flag", None),
        ("OF5005", "final_segment", None),
        ("OF5007", "intensive_support", None),
    ]
    for r in result.segmentation.iter_rows(named=True):
        for metric_id, column, rank in summary:
            if r[column] is not None:
                rows.append((r["quarter"], r["org_code"], metric_id, float(r[column]), r[rank] if rank else None))
    frame = pl.DataFrame(
        rows,
        schema={
            "quarter": pl.String,
            "org_code": pl.String,
            "metric_id": pl.String,
            "value": pl.Float64,
            "rank": pl.Float64,
        },
        orient="row",
    )
    return frame.with_columns(pl.col("value").map_elements(lambda v: round_value(v, 2), return_dtype=pl.Float64))


def _assert_export_equals_engine(csv: Path, result: EngineResult, rs: RuleSet) -> pl.DataFrame:
    back = nof_csv.read_nof_csv(csv).rows
    derived = back.filter(pl.col("metric_id").str.contains(r"^OF(1|4|5)"))
    expected = _engine_expected(result, rs)
    joined = expected.join(
        derived.select(*KEYS, pl.col("value").alias("got"), pl.col("rank").alias("got_rank")),
        on=KEYS,
        how="full",
        coalesce=True,
    )
    assert joined.filter(pl.col("value").is_null() | pl.col("got").is_null()).is_empty(), "rows differ"
    assert joined.filter((pl.col("value") - pl.col("got")).abs() > 1e-9).is_empty()
    assert joined.filter(pl.col("rank").ne_missing(pl.col("got_rank"))).is_empty()
    return back


def test_synthetic_export_reads_back_and_equals_the_engine(tmp_path: Path) -> None:
    result, orgs, values, rs = synthetic_run((Q1, Q2))
    publish_quarters(result, orgs, values, rs, tmp_path / "out")
    csv = tmp_path / "nhse.csv"
    assert (
        main(["export-nhse", "--from", str(tmp_path / "out"), "--quarters", Q1, "Q2 2025/26", "--out", str(csv)]) == 0
    )
    text = csv.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].split(",") == COLUMNS
    back = _assert_export_equals_engine(csv, result, rs)
    assert set(back["quarter"].to_list()) == {Q1, Q2}
    assert set(back.filter(pl.col("org_code") == "RA8")["org_name"].to_list()) == {"'" + FORMULA_NAME}
    of0 = back.filter(pl.col("metric_id").str.starts_with("OF0"))
    raw = values.filter(~pl.col("metric_id").is_in(["OF0035"]))  # score-only metrics publish no OF0 row
    assert of0.height == raw.height


def test_export_names_a_quarter_that_was_never_published(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    publish_quarters(*synthetic_run((Q1,)), tmp_path / "out")
    dest = tmp_path / "x.csv"
    code = main(["export-nhse", "--from", str(tmp_path / "out"), "--quarters", "2025-26 Q3", "--out", str(dest)])
    assert code == 2 and "2025-26 Q3" in capsys.readouterr().err
    assert not dest.exists()


def _rates(ours: pl.DataFrame, published: pl.DataFrame) -> pl.DataFrame:
    joined = published.select(*KEYS, "value", "rank", "median").join(
        ours.select(*KEYS, pl.col("value").alias("v"), pl.col("rank").alias("r"), pl.col("median").alias("m")),
        on=KEYS,
        how="left",
    )
    family = (
        pl.when(pl.col("metric_id").str.starts_with("OF40"))
        .then(pl.lit("OF40xx domain score"))
        .when(pl.col("metric_id").str.starts_with("OF41"))
        .then(pl.lit("OF41xx domain segment"))
        .when(pl.col("metric_id").str.starts_with("OF5"))
        .then(pl.col("metric_id"))
        .otherwise(pl.col("metric_id").str.slice(0, 3) + "xx")
    )
    return (
        joined.with_columns(family.alias("family"))
        .group_by("family")
        .agg(
            pl.len().alias("rows"),
            ((pl.col("value") - pl.col("v")).abs() < 0.005).mean().alias("value_match"),
            (pl.col("rank") == pl.col("r")).sum().alias("rank_same"),
            pl.col("rank").is_not_null().sum().alias("ranked"),
            ((pl.col("median") - pl.col("m")).abs() < 0.005).sum().alias("median_same"),
            pl.col("median").is_not_null().sum().alias("with_median"),
        )
        .sort("family")
    )


@pytest.mark.real_data
def test_real_q1_export_equals_engine_and_reports_match_rates(
    tmp_path: Path, rs: RuleSet, capsys: pytest.CaptureFixture
) -> None:
    files = [real_file(ACUTE_Q1), real_file(MHC_Q1)]
    release = nof_csv.read_nof_csv(files)
    values, orgs = nof_csv.metric_values(release, rs), nof_csv.organisations(release, rs)
    result = run(values, orgs, rs, nof_csv.flags(release))
    publish_quarters(result, orgs, values, rs, tmp_path / "out", inputs=files)
    csv = tmp_path / "nhse.csv"
    assert main(["export-nhse", "--from", str(tmp_path / "out"), "--out", str(csv)]) == 0

    lineage = pl.read_parquet(tmp_path / "out" / "metric_values" / "fy=2025-26" / "quarter=Q1" / "part-0.parquet")
    assert set(lineage["source"].to_list()) == {"nof_csv"}
    assert dict(lineage.select("source_file", "source_sha256").unique().iter_rows()) == {
        f.name: sha256_file(f) for f in files
    }
    first = values.sort("org_code", "metric_id").row(0, named=True)
    row = lineage.row(0, named=True)
    assert (row["org_code"], row["metric_id"], row["source_row"]) == (
        first["org_code"],
        first["metric_id"],
        first["line"],
    )

    ours = _assert_export_equals_engine(csv, result, rs)
    published = release.rows
    assert sorted(ours.select(KEYS).rows()) == sorted(published.select(KEYS).rows())  # same rows as NHS England
    rates = _rates(ours, published)
    of0 = rates.filter(pl.col("family") == "OF0xx").row(0, named=True)
    assert of0["value_match"] == 1.0  # input values pass through unchanged
    with capsys.disabled(), pl.Config(tbl_rows=30, tbl_cols=10, tbl_hide_dataframe_shape=True):
        print("\nexport of the Q1 2025/26 run vs NHS England's published files (value within 0.005):")
        print(rates)


@pytest.mark.real_data
def test_real_q1_export_reconciles_with_nhs_england_at_the_engine_rates(tmp_path: Path, rs: RuleSet) -> None:
    """The exported CSV, read back by the NOF reader, meets the reconciliation targets against the originals."""
    from npaf_pipeline.reconcile.compare import load_known_differences

    files = [real_file(ACUTE_Q1), real_file(MHC_Q1)]
    release = nof_csv.read_nof_csv(files)
    values, orgs = nof_csv.metric_values(release, rs), nof_csv.organisations(release, rs)
    publish_quarters(run(values, orgs, rs, nof_csv.flags(release)), orgs, values, rs, tmp_path / "out", inputs=files)
    csv = tmp_path / "nhse.csv"
    assert main(["export-nhse", "--from", str(tmp_path / "out"), "--out", str(csv)]) == 0
    exported = nof_csv.read_nof_csv(csv).rows.select(
        *KEYS, pl.col("value").alias("ours"), pl.col("rank").alias("our_rank")
    )
    joined = release.rows.join(exported, on=KEYS, how="inner")
    assert joined.height == release.rows.height

    of5000 = joined.filter(pl.col("metric_id") == "OF5000")
    assert (of5000["value"] == of5000["ours"]).mean() >= 0.985
    assert ((of5000["rank"] - of5000["our_rank"]).abs() <= 2).mean() >= 0.985
    known = load_known_differences()
    scores = joined.filter(pl.col("metric_id").str.starts_with("OF1"))
    listed = [
        any(k.applies_to == "value" and k.covers(m, o, "end_to_end") for k in known)
        for m, o in scores.select("metric_id", "org_code").iter_rows()
    ]
    outside = scores.filter(~pl.Series(listed))
    assert ((outside["value"] - outside["ours"]).abs() <= 0.01 + 1e-9).mean() >= 0.995
