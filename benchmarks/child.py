"""One measurement in a fresh process: ``python -m benchmarks.child '<json spec>'`` prints one JSON line.

A fresh process per measurement makes peak memory meaningful: ``ru_maxrss`` of this process is the peak
resident set size of the workload (polars' Rust allocations included, which tracemalloc cannot see). The
resident set after imports and warm-up, and again after the inputs are loaded, is reported beside it.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import peak_rss_mb, rss_mb

ROOT_PREFIX = f"{Path(__file__).resolve().parent.parent}/"  # shown relative to the project in profiles


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    kind = spec["kind"]
    handlers = {"engine": _engine, "compare": _compare, "ingest": _ingest, "pipeline": _pipeline, "profile": _profile}
    result = handlers[kind](spec)
    print(json.dumps(result))
    return 0


# --- engine and the pandas reference ----------------------------------------------------------------------


def _engine(spec: dict[str, Any]) -> dict[str, Any]:
    from benchmarks import pandas_reference
    from benchmarks.equivalence import engine_tables
    from benchmarks.inputs import read_inputs
    from npaf_pipeline.engine import run
    from npaf_pipeline.ruleset import load_ruleset

    rs = load_ruleset("nof-2025-26")
    impl = spec["impl"]
    ranges = impl == "engine_ranges"

    def call(values: Any, orgs: Any, flags: Any) -> Any:
        if impl == "pandas":
            return pandas_reference.run(values, orgs, rs, flags)
        return run(values, orgs, rs, flags, with_ranges=ranges)

    def load(folder: str) -> tuple[Any, Any, Any, float]:
        inputs = read_inputs(Path(folder))
        frames = (inputs.values, inputs.orgs, inputs.flags)
        if impl == "pandas":
            frames = tuple(f.to_pandas() for f in frames)
        return (*frames, inputs.decoded_mb)

    call(*load(spec["warmup"])[:3])  # first calls initialise thread pools and caches
    gc.collect()
    rss_start = rss_mb()
    values, orgs, flags, decoded = load(spec["inputs"])
    gc.collect()
    rss_inputs = rss_mb()
    times, result = [], None
    for _ in range(spec["repeats"]):
        result = None
        gc.collect()
        started = time.perf_counter()
        result = call(values, orgs, flags)
        times.append(time.perf_counter() - started)
    peak = peak_rss_mb()
    if spec.get("save") and result is not None:
        import polars as pl

        folder = Path(spec["save"])
        folder.mkdir(parents=True, exist_ok=True)
        tables = engine_tables(result) if impl != "pandas" else {k: pl.from_pandas(result[k]) for k in _TABLES}
        for name, frame in tables.items():
            frame.write_parquet(folder / f"{name}.parquet", compression="lz4")
    return {
        "times": times,
        "rss_start_mb": rss_start,
        "rss_inputs_mb": rss_inputs,
        "peak_rss_mb": peak,
        "decoded_inputs_mb": decoded,
    }


_TABLES = ["metric_scores", "items", "domain_scores", "segmentation"]


def _compare(spec: dict[str, Any]) -> dict[str, Any]:
    import polars as pl

    from benchmarks.equivalence import compare

    def read(folder: str) -> dict[str, pl.DataFrame]:
        return {name: pl.read_parquet(Path(folder) / f"{name}.parquet") for name in _TABLES}

    return compare(read(spec["engine"]), read(spec["reference"]))


# --- ingest: the adapters against the read floor ----------------------------------------------------------


def _ingest(spec: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.floor import read_floor
    from npaf_pipeline.sources import registry

    files = [Path(p) for p in spec["files"]]
    source, quarters = spec["source"], spec["quarters"]
    if spec["mode"] == "pipeline":
        reader = registry.reader(source)

        def work() -> int:
            result = reader(files, quarters)
            return result.values.height + result.quarantine.height
    else:

        def work() -> int:
            return read_floor(source, files)

    rss_start = rss_mb()
    times, rows = [], 0
    for _ in range(spec["repeats"]):
        gc.collect()
        started = time.perf_counter()
        rows = work()
        times.append(time.perf_counter() - started)
    return {"times": times, "rss_start_mb": rss_start, "peak_rss_mb": peak_rss_mb(), "rows": rows}


# --- orchestration: Dagster single-run backfill against the direct path -----------------------------------


def _pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    from npaf_pipeline.quarters import parse_quarter

    first, last = parse_quarter(spec["first"]), parse_quarter(spec["last"])
    labels = [first.shift(i).label for i in range(last.index - first.index + 1)]
    if spec["mode"] == "dagster":
        run_started, stages, ok = _dagster(spec, first, last)
    else:
        run_started, stages, ok = _direct(spec, labels)
    ended = time.perf_counter()
    return {
        "times": [ended - run_started],
        "startup_s": run_started - started,
        "stages": stages,
        "success": ok,
        "peak_rss_mb": peak_rss_mb(),
    }


def _dagster(spec: dict[str, Any], first: Any, last: Any) -> tuple[float, dict[str, float], bool]:
    import dagster as dg
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from assets.definitions import build_definitions
    from assets.settings import NpafSettings

    settings = NpafSettings(landing_dir=spec["landing"], output_dir=spec["output"], state_dir=spec["state"])
    job = build_definitions(settings).resolve_job_def("quarterly_pipeline")
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    run_started = time.perf_counter()
    result = job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        instance=instance,
        tags={ASSET_PARTITION_RANGE_START_TAG: first.partition_key, ASSET_PARTITION_RANGE_END_TAG: last.partition_key},
        raise_on_error=False,
    )
    return run_started, _step_times(instance, result.run_id), bool(result.success)


def _step_times(instance: Any, run_id: str) -> dict[str, float]:
    """Seconds per step, from the run's STEP_START and STEP_SUCCESS/FAILURE event records."""
    starts: dict[str, float] = {}
    out: dict[str, float] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        kind = event.event_type_value
        if kind == "STEP_START":
            starts[event.step_key] = record.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in starts:
            out[event.step_key] = record.timestamp - starts[event.step_key]
    return out


