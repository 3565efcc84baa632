"""Run one measurement in a child process and read back its JSON line."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

from benchmarks.common import ROOT


class ChildFailed(RuntimeError):
    """A measurement process exited non-zero; the message carries the end of its error output."""


def run_child(spec: dict[str, Any], env: dict[str, str] | None = None, label: str = "") -> dict[str, Any]:
    """``python -m benchmarks.child <spec>`` with ``env`` added to this environment; also the wall time."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), full_env.get("PYTHONPATH", "")) if p)
    waited = _wait_for_quiet()
    busy_before, children_before = _machine_busy_s(), _children_cpu_s()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.child", json.dumps(spec)],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    child_cpu = _children_cpu_s() - children_before
    other = max(0.0, _machine_busy_s() - busy_before - child_cpu)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise ChildFailed(f"{label or spec.get('kind')}: exit {done.returncode}\n{tail}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    result["child_cpu_s"] = child_cpu
    result["waited_for_quiet_s"] = waited
    result["other_cpu_share"] = other / (wall * (os.cpu_count() or 1)) if wall > 0 else 0.0
    return result


QUIET = 0.25
"""Share of the machine's CPU that other processes may use when a measurement starts."""
WAIT_BUDGET_S = [300.0]
"""Seconds a whole run may spend waiting for other processes to quieten (then it measures anyway, marked)."""


def _wait_for_quiet(window: float = 0.5, pause: float = 5.0) -> float:
    """Wait while other processes keep the machine busy (this is a shared machine); returns seconds waited."""
    waited = 0.0
    cores = os.cpu_count() or 1
    while True:
        before = _machine_busy_s()
        time.sleep(window)
        share = (_machine_busy_s() - before) / (window * cores)
        if share <= QUIET or WAIT_BUDGET_S[0] <= 0:
            return waited
        log(f"    (other processes use {share:.0%} of the CPU: waiting)")
        time.sleep(pause)
        waited += window + pause
        WAIT_BUDGET_S[0] -= window + pause


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _machine_busy_s() -> float:
    """CPU seconds every core of the machine has spent busy since boot (``/proc/stat``), this process included."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
