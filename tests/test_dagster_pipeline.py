"""The Dagster code location: definitions, in-process materialisation, blocking checks and the sensor."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.automation import landing_sensor
from assets.definitions import ASSETS, build_definitions
from assets.io_manager import QuarterTablesIOManager
from assets.partitions import quarter_of, quarterly
from assets.settings import NpafSettings, settings_from_env
from tests.dagster_helpers import real_landing, step_failure

Q1 = "2025-04"


def _settings(tmp: Path, landing: Path) -> NpafSettings:
    return NpafSettings(landing_dir=str(landing), output_dir=str(tmp / "out"), state_dir=str(tmp / "state"))


def _materialize(settings: NpafSettings, partition_key: str = Q1, selection=None) -> dg.ExecuteInProcessResult:
    resources = {"npaf": settings, "tables_io_manager": QuarterTablesIOManager(base_dir=str(settings.state / "tables"))}
    return dg.materialize(
        ASSETS, partition_key=partition_key, resources=resources, raise_on_error=False, selection=selection
    )


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not {".state", "data-docs"} & set(p.parts)
    }


def test_definitions_load_with_documented_assets_jobs_schedule_and_sensor() -> None:
    defs = build_definitions(settings_from_env({}))
    graph = defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert {"ingest", "metric_values", "scores", "segmentation", "publish"} <= groups
    for asset in ASSETS:
        for spec in asset.specs:
            assert spec.description, spec.key
            assert spec.owners, spec.key
            assert spec.kinds, spec.key
    assert defs.resolve_job_def("quarterly_pipeline").partitions_def == quarterly
    assert defs.resolve_schedule_def("quarterly_refresh").cron_schedule == "0 0 1 1,4,7,10 *"
    assert defs.resolve_sensor_def("landing_sensor")


def test_partition_keys_are_financial_quarters() -> None:
    assert quarterly.get_first_partition_key() == "2025-04"
    assert quarter_of("2025-04").label == "2025-26 Q1"
    assert quarter_of("2026-01").label == "2025-26 Q4"


def test_one_partition_end_to_end_on_real_files(tmp_path: Path) -> None:
    settings = _settings(tmp_path, real_landing(tmp_path))
    result = _materialize(settings)
    assert result.success
    checks = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert checks[("segmentation", "output_invariants")] is True
    assert checks[("segmentation", "matches_nhs_england")] is True
    assert all(checks.values())
    seg = pl.read_parquet(
        settings.output / "organisation_segmentation" / "fy=2025-26" / "quarter=Q1" / "part-0.parquet"
    )
    assert seg.height == 195
    # NHS England's published adjusted segments are reproduced for at least 98.5 % of trusts
    published = (
        pl.read_csv(real_landing_file(settings, "nof_dashboard"), infer_schema=False)
        .filter(pl.col("Metric_ID") == "OF5000")
        .select(pl.col("Trust_code").alias("org_code"), pl.col("Value").cast(pl.Float64).alias("published"))
    )
    joined = seg.join(published, on="org_code", how="inner")
    assert (joined["adjusted_segment"] == joined["published"]).mean() >= 0.985
    manifest = json.loads((settings.output / "manifests" / "fy=2025-26" / "quarter=Q1" / "manifest.json").read_text())
    assert manifest["rule_set"]["id"] == "nof-2025-26"


def real_landing_file(settings: NpafSettings, source: str) -> Path:
    return sorted((settings.landing / source).iterdir())[0]


def test_bad_landing_file_blocks_publishing_and_leaves_the_snapshot_untouched(tmp_path: Path) -> None:
    landing = real_landing(tmp_path)
    settings = _settings(tmp_path, landing)
    assert _materialize(settings).success
    before = _tree_digest(settings.output)
    # a corrupted copy of an override-flag file: one good row, one row with an ill-formed code
    flags = landing / "override_flags"
    flags.mkdir()
    (flags / "flags.csv").write_text("quarter,org_code,financial_override\n2025-26 Q1,R0A,1\n2025-26 Q1,not a code,1\n")
    result = _materialize(settings)
    assert not result.success
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    failed = evaluations[("segmentation_flags", "pandera_contract")]
    assert failed.passed is False
    failures = failed.metadata["failures"].value.records
    assert failures[0].data["column"] == "org_code" and failures[0].data["source_row"] == "3"
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "segmentation" not in materialized and "published_snapshot" not in materialized
    assert _tree_digest(settings.output) == before


def test_unreadable_landing_file_fails_its_ingest_step_with_the_file_named(tmp_path: Path) -> None:
    landing = real_landing(tmp_path)
    broken = landing / "nof_dashboard" / "truncated.csv"
    broken.write_text("Region,Trust_type\nLondon\n")
    result = _materialize(_settings(tmp_path, landing))
    assert not result.success
    step, text = step_failure(result)
    assert step == "ingest_nof_dashboard"
    assert "truncated.csv: line 1: not a NOF dashboard CSV: missing column(s)" in text


def test_rerunning_a_quarter_changes_no_published_byte(tmp_path: Path) -> None:
    settings = _settings(tmp_path, real_landing(tmp_path))
    assert _materialize(settings).success
    first = _tree_digest(settings.output)
    assert _materialize(settings).success
    assert _tree_digest(settings.output) == first


def test_sensor_requests_runs_for_exactly_the_quarters_new_files_affect(tmp_path: Path) -> None:
    landing = real_landing(
        tmp_path,
        {"nof_dashboard": ["nof-mhc-q1-2025-26/nhs-oversight-framework-mental-health-and-community-trust-data-q1.csv"]},
    )
    settings = _settings(tmp_path, landing)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"npaf": settings})
        requests = landing_sensor(context)
        assert [r.partition_key for r in requests] == [Q1]
        cursor = context.cursor
        # nothing new: skip, cursor unchanged
        again = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"npaf": settings})
        assert isinstance(landing_sensor(again), dg.SkipReason)
        # a file whose values are for another quarter requests only that quarter
        canonical = landing / "canonical"
        canonical.mkdir()
        (canonical / "values.csv").write_text(
            "quarter,org_code,metric_id,period,value,unit\n2025-26 Q3,R0A,OF0061,2025,6.5,out of 10\n"
        )
        third = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"npaf": settings})
        assert [r.partition_key for r in landing_sensor(third)] == ["2025-10"]
        # a changed file (same name, new bytes) is noticed
        shutil.copy(canonical / "values.csv", tmp_path / "old.csv")
        (canonical / "values.csv").write_text(
            "quarter,org_code,metric_id,period,value,unit\n2025-26 Q2,R0A,OF0061,2025,6.5,out of 10\n"
        )
        fourth = dg.build_sensor_context(instance=instance, cursor=third.cursor, resources={"npaf": settings})
        assert [r.partition_key for r in landing_sensor(fourth)] == ["2025-07"]


@pytest.mark.parametrize("key", ["2025-04", "2025-07"])
def test_partition_labels_round_trip(key: str) -> None:
    assert quarter_of(key).partition_key == key
