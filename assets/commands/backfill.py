"""``npaf backfill``: process a range of quarters through Dagster in this process, with progress and a summary.

By default the whole range is one run (the assets' single-run backfill policy), which is the fastest way
through many quarters. ``--per-quarter`` runs each quarter on its own, so one bad quarter cannot stop the
others. With ``DAGSTER_HOME`` set, runs are recorded in that instance and show in the Dagster UI.
"""

import argparse
import os
import sys
import threading
import time
from pathlib import Path

SUCCESS_EVENTS = {"STEP_SUCCESS"}
FAILED_EVENTS = {"STEP_FAILURE"}
SKIPPED_EVENTS = {"STEP_SKIPPED"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backfill",
        help="process a range of quarters through the Dagster pipeline (in this process)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--from", dest="first", required=True, help="first quarter, e.g. 2025-26Q1 or '2025-26 Q1'")
    p.add_argument("--to", dest="last", required=True, help="last quarter, e.g. 2026-27Q2")
    p.add_argument("--landing", type=Path, help="landing zone (default: NPAF_LANDING_DIR or build/sample-landing)")
    p.add_argument("--output", type=Path, help="published outputs (default: NPAF_OUTPUT_DIR or build/output)")
    p.add_argument("--framework", help="rule set id or YAML path (default: NPAF_FRAMEWORK or nof-2025-26)")
    p.add_argument("--per-quarter", action="store_true", help="one run per quarter instead of one run for the range")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from npaf_pipeline.quarters import parse_quarter, quarter_range

    first, last = parse_quarter(args.first), parse_quarter(args.last)
    quarters = quarter_range(first, last)
    env = dict(os.environ)
    for key, value in (("NPAF_LANDING_DIR", args.landing), ("NPAF_OUTPUT_DIR", args.output)):
        if value is not None:
            env[key] = str(value)
    if args.framework:
        env["NPAF_FRAMEWORK"] = args.framework

    import dagster as dg

    from assets.definitions import build_definitions
    from assets.partitions import quarterly
    from assets.settings import settings_from_env

    settings = settings_from_env(env)
    if not settings.landing.is_dir():
        raise FileNotFoundError(f"landing zone {settings.landing} does not exist (set --landing or NPAF_LANDING_DIR)")
    valid = set(quarterly.get_partition_keys())
    keys = [q.partition_key for q in quarters]
    outside = [q.label for q in quarters if q.partition_key not in valid]
    if outside:
        raise ValueError(
            f"quarter(s) {', '.join(outside)} are outside the pipeline's partitions "
            "(from 2025-26 Q1 to the last complete quarter)"
        )
    defs = build_definitions(settings)
    job = defs.resolve_job_def("quarterly_pipeline")
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    n_steps = len(job.graph.node_defs)
    batches = [[k] for k in keys] if args.per_quarter else [keys]
    print(
        f"Backfilling {len(keys)} quarter(s) {quarters[0].label} .. {quarters[-1].label} from {settings.landing} "
        f"into {settings.output} ({'one run per quarter' if args.per_quarter else 'one run'})",
        file=sys.stderr,
    )
    outcomes: dict[str, tuple[bool, list[str]]] = {}
    started = time.perf_counter()
    for batch in batches:
        ok, problems = _run_batch(dg, job, instance, batch, n_steps, quiet=args.quiet)
        for key in batch:
            outcomes[key] = (ok, problems)
    elapsed = time.perf_counter() - started
    _summary(settings.output, quarters, outcomes, elapsed)
    failed = [q.label for q in quarters if not outcomes[q.partition_key][0]]
    if failed:
        print(f"\nnpaf backfill: {len(failed)} quarter(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _run_batch(dg, job, instance, keys: list[str], n_steps: int, quiet: bool) -> tuple[bool, list[str]]:
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
    from dagster._core.utils import make_new_run_id

    run_id = make_new_run_id()
    tags = {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}
    box: dict = {}

    def target() -> None:
        try:
            box["result"] = job.execute_in_process(
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                instance=instance,
                run_id=run_id,
                tags=tags,
                raise_on_error=False,
            )
        except Exception as exc:  # reported below as a failed quarter, in plain words
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    label = keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"
    while thread.is_alive():
        thread.join(0.5)
        if not quiet:
            _progress(instance, run_id, n_steps, label)
    if not quiet:
        _progress(instance, run_id, n_steps, label, final=True)
    if "error" in box:
        return False, [f"{type(box['error']).__name__}: {box['error']}"]
    result = box["result"]
    problems = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            problems.append(f"step {event.step_key} failed: {_first_line(event.message)}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            key = evaluation.asset_key.to_user_string()
            problems.append(f"check {evaluation.check_name} on {key} failed: {evaluation.description or ''}".strip())
    return result.success, problems


def _first_line(message: str | None) -> str:
    return (message or "").strip().splitlines()[0] if message else ""


def _progress(instance, run_id: str, n_steps: int, label: str, final: bool = False) -> None:
    done = failed = 0
    for record in instance.all_logs(run_id):
        kind = record.dagster_event.event_type_value if record.dagster_event else None
        done += kind in SUCCESS_EVENTS or kind in SKIPPED_EVENTS
        failed += kind in FAILED_EVENTS
    width = 30
    filled = int(width * min(done + failed, n_steps) / max(n_steps, 1))
    line = f"  {label} [{'#' * filled}{'.' * (width - filled)}] {done + failed}/{n_steps} steps"
    if failed:
        line += f", {failed} failed"
    end = "\n" if final or not sys.stderr.isatty() else ""
    if sys.stderr.isatty() or final:
        print(f"\r{line}", end=end, file=sys.stderr, flush=True)


def _summary(output: Path, quarters, outcomes: dict[str, tuple[bool, list[str]]], elapsed: float) -> None:
    import polars as pl

    print(
        f"\n{'quarter':<11} {'status':<8} {'orgs':>5} {'seg 1':>6} {'seg 2':>6} {'seg 3':>6} {'seg 4':>6} {'seg 5':>6}"
    )
    shown: set[str] = set()
    for q in quarters:
        ok, problems = outcomes[q.partition_key]
        path = output / "organisation_segmentation" / f"fy={q.fy}" / f"quarter=Q{q.q}" / "part-0.parquet"
        counts = dict.fromkeys(range(1, 6), 0)
        orgs = 0
        if ok and path.exists():
            seg = pl.read_parquet(path, columns=["final_segment"])
            orgs = seg.height
            for value, n in seg.group_by("final_segment").len().iter_rows():
                if value is not None:
                    counts[int(value)] = n
        status = "ok" if ok else "FAILED"
        print(f"{q.label:<11} {status:<8} {orgs:>5} " + " ".join(f"{counts[s]:>6}" for s in range(1, 6)))
        if ok and path.exists():
            _icb_line(pl, output, q, path)
        for problem in problems:
            if problem not in shown:
                shown.add(problem)
                print(f"    {problem}")
    print(f"\n{len(quarters)} quarter(s) in {elapsed:.1f} s; outputs in {output}")


def _icb_line(pl, output: Path, q, segmentation: Path) -> None:
    """For runs that assess ICBs: ICBs segmented, system tests failed, ICBs the system adjustment moved."""
    path = output / "system_considerations" / f"fy={q.fy}" / f"quarter=Q{q.q}" / "part-0.parquet"
    if not path.exists() or pl.read_parquet(path, columns=["failed"]).is_empty():
        return
    failed = int(pl.read_parquet(path, columns=["failed"])["failed"].sum())
    seg = pl.read_parquet(segmentation, columns=["org_type", "unadjusted_segment", "system_adjusted_segment"])
    icbs = seg.filter(pl.col("org_type") == "icb")
    moved = icbs.filter(pl.col("system_adjusted_segment") != pl.col("unadjusted_segment")).height
    print(f"    ICBs {icbs.height}: {failed} system test(s) failed, {moved} ICB(s) moved by the system adjustment")
