"""The closing summary of `npaf backfill`, run as a user runs it (a subprocess), on real and on broken landing zones.

It names the folders and rule set, rows per source, NHS England's comparison where its results are landed,
quarters without data, and each failure with its file and reason in the source's own column names; no stack
trace without --debug.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from npaf_pipeline.sample import generate
from tests.dagster_helpers import real_landing

ROOT = Path(__file__).resolve().parent.parent


def _backfill(tmp: Path, landing: Path, first: str, last: str, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NPAF_") and k != "DAGSTER_HOME"}
    command = [sys.executable, "-m", "npaf_pipeline.cli", "backfill", "--from", first, "--to", last]
    command += ["--landing", str(landing), "--output", str(tmp / "out"), *extra]
    return subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, timeout=1500, check=False)


def _no_stack_trace(proc: subprocess.CompletedProcess) -> None:
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text and "Stack Trace" not in text and 'File "' not in text
    assert "Execution of step" not in text  # Dagster's wrapper, not the reason


@pytest.mark.real_data
def test_summary_on_nhs_england_files_compares_and_says_which_quarter_has_no_data(tmp_path: Path) -> None:
    landing = real_landing(tmp_path)
    proc = _backfill(tmp_path, landing, "2025-26Q1", "2025-26Q2")
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert f"Landing   {landing.resolve()}" in out
    assert f"Output    {(tmp_path / 'out').resolve()}" in out
    assert re.search(r"^Rule set  nof-2025-26 \S+: NHS Oversight Framework 2025/26$", out, re.M)
    # rows per source, accounted: read = accepted + quarantined
    row = re.search(r"^nof_dashboard\s+(\d+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)$", out, re.M)
    assert row, out
    files, read, accepted, quarantined = (int(g.replace(",", "")) for g in row.groups())
    assert files == 2 and read == accepted + quarantined and read > 9000
    # the reconciliation on these files reproduces 194 of NHS England's 195 adjusted segments (README)
    assert "adjusted segment equal to NHS England: 194/195" in out
    assert re.search(r"^2025-26 Q1\s+ok\s+195\s", out, re.M)
    assert re.search(r"^2025-26 Q2\s+no data\b", out, re.M)  # not "ok" with 0 organisations
    _no_stack_trace(proc)
    # progress (not a terminal: the launch and the worker's start, a line per finished step and publish stage)
    assert re.search(r"^  run \S+ launched \(\d+\.\d s\); its worker is loading the pipeline$", proc.stderr, re.M)
    assert re.search(r"^  worker started: \d+ steps to run$", proc.stderr, re.M)
    assert re.search(r"^\s*\[\s*\d+/\d+\] segmentation done \(\d+\.\d s\)$", proc.stderr, re.M)
    assert "publish: published 2025-26 Q1" in proc.stderr


@pytest.fixture
def one_quarter(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    generate(landing, quarters=1, seed=7, first="2025-26 Q1", scale=1)
    return landing


def test_a_failed_step_names_the_file_and_reason_and_bad_rows_their_raw_columns(tmp_path: Path, one_quarter: Path):
    empty = one_quarter / "ae_monthly" / "Monthly-AE-May-2025.csv"
    empty.write_text("")
    rtt = sorted((one_quarter / "rtt_full").glob("*.csv"))[0]
    with rtt.open(newline="") as f:
        rows = list(csv.reader(f))
    column = next(i for i, name in enumerate(rows[0]) if name.startswith("Gt 02 To 03 Weeks"))
    rows[5][column] = "twelve"  # file row 6 (header is row 1)
    with rtt.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    proc = _backfill(tmp_path, one_quarter, "2025-26Q1", "2025-26Q1", "--quiet")
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:] + proc.stderr[-3000:]
    assert re.search(r"^2025-26 Q1\s+FAILED", out, re.M)
    # the landing zone is below the folder the command ran in: its paths are shown relative to it
    assert "ingest_ae_monthly: landing/ae_monthly/Monthly-AE-May-2025.csv: the file is empty" in out
    assert str(tmp_path) not in out.split("Problems:")[1]
    line = next(line for line in out.splitlines() if rtt.name in line and "row 6" in line)
    assert f"column {rows[0][column]}" in line and "'twelve'" in line  # the source's own column name
    assert f"column {rows[0][column]}: is not a number (" in line  # the rule in words, not its pattern
    assert re.search(r"outputs in out$", out, re.M)
    assert "check pandera_contract on ingest_rtt_full failed" in out
    _no_stack_trace(proc)
    assert "2025-26 Q1" in proc.stderr.splitlines()[-1]  # the closing line names the failed quarter


def test_an_out_of_range_value_shows_the_value_and_the_range(tmp_path: Path, one_quarter: Path) -> None:
    canonical = one_quarter / "canonical" / "values_2025-26_Q1.csv"
    lines = canonical.read_text().splitlines()
    index, first = next((i, line) for i, line in enumerate(lines) if ",OF0014," in line)
    cells = first.split(",")
    cells[4] = "250"  # a percentage
    lines[index] = ",".join(cells)
    canonical.write_text("\n".join(lines) + "\n")
    proc = _backfill(tmp_path, one_quarter, "2025-26Q1", "2025-26Q1", "--quiet")
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:] + proc.stderr[-3000:]
    assert "check valid_ranges on metric_values failed" in out
    line = next(line for line in out.splitlines() if "OF0014" in line and "valid range" in line)
    assert canonical.name in line and f"row {index + 1}" in line
    assert "250" in line and re.search(r"\[0(\.0)?, 100(\.0)?\]", line)
    _no_stack_trace(proc)


def test_the_summary_finds_a_quarters_files_without_the_publishing_code(tmp_path: Path) -> None:
    """The summary reads each quarter's published file by the partition layout alone: importing the publishing
    code (Great Expectations among it) would add seconds to the end of every backfill."""
    code = f"""
import sys
from pathlib import Path
import polars as pl
from assets.commands.summary import segments
from npaf_pipeline.partitions import PART_FILE, partition_unit
from npaf_pipeline.quarters import parse_quarter
out, quarter = Path({str(tmp_path)!r}), parse_quarter("2025-26 Q1")
path = out / partition_unit("organisation_segmentation", quarter) / PART_FILE
path.parent.mkdir(parents=True)
pl.DataFrame({{"org_code": ["RAA", "RBB", "RCC"], "final_segment": [1, 3, 3]}}).write_parquet(path)
orgs, counts, icb = segments(out, quarter)
heavy = [m for m in ("great_expectations", "npaf_pipeline.publish") if m in sys.modules]
print(orgs, sorted(counts.items()), repr(icb), heavy)
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "3 [(1, 1), (3, 2)] '' []"
