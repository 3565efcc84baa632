"""Rows the ICB system tests quarantine in their own inputs (``rtt_monthly/``, read by no ingest step) fail
``icb_system_tests``' blocking ``pandera_contract`` check like every other source's: nothing downstream runs and
nothing is published (``NPAF_QUARANTINE_BLOCKS=true``); with ``quarantine_blocks`` false the check passes saying
how many rows were quarantined, and the rows are in the published ``quarantine_summary`` and in the closing
summary's per-source table under ``rtt_monthly``. Real Dagster runs, in process, on the sample landing zone."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import polars as pl
import pytest

from assets.commands.summary import source_rows
from assets.definitions import ASSETS
from assets.icb import system_quarantine
from assets.io_manager import QuarterTablesIOManager
from assets.settings import NpafSettings
from npaf_pipeline.ruleset import load_ruleset
from npaf_pipeline.sample import generate
from npaf_pipeline.sources import registry

Q1 = "2025-04"
DRAFT = "npaf-2025-26-draft"
CHECK = ("icb_system_tests", "pandera_contract")
CODE = "Provider Org Code"


def _settings(base: Path, landing: Path, blocks: bool = True) -> NpafSettings:
    return NpafSettings(
        landing_dir=str(landing),
        output_dir=str(base / "out"),
        state_dir=str(base / "state"),
        framework=DRAFT,
        quarantine_blocks=blocks,
    )


def _materialize(settings: NpafSettings) -> dg.ExecuteInProcessResult:
    resources = {"npaf": settings, "tables_io_manager": QuarterTablesIOManager(base_dir=str(settings.state / "tables"))}
    return dg.materialize(ASSETS, partition_key=Q1, resources=resources, raise_on_error=False)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not {".state", "data-docs"} & set(p.parts)
    }


def _lower_first_code(path: Path) -> tuple[int, str]:
    """The first data row's provider code written in lower case (``ZAT`` -> ``zat``): (its row as a spreadsheet
    shows it, the code written)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[1]]))
    row[header.index(CODE)] = row[header.index(CODE)].lower()
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=lines[1][len(lines[1].rstrip("\r\n")) :]).writerow(row)
    path.write_text(lines[0] + buffer.getvalue() + "".join(lines[2:]), encoding="utf-8")
    return 2, row[header.index(CODE)]


def _checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def _table(out: Path, table: str) -> pl.DataFrame:
    return pl.concat(pl.read_parquet(p) for p in sorted((out / table).rglob("*.parquet")))


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("sample") / "landing"
    generate(landing, 1, seed=5)
    return landing


def test_a_quarantined_rtt_monthly_row_fails_the_blocking_check_and_nothing_is_published(
    sample: Path, tmp_path: Path
) -> None:
    """A row of rtt_monthly/ that breaks a rule fails icb_system_tests' blocking check, with file, row, column,
    rule and value in its metadata; segmentation and the publish do not run and the published snapshot is
    byte-identical. A clean landing zone passes the check, reading rtt_monthly/."""
    landing = tmp_path / "landing"
    shutil.copytree(sample, landing)
    settings = _settings(tmp_path, landing)
    clean = _materialize(settings)
    assert clean.success
    passed = _checks(clean)[CHECK]
    assert passed.passed and passed.description == "every row accepted"
    sources = [r.data for r in passed.metadata["sources"].value.records]
    monthly = registry.source_files(landing, "rtt_monthly")
    assert sources == [{"source": "rtt_monthly", "files": str(len(monthly)), "rows_quarantined": "0"}]
    before = _digest(settings.output)

    april = monthly[0]
    row, written = _lower_first_code(april)
    result = _materialize(settings)
    assert not result.success
    checks = _checks(result)
    failed = checks[CHECK]
    assert failed.passed is False and failed.metadata["rows_quarantined"].value == 1
    first = failed.metadata["failures"].value.records[0].data
    assert (first["file"], first["source_row"], first["column"], first["value"], first["source"]) == (
        april.name,
        str(row),
        CODE,
        written,
        "rtt_monthly",
    )
    assert all(e.passed for key, e in checks.items() if key != CHECK)  # the new check is what stops the quarter
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "icb_system_tests" in materialized
    assert not {"segmentation", "published_snapshot"} & materialized
    assert _digest(settings.output) == before


def test_with_quarantine_blocks_false_the_rows_reach_quarantine_summary_and_the_closing_summary(
    sample: Path, tmp_path: Path
) -> None:
    """With quarantine_blocks false the check passes saying how many rows it quarantined; the published
    quarantine_summary and the closing summary's per-source table list them under rtt_monthly. A row of a
    quarter-end extract in rtt_full/, which ingest_rtt_full reads too, is counted once, under rtt_full."""
    landing = tmp_path / "landing"
    shutil.copytree(sample, landing)
    monthly = registry.source_files(landing, "rtt_monthly")
    april, june = monthly[0], registry.source_files(landing, "rtt_full")[0]
    _lower_first_code(april)
    _lower_first_code(june)
    settings = _settings(tmp_path, landing, blocks=False)
    result = _materialize(settings)
    assert result.success
    check = _checks(result)[CHECK]
    assert check.passed and check.description == "1 quarantined failure(s)"
    assert check.metadata["rows_quarantined"].value == 1

    summary = _table(settings.output, "quarantine_summary")
    rows = {(r["source"], r["source_file"], r["column"]): r["rows"] for r in summary.iter_rows(named=True)}
    assert rows[("rtt_monthly", april.name, CODE)] == 1
    assert rows[("rtt_full", june.name, CODE)] == 1
    assert not [k for k in rows if k[1] == april.name and k[0] != "rtt_monthly"]
    ingested = _checks(result)[("ingest_rtt_full", "pandera_contract")].metadata["rows_quarantined"].value
    june_rows = {k: n for k, n in rows.items() if k[1] == june.name}
    assert {k[0] for k in june_rows} == {"rtt_full"} and sum(june_rows.values()) == ingested  # counted once

    states = [SimpleNamespace(checks=result.get_asset_check_evaluations(), failures=[])]
    by_source = {name: counts for name, *counts in source_rows(states)}
    assert by_source["rtt_monthly"] == [len(monthly), None, None, 1]  # its reader keeps no per-file row counts
    assert by_source["rtt_full"][0] == 1 and by_source["rtt_full"][3] == ingested


def test_only_rows_no_ingest_step_checks_are_the_system_tests_own(tmp_path: Path) -> None:
    """The system tests' quarantine keeps every row outside the ingested folders, named by its landing folder
    (an unknown folder too, so a reader that starts quarantining is checked), and leaves rows of ingested
    folders (rtt_full/, cwt_crs/) to their own step's check and quarantine_summary entry."""
    landing = tmp_path / "landing"
    for folder in ("rtt_monthly", "rtt_full", "cwt_crs", "system_finance"):
        (landing / folder).mkdir(parents=True)
        (landing / folder / f"{folder}.csv").write_text("x\n", encoding="utf-8")
    quarantine = pl.DataFrame(
        {
            "source": ["rtt_full", "rtt_full", "cwt_crs", "finance"],
            "source_file": [str(landing / f / f"{f}.csv") for f in ("rtt_monthly", "rtt_full", "cwt_crs")]
            + [str(landing / "system_finance" / "system_finance.csv")],
            "source_row": [2, 2, 3, 4],
        }
    )
    own, files = system_quarantine(landing, load_ruleset(DRAFT), quarantine)
    assert own.select("source", "source_row").rows() == [("rtt_monthly", 2), ("system_finance", 4)]
    assert files == {"rtt_monthly": 1, "system_finance": 1}
