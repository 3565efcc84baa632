"""Dagster beyond in-process calls: the multiprocess executor and the webserver answering GraphQL."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from tests.dagster_helpers import graphql, real_landing, webserver


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


def test_webserver_serves_the_asset_graph_and_partition_status(tmp_path: Path) -> None:
    env = {**os.environ, **_env(tmp_path, real_landing(tmp_path))}
    with webserver(env, tmp_path / "webserver.log") as port:
        nodes = graphql(port, "{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
        keys = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
        assert keys["segmentation"] == "segmentation" and keys["published_snapshot"] == "publish"
        assert keys["ingest_nof_dashboard"] == "ingest"
        status = graphql(
            port,
            '{ assetNodeOrError(assetKey: {path: ["segmentation"]}) { ... on AssetNode { partitionKeys '
            "partitionStats { numMaterialized numPartitions } } } }",
        )["assetNodeOrError"]
        assert status["partitionKeys"][0] == "2025-04"
        assert status["partitionStats"]["numPartitions"] == len(status["partitionKeys"])
        assert status["partitionStats"]["numMaterialized"] == 0
