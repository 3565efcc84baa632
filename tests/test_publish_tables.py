"""Published tables built from an engine result: columns per domain, league tables (trusts, ICBs), lineage,
quarantine.

The synthetic run defined here (12 trusts, two types, five domains) is shared by the other publish tests.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandera.errors
import polars as pl
import pytest

from npaf_pipeline.engine import EngineResult, run
from npaf_pipeline.publish import publish_quarters
from npaf_pipeline.publish.tables import (
    InputFile,
    build_tables,
    icb_league_table,
    league_table,
    metric_values,
    quarantine_summary,
)
from npaf_pipeline.ruleset import RuleSet, load_ruleset

Q1, Q2 = "2025-26 Q1", "2025-26 Q2"
ACUTE = [f"RA{i}" for i in range(1, 9)]
MHC = [f"RM{i}" for i in range(1, 5)]
FORMULA_NAME = '=HYPERLINK("http://example.org")'
SHA = "ab" * 32


def synthetic_orgs() -> pl.DataFrame:
    rows = [
        (c, FORMULA_NAME if c == "RA8" else f"Acute {c} NHS Trust", "Acute trust", "Acute - Large", "London", "acute")
        for c in ACUTE
    ]
    rows += [(c, f"Community {c}", "Mental health and community trust", "Community", "North West", "mhc") for c in MHC]
    return pl.DataFrame(
        rows, schema=["org_code", "org_name", "trust_type", "org_subtype", "region", "org_type"], orient="row"
    )


def synthetic_values(quarters: tuple[str, ...] = (Q1,), shift: float = 0.0) -> pl.DataFrame:
    """Canonical metric values with lineage; ``shift`` changes every value (a different run)."""
    per_type = {
        "acute": [
            ("OF0023", 55.0, 3.0),
            ("OF0003", 0.2, 0.5),
            ("OF0061", 6.0, 0.1),
            ("OF0082", 4.0, 0.3),
            ("OF0035", 1.0, 0.0),
            ("OF0079", -1.0, 0.4),
            ("OF0081", -0.5, 0.2),
        ],
        "mhc": [("OF0005", 1.0, 0.7), ("OF0061", 6.2, 0.15), ("OF0082", 5.0, 0.25)],
    }
    rows = []
    for qi, quarter in enumerate(quarters):
        for org_type, codes in (("acute", ACUTE), ("mhc", MHC)):
            for i, code in enumerate(codes):
                for metric, base, step in per_type[org_type]:
                    value = float(1 + (i + qi) % 4) if metric == "OF0035" else round(base + step * i + shift, 4)
                    rows.append(
                        (
                            quarter,
                            code,
                            metric,
                            value,
                            "score" if metric == "OF0035" else "percent",
                            "Jun-25",
                            "test_source",
                            f"landing/test/values-{qi}.csv",
                            SHA,
                            len(rows) + 2,
                        )
                    )
    return pl.DataFrame(
        rows,
        schema=[
            "quarter",
            "org_code",
            "metric_id",
            "value",
            "unit",
            "period",
            "source",
            "source_file",
            "source_sha256",
            "source_row",
        ],
        orient="row",
    )


def synthetic_flags(quarters: tuple[str, ...] = (Q1,)) -> pl.DataFrame:
    codes = ACUTE + MHC
    return pl.DataFrame(
        {
            "quarter": [q for q in quarters for _ in codes],
            "org_code": codes * len(quarters),
            "financial_override": [c == "RA2" for _ in quarters for c in codes],
            "intensive_support": [c == "RA3" for _ in quarters for c in codes],
        }
    )


def synthetic_quarantine() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": ["test_source"] * 3,
            "source_file": ["landing/test/values-0.csv"] * 3,
            "source_sha256": [SHA] * 3,
            "source_row": [40, 41, 42],
            "column": ["org_code", "org_code", None],
            "check": ["str_matches", "str_matches", "unique"],
            "value": ["bad", "worse", None],
            "reason": ["not an ODS code", "not an ODS code", "duplicate key"],
        }
    )


def synthetic_run(
    quarters: tuple[str, ...] = (Q1,), shift: float = 0.0
) -> tuple[EngineResult, pl.DataFrame, pl.DataFrame, RuleSet]:
    rs = load_ruleset("nof-2025-26")
    values, orgs = synthetic_values(quarters, shift), synthetic_orgs()
    return run(values, orgs, rs, synthetic_flags(quarters)), orgs, values, rs


def write_inputs(folder: Path) -> list[Path]:
    """Two small files standing in for the raw inputs the manifest hashes."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "values-0.csv", folder / "orgs.csv"]
    paths[0].write_text("quarter,org_code,metric_id,value\n2025-26 Q1,RA1,OF0023,55\n", encoding="utf-8")
    paths[1].write_text("org_code,org_type\nRA1,acute\n", encoding="utf-8")
    return paths


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- tests ------------------------------------------------------------------------------------------------


