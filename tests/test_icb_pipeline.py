"""ICB assessment through the pipeline: the sample's ICB inputs, ``npaf backfill --framework npaf-2025-26-draft``
on them (ICB and trust segments, six system tests per ICB with evidence, the adjustment applied, ICBs in their own
league table), and the default rule set on the same landing zone publishing trusts only."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from assets.commands.launch import INSTANCE_YAML
from npaf_pipeline import inputs
from npaf_pipeline.cli import main
from npaf_pipeline.icb.leadership import COLUMNS as CAPABILITY_COLUMNS
from npaf_pipeline.publish.expectations import validate_tables
from npaf_pipeline.ruleset import load_ruleset
from npaf_pipeline.sample import generate
from npaf_pipeline.sample.icb_inputs import TIER_ONE_SHARE
from npaf_pipeline.sample.organisations import ICB_COUNT, REGIONS
from npaf_pipeline.sources import canonical, registry, rtt_full
from schemas.published import TABLES
from tests.test_publish_roundtrip import ARROW, DUCKDB, PANDAS, PARTITION_ARROW, PARTITIONS, POLARS

QUARTERS = ["2025-26 Q1", "2025-26 Q2"]
DRAFT = load_ruleset("npaf-2025-26-draft")
TESTS = sorted(t.id for t in DRAFT.system_adjustment.tests)
TRUST_TYPES = {"acute", "mental_health", "community", "ambulance"}
PUBLISHED = list(TABLES)
SAMPLE_ICB = r"^Q[ZQ][1-9A-Z]$"
TRUSTS = 40
"""Trusts in the sample at scale 1; 39 of them in the ODS list (the care trust is not), each in its own ICB."""


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample") / "landing"
    return out, generate(out, len(QUARTERS), seed=5)


def _table(out: Path, table: str) -> pl.DataFrame:
    return pl.concat(pl.read_parquet(p) for p in sorted((out / table).rglob("*.parquet")))


def _backfill(landing: Path, out: Path, home: Path, monkeypatch, *framework: str) -> dg.DagsterInstance:
    """``npaf backfill`` over the two quarters, recorded in a Dagster instance at ``home`` (for its metadata)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(INSTANCE_YAML, encoding="utf-8")  # runs start at once, as under make run
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    args = ["backfill", "--from", "2025-26Q1", "--to", "2025-26Q2", "--landing", str(landing), "--output", str(out)]
    assert main([*args, *framework, "--quiet"]) == 0
    return dg.DagsterInstance.get()


