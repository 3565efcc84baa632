"""Routine work: a sensor on the landing zone, a quarterly schedule, and the job both start."""

import json

import dagster as dg

from assets.partitions import quarterly
from assets.settings import NpafSettings
from npaf_pipeline.landing import changed_files, quarters_in_files, scan
from npaf_pipeline.quarters import parse_quarter

quarterly_pipeline = dg.define_asset_job(
    "quarterly_pipeline",
    selection=dg.AssetSelection.all(),
    partitions_def=quarterly,
    description=(
        "Ingest, score, segment and publish the selected quarters (one run for a whole range); the landing "
        "ledger (not partitioned) is brought up to date in the same run."
    ),
)

quarterly_schedule = dg.build_schedule_from_partitioned_job(
    quarterly_pipeline,
    name="quarterly_refresh",
    description="At the start of each quarter, (re)process the quarter that just ended.",
)


@dg.sensor(
    job=quarterly_pipeline,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Requests a run for exactly the quarters that new or changed landing files affect.",
)
def landing_sensor(context: dg.SensorEvaluationContext, npaf: NpafSettings):
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    files = scan(npaf.landing) if npaf.landing.exists() else []
    new = changed_files(files, seen)
    if not new:
        return dg.SkipReason(f"no new or changed files among {len(files)} in {npaf.landing}")
    known = [parse_quarter(k).label for k in quarterly.get_partition_keys()]
    quarters, problems = quarters_in_files(new, known)
    for problem in problems:
        context.log.warning(problem)
    valid = {parse_quarter(k).label: k for k in quarterly.get_partition_keys()}
    keys = sorted(valid[q] for q in quarters if q in valid)
    context.update_cursor(json.dumps({str(f.path): f.sha256 for f in files}, sort_keys=True))
    if not keys:
        return dg.SkipReason(f"{len(new)} changed file(s) hold no quarter in the partition range")
    digest = "-".join(sorted(f.sha256[:8] for f in new))
    return [dg.RunRequest(run_key=f"{key}:{digest}", partition_key=key) for key in keys]