def test_organisation_table_has_score_segment_and_rank_per_domain() -> None:
    result, orgs, values, rs = synthetic_run()
    org_seg = build_tables(result, orgs, values, rs)["organisation_segmentation"]
    for d in rs.domains:
        assert {f"{d.id}_score", f"{d.id}_segment", f"{d.id}_rank"} <= set(org_seg.columns)
    dom = result.domain_scores.filter((pl.col("org_code") == "RA1") & (pl.col("domain") == "safety")).row(0, named=True)
    row = org_seg.filter(pl.col("org_code") == "RA1").row(0, named=True)
    assert (row["safety_score"], row["safety_segment"], row["safety_rank"]) == (
        dom["score"],
        dom["segment"],
        dom["rank"],
    )
    assert (row["fy"], row["quarter"], row["quarter_label"]) == ("2025-26", "Q1", Q1)


def test_organisation_table_carries_override_and_segment_five() -> None:
    result, orgs, values, rs = synthetic_run()
    org_seg = build_tables(result, orgs, values, rs)["organisation_segmentation"]
    flagged = org_seg.filter(pl.col("org_code") == "RA2").row(0, named=True)
    assert flagged["override_flag"] is True and flagged["override_source"] == "input"
    assert flagged["adjusted_segment"] == max(flagged["unadjusted_segment"], 3)
    supported = org_seg.filter(pl.col("org_code") == "RA3").row(0, named=True)
    assert supported["intensive_support"] is True and supported["final_segment"] == 5


def test_league_table_writes_ranges_as_nhs_england_does() -> None:
    org_seg = pl.DataFrame(
        {
            "fy": ["2025-26"] * 2,
            "quarter": ["Q1"] * 2,
            "quarter_label": [Q1] * 2,
            "region": ["London", "London"],
            "org_type_label": ["Acute trust"] * 2,
            "org_subtype": ["Acute - Large"] * 2,
            "org_code": ["RB2", "RB1"],
            "org_name": ["B", "A"],
            "average_score": [2.0, 1.5],
            "average_score_low": [1.2, 1.0],
            "average_score_high": [1.89, 2.0],
            "adjusted_segment": [2, 1],
            "override_flag": [True, False],
            "amr_rank": [2, 1],
            "amr_rank_low": [1, 1],
            "amr_rank_high": [11, 3],
        }
    )
    table = league_table(org_seg)
    assert table["trust_code"].to_list() == ["RB1", "RB2"]  # sorted by organisation
    assert table["likely_range_of_average_score"].to_list() == ["1 to 2", "1.2 to 1.89"]
    assert table["likely_range_of_rank"].to_list() == ["1 to 3", "1 to 11"]
    assert table["trust_in_financial_deficit"].to_list() == [False, True]


def _mixed_segmentation() -> pl.DataFrame:
    """Two trusts and two ICBs as organisation_segmentation has them for a rule set that segments ICBs."""
    n = 4
    return pl.DataFrame(
        {
            "fy": ["2025-26"] * n,
            "quarter": ["Q1"] * n,
            "quarter_label": [Q1] * n,
            "region": ["London", "London", "London", None],
            "org_type": ["acute", "icb", "icb", "acute"],
            "org_type_label": ["Acute trust", "Integrated care board", "Integrated care board", "Acute trust"],
            "org_subtype": ["Acute - Large", None, None, "Acute - Small"],
            "org_code": ["RB1", "QZ2", "QZ1", "RB2"],
            "org_name": ["A", "NHS Two ICB", "NHS One ICB", "B"],
            "average_score": [1.5, 2.4, 2.1, 2.0],
            "average_score_low": [1.0, 2.0, None, 1.2],
            "average_score_high": [2.0, 2.9, None, 1.89],
            "unadjusted_segment": [1, 2, 2, 2],
            "system_tests_failed": [0, 1, 0, 0],
            "system_adjusted_segment": [1, 3, 2, 2],
            "override_flag": [False, False, True, True],
            "adjusted_segment": [1, 3, 3, 2],
            "final_segment": [1, 3, 5, 2],
            "segment_description": [None, "support", "recovery", None],
            "amr_rank": [1, 2, 1, 2],
            "amr_rank_low": [1, 1, None, 1],
            "amr_rank_high": [1, 2, None, 2],
        }
    )


