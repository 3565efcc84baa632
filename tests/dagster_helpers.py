"""Shared set-up for Dagster tests: a landing zone of real NHS England files (linked, never copied), and a real
webserver to ask over GraphQL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ACUTE_Q1, MHC_Q1, real_file

ROOT = Path(__file__).resolve().parent.parent


def step_failure(result: Any) -> tuple[str, str]:
    """(step key, message with its cause) of a run's first failed step."""
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    error = failure.event_specific_data.error
    return failure.step_key, error.message + (error.cause.message if error.cause else "")


REAL_LANDING = {
    "nof_dashboard": [ACUTE_Q1, MHC_Q1],
    "ods_etr": ["ods-etr-nov2025/etr.csv"],
    "trust_reference": ["reference-derived/trust_reference_2025_26.csv"],
}


def real_landing(root: Path, sources: dict[str, list[str]] | None = None) -> Path:
    """A landing zone under ``root`` whose files are symbolic links to the shared real data."""
    landing = root / "landing"
    for source, files in (sources or REAL_LANDING).items():
        folder = landing / source
        folder.mkdir(parents=True, exist_ok=True)
        for relative in files:
            target = real_file(relative)
            os.symlink(target.resolve(), folder / target.name)
    return landing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    """POST a query to the webserver's GraphQL endpoint; an error in the answer fails the test."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body["errors"]
    return body["data"]


@contextlib.contextmanager
def webserver(env: dict[str, str], log_path: Path, start_timeout_s: float = 300) -> Iterator[int]:
    """A real ``dagster-webserver`` over ``workspace.yaml`` with ``env``; yields its port once it answers, and
    stops it (its whole process group) afterwards."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("dagster-webserver")), "-h", "127.0.0.1", "-p", str(port)]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*command, "-w", str(ROOT / "workspace.yaml")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + start_timeout_s
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"webserver did not start: {log_path.read_text()[-2000:]}")
                    time.sleep(1)
            yield port
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
