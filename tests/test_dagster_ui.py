"""What a person sees in the Dagster UI after `npaf backfill`, asked of a real webserver over GraphQL.

One backfill of two sample quarters (a subprocess, as a user runs it), then the webserver over the same instance:
the run belongs to the code location (listed under the job, same job snapshot, so re-execution raises no
"different version" warning); each partition's metadata describes that quarter alone; the comparison with NHS
England is skipped on sample data (nothing to compare), not passed; the landing ledger is materialised.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline.sample import generate
from tests.dagster_helpers import graphql, webserver

ROOT = Path(__file__).resolve().parent.parent
LOCATION = {"repositoryName": "__repository__", "repositoryLocationName": "npaf_pipeline"}


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("ui")
    landing = tmp / "landing"
    generate(landing, quarters=2, seed=7, first="2025-26 Q1", scale=1)
    home = tmp / "dagster_home"
    home.mkdir()
    # the instance `make run` and `make ui` share (Makefile): runs launch at once, no daemon needed
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nrun_coordinator:\n  module: dagster.core.run_coordinator\n"
        "  class: DefaultRunCoordinator\n"
    )
    env = {**os.environ, "DAGSTER_HOME": str(home), "NPAF_LANDING_DIR": str(landing)}
    env["NPAF_OUTPUT_DIR"] = str(tmp / "out")
    env.pop("NPAF_STATE_DIR", None)
    env.pop("NPAF_FRAMEWORK", None)
    backfill = subprocess.run(
        [sys.executable, "-m", "npaf_pipeline.cli", "backfill", "--from", "2025-26Q1", "--to", "2025-26Q2"],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert backfill.returncode == 0, backfill.stdout[-3000:] + backfill.stderr[-3000:]
    with webserver(env, tmp / "webserver.log") as port:
        yield {"port": port, "out": tmp / "out", "summary": backfill.stdout}


def _runs(port: int) -> list[dict]:
    data = graphql(
        port,
        '{ runsOrError(filter: {pipelineName: "quarterly_pipeline"}) { ... on Runs { results { runId '
        "pipelineSnapshotId repositoryOrigin { repositoryName repositoryLocationName } "
        "tags { key value } } } } }",
    )
    return data["runsOrError"]["results"]


def test_terminal_runs_belong_to_the_code_location(ui: dict) -> None:
    runs = _runs(ui["port"])
    assert len(runs) == 1
    run = runs[0]
    assert run["runId"] in ui["summary"]  # the summary names the run a person will look for
    assert run["repositoryOrigin"] == LOCATION
    params = ", ".join(f'{k}: "{v}"' for k, v in {"pipelineName": "quarterly_pipeline", **LOCATION}.items())
    job = graphql(
        ui["port"],
        f"{{ pipelineOrError(params: {{{params}}}) {{ ... on Pipeline {{ pipelineSnapshotId runs {{ runId }} }} }} }}",
    )["pipelineOrError"]
    assert run["runId"] in {r["runId"] for r in job["runs"]}  # the job's own runs page (and the timeline)
    # the UI warns "may be a different version" unless origin and job snapshot both match the loaded job
    assert run["pipelineSnapshotId"] == job["pipelineSnapshotId"]
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["npaf/quarters"] == "2025-26 Q1 .. 2025-26 Q2"
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        "2025-04",
        "2025-07",
    )


def _materialization(port: int, asset: str, key: str) -> dict[str, object]:
    data = graphql(
        port,
        f'{{ assetNodeOrError(assetKey: {{path: ["{asset}"]}}) {{ ... on AssetNode {{ '
        f'assetMaterializations(partitions: ["{key}"]) {{ partition metadataEntries {{ label '
        "... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text } "
        "... on TableMetadataEntry { table { records } } } } } } }",
    )
    events = data["assetNodeOrError"]["assetMaterializations"]
    assert len(events) == 1 and events[0]["partition"] == key
    out: dict[str, object] = {}
    for entry in events[0]["metadataEntries"]:
        if "intValue" in entry:
            out[entry["label"]] = entry["intValue"]
        elif "text" in entry:
            out[entry["label"]] = entry["text"]
        elif "table" in entry:
            out[entry["label"]] = [json.loads(r) for r in entry["table"]["records"]]
    return out


@pytest.mark.parametrize(("key", "label", "q"), [("2025-04", "2025-26 Q1", "Q1"), ("2025-07", "2025-26 Q2", "Q2")])
def test_each_partition_describes_its_own_quarter(ui: dict, key: str, label: str, q: str) -> None:
    published = pl.read_parquet(ui["out"] / "organisation_segmentation" / "fy=2025-26" / f"quarter={q}")
    meta = _materialization(ui["port"], "segmentation", key)
    assert meta["quarter"] == label
    assert meta["row_count"] == published.height  # this quarter's rows, not the run's two quarters
    counts = {(r["org_type"], int(r["final_segment"])): int(r["organisations"]) for r in meta["segment_distribution"]}
    expected = published.group_by("org_type", "final_segment").len()
    assert counts == {(t, int(s)): n for t, s, n in expected.iter_rows()}
    cut = meta["cut_points"]
    assert len(cut) == 1
    assert float(cut[0]["cut_1"]) == round(float(published["cutpoint_1_2"][0]), 2)
    preview = meta["preview"]
    names = dict(published.select("org_code", "org_name").iter_rows())
    assert preview and all(row["org_name"] == names[row["org_code"]] for row in preview)
    values = _materialization(ui["port"], "metric_values", key)
    stored = pl.read_parquet(ui["out"] / ".state" / "tables" / "metric_values" / "values" / f"{key}.parquet")
    assert values["quarter"] == label and values["row_count"] == stored.height > 0  # this quarter's values only
    assert set(stored["quarter"]) == {label}


def test_the_publish_shows_where_its_time_went(ui: dict) -> None:
    stages = _materialization(ui["port"], "published_snapshot", "2025-07")["publish_seconds"]
    seconds = {row["stage"]: float(row["seconds"]) for row in stages}
    stages_named = {"tables", "explanation_tables", "write", "acceptance organisation_segmentation"}
    assert stages_named | {"acceptance import"} <= set(seconds)  # the run worker imports GX for the publish
    assert list(seconds.values()) == sorted(seconds.values(), reverse=True)  # longest first


def test_a_check_that_compared_nothing_is_skipped_not_passed(ui: dict) -> None:
    data = graphql(
        ui["port"],
        '{ assetNodeOrError(assetKey: {path: ["segmentation"]}) { ... on AssetNode { assetChecksOrError { '
        "... on AssetChecks { checks { name executionForLatestMaterialization { status } } } } } } }",
    )
    checks = data["assetNodeOrError"]["assetChecksOrError"]["checks"]
    status = {c["name"]: c["executionForLatestMaterialization"]["status"] for c in checks}
    assert status["output_invariants"] == "SUCCEEDED"
    assert status["matches_nhs_england"] == "SKIPPED"  # the sample lands no NHS England results


def test_make_run_leaves_no_asset_never_materialized(ui: dict) -> None:
    data = graphql(
        ui["port"],
        "{ assetNodes { assetKey { path } isPartitioned assetMaterializations(limit: 1) { runId } } }",
    )
    never = ["/".join(n["assetKey"]["path"]) for n in data["assetNodes"] if not n["assetMaterializations"]]
    assert never == []


def test_make_ui_starts_current_commands_without_deprecation_warnings() -> None:
    recipe = subprocess.run(
        ["make", "-n", "ui"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "dagster dev" not in recipe  # superseded: it warns "Use 'dg dev' instead"
    commands = ["dagster-webserver", "dagster-daemon"]
    assert all(c in recipe for c in commands)
    for command, args in (("dagster-webserver", ["--help"]), ("dagster-daemon", ["run", "--help"])):
        proc = subprocess.run(
            [str(Path(sys.executable).with_name(command)), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert not re.search(r"deprecat|supersed", proc.stderr, re.I), proc.stderr
