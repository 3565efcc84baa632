"""A publish killed half-way leaves the previous snapshot intact and readable; the next publish cleans up."""

from __future__ import annotations

import functools
import multiprocessing
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from npaf_pipeline.publish import atomic, publish_quarters
from npaf_pipeline.publish.atomic import LOCK_FILE, STAGING, PublishLockTimeout, publish_lock, recover
from tests.test_publish_tables import Q1, synthetic_run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _snapshot(out: Path) -> dict[str, bytes]:
    """The published snapshot: tables, manifests and data package (Data Docs are a report of the latest
    validation, rebuilt before every publish attempt, and the DuckDB catalog is rebuilt too)."""
    skip = {STAGING, "data-docs"}
    ignored = {"npaf.duckdb", LOCK_FILE}
    files = [p for p in out.rglob("*") if p.is_file() and not skip & set(p.parts) and p.name not in ignored]
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in files}


def _block(started: multiprocessing.synchronize.Event, label: str) -> None:
    started.set()
    time.sleep(600)


def _publish_and_hang(out: str, started: multiprocessing.synchronize.Event) -> None:
    """Child process: a different run whose files are staged, then it waits to be killed before the swap."""
    publish_quarters(*synthetic_run((Q1,), shift=0.5), out, before_commit=functools.partial(_block, started))


def _readable_rows(out: Path) -> tuple[int, int]:
    arrow_rows = ds.dataset(out / "metric_scores", format="parquet", partitioning="hive").count_rows()
    con = duckdb.connect(str(out / "npaf.duckdb"), read_only=True)
    try:
        duck_rows = con.execute("SELECT count(*) FROM metric_scores").fetchone()[0]
    finally:
        con.close()
    return arrow_rows, duck_rows


def test_killed_publish_leaves_previous_snapshot(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish_quarters(*synthetic_run((Q1,)), out)
    before = _snapshot(out)
    rows_before = _readable_rows(out)

    ctx = multiprocessing.get_context("spawn")
    started = ctx.Event()
    child = ctx.Process(target=_publish_and_hang, args=(str(out), started))
    child.start()
    try:
        assert started.wait(120), "the child never reached the point between writing and swapping"
        assert list((out / STAGING).rglob("*.parquet")), "the child should have staged its new files"
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
    finally:
        if child.is_alive():
            child.kill()
    assert child.exitcode == -signal.SIGKILL

    assert _snapshot(out) == before
    assert _readable_rows(out) == rows_before

    publish_quarters(*synthetic_run((Q1,)), out)  # the next publish clears the leftovers
    assert not (out / STAGING).exists()
    assert _snapshot(out) == before


def test_swap_without_atomic_exchange_still_replaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    publish_quarters(*synthetic_run((Q1,)), out)
    first = _snapshot(out)
    publish_quarters(*synthetic_run((Q1,), shift=0.5), out)
    second = _snapshot(out)
    assert second.keys() == first.keys() and second != first
    assert not (out / STAGING).exists()


def test_recover_puts_back_a_folder_moved_aside(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish_quarters(*synthetic_run((Q1,)), out)
    before = _snapshot(out)
    live = out / "league_table" / "fy=2025-26" / "quarter=Q1"
    aside = out / STAGING / "dead" / "old" / "league_table" / "fy=2025-26" / "quarter=Q1"
    aside.parent.mkdir(parents=True)
    shutil.move(live, aside)  # the state a crash between the two renames of the fallback leaves
    (out / STAGING / "dead" / "new" / "league_table").mkdir(parents=True)

    assert recover(out) == [live]
    assert _snapshot(out) == before
    assert not (out / STAGING).exists()


def _hold_lock(out: str, held: multiprocessing.synchronize.Event, seconds: float) -> None:
    """Child process: another publisher holding the folder's lock for a while."""
    with publish_lock(Path(out)):
        held.set()
        time.sleep(seconds)


def test_a_second_publisher_waits_for_the_lock_and_is_told_who_holds_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish_quarters(*synthetic_run((Q1,)), out)
    before = _snapshot(out)
    ctx = multiprocessing.get_context("spawn")
    held = ctx.Event()
    child = ctx.Process(target=_hold_lock, args=(str(out), held, 4.0))
    child.start()
    try:
        assert held.wait(120)
        released_at = time.monotonic() + 3.5  # the child holds the lock 4 s from just before ``held`` was seen
        with pytest.raises(PublishLockTimeout, match=rf"pid {child.pid} on .* since "), publish_lock(out, 0.3):
            pass
        told: list[str] = []
        publish_quarters(*synthetic_run((Q1,), shift=0.5), out, on_wait=told.append)  # waits, then publishes
        assert time.monotonic() >= released_at, "the publish must not have run while the other held the lock"
        assert len(told) == 1 and f"pid {child.pid}" in told[0]
    finally:
        child.join(30)
    assert _snapshot(out) != before and not (out / STAGING).exists()
