"""Dagster beyond in-process calls: the multiprocess executor and the webserver answering GraphQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from tests.dagster_helpers import real_landing

ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path, landing: Path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {
        "DAGSTER_HOME": str(home),
        "NPAF_LANDING_DIR": str(landing),
        "NPAF_OUTPUT_DIR": str(tmp_path / "out"),
        "NPAF_STATE_DIR": str(tmp_path / "state"),
    }


def test_multiprocess_executor_runs_steps_in_parallel_child_processes(tmp_path: Path, monkeypatch) -> None:
    env = _env(tmp_path, real_landing(tmp_path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from tests.dagster_jobs import quarterly_job

    (tmp_path / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "instance")) as instance:
        result = dg.execute_job(
            dg.reconstructable(quarterly_job),
            instance=instance,
            run_config={"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}},
            tags={"dagster/partition": "2025-04"},
        )
        assert result.success
        starts = [e for e in result.all_events if e.event_type_value == "STEP_START"]
        pids = {e.pid for e in starts}
        assert len(starts) >= 10 and len(pids) >= 2 and os.getpid() not in pids
    assert (tmp_path / "out" / "organisation_segmentation" / "fy=2025-26" / "quarter=Q1" / "part-0.parquet").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def test_webserver_serves_the_asset_graph_and_partition_status(tmp_path: Path) -> None:
    env = {**os.environ, **_env(tmp_path, real_landing(tmp_path))}
    port = _free_port()
    webserver = Path(sys.executable).with_name("dagster-webserver")
    log = (tmp_path / "webserver.log").open("w")
    proc = subprocess.Popen(
        [str(webserver), "-h", "127.0.0.1", "-p", str(port), "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 150
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"webserver did not start: {(tmp_path / 'webserver.log').read_text()[-2000:]}")
                time.sleep(1)
        nodes = _graphql(port, "{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
        keys = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
        assert keys["segmentation"] == "segmentation" and keys["published_snapshot"] == "publish"
        assert keys["ingest_nof_dashboard"] == "ingest"
        status = _graphql(
            port,
            '{ assetNodeOrError(assetKey: {path: ["segmentation"]}) { ... on AssetNode { partitionKeys '
            "partitionStats { numMaterialized numPartitions } } } }",
        )["assetNodeOrError"]
        assert status["partitionKeys"][0] == "2025-04"
        assert status["partitionStats"]["numPartitions"] == len(status["partitionKeys"])
        assert status["partitionStats"]["numMaterialized"] == 0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
    assert proc.poll() is not None