def _direct(spec: dict[str, Any], labels: list[str]) -> tuple[float, dict[str, float], bool]:
    import polars as pl

    from npaf_pipeline import inputs
    from npaf_pipeline.engine import run
    from npaf_pipeline.publish import publish_quarters
    from npaf_pipeline.ruleset import load_ruleset
    from npaf_pipeline.screening import screen_values
    from npaf_pipeline.sources import registry

    landing, rs = Path(spec["landing"]), load_ruleset("nof-2025-26")
    run_started = time.perf_counter()
    stages: dict[str, float] = {}
    mark = time.perf_counter()
    by_source, quarantine, files = {}, [], []
    for source in registry.VALUE_SOURCES:
        found = registry.source_files(landing, source)
        files += found
        if found:
            result = registry.reader(source)(found, labels)
            by_source[source] = result.values
            if result.quarantine.height:
                quarantine.append(result.quarantine)
    stages["adapters"], mark = time.perf_counter() - mark, time.perf_counter()
    orgs, _, _ = inputs.organisation_inputs(landing, labels, rs)
    flags, _, _ = inputs.flag_inputs(landing, labels)
    merged, _ = registry.merge_values(by_source)
    values, set_aside = screen_values(merged, orgs, rs)
    stages["merge"], mark = time.perf_counter() - mark, time.perf_counter()
    result = run(values, orgs, rs, flags if flags.height else None)
    stages["engine"], mark = time.perf_counter() - mark, time.perf_counter()
    rejected = pl.concat([*quarantine, set_aside], how="diagonal_relaxed") if quarantine or set_aside.height else None
    publish_quarters(result, orgs, values, rs, Path(spec["output"]), quarantine=rejected, inputs=files)
    stages["publish"] = time.perf_counter() - mark
    return run_started, stages, True


# --- profiles of missed targets ---------------------------------------------------------------------------