def test_icbs_go_to_the_icb_league_table_and_trusts_to_the_league_table() -> None:
    org_seg = _mixed_segmentation()
    trusts = league_table(org_seg)
    assert trusts["trust_code"].to_list() == ["RB1", "RB2"]
    icbs = icb_league_table(org_seg)
    assert icbs["icb_code"].to_list() == ["QZ1", "QZ2"]
    assert icbs.row(1, named=True) == {
        "fy": "2025-26",
        "quarter": "Q1",
        "quarter_label": Q1,
        "region": "London",
        "icb_code": "QZ2",
        "icb_name": "NHS Two ICB",
        "average_score": 2.4,
        "likely_range_of_average_score_low": 2.0,
        "likely_range_of_average_score_high": 2.9,
        "likely_range_of_average_score": "2 to 2.9",
        "unadjusted_segment": 2,
        "system_tests_failed": 1,
        "system_adjusted_segment": 3,
        "icb_in_financial_deficit": False,
        "segment": 3,
        "final_segment": 3,
        "segment_description": "support",
        "rank": 2,
        "likely_range_of_rank_low": 1,
        "likely_range_of_rank_high": 2,
        "likely_range_of_rank": "1 to 2",
    }
    assert icbs.row(0, named=True)["likely_range_of_rank"] is None  # no ranges computed: no text either
    # a table of trusts only (no org_type column, no ICB columns) has an empty ICB league table
    bare = org_seg.filter(pl.col("org_type") != "icb").drop("org_type", "segment_description")
    assert league_table(bare)["trust_code"].to_list() == ["RB1", "RB2"]
    empty = icb_league_table(bare)
    assert empty.is_empty() and "segment_description" in empty.columns


def test_a_run_without_icbs_publishes_an_empty_icb_league_table(tmp_path: Path) -> None:
    report = publish_quarters(*synthetic_run(), tmp_path / "out")
    written = report["quarters"][Q1]["tables"]
    assert written["icb_league_table"]["rows"] == 0 and written["league_table"]["rows"] == 12
    table = pl.read_parquet(written["icb_league_table"]["path"])
    assert table.is_empty() and table.columns[:5] == ["fy", "quarter", "quarter_label", "region", "icb_code"]


def test_nof_reader_lineage_is_mapped_to_the_canonical_columns(tmp_path: Path) -> None:
    raw = tmp_path / "landing" / "nof.csv"
    raw.parent.mkdir()
    raw.write_text("x\n", encoding="utf-8")
    values = pl.DataFrame(
        {
            "quarter": ["Q1 2025/26"],
            "org_code": ["RA1"],
            "metric_id": ["OF0023"],
            "value": [55.0],
            "unit": ["percent"],
            "period": ["Jun-25"],
            "source_file": [str(raw)],
            "line": [7],
        }
    )
    hashed = metric_values(values).row(0, named=True)
    assert hashed["source"] == "nof_csv" and hashed["source_row"] == 7
    assert hashed["source_file"] == "nof.csv" and hashed["source_sha256"] == sha256_of(raw)
    assert (hashed["fy"], hashed["quarter"], hashed["quarter_label"]) == ("2025-26", "Q1", Q1)
    declared = metric_values(values, [InputFile("nof.csv", "cd" * 32)]).row(0, named=True)
    assert declared["source_sha256"] == "cd" * 32


def test_quarantine_summary_counts_rows_per_file_column_and_rule() -> None:
    summary = quarantine_summary(synthetic_quarantine(), [Q1, Q2])
    q1 = summary.filter(pl.col("quarter") == "Q1").sort("check")
    assert q1.select("source_file", "column", "check", "rows").rows() == [
        ("values-0.csv", "org_code", "str_matches", 2),
        ("values-0.csv", None, "unique", 1),
    ]
    assert summary.filter(pl.col("quarter") == "Q2").height == 2


def test_invalid_table_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    result, orgs, values, rs = synthetic_run()
    broken = result.segmentation.with_columns(pl.lit(7, pl.Int64).alias("final_segment"))
    bad = EngineResult(**{**result.__dict__, "segmentation": broken})
    with pytest.raises(pandera.errors.SchemaErrors):
        publish_quarters(bad, orgs, values, rs, tmp_path / "out")
    assert not list((tmp_path / "out").rglob("*.parquet"))


def test_minimal_references_publish_with_typed_nulls(tmp_path: Path) -> None:
    """No names, regions or likely ranges, values without lineage: optional columns become typed nulls."""
    rs = load_ruleset("nof-2025-26")
    values, orgs = synthetic_values(), synthetic_orgs().select("org_code", "org_type")
    result = run(values, orgs, rs, with_ranges=False)
    bare = values.select("quarter", "org_code", "metric_id", "value")
    report = publish_quarters(result, orgs, bare, rs, tmp_path / "out")
    seg = pl.read_parquet(report["quarters"][Q1]["tables"]["organisation_segmentation"]["path"])
    assert seg["org_name"].null_count() == seg.height and seg.schema["amr_rank_low"] == pl.Int64
    assert set(seg["org_type_label"].to_list()) == {"Acute trust", "Mental health and community trust"}
    assert set(seg["override_source"].to_list()) == {"missing"}
    lineage = pl.read_parquet(report["quarters"][Q1]["tables"]["metric_values"]["path"])
    assert set(lineage["source"].to_list()) == {"unknown"} and lineage["source_sha256"].null_count() == lineage.height
