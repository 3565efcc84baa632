"""The workloads, run by pyperf: ``python -m benchmarks.workloads --spec '<json>' -o out.json [pyperf options]``.

pyperf's Runner spawns the worker processes, times the calls, keeps every value and the run metadata
(``mem_max_rss``, ``load_avg_1min``, …) and writes its JSON. What is this project's own is here: each
workload's set-up (outside the clock) and the call that is timed. The spec names the workload:

- ``engine``: ``engine.run`` (``impl`` ``engine``, ``engine_ranges``, or ``engine_ranges_mc1000``: likely ranges by
  the 1,000-replicate bootstrap in place of the exact one, for the side-by-side cost) or the pandas reference
  (``pandas``) on a
  folder of benchmark inputs. The worker warms up on the 1 x 1 input, records its resident set
  (``npaf_rss_start_mb``), then reads the inputs, so that peak RSS minus that figure is the run memory: the
  inputs plus everything the run allocates. ``save`` writes the last result for the equivalence check.
- ``ingest``: one source's adapter (``mode`` ``pipeline``) or the read floor (``floor``) on a set of files.
- ``backfill``: ``quarterly_pipeline`` in process over a landing zone, as ``npaf backfill`` runs it, from
  empty output folders each time; Dagster's step times, the NOF files parsed and the outcome go to ``sidecar``
  (one JSON line a run).
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pyperf


def rss_mb() -> float:
    """Resident set size of this process now (MiB)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _engine(spec: dict[str, Any], meta: dict[str, Any]) -> Any:
    from benchmarks import pandas_reference
    from benchmarks.equivalence import TABLES
    from benchmarks.inputs import read_inputs
    from npaf_pipeline.engine import run
    from npaf_pipeline.ruleset import load_ruleset

    rs = load_ruleset("nof-2025-26")
    impl = spec["impl"]
    if impl == "engine_ranges_mc1000":
        rs = rs.model_copy(
            update={"bootstrap": rs.bootstrap.model_copy(update={"method": "monte_carlo", "replicates": 1000})}
        )

    def load(folder: str) -> tuple[Any, ...]:
        data = read_inputs(Path(folder))
        frames = (data.values, data.orgs, data.flags)
        return tuple(f.to_pandas() for f in frames) if impl == "pandas" else frames

    def call(frames: tuple[Any, ...]) -> Any:
        if impl == "pandas":
            return pandas_reference.run(*frames[:2], rs, frames[2])
        return run(frames[0], frames[1], rs, frames[2], with_ranges=impl.startswith("engine_ranges"))

    call(load(spec["warmup"]))  # first calls start thread pools and fill caches
    gc.collect()
    meta["npaf_rss_start_mb"] = rss_mb()
    frames = load(spec["inputs"])
    gc.collect()
    meta["npaf_rss_inputs_mb"] = rss_mb()

    def timed(loops: int) -> float:
        total = 0.0
        for _ in range(loops):
            result = None
            gc.collect()
            started = time.perf_counter()
            result = call(frames)
            total += time.perf_counter() - started
        save = spec.get("save")
        if save and not Path(save).exists():
            import polars as pl

            folder = Path(save)
            folder.mkdir(parents=True)
            # written as returned: a text copy of the result here would be in this worker's peak memory (the
            # comparison reads the categorical columns back as text)
            for name, *_ in TABLES:
                frame = result[name] if impl == "pandas" else getattr(result, name)
                frame = pl.from_pandas(frame) if impl == "pandas" else frame
                frame.write_parquet(folder / f"{name}.parquet", compression="lz4")
        return total

    return timed


def _ingest(spec: dict[str, Any], meta: dict[str, Any]) -> Any:
    from benchmarks.floor import read_floor
    from npaf_pipeline.sources import registry

    files = [Path(p) for p in spec["files"]]
    reader = registry.reader(spec["source"])

    def work() -> None:
        if spec["mode"] == "pipeline":
            reader(files, spec["quarters"])
        else:
            read_floor(spec["source"], files)

    def timed(loops: int) -> float:
        total = 0.0
        for _ in range(loops):
            gc.collect()
            started = time.perf_counter()
            work()
            total += time.perf_counter() - started
        return total

    return timed


def _backfill(spec: dict[str, Any], meta: dict[str, Any]) -> Any:
    import dagster as dg

    from assets.definitions import build_definitions
    from assets.settings import NpafSettings
    from npaf_pipeline.quarters import parse_quarter
    from npaf_pipeline.sources import nof_csv

    first, last = parse_quarter(spec["first"]), parse_quarter(spec["last"])
    work = Path(spec["workdir"])

    def one() -> float:
        shutil.rmtree(work, ignore_errors=True)
        settings = NpafSettings(landing_dir=spec["landing"], output_dir=str(work / "out"), state_dir=str(work / "s"))
        job = build_definitions(settings).resolve_job_def("quarterly_pipeline")
        instance = dg.DagsterInstance.ephemeral()
        parsed = nof_csv.PARSES["parsed"]
        tags = {RANGE_TAGS[0]: first.partition_key, RANGE_TAGS[1]: last.partition_key}
        started = time.perf_counter()
        result = job.execute_in_process(
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            instance=instance,
            tags=tags,
            raise_on_error=False,
        )
        elapsed = time.perf_counter() - started
        if not result.success:
            raise RuntimeError(f"backfill {spec['name']}: the run failed")
        record = {"time": elapsed, "steps": _step_times(instance, result.run_id)}
        record["publish_seconds"] = _publish_seconds(instance)
        record["nof_parses"] = nof_csv.PARSES["parsed"] - parsed
        with open(spec["sidecar"], "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        return elapsed

    def timed(loops: int) -> float:
        return sum(one() for _ in range(loops))

    return timed


RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
"""The run tags of a single-run backfill over a partition range (as ``npaf backfill`` sets them)."""


def _step_times(instance: Any, run_id: str) -> dict[str, float]:
    """Seconds per step, from the run's STEP_START and STEP_SUCCESS event records."""
    starts: dict[str, float] = {}
    out: dict[str, float] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in starts:
            out[event.step_key] = record.timestamp - starts[event.step_key]
    return out


def _publish_seconds(instance: Any) -> dict[str, float]:
    """The publish's own account of where its time went (``published_snapshot``'s ``publish_seconds`` metadata)."""
    import dagster as dg

    event = instance.get_latest_materialization_event(dg.AssetKey("published_snapshot"))
    table = event.asset_materialization.metadata.get("publish_seconds") if event else None
    return {row.data["stage"]: float(row.data["seconds"]) for row in (table.records if table else [])}


WORKLOADS = {"engine": _engine, "ingest": _ingest, "backfill": _backfill}


def main() -> None:
    runner = pyperf.Runner(
        program_args=("-m", "benchmarks.workloads"),
        add_cmdline_args=lambda cmd, args: cmd.extend(("--spec", args.spec)),
    )
    runner.argparser.add_argument("--spec", required=True, help="the workload, as JSON")
    args = runner.parse_args()
    spec = json.loads(args.spec)
    meta: dict[str, Any] = {}
    timed = WORKLOADS[spec["workload"]](spec, meta) if args.worker else (lambda loops: 0.0)
    runner.bench_time_func(spec["name"], timed, metadata=meta)


if __name__ == "__main__":
    main()