@pytest.fixture(scope="module")
def draft_run(landing, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("draft")
    with pytest.MonkeyPatch.context() as mp:
        instance = _backfill(landing[0], base / "out", base / "home", mp, "--framework", DRAFT.id)
        event = instance.get_latest_materialization_event(dg.AssetKey("icb_system_tests"))
        metadata = event.asset_materialization.metadata
        instance.dispose()
    return base / "out", metadata


# --- the sample's ICB inputs -------------------------------------------------------------------------------


def test_sample_has_every_icb_input_the_draft_needs(landing) -> None:
    out, summary = landing
    assert summary["icbs"] == {"total": 42, "hosting_trusts": 39}  # England's 42; the care trust has no ICB
    icbs = pl.read_csv(out / "icb_reference" / "icb_reference.csv", infer_schema=False)
    assert icbs.height == ICB_COUNT == 42 and icbs["icb_code"].str.contains(SAMPLE_ICB).all()
    assert icbs["icb_name"].str.ends_with("(synthetic)").all()
    assert dict(icbs.group_by("region_code").len().iter_rows()) == {r.code: r.icbs for r in REGIONS}
    hosts = pl.read_csv(out / "trust_reference" / "trust_reference.csv", infer_schema=False)["icb_code"]
    assert hosts.null_count() == 1 and hosts.drop_nulls().n_unique() == hosts.drop_nulls().len() == 39  # one each
    assert set(hosts.drop_nulls()) < set(icbs["icb_code"])

    values = canonical.read(registry.source_files(out, "icb_values"), QUARTERS)
    assert values.quarantine.is_empty()
    icb_metrics = {m.id for m in DRAFT.metrics if "icb" in m.org_types and m.method.family != "lookup"}
    present = values.values.group_by("quarter", "metric_id").agg(pl.col("org_code").n_unique())
    assert {m for _, m, n in present.iter_rows() if n == 42} == icb_metrics | {"OF0291"}

    tier = inputs.read_flag_list(registry.source_files(out, "uec_tier1"))
    listed = round(TIER_ONE_SHARE * 42)  # 5 of 42 ICBs in tier one each quarter
    assert tier.height == 42 * len(QUARTERS) and tier.filter("listed").height == listed * len(QUARTERS)
    finance = inputs.read_finance(registry.source_files(out, "system_finance"))
    assert finance.height == 42 * len(QUARTERS) and (finance["income"] > 0).all()
    ratings = inputs.leadership_ratings(out)
    assert ratings is not None and ratings.height == 42 * 7 * len(QUARTERS)


def test_rtt_monthly_files_cover_the_other_months_and_read_like_the_adapter(landing) -> None:
    out, _ = landing
    monthly = registry.source_files(out, "rtt_monthly")
    quarter_end = registry.source_files(out, "rtt_full")
    assert [p.name[:6] for p in monthly] == ["202504", "202505", "202507", "202508"]
    rows, rejected = inputs.rtt_months([*monthly, *quarter_end])
    assert rejected.is_empty()
    assert sorted(rows["month"].unique()) == ["2025-04", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09"]
    # at a quarter's end the monthly sums are the adapter's own numerator and denominator
    june = rows.filter(pl.col("month") == "2025-06").sort("org_code")
    adapter = rtt_full.read([quarter_end[0]]).values.filter(pl.col("metric_id") == "OF0023").sort("org_code")
    assert june["org_code"].to_list() == adapter["org_code"].to_list()
    assert june["numerator"].to_list() == adapter["numerator"].to_list()
    assert june["denominator"].to_list() == adapter["denominator"].to_list()
    with pytest.raises(ValueError, match="both hold 2025-06"):
        inputs.rtt_months([quarter_end[0], quarter_end[0]])


# --- the draft NPAF run ------------------------------------------------------------------------------------


def test_draft_run_segments_icbs_and_trusts(draft_run) -> None:
    out, _ = draft_run
    seg = _table(out, "organisation_segmentation")
    for quarter in ("Q1", "Q2"):
        this = seg.filter(pl.col("quarter") == quarter)
        icbs = this.filter(pl.col("org_type") == "icb")
        assert icbs.height == 42 and icbs["final_segment"].null_count() == 0
        assert icbs["segmentation_population"].unique().to_list() == ["icbs"]
        assert set(icbs["unadjusted_segment"]) == {1, 2, 3, 4}
        trusts = this.filter(pl.col("org_type") != "icb")
        assert set(trusts["org_type"]) == TRUST_TYPES and trusts.height == TRUSTS
        assert trusts["final_segment"].null_count() == 0
    described = seg.filter(pl.col("final_segment").is_not_null())
    expected = described["final_segment"].replace_strict(DRAFT.segment_descriptions, return_dtype=pl.String)
    assert described["segment_description"].to_list() == expected.to_list()
    icbs = seg.filter(pl.col("org_type") == "icb")
    assert all(icbs[c].null_count() == 0 for c in CAPABILITY_COLUMNS)  # ratings beside the segment
    assert seg.filter(pl.col("org_type") != "icb")["capability_overall"].null_count() == TRUSTS * len(QUARTERS)


def test_every_icb_has_six_tests_per_quarter_with_evidence(draft_run, landing) -> None:
    out, _ = draft_run
    tests = _table(out, "system_considerations")
    per_icb = tests.group_by("quarter", "icb_code").agg(pl.col("test_id").sort())
    assert per_icb.height == 42 * len(QUARTERS)
    assert all(ids == TESTS for ids in per_icb["test_id"].to_list())
    assert tests["evidence"].str.len_chars().min() > 10
    assert set(tests["status"]) == {"failed", "passed", "not_assessed"}
    assert (tests["failed"] == (tests["status"] == "failed")).all()
    # ICBs hosting no trust with the data (at scale 1 three host none at all) cannot be assessed month by month,
    # and the evidence says why, month by month
    monthly = tests.filter(pl.col("kind") == "lowest_quartile_every_month", pl.col("status") == "not_assessed")
    assert monthly["evidence"].str.contains("no provider data").all()
    assessed = tests.filter(pl.col("kind") == "lowest_quartile_every_month", pl.col("status") != "not_assessed")
    assert (assessed["population"].is_null() & (assessed["months_assessed"] == 3)).all()
    hosts = pl.read_csv(landing[0] / "trust_reference" / "trust_reference.csv", infer_schema=False)["icb_code"]
    empty = sorted(set(tests["icb_code"]) - set(hosts.drop_nulls()))
    assert len(empty) == 3
    nothing = tests.filter(pl.col("icb_code").is_in(empty), pl.col("kind") == "lowest_quartile_every_month")
    assert nothing.height == len(empty) * 2 * len(QUARTERS) and set(nothing["status"]) == {"not_assessed"}
    assert (nothing["evidence"].str.count_matches("no provider data") == 3).all()  # each of the three months
    assert 8 < assessed.filter(pl.col("test_id") == "rtt_every_month").height // len(QUARTERS) < 42 - len(empty)
    quartiles = tests.filter(pl.col("test_id") == "gp_satisfaction")
    assert (quartiles["population"] == 42).all() and quartiles["cut_point"].null_count() == 0


def test_system_adjustment_applied_where_tests_failed(draft_run) -> None:
    out, metadata = draft_run
    seg = _table(out, "organisation_segmentation").filter(pl.col("org_type") == "icb")
    failed = _table(out, "system_considerations").group_by("quarter", "icb_code").agg(pl.col("failed").sum())
    joined = seg.join(failed, left_on=["quarter", "org_code"], right_on=["quarter", "icb_code"])
    assert joined.height == seg.height
    assert (joined["system_tests_failed"] == joined["failed"]).all()
    moved = pl.min_horizontal(pl.col("unadjusted_segment") + 1, pl.lit(4))
    expected = pl.when(pl.col("failed") >= 1).then(moved).otherwise(pl.col("unadjusted_segment"))
    assert (joined["system_adjusted_segment"] == joined.select(expected).to_series()).all()
    assert joined.filter(pl.col("system_adjusted_segment") > pl.col("unadjusted_segment")).height > 0
    trusts = _table(out, "organisation_segmentation").filter(pl.col("org_type") != "icb")
    assert (trusts["system_tests_failed"] == 0).all()
    assert (trusts["system_adjusted_segment"] == trusts["unadjusted_segment"]).all()
    # the asset's metadata: failed tests per ICB and the defaults that are ours
    assert metadata["failed_tests"].value == int(joined["failed"].sum())
    assert metadata["failed_tests_per_icb"].value.records
    settings = {r.data["setting"] for r in metadata["defaults_in_use"].value.records}
    assert "system_adjustment.when_failed_at_least" in settings


def test_draft_outputs_name_the_icb_inputs_and_values(draft_run) -> None:
    out, _ = draft_run
    manifest = _table(out, "run_manifest")
    assert {"icb_reference.csv", "system_finance.csv", "uec_tier1.csv"} <= set(manifest["input_file"])
    assert manifest["rule_set_id"].unique().to_list() == [DRAFT.id]
    values = _table(out, "metric_values").filter(pl.col("org_code").str.contains(SAMPLE_ICB))
    assert values["source_file"].str.starts_with("icb_values_").all() and "OF0204" in set(values["metric_id"])


def test_icbs_are_only_in_the_icb_league_table_and_trusts_only_in_the_league_table(draft_run) -> None:
    out, _ = draft_run
    seg = _table(out, "organisation_segmentation")
    league, icb_league = _table(out, "league_table"), _table(out, "icb_league_table")
    trusts = seg.filter(pl.col("org_type") != "icb", pl.col("adjusted_segment").is_not_null())
    icbs = seg.filter(pl.col("org_type") == "icb")
    assert league.height == trusts.height == TRUSTS * len(QUARTERS)
    assert (
        set(league["trust_code"]) == set(trusts["org_code"]) and not league["trust_code"].str.contains(SAMPLE_ICB).any()
    )
    assert set(league["trust_type"]) == {"Acute trust", "Mental health trust", "Community trust", "Ambulance trust"}
    assert icb_league.height == icbs.height == 42 * len(QUARTERS)
    assert (
        set(icb_league["icb_code"]) == set(icbs["org_code"]) and icb_league["icb_code"].str.contains(SAMPLE_ICB).all()
    )
    for quarter in ("Q1", "Q2"):
        ranks = icb_league.filter(pl.col("quarter") == quarter).sort("rank")
        assert ranks["rank"].min() == 1 and ranks["rank"].max() <= 42  # ranked among the 42 ICBs
        assert ranks["segment"].is_sorted()  # the table is ordered by segment, then score
    keys = ["fy", "quarter", "icb_code"]
    joined = icb_league.join(icbs.rename({"org_code": "icb_code"}), on=keys, suffix="_seg")
    assert joined.height == icb_league.height
    same = {
        "icb_name": "org_name",
        "region": "region_seg",
        "segment": "adjusted_segment",
        "rank": "amr_rank",
        "unadjusted_segment": "unadjusted_segment_seg",
        "system_tests_failed": "system_tests_failed_seg",
        "system_adjusted_segment": "system_adjusted_segment_seg",
        "icb_in_financial_deficit": "override_flag",
        "final_segment": "final_segment_seg",
        "segment_description": "segment_description_seg",
    }
    for ours, theirs in same.items():
        assert joined[ours].to_list() == joined[theirs].to_list(), ours
    assert icb_league["icb_name"].null_count() == 0 and icb_league["region"].null_count() == 0
    assert icb_league.filter(pl.col("system_adjusted_segment") > pl.col("unadjusted_segment")).height > 0
    assert (icb_league["likely_range_of_rank"].str.contains(r"^\d+ to \d+$")).all()


@pytest.mark.parametrize("table", ["icb_league_table", "league_table"])
def test_draft_league_tables_read_back_with_their_declared_types(draft_run, table: str) -> None:
    out, _ = draft_run
    declared = {n: str(c.dtype) for n, c in TABLES[table].to_schema().columns.items()}
    parts = sorted((out / table).rglob("*.parquet"))
    assert len(parts) == len(QUARTERS)
    # the partition columns are stored dictionary-encoded, so a folder read with no options merges them
    arrow = pq.read_table(parts[0])
    expected_arrow = {n: PARTITION_ARROW if n in PARTITIONS else ARROW[t] for n, t in declared.items()}
    assert {f.name: f.type for f in arrow.schema} == expected_arrow
    assert {f.name: f.type for f in pq.read_table(out / table).schema} == expected_arrow
    frame = pl.read_parquet(out / table / "**" / "*.parquet")
    expected_polars = {n: "Categorical" if n in PARTITIONS else POLARS[t] for n, t in declared.items()}
    assert {n: str(t) for n, t in frame.schema.items()} == expected_polars
    pdf = pd.read_parquet(out / table, dtype_backend="numpy_nullable")
    expected_pandas = {n: "category" if n in PARTITIONS else PANDAS[t] for n, t in declared.items()}
    assert {n: str(t) for n, t in pdf.dtypes.items()} == expected_pandas
    dataset = ds.dataset(out / table, format="parquet").to_table()  # the values are in the files (docs/outputs.md)
    con = duckdb.connect(str(out / "npaf.duckdb"), read_only=True)
    try:
        described = dict(con.execute(f'SELECT column_name, column_type FROM (DESCRIBE "{table}")').fetchall())
        rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        latest = con.execute(f'SELECT DISTINCT quarter FROM "latest_{table}"').fetchall()
    finally:
        con.close()
    assert described == {n: DUCKDB[t] for n, t in declared.items()}
    assert rows == frame.height == len(pdf) == dataset.num_rows > 0 and latest == [("Q2",)]


def test_acceptance_suite_covers_system_considerations(draft_run) -> None:
    out, _ = draft_run
    tables = {name: _table(out, name).filter(pl.col("quarter") == "Q1") for name in PUBLISHED}
    assert validate_tables(tables, DRAFT).success
    system = tables["system_considerations"].with_row_index("_row")
    passed = system.filter(pl.col("status") == "passed")["_row"].head(2).to_list()
    unknown = pl.when(pl.col("_row") == passed[0]).then(pl.lit("unknown")).otherwise("status").alias("status")
    failed = (pl.col("failed") | (pl.col("_row") == passed[1])).alias("failed")  # failed, yet status passed
    corrupt = pl.concat([system.with_columns(unknown, failed), system.filter(pl.col("failed")).head(1)]).drop("_row")
    result = validate_tables({**tables, "system_considerations": corrupt}, DRAFT)
    failures = {(table, o.expectation, o.column) for table, o in result.failures()}
    assert failures == {
        ("system_considerations", "expect_column_values_to_be_in_set", "status"),
        ("system_considerations", "expect_compound_columns_to_be_unique", "fy, quarter, icb_code, test_id"),
        ("system_considerations", "expect_column_pair_values_to_be_equal", "failed"),
        ("organisation_segmentation", "expect_column_pair_values_to_be_equal", "system_tests_failed"),
        ("icb_league_table", "expect_column_pair_values_to_be_equal", "system_tests_failed"),
    }


def test_acceptance_suite_refuses_an_icb_in_the_trust_league_table(draft_run) -> None:
    out, _ = draft_run
    tables = {name: _table(out, name).filter(pl.col("quarter") == "Q1") for name in PUBLISHED}
    league, icbs = tables["league_table"], tables["icb_league_table"]
    # the first ICB, as if it were an acute trust: rank 1 and no rank range, so that only its type is wrong
    moved = (
        icbs.sort("rank")
        .head(1)
        .select(
            *league.columns[:4],
            pl.lit("Acute trust").alias("trust_type"),
            pl.lit(None, pl.String).alias("trust_subtype"),
            pl.col("icb_code").alias("trust_code"),
            pl.col("icb_name").alias("trust_name"),
            *league.columns[8:12],
            "segment",
            pl.col("icb_in_financial_deficit").alias("trust_in_financial_deficit"),
            "rank",
            pl.lit(None, pl.Int64).alias("likely_range_of_rank_low"),
            pl.lit(None, pl.Int64).alias("likely_range_of_rank_high"),
            pl.lit(None, pl.String).alias("likely_range_of_rank"),
        )
    )
    assert moved["rank"].to_list() == [1] and moved.columns == league.columns
    result = validate_tables({**tables, "league_table": pl.concat([league, moved])}, DRAFT)
    failures = {(table, o.expectation, o.column) for table, o in result.failures()}
    assert failures == {("league_table", "expect_column_values_to_not_be_in_set", "trust_code")}
    hit = next(o for table, o in result.failures())
    assert hit.unexpected_values == ("icb",) and hit.unexpected_count == 1


# --- the default rule set on the same landing zone ---------------------------------------------------------


def test_default_run_on_the_same_landing_zone_publishes_trusts_only(landing, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    instance = _backfill(landing[0], out, tmp_path / "home", monkeypatch)
    event = instance.get_latest_materialization_event(dg.AssetKey("icb_system_tests"))
    assert "no system_adjustment" in event.asset_materialization.metadata["note"].value
    instance.dispose()
    seg = _table(out, "organisation_segmentation")
    assert set(seg["org_type"]) == {"acute", "mhc", "ambulance"} and seg.height == TRUSTS * len(QUARTERS)
    assert (seg["system_tests_failed"] == 0).all()
    assert all(seg[c].null_count() == seg.height for c in ["segment_description", *CAPABILITY_COLUMNS])
    assert _table(out, "system_considerations").is_empty()
    # ICBs are not segmented: the ICB league table is written for every quarter, with no rows
    assert len(list((out / "icb_league_table").rglob("*.parquet"))) == len(QUARTERS)
    assert _table(out, "icb_league_table").is_empty()
    assert _table(out, "league_table").height == TRUSTS * len(QUARTERS)
    assert not _table(out, "metric_values")["org_code"].str.contains(SAMPLE_ICB).any()
    assert not {"icb_reference.csv", "uec_tier1.csv"} & set(_table(out, "run_manifest")["input_file"])


def test_npaf_explain_shows_an_icbs_segment_drivers_and_system_considerations(draft_run, capsys) -> None:
    out = draft_run[0]
    icbs = _table(out, "icb_league_table").filter(pl.col("quarter") == "Q2")
    code = icbs.sort("system_tests_failed", descending=True)["icb_code"][0]
    assert main(["explain", code, "--quarter", "2025-26 Q2", "--snapshot", str(out)]) == 0
    page = capsys.readouterr().out
    assert code in page and "System considerations" in page and "Drivers" in page
    tests = _table(out, "system_considerations").filter((pl.col("quarter") == "Q2") & (pl.col("icb_code") == code))
    assert all(status in page for status in tests["status"].unique().to_list())
    drivers = _table(out, "segment_explanation").filter((pl.col("quarter") == "Q2") & (pl.col("org_code") == code))
    seg = _table(out, "organisation_segmentation").filter((pl.col("quarter") == "Q2") & (pl.col("org_code") == code))
    assert abs(drivers["contribution"].sum() - seg["average_score_raw"][0]) <= 1e-9  # weighted domain groups


def test_providers_with_figures_but_no_icb_are_shown_not_silent(draft_run, landing) -> None:
    """The ICB tests' metadata lists, per month and metric, providers whose figures are in no ICB's sum."""
    _, metadata = draft_run
    table = metadata["providers_without_icb"].value
    columns = {c.name for c in table.schema.columns}
    assert {"providers", "n_providers"} <= columns
    hosts = pl.read_csv(landing[0] / "trust_reference" / "trust_reference.csv", infer_schema=False)
    placed = set(hosts.drop_nulls("icb_code")["Trust_code"])
    named = {code for record in table.records for code in (record.data["providers"] or "").split(",") if code}
    assert not named & placed  # a provider the reference places in an ICB is never listed
