"""The landing zone ledger: every file with SHA-256, size and first-seen time; raw files never touched."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from npaf_pipeline.landing import changed_files, scan, update_ledger


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_scan_lists_files_by_source_and_skips_documentation(tmp_path: Path) -> None:
    _write(tmp_path / "ae_monthly" / "b.csv", "x")
    _write(tmp_path / "ae_monthly" / "SOURCE.md", "notes")
    _write(tmp_path / "ae_monthly" / "~$lock.xlsx", "lock")
    _write(tmp_path / "cwt_crs" / "sub" / "a.xlsx", "yy")
    _write(tmp_path / "README.md", "top-level notes are not a source")
    files = scan(tmp_path)
    assert [(f.source, f.path.name, f.size_bytes) for f in files] == [
        ("ae_monthly", "b.csv", 1),
        ("cwt_crs", "a.xlsx", 2),
    ]
    assert files[0].sha256 == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"  # sha256("x")


def test_ledger_keeps_first_seen_and_records_changed_bytes_as_a_new_version(tmp_path: Path) -> None:
    landing, ledger = tmp_path / "landing", tmp_path / "state" / "ledger.parquet"
    f = _write(landing / "ae_monthly" / "m.csv", "v1")
    before = f.stat().st_mtime_ns
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    first = update_ledger(ledger, scan(landing), now=t1)
    again = update_ledger(ledger, scan(landing), now=t2)
    assert first.height == again.height == 1
    assert again["first_seen"].to_list() == [t1]
    f.write_text("v2")
    changed = update_ledger(ledger, scan(landing), now=t2)
    assert changed.height == 2
    assert sorted(changed["first_seen"].to_list()) == [t1, t2]
    assert f.read_text() == "v2" and f.stat().st_mtime_ns >= before  # the ledger never rewrites raw files
    assert not list(ledger.parent.glob("*.tmp"))


def test_changed_files_are_new_paths_or_new_bytes(tmp_path: Path) -> None:
    a = _write(tmp_path / "s" / "a.csv", "1")
    _write(tmp_path / "s" / "b.csv", "2")
    files = scan(tmp_path)
    seen = {str(f.path): f.sha256 for f in files}
    assert changed_files(files, seen) == []
    a.write_text("changed")
    os.utime(a)
    assert [f.path.name for f in changed_files(scan(tmp_path), seen)] == ["a.csv"]
