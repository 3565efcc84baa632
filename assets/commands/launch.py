"""Launch ``quarterly_pipeline`` runs through the code location, as the Dagster UI does.

A run launched through a workspace carries its code location's origin, so the UI lists it under the job and on
the overview timeline, and re-executes it without a "different version" warning. ``dagster job launch`` is
Dagster's public command for that: it loads the workspace (a code server), records the run with its origin and
hands it to the instance's run launcher, which runs it in a child process of the code server. This module
builds that command; the caller follows the run through the instance's event log.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

JOB = "quarterly_pipeline"
LOCATION = "npaf_pipeline"  # the location name of workspace.yaml, so `make ui` shows the same location
WORKSPACE = f"""load_from:
  - python_module:
      module_name: assets.definitions
      location_name: {LOCATION}
"""
# Dagster's documented run tags for a partition range run as one run (single-run backfill policy)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"
# launched runs execute their steps one after the other in the run worker: no process per step
RUN_CONFIG = {"execution": {"config": {"in_process": {}}}}
# an instance that launches a run as soon as it is submitted (no daemon needed for a terminal run)
INSTANCE_YAML = """telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
"""


def run_tags(keys: list[str], labels: list[str]) -> dict[str, str]:
    """Tags of a run over ``keys``: Dagster's partition tags, plus the quarters as NHS labels for people."""
    tags = {"npaf/quarters": labels[0] if len(labels) == 1 else f"{labels[0]} .. {labels[-1]}"}
    if len(keys) == 1:
        return {**tags, PARTITION_TAG: keys[0]}
    return {**tags, RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}


def dagster_command() -> list[str]:
    exe = Path(sys.executable).with_name("dagster")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "dagster"]


class Launcher:
    """Writes the workspace file once and launches runs of the code location's jobs."""

    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        self.env = dict(env)
        self.log_dir = log_dir
        self.workspace = log_dir / "workspace.yaml"
        self.workspace.write_text(WORKSPACE, encoding="utf-8")

    def launch(self, job: str, tags: Mapping[str, str] | None = None) -> str:
        """Submit one run of ``job``; return its run id once the instance holds it (a plain error otherwise)."""
        run_id = str(uuid.uuid4())
        command = [
            *dagster_command(),
            "job",
            "launch",
            "-w",
            str(self.workspace),
            "-j",
            job,
            "--run-id",
            run_id,
            "--config-json",
            json.dumps(RUN_CONFIG),
        ]
        if tags:
            command += ["--tags", json.dumps(dict(tags))]
        log = self.log_dir / f"launch-{run_id}.log"
        with log.open("w", encoding="utf-8") as out:
            code = subprocess.run(command, env=self.env, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
        if code != 0:
            lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
            reason = next((line for line in reversed(lines) if "Error" in line), lines[-1] if lines else "")
            raise RuntimeError(f"the code location could not launch {job}: {reason.strip()}")
        return run_id


class InstanceHome:
    """``DAGSTER_HOME`` for the runs: the user's, or a temporary one (removed afterwards) when none is set."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        given = environ.get("DAGSTER_HOME")
        self.temporary = not given
        self.path = Path(given) if given else Path(tempfile.mkdtemp(prefix="npaf-dagster-"))
        if self.temporary:
            (self.path / "dagster.yaml").write_text(INSTANCE_YAML, encoding="utf-8")
        self.logs = Path(tempfile.mkdtemp(prefix="npaf-launch-"))

    def close(self) -> None:
        shutil.rmtree(self.logs, ignore_errors=True)
        if self.temporary:
            shutil.rmtree(self.path, ignore_errors=True)


QUEUE_DAEMON = "QUEUED_RUN_COORDINATOR"  # the daemon that dequeues runs (Dagster's daemon type name)
HEARTBEAT_FRESH_S = 120  # a daemon writes a heartbeat every 30 s: four missed beats means it is not running
START_AT_ONCE = (
    "`run_coordinator: {module: dagster.core.run_coordinator, class: DefaultRunCoordinator}` in dagster.yaml"
)


def queues_runs(instance: Any) -> bool:
    """True when runs submitted to ``instance`` wait for the daemon (Dagster's default run coordinator)."""
    import dagster as dg

    return isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)


def queue_problem(instance: Any, home: Path, now: float | None = None) -> str:
    """Why a run submitted to ``instance`` would never start, or "" when it will.

    Dagster's default run coordinator queues runs for the daemon. With no daemon running a submitted run waits
    forever, so a backfill refuses to launch instead of hanging.
    """
    if not queues_runs(instance):
        return ""
    beat = instance.get_daemon_heartbeats().get(QUEUE_DAEMON)
    age = (now if now is not None else time.time()) - beat.timestamp if beat else None
    if age is not None and age <= HEARTBEAT_FRESH_S:
        return ""
    seen = "has never run" if age is None else f"last ran {age / 60:.0f} min ago"
    return (
        f"the Dagster instance at DAGSTER_HOME={home} queues runs for the Dagster daemon, and its daemon {seen}: "
        f"start it (`make ui` starts one, or `dagster-daemon run -w workspace.yaml`), or let runs start at once "
        f"with {START_AT_ONCE}"
    )


def child_env(environ: Mapping[str, str], home: InstanceHome, settings: Mapping[str, str]) -> dict[str, str]:
    """The environment of the code server and run worker: the settings of this backfill, warnings quiet."""
    env = {**environ, **settings, "DAGSTER_HOME": str(home.path)}
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return env
