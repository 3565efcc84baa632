"""``python -m benchmarks [--quick]``: run every workload, write results.json, docs/performance.md and the plots."""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import engine_bench, findings, ingest_bench, landing, machine, orchestration_bench, report, scaling
from benchmarks.common import QUICK, RESULTS
from benchmarks.equivalence import describe
from benchmarks.runner import log, run_child


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="smallest sizes, one run each: a smoke run, written to build/bench-quick/"
    )
    parser.add_argument("--workdir", type=Path, help="keep generated inputs here (default: a temporary folder)")
    parser.add_argument(
        "--only", choices=["engine", "ingest", "orchestration"], action="append", help="run only these workloads"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite docs/performance.md and the plots from results.json"
    )
    args = parser.parse_args(argv)
    if args.report_only:
        results = json.loads(RESULTS.read_text(encoding="utf-8"))
        _conclude(results)
        _save(results, RESULTS)
        log(f"wrote {report.write(results)}")
        return 0
    only = set(args.only or ["engine", "ingest", "orchestration"])
    target = QUICK / "results.json" if args.quick else RESULTS
    started = time.perf_counter()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="npaf-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "machine": machine.describe(),
        "engine": [],
        "ingest": [],
        "orchestration": {},
    }
    try:
        if "engine" in only:
            results["engine"] = engine_bench.run(workdir, engine_bench.QUICK if args.quick else engine_bench.FULL)
            for row in results["engine"]:
                row["equivalence_text"] = describe(row["equivalence"])
        if "ingest" in only:
            results["ingest"] = ingest_bench.run(workdir, ingest_bench.QUICK if args.quick else ingest_bench.FULL)
        if "orchestration" in only:
            plan = orchestration_bench.QUICK if args.quick else orchestration_bench.FULL
            results["orchestration"] = orchestration_bench.run(workdir, plan, persistent=not args.quick)
        _save(results, target)
        results["profiles"] = _profiles(workdir, _conclude(results), args.quick)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    results["total_s"] = time.perf_counter() - started
    _conclude(results)
    _save(results, target)
    if args.quick:
        path = report.write(results, QUICK / "performance.md", QUICK / "performance")
    else:
        path = report.write(results)
    log(f"wrote {target} and {path} in {results['total_s'] / 60:.1f} minutes")
    for t in results["targets"]:
        log(f"  {'met ' if t['met'] else 'MISS'} {t['target']}: {t['result']}")
    return 0


def _conclude(results: dict[str, Any]) -> dict[str, Any]:
    """Scaling fits, targets and findings from the measurements (re-run by ``--report-only``)."""
    results["scaling"] = {
        "engine": scaling.engine_fits(results["engine"]),
        "ingest": scaling.ingest_fits(results["ingest"]),
        "orchestration": scaling.orchestration_fits(results["orchestration"]),
    }
    results["targets"] = findings.targets(results)
    results["findings"] = findings.explain(results)
    results["scaling_notes"] = findings.scaling_notes(results)
    return results


def _save(results: dict[str, Any], target: Path) -> None:
    results.setdefault("total_s", 0.0)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(_portable(results), indent=1, default=str) + "\n", encoding="utf-8")


def _portable(value: Any) -> Any:
    """Results without this machine's paths: no temporary input folders, standard-library files by name only."""
    if isinstance(value, dict):
        return {k: _portable(v) for k, v in value.items() if k != "folder"}
    if isinstance(value, list):
        return [_portable(v) for v in value]
    if isinstance(value, str) and value.startswith("/") and "/lib/python3" in value:
        return "python/" + value.split("/lib/python3", 1)[1].split("/", 1)[-1]
    return value


def _profiles(workdir: Path, results: dict[str, Any], quick: bool) -> dict[str, Any]:
    """cProfile of the engine and of the slowest adapters relative to their floor, for the findings."""
    log("profiles")
    out: dict[str, Any] = {}
    if results["engine"]:
        key = "x10_q1" if quick else "x10_q32"
        folder = workdir / "engine-inputs" / key
        if folder.exists():
            out[f"engine.run without ranges, {key.replace('_', ' ')}"] = run_child(
                {"kind": "profile", "target": "engine", "inputs": str(folder), "label": key.replace("_", " ")},
                label="profile engine",
            )
    one_quarter = [r for r in results["ingest"] if r["quarters"] == 1 and r["source"] != "all"]
    worst = sorted(one_quarter, key=lambda r: -r["ratio_pipeline_floor"])[:2]
    if worst:
        files = landing.build(workdir, 1)
        for r in worst:
            spec = {
                "kind": "profile",
                "target": "ingest",
                "source": r["source"],
                "files": [str(f) for f in files[r["source"]]],
                "quarters": landing.quarters(1),
            }
            out[f"{r['source']} adapter, 1 quarter"] = run_child(spec, label=f"profile {r['source']}")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