def _profile(spec: dict[str, Any]) -> dict[str, Any]:
    """cProfile of one call: the engine on an input folder, or one source's adapter on its files."""
    import cProfile
    import pstats

    extra: dict[str, Any] = {}
    if spec["target"] == "engine":
        from benchmarks.inputs import read_inputs
        from npaf_pipeline.engine.pipeline import aggregate_stage, score_stage, segment_stage
        from npaf_pipeline.ruleset import load_ruleset

        rs = load_ruleset("nof-2025-26")
        data = read_inputs(Path(spec["inputs"]))
        stages: dict[str, float] = {}
        kept: dict[str, Any] = {}

        def work() -> None:
            mark = time.perf_counter()
            scored = score_stage(data.values, data.orgs, rs)
            stages["score_stage"], mark = time.perf_counter() - mark, time.perf_counter()
            agg = aggregate_stage(scored.metric_scores, rs)
            stages["aggregate_stage"], mark = time.perf_counter() - mark, time.perf_counter()
            seg = segment_stage(agg, data.values, rs, data.flags, with_ranges=False)
            stages["segment_stage"] = time.perf_counter() - mark
            kept.update(scored=scored, agg=agg, seg=seg)

        def after() -> None:
            scored, agg, seg = kept["scored"], kept["agg"], kept["seg"]
            frames = {
                "metric_scores": scored.metric_scores,
                "metric_ranks": scored.metric_ranks,
                "type_statistics": scored.type_statistics,
                "items": agg.items,
                "org_scores": agg.org_scores,
                "domain_scores": seg.domain_scores,
                "segmentation": seg.segmentation,
                "cutpoints": seg.cutpoints,
            }
            extra["tables_mb"] = {k: f.estimated_size() / 2**20 for k, f in frames.items()}
            extra["tables_mb"]["inputs"] = data.decoded_mb
            kept.clear()
            extra["primitives"] = _primitives(data.values)
    else:
        from npaf_pipeline.sources import registry

        reader, files, stages = registry.reader(spec["source"]), [Path(p) for p in spec["files"]], {}

        def work() -> None:
            reader(files, spec["quarters"])

        def after() -> None:
            return None

        work()  # warm-up: first-call imports and schema set-up are not what the profile is for

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    work()
    profiler.disable()
    total = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, name), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        if cumtime >= 0.02 * total or tottime >= 0.02 * total:
            where = filename.split("site-packages/")[-1].removeprefix(f"{ROOT_PREFIX}")
            rows.append(
                {"function": f"{where}:{line}({name})", "ncalls": ncalls, "tottime": tottime, "cumtime": cumtime}
            )
    rows.sort(key=lambda r: -r["cumtime"])
    after()
    return {"total_s": total, "stages": stages, "functions": rows[:40], "size": spec.get("label", ""), **extra}


def _primitives(values: Any) -> dict[str, dict[str, float]]:
    """The engine's two commonest operations on its own input, in polars and in pandas (best of three)."""
    import polars as pl

    frame = values.to_pandas()
    keys = ["quarter", "metric_id", "org_code"]

    def best(fn: Any) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return min(times)

    shuffled = values.sample(fraction=1.0, shuffle=True, seed=1)
    shuffled_pd = shuffled.to_pandas()
    return {
        "competition rank of value within (quarter, metric)": {
            "polars": best(lambda: values.select(pl.col("value").rank("min").over("quarter", "metric_id"))),
            "pandas": best(lambda: frame.groupby(["quarter", "metric_id"])["value"].rank(method="min")),
        },
        "sort by (quarter, metric_id, org_code), unsorted input": {
            "polars": best(lambda: shuffled.sort(keys)),
            "pandas": best(lambda: shuffled_pd.sort_values(keys)),
        },
        "mean by (quarter, org_code)": {
            "polars": best(lambda: values.group_by("quarter", "org_code").agg(pl.col("value").mean())),
            "pandas": best(lambda: frame.groupby(["quarter", "org_code"])["value"].mean()),
        },
    }


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
