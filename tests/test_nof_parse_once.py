"""Each landed NOF file is parsed once per run: ingest, organisations, flags and the comparison share the parse."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest
from test_nof_csv_reader import ACUTE, LATER_HEADER, row, write_csv

from assets.definitions import ASSETS
from assets.io_manager import QuarterTablesIOManager
from assets.settings import NpafSettings
from npaf_pipeline.sources import nof_csv
from npaf_pipeline.sources.nof_csv import NofFileError, read_nof_csv
from tests.dagster_helpers import real_landing


def _counts() -> tuple[int, int]:
    return nof_csv.PARSES["parsed"], nof_csv.PARSES["reused"]


def _file(path: Path, value: str) -> Path:
    rows = [row("RAA", "OF0034", value, quarter="Q1 2025/26", trust=ACUTE)]
    return write_csv(path, LATER_HEADER, rows)


def test_a_file_read_again_is_not_parsed_again(tmp_path: Path) -> None:
    path = _file(tmp_path / "nof.csv", "12.5")
    parsed, reused = _counts()
    first = read_nof_csv(path)
    second = read_nof_csv([path])
    assert _counts() == (parsed + 1, reused + 1)
    assert first.rows.equals(second.rows)


def test_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    path = _file(tmp_path / "nof.csv", "12.5")
    before = read_nof_csv(path).rows["value"].to_list()
    stat = path.stat()
    _file(path, "13.5")  # same size; the modification time is set back so only the content differs
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    parsed, _ = _counts()
    after = read_nof_csv(path).rows["value"].to_list()
    assert _counts()[0] == parsed + 1
    assert (before, after) == ([12.5], [13.5])


def test_a_bad_file_fails_every_time_it_is_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "nof.csv", LATER_HEADER, [row("RAA", "XX0034", "1", quarter="Q1 2025/26")])
    for _ in range(2):
        with pytest.raises(NofFileError, match="line 2, column Metric_ID"):
            read_nof_csv(path)


@pytest.mark.real_data
def test_a_partition_run_parses_each_nof_file_once(tmp_path: Path) -> None:
    landing = real_landing(tmp_path)
    # copies, so that no earlier test's parse of the shared files can be reused
    for link in (landing / "nof_dashboard").iterdir():
        target = link.resolve()
        link.unlink()
        shutil.copyfile(target, link)
    settings = NpafSettings(landing_dir=str(landing), output_dir=str(tmp_path / "out"), state_dir=str(tmp_path / "s"))
    resources = {"npaf": settings, "tables_io_manager": QuarterTablesIOManager(base_dir=str(settings.state / "t"))}
    parsed, reused = _counts()
    result = dg.materialize(ASSETS, partition_key="2025-04", resources=resources, raise_on_error=False)
    assert result.success
    files = len(list((landing / "nof_dashboard").iterdir()))
    # ingest, the organisation reference, the flags and the comparison with the published results all read them
    assert _counts()[0] - parsed == files
    assert _counts()[1] - reused >= 3 * files
