"""What Dagster costs a backfill with no work in it: ``quarterly_pipeline``'s asset graph with every step a no-op.

``python -m benchmarks.stack_floor FIRST LAST`` prints JSON: the seconds of one in-process run over the quarters
FIRST..LAST of a copy of the code location's assets (the same keys, dependencies, partitions, backfill policy and
checks) whose steps only report their materializations and passing checks. Run in a fresh process after the
pipeline's imports, as the benchmark's backfills are, it is the part of ``make run``'s time that belongs to
Dagster (planning the run, its events, step start-up) rather than to the pipeline: one of the three costs,
with importing Great Expectations and building its Data Docs, that target 1's six seconds must hold.
"""

import json
import sys
import time
from collections.abc import Iterator
from typing import Any

import dagster as dg

from assets.automation import quarterly_pipeline
from assets.definitions import ASSETS
from npaf_pipeline.quarters import parse_quarter

RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def _noop(assets_def: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """``assets_def``'s assets and checks, computed by a step that does nothing but report them."""
    specs, checks = list(assets_def.specs), list(assets_def.check_specs)

    @dg.multi_asset(
        name=f"noop_{assets_def.node_def.name}",
        specs=specs,
        check_specs=checks,
        backfill_policy=assets_def.backfill_policy,
        can_subset=assets_def.can_subset,
    )
    def _step(context: dg.AssetExecutionContext) -> Iterator[Any]:
        for spec in specs:
            if spec.key in context.selected_asset_keys:
                yield dg.MaterializeResult(asset_key=spec.key)
        for check in checks:
            if check.key in context.selected_asset_check_keys:
                yield dg.AssetCheckResult(asset_key=check.asset_key, check_name=check.name, passed=True)

    return _step


def noop_job() -> dg.JobDefinition:
    """``quarterly_pipeline`` over no-op copies of every asset of the code location."""
    job = dg.define_asset_job(
        quarterly_pipeline.name, selection=dg.AssetSelection.all(), partitions_def=quarterly_pipeline.partitions_def
    )
    return dg.Definitions(assets=[_noop(a) for a in ASSETS], jobs=[job]).resolve_job_def(quarterly_pipeline.name)


def main(first: str, last: str) -> dict[str, Any]:
    job = noop_job()
    tags = {RANGE_TAGS[0]: parse_quarter(first).partition_key, RANGE_TAGS[1]: parse_quarter(last).partition_key}
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    result = job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}}, instance=instance, tags=tags
    )
    seconds = time.perf_counter() - started
    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    checks = [e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    return {"seconds": seconds, "steps": len(steps), "check_evaluations": len(checks), "success": result.success}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
