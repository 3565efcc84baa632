"""`npaf backfill` finds what it can before a run starts: one line on stderr, exit 2, nothing launched or written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _backfill(tmp_path: Path, *args: str, landing: Path | None = None, output: Path | None = None):
    if landing is None:
        landing = tmp_path / "landing"
        (landing / "canonical").mkdir(parents=True, exist_ok=True)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    for key in ("NPAF_LANDING_DIR", "NPAF_OUTPUT_DIR", "NPAF_STATE_DIR", "NPAF_FRAMEWORK"):
        env.pop(key, None)
    command = [sys.executable, "-m", "npaf_pipeline.cli", "backfill", "--landing", str(landing), "--quiet"]
    command += ["--output", str(output if output is not None else tmp_path / "out"), *args]
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert not any(home.iterdir()), "a run was recorded although the problem was knowable before it"
    return proc


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("npaf backfill: error: ")
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    return lines[0]


RANGE = ("--from", "2025-26Q1", "--to", "2025-26Q1")


def test_output_path_that_is_a_file(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_text("not a folder")
    line = _one_line_error(_backfill(tmp_path, *RANGE, output=out))
    assert str(out) in line and "is a file" in line


def test_output_path_below_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    line = _one_line_error(_backfill(tmp_path, *RANGE, output=blocker / "out"))
    assert str(blocker) in line and "not a folder" in line


def test_output_path_that_cannot_be_written(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        target = Path("/sys/npaf-output")  # sysfs refuses new files even to root
        if target.parent.is_dir() and os.access(target.parent, os.W_OK):
            try:
                (target.parent / "npaf-probe").touch()
            except OSError:
                pass
            else:
                pytest.skip("no folder here refuses writes to root")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "out"
    line = _one_line_error(_backfill(tmp_path, *RANGE, output=target))
    assert str(target) in line and "cannot be created" in line


def test_missing_landing_folder(tmp_path: Path) -> None:
    line = _one_line_error(_backfill(tmp_path, *RANGE, landing=tmp_path / "nowhere"))
    assert str(tmp_path / "nowhere") in line and "does not exist" in line


@pytest.mark.parametrize(
    ("framework", "expected"),
    [("nof-1999-00", "unknown rule set"), ("broken.yaml", "invalid rule set"), ("garbled.yaml", "not valid YAML")],
)
def test_unknown_or_malformed_rule_set(tmp_path: Path, framework: str, expected: str) -> None:
    (tmp_path / "broken.yaml").write_text("id: broken\nname: x\nversion: '1'\nmetrics: 3\n")
    (tmp_path / "garbled.yaml").write_text("id: [unclosed\n")
    line = _one_line_error(_backfill(tmp_path, *RANGE, "--framework", framework))
    assert framework in line and expected in line
    if framework == "nof-1999-00":
        assert "nof-2025-26" in line  # the shipped ones are named


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2025-26Q3", "2025-26Q1", "--from 2025-26 Q3 is after --to 2025-26 Q1"),
        ("2025-26Q5", "2025-26Q1", "--from"),
        ("2025-26 Q1", "last year", "--to: 'last year' is not a quarter"),
        ("2024-25Q4", "2025-26Q1", "2024-25 Q4"),
        ("2025-26Q1", "2099-00Q1", "the last quarter that has ended"),
    ],
)
def test_bad_quarters_or_range(tmp_path: Path, first: str, last: str, expected: str) -> None:
    line = _one_line_error(_backfill(tmp_path, "--from", first, "--to", last))
    assert expected in line


def _queuing_home(tmp_path: Path) -> Path:
    """An instance with Dagster's default run coordinator, which queues runs for the daemon."""
    home = tmp_path / "queuing-home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return home


def test_an_instance_that_queues_runs_with_no_daemon_stops_before_launching(tmp_path: Path) -> None:
    import dagster as dg

    landing = tmp_path / "landing"
    (landing / "canonical").mkdir(parents=True)
    home = _queuing_home(tmp_path)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    command = [sys.executable, "-m", "npaf_pipeline.cli", "backfill", *RANGE, "--landing", str(landing), "--quiet"]
    command += ["--output", str(tmp_path / "out")]
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("npaf backfill: error: ") and "Traceback" not in proc.stderr
    assert f"DAGSTER_HOME={home}" in error and "daemon has never run" in error and "DefaultRunCoordinator" in error
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_runs() == [], "a run was queued for a daemon that is not there"


def test_a_running_daemon_lets_queued_runs_through_and_a_stopped_one_is_named(tmp_path: Path) -> None:
    import time

    import dagster as dg

    from assets.commands.launch import HEARTBEAT_FRESH_S, QUEUE_DAEMON, queue_problem

    home = _queuing_home(tmp_path)
    env = {**os.environ, "DAGSTER_HOME": str(home), "NPAF_LANDING_DIR": str(tmp_path), "NPAF_OUTPUT_DIR": str(tmp_path)}
    daemon = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            deadline = time.monotonic() + 120
            while queue_problem(instance, home) and time.monotonic() < deadline:
                assert daemon.poll() is None, "dagster-daemon exited"
                time.sleep(1)
            assert queue_problem(instance, home) == ""
            beat = instance.get_daemon_heartbeats()[QUEUE_DAEMON].timestamp
            later = beat + HEARTBEAT_FRESH_S + 600  # twelve minutes after the daemon's last heartbeat
            assert "its daemon last ran 12 min ago" in queue_problem(instance, home, now=later)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
