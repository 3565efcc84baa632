"""A publish killed at any point leaves exactly the old snapshot or exactly the new one, for every reader; the next
publish recovers; a reader that resolved the old snapshot keeps reading it, whole, while a new one is published."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import duckdb
import pytest

from npaf_pipeline.publish import atomic, publish_quarters
from npaf_pipeline.publish.atomic import CURRENT, SNAPSHOTS, STAGING, PublishLockTimeout, publish_lock, recover
from npaf_pipeline.publish.catalog import build_catalog
from schemas.published import published_models
from tests.snapshot_view import TABLES, catalog_views, manifests_match_files, reader_rows, visible_files
from tests.test_publish_tables import Q1, Q2, synthetic_run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and symlinks are POSIX")

_CTX = multiprocessing.get_context("forkserver")
_CTX.set_forkserver_preload(["tests.test_publish_atomic"])


def _publish(out: Path, shift: float, quarters: tuple[str, ...] = (Q1, Q2), **kwargs) -> dict:
    return publish_quarters(*synthetic_run(quarters, shift=shift), out, acceptance=False, **kwargs)


def _child(out: str, shift: float, quarters: tuple[str, ...], die_at: str | None, events, go, acceptance) -> None:
    """A publisher that reports each step (and waits to be told to go on) or dies by SIGKILL at ``die_at``."""

    def step(name: str) -> None:
        if events is not None:
            events.put(name)
            go.get()
        if name == die_at:
            os.kill(os.getpid(), signal.SIGKILL)

    publish_quarters(*synthetic_run(quarters, shift=shift), Path(out), acceptance=acceptance, checkpoint=step)


def _run_child(out: Path, shift: float, quarters: tuple[str, ...], die_at: str) -> int:
    child = _CTX.Process(target=_child, args=(str(out), shift, quarters, die_at, None, None, False))
    child.start()
    child.join(300)
    if child.is_alive():
        child.kill()
    return child.exitcode


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """An output folder holding three snapshots (the newest current), and the snapshot a republish of Q2 makes."""
    base = tmp_path_factory.mktemp("scenario")
    old = base / "old"
    for shift in (0.1, 0.2, 0.0):  # three publishes: the next one must garbage-collect the oldest
        _publish(old, shift)
        time.sleep(0.02)
    new = base / "new"
    shutil.copytree(old, new, symlinks=True)
    points: list[str] = []
    _publish(new, 0.5, (Q2,), checkpoint=points.append)
    first = base / "first"
    first_points: list[str] = []
    _publish(first, 0.0, checkpoint=first_points.append)
    return {
        "old": old,
        "new": new,
        "points": points,
        "first_points": first_points,
        "files": {"old": _data(old), "new": _data(new)},
        "views": {"old": catalog_views(old), "new": catalog_views(new)},
        "rows": {"old": reader_rows(old), "new": reader_rows(new)},
    }


def _data(out: Path) -> dict[str, bytes]:
    """The files readers see, but the catalog (whose views name the folder's own absolute path)."""
    return visible_files(out, skip=("data-docs", "npaf.duckdb"))


def _copy(source: Path, target: Path) -> None:
    """A copy of an output folder whose catalog names the copy (as a publish there would have made it)."""
    shutil.copytree(source, target, symlinks=True)
    build_catalog(target, TABLES)


def _assert_whole(out: Path, scenario: dict) -> str:
    """The folder shows exactly the old or the new snapshot, to every reader; returns which."""
    files = _data(out)
    which = next((k for k, v in scenario["files"].items() if v == files), None)
    assert which is not None, sorted(set(files) ^ set(scenario["files"]["old"]))
    assert catalog_views(out) == scenario["views"][which]
    assert reader_rows(out) == scenario["rows"][which]
    manifests_match_files(out)
    return which


def test_every_step_of_a_publish_is_named(scenario: dict) -> None:
    points = scenario["points"]
    assert points[:3] == ["locked", "staging", "carried over"]
    staged = [p for p in points if p.startswith("staged ") and p.endswith(Q2)]
    tables = len(published_models([]))
    assert len(staged) == tables + 1 and staged[-1] == f"staged manifest {Q2}"  # every table, then the manifest
    assert points.index("stored snapshot") < points.index("swapped current")
    assert [p.split()[1] for p in points if p.startswith("gc ")] == ["moved", "removed"]
    linked = sum(p.startswith("linked ") for p in scenario["first_points"])
    assert linked == tables + 3  # tables, manifests, package, catalog


def test_a_kill_at_every_point_leaves_old_or_new_and_the_next_publish_completes(scenario: dict, tmp_path: Path) -> None:
    outcomes = {}
    for point in scenario["points"]:
        out = tmp_path / point.replace(" ", "_")
        _copy(scenario["old"], out)
        assert _run_child(out, 0.5, (Q2,), point) == -signal.SIGKILL, point
        outcomes[point] = _assert_whole(out, scenario)
        _publish(out, 0.5, (Q2,))  # the next publish clears the debris and completes
        assert _data(out) == scenario["files"]["new"] and catalog_views(out) == scenario["views"]["new"], point
        assert not (out / STAGING).exists() and not list(out.glob(".*.link")), point
        assert len(list((out / SNAPSHOTS).iterdir())) == 3, point
        shutil.rmtree(out)
    # before the pointer moves, readers see the old snapshot; from then on, the new one
    swap = scenario["points"].index("swapped current")
    assert {outcomes[p] for p in scenario["points"][:swap]} == {"old"}
    assert {outcomes[p] for p in scenario["points"][swap:]} == {"new"}


def test_a_kill_while_the_first_snapshot_is_linked_leaves_nothing_or_everything(scenario: dict, tmp_path: Path) -> None:
    reference = scenario["files"]["old"]  # the same data as the first publish below (shift 0)
    for point in scenario["first_points"]:
        if not point.startswith(("linked ", "stored", "finished", "swapped")):
            continue
        out = tmp_path / point.replace(" ", "_")
        assert _run_child(out, 0.0, (Q1, Q2), point) == -signal.SIGKILL, point
        files = _data(out)
        assert files in ({}, reference), point  # dangling stable paths until ``current`` exists
        if files:
            assert reader_rows(out) == scenario["rows"]["old"], point
        _publish(out, 0.0)
        assert _data(out) == reference, point
        shutil.rmtree(out)


def test_a_reader_of_the_old_snapshot_never_sees_a_mix(scenario: dict, tmp_path: Path) -> None:
    """Stop the publisher at every step; at each, pinned readers still read the whole old snapshot, and the
    folder shows the old or the new one whole (old until the pointer moves, new after)."""
    out = tmp_path / "out"
    _copy(scenario["old"], out)
    pinned = duckdb.connect(str(out / "npaf.duckdb"), read_only=True)  # resolves ``current`` once, now
    pinned_root = (out / CURRENT).resolve()
    events, go = _CTX.Queue(), _CTX.Queue()
    child = _CTX.Process(target=_child, args=(str(out), 0.5, (Q2,), None, events, go, False))
    child.start()
    seen, states = [], []
    try:
        while True:
            point = events.get(timeout=300)
            seen.append(point)
            # the catalog opened before, and folders read below ``current`` as resolved before: the old snapshot
            assert reader_rows(pinned_root, pinned) == scenario["rows"]["old"], point
            files = _data(out)
            state = next((k for k, v in scenario["files"].items() if v == files), "mix")
            states.append(state)
            if state != "mix":
                assert reader_rows(out) == scenario["rows"][state] and catalog_views(out) == scenario["views"][state]
            go.put("go")
            if point.startswith("gc removed"):
                break
    finally:
        finished = bool(seen) and seen[-1].startswith("gc removed")
        child.join(120 if finished else 1)  # a failed check leaves the child waiting: stop it
        if child.is_alive():
            child.kill()
            child.join(30)
        pinned.close()
    assert child.exitcode == 0
    assert "mix" not in states, list(zip(seen, states, strict=True))
    swap = seen.index("swapped current")
    assert set(states[:swap]) == {"old"} and set(states[swap:]) == {"new"}


def test_a_rerun_changes_no_byte_catalog_included(scenario: dict, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _copy(scenario["new"], out)
    before = visible_files(out, skip=())
    snapshots = sorted(p.name for p in (out / SNAPSHOTS).iterdir())
    _publish(out, 0.5, (Q2,))
    assert visible_files(out, skip=()) == before and "npaf.duckdb" in before
    assert sorted(p.name for p in (out / SNAPSHOTS).iterdir()) == snapshots


def test_the_same_data_in_the_same_folder_gives_the_same_catalog_bytes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish(out, 0.0)
    first = (out / "npaf.duckdb").read_bytes()
    shutil.rmtree(out)
    _publish(out, 0.0)
    assert (out / "npaf.duckdb").read_bytes() == first
    moved = tmp_path / "moved"
    shutil.copytree(out, moved, symlinks=True)
    assert visible_files(moved, skip=("npaf.duckdb",)) == visible_files(out, skip=("npaf.duckdb",))
    assert (moved / "npaf.duckdb").read_bytes() == first  # the views still name the first folder ...
    _publish(moved, 0.0)  # ... until a publish there (or build_catalog) rewrites them
    assert (moved / "npaf.duckdb").read_bytes() != first
    assert reader_rows(moved) == reader_rows(out)


def test_garbage_collection_keeps_the_newest_snapshots(tmp_path: Path) -> None:
    out = tmp_path / "out"
    made = []
    for shift in (0.1, 0.2, 0.3, 0.4):
        made.append(Path(_publish(out, shift, keep=2)["snapshot"]).name)
    assert sorted(p.name for p in (out / SNAPSHOTS).iterdir()) == sorted(made[-2:])
    assert (out / CURRENT).resolve().name == made[-1]
    _publish(out, 0.2, keep=2)  # back to an earlier data set: a new snapshot of the same name
    assert sorted(p.name for p in (out / SNAPSHOTS).iterdir()) == sorted([made[1], made[3]])


def test_a_folder_published_before_snapshots_is_adopted_without_a_gap(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    _publish(reference, 0.0)
    legacy = tmp_path / "legacy"  # the previous layout: real folders at the top
    legacy.mkdir()
    for entry in (reference / CURRENT).resolve().iterdir():
        if entry.is_dir():
            shutil.copytree(entry, legacy / entry.name)
        else:
            shutil.copy2(entry, legacy / entry.name)
    steps: list[str] = []
    atomic.adopt_legacy(legacy, [p.name for p in legacy.iterdir()], steps.append)
    assert all((legacy / name).is_symlink() for name in os.listdir(reference) if not name.startswith("."))
    assert visible_files(legacy) == visible_files(reference)  # the same files, the catalog included
    assert steps[0] == "adopted legacy snapshot" and len(steps) == len(published_models([])) + 4
    _publish(legacy, 0.5, (Q2,))
    assert reader_rows(legacy)["league_table"] != reader_rows(reference)["league_table"]


def test_recover_puts_back_a_folder_moved_aside_by_the_previous_layout(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "league_table" / "fy=2025-26" / "quarter=Q1").mkdir(parents=True)
    live = out / "league_table" / "fy=2025-26" / "quarter=Q1"
    aside = out / STAGING / "dead" / "old" / "league_table" / "fy=2025-26" / "quarter=Q1"
    aside.parent.mkdir(parents=True)
    (live / "part-0.parquet").write_bytes(b"old")
    shutil.move(live, aside)  # the state a crash between the two renames of the old fallback left
    assert recover(out) == [live]
    assert (live / "part-0.parquet").read_bytes() == b"old" and not (out / STAGING).exists()


def _hold_lock(out: str, held, seconds: float) -> None:
    """Child process: another publisher holding the folder's lock for a while."""
    with publish_lock(Path(out)):
        held.set()
        time.sleep(seconds)


def test_a_second_publisher_waits_for_the_lock_and_is_told_who_holds_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish(out, 0.0)
    before = visible_files(out)
    held = _CTX.Event()
    child = _CTX.Process(target=_hold_lock, args=(str(out), held, 4.0))
    child.start()
    try:
        assert held.wait(120)
        released_at = time.monotonic() + 3.5  # the child holds the lock 4 s from just before ``held`` was seen
        with pytest.raises(PublishLockTimeout, match=rf"pid {child.pid} on .* since "), publish_lock(out, 0.3):
            pass
        told: list[str] = []
        _publish(out, 0.5, on_wait=told.append)  # waits, then publishes
        assert time.monotonic() >= released_at, "the publish must not have run while the other held the lock"
        assert len(told) == 1 and f"pid {child.pid}" in told[0]
    finally:
        child.join(30)
    assert visible_files(out) != before and not (out / STAGING).exists()


def test_a_relative_output_folder_reports_reader_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    report = publish_quarters(*synthetic_run((Q1,)), "build/output")
    docs = report["quarters"][Q1]["data_docs"]
    assert docs == "build/output/data-docs/index.html" and Path(docs).is_file()
    assert report["quarters"][Q1]["manifest"] == "build/output/manifests/fy=2025-26/quarter=Q1/manifest.json"
    assert report["catalog"] == "build/output/npaf.duckdb" and Path(report["catalog"]).is_file()


def test_data_docs_belong_to_their_snapshot(tmp_path: Path) -> None:
    """Each validating publish writes its own Data Docs into its snapshot; an older snapshot's pages stay as
    they were (nothing is written through a hard link into them)."""
    out = tmp_path / "out"
    publish_quarters(*synthetic_run((Q1,)), out)
    first = (out / CURRENT).resolve()
    pages = {p: p.read_bytes() for p in (first / "data-docs").rglob("*") if p.is_file()}
    index = (out / "data-docs" / "index.html").read_text(encoding="utf-8")
    assert "2025-26-Q1" in index and pages
    publish_quarters(*synthetic_run((Q2,), shift=0.3), out)
    assert (out / "data-docs").resolve().parent == (out / CURRENT).resolve() != first
    index = (out / "data-docs" / "index.html").read_text(encoding="utf-8")
    assert "2025-26-Q2" in index and "2025-26-Q1" not in index  # the pages of the publish that made it
    assert {p: p.read_bytes() for p in (first / "data-docs").rglob("*") if p.is_file()} == pages


def test_a_folder_without_symlinks_is_refused_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_symlinks(*_args, **_kwargs):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(atomic.os, "symlink", no_symlinks)
    with pytest.raises(atomic.SymlinksUnsupported, match="cannot create symbolic links"):
        _publish(tmp_path / "out", 0.0)
    assert not list((tmp_path / "out").iterdir())
