"""A range of quarters in one run (single-run backfill) on generated sample data, and `npaf backfill`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.definitions import build_definitions
from assets.settings import NpafSettings
from npaf_pipeline.cli import main
from npaf_pipeline.sample import generate


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "landing"
    generate(out, quarters=3, seed=7, first="2025-26 Q1", scale=1)
    return out


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not {".state", "data-docs"} & set(p.parts)
    }


def test_a_range_of_quarters_is_one_run(sample: Path, tmp_path: Path) -> None:
    settings = NpafSettings(landing_dir=str(sample), output_dir=str(tmp_path / "out"), state_dir=str(tmp_path / "st"))
    job = build_definitions(settings).resolve_job_def("quarterly_pipeline")
    tags = {"dagster/asset_partition_range_start": "2025-04", "dagster/asset_partition_range_end": "2025-10"}
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, tags=tags)
        assert result.success
        runs = instance.get_runs()
        assert len(runs) == 1
        materialized = instance.get_materialized_partitions(dg.AssetKey("segmentation"))
        assert materialized == {"2025-04", "2025-07", "2025-10"}
    for q in ("Q1", "Q2", "Q3"):
        seg = pl.read_parquet(
            settings.output / "organisation_segmentation" / "fy=2025-26" / f"quarter={q}" / "part-0.parquet"
        )
        assert seg.height == 40 and seg["final_segment"].n_unique() >= 3
    changes = {
        e.partition: e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("segment_changes")
    }
    assert set(changes) == {"2025-04", "2025-07", "2025-10"}
    # each partition counts its own quarter's changes: none in the first quarter (nothing before it)
    assert changes["2025-04"]["row_count"].value == 0
    assert changes["2025-04"]["compared_with"].value == "nothing: 2024-25 Q4 is not stored"
    assert changes["2025-07"]["compared_with"].value == "2025-26 Q1"
    assert changes["2025-07"]["row_count"].value >= 1 and changes["2025-07"]["quarter"].value == "2025-26 Q2"
    stored = pl.read_parquet(settings.state / "tables" / "segment_changes" / "2025-10.parquet")
    assert changes["2025-10"]["row_count"].value == stored.height


def test_npaf_backfill_summarises_and_reruns_change_no_byte(sample: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    out = tmp_path / "out"
    args = [
        "backfill",
        "--from",
        "2025-26Q1",
        "--to",
        "2025-26Q3",
        "--landing",
        str(sample),
        "--output",
        str(out),
        "--quiet",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "2025-26 Q3  ok" in printed and "3 quarter(s)" in printed
    # the first quarter's changes cannot be known (nothing before it is published): said, not left blank
    lines = printed.splitlines()
    after = {lines[i - 1].split("  ")[0]: line.strip() for i, line in enumerate(lines) if "segment changes" in line}
    assert after["2025-26 Q1"] == "segment changes since the previous quarter: not known (2024-25 Q4 is not published)"
    assert (
        after["2025-26 Q2"].startswith("segment changes since the previous quarter: ")
        and "not known" not in after["2025-26 Q2"]
    )
    first = _digest(out)
    assert main(args) == 0
    assert _digest(out) == first


def test_npaf_backfill_fails_plainly_for_a_bad_quarter_range(sample: Path, tmp_path: Path, capsys) -> None:
    code = main(["backfill", "--from", "2024-25Q1", "--to", "2025-26Q1", "--landing", str(sample), "--quiet"])
    assert code == 2
    assert "2024-25 Q1" in capsys.readouterr().err
