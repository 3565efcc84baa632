"""``python -m benchmarks [--quick | --report-only]``: run every workload with pyperf, then write the report.

Each workload runs as ``python -m benchmarks.workloads`` under pyperf, which spawns the worker processes and
writes its JSON (``benchmarks/results/{engine,ingest,backfill}.json``). What pyperf does not measure is kept
beside them in ``benchmarks/results/extra.json``: the inputs' sizes, the pandas reference's equivalence, the
backfills' step times and NOF parses, and the engine's memory profile. ``--quick`` runs the smallest sizes once
each into ``build/bench-quick/`` so that it never replaces the committed figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import plan as plans
from benchmarks.paths import PLOTS, QUICK, REPORT, RESULTS, ROOT


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pyperf(spec: dict[str, Any], out: Path, processes: int, values: int, env: dict[str, str] | None = None) -> None:
    """One benchmark through pyperf's Runner, appended to the suite file ``out``."""
    cmd = [sys.executable, "-m", "benchmarks.workloads", "--spec", json.dumps(spec), "--quiet", "--copy-env"]
    cmd += ["--processes", str(processes), "--values", str(values), "--loops", "1", "--warmups", "0"]
    cmd += ["--append", str(out)]
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, check=True, stdout=subprocess.DEVNULL)
    log(f"  {spec['name']:<42} {time.perf_counter() - started:6.1f} s")


def child_json(module: str, *args: str) -> Any:
    """``python -m <module> <args>`` in its own process (big frames stay out of this one); its JSON output."""
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{module} {' '.join(args)}: exit {done.returncode}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def run_engine(work: Path, out: Path, sizes: list[plans.Size], extra: dict[str, Any]) -> None:
    from benchmarks import inputs
    from npaf_pipeline.ruleset import load_ruleset

    log("engine: building inputs")
    rs = load_ruleset("nof-2025-26")
    base = inputs.base(rs)
    folders: dict[str, Path] = {}
    for size in sizes:
        data = base if (size.orgs, size.quarters) == (1, 1) else inputs.scale_up(base, size.orgs, size.quarters, rs)
        folders[size.key] = data.write(work / "engine-inputs" / size.key)
        extra["engine_inputs"][size.key] = {
            "orgs_factor": size.orgs,
            "quarters": size.quarters,
            "organisations": data.orgs.height,
            "org_quarters": data.orgs.height * size.quarters,
            "value_rows": data.values.height,
            "decoded_inputs_mb": data.decoded_mb,
        }
        del data
    warmup = work / "engine-inputs" / "x1_q1"
    if not warmup.exists():
        base.write(warmup)
    log("engine: measuring")
    for size in sizes:
        for impl, (processes, values) in size.runs.items():
            save = work / "engine-out" / size.key / impl
            spec = {
                "workload": "engine",
                "name": f"{impl} {size.key}",
                "impl": impl,
                "inputs": str(folders[size.key]),
                "warmup": str(warmup),
                "save": str(save),
            }
            pyperf(spec, out, processes, values)
        check = child_json(
            "benchmarks.equivalence",
            str(work / "engine-out" / size.key / "engine"),
            str(work / "engine-out" / size.key / "pandas"),
        )
        extra["equivalence"][size.key] = check
        log(f"  {size.key}: pandas reference {'identical' if check['identical'] else 'DIFFERENT'}")
    key = sizes[-1].key
    log(f"engine: memory profile at {key}")
    # each part in its own process: memory freed by one part is not returned at once, so it would hide the other's
    whole, stages = (child_json("benchmarks.memprofile", str(folders[key]), part) for part in ("run", "stages"))
    extra["memory_profile"] = {**whole, **stages}


def run_ingest(work: Path, out: Path, runs: dict[tuple[int, str], int], extra: dict[str, Any]) -> None:
    from benchmarks import landing

    log("ingest: building file sets")
    sets = {n: landing.build(work, n) for n in sorted({n for n, _ in runs})}
    for (n, source), values in runs.items():
        files = sets[n][source]
        extra["ingest_files"][f"{source} {n}q"] = landing.rows_and_bytes(files)
        for mode in ("pipeline", "floor"):
            spec = {
                "workload": "ingest",
                "name": f"{mode} {source} {n}q",
                "mode": mode,
                "source": source,
                "files": [str(f) for f in files],
                "quarters": landing.quarters(n),
            }
            pyperf(spec, out, 1, values)


def run_backfills(work: Path, out: Path, backfills: list[plans.Backfill], extra: dict[str, Any]) -> None:
    from benchmarks.plan import build_landing

    for b in backfills:
        landing = build_landing(work, b)
        name, sidecar = f"backfill {b.key}", work / f"{b.key}.jsonl"
        spec = {
            "workload": "backfill",
            "name": name,
            "landing": str(landing),
            "first": b.first,
            "last": b.last,
            "workdir": str(work / f"run-{b.key}"),
            "sidecar": str(sidecar),
        }
        pyperf(spec, out, b.values, 1, env=b.env)  # a fresh process per run, as npaf backfill launches it
        records = [json.loads(line) for line in sidecar.read_text().splitlines()]
        extra["backfills"][name] = {"quarters": b.quarters, "nof_files": b.nof_files, "runs": records}
        if b.terminal:
            log(f"backfill: {b.key} as npaf backfill")
            extra["backfills"][name]["terminal_s"] = terminal_backfill(work / f"terminal-{b.key}", landing, b)
            log(f"backfill: {b.key} with every step a no-op")
            floors = [child_json("benchmarks.stack_floor", b.first, b.last) for _ in range(b.values)]
            extra["backfills"][name]["dagster_noop_runs"] = floors


def terminal_backfill(work: Path, landing: Path, b: plans.Backfill) -> float:
    """Wall seconds of ``npaf backfill`` over ``b`` from empty outputs, as ``make run`` runs it: a process of its
    own launching the run through the code location, on a temporary Dagster instance (no ``DAGSTER_HOME``)."""
    shutil.rmtree(work, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env |= {**b.env, "NPAF_LANDING_DIR": str(landing), "NPAF_OUTPUT_DIR": str(work / "out")}
    command = [str(Path(sys.executable).with_name("npaf")), "backfill", "--from", b.first, "--to", b.last, "--quiet"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"npaf backfill {b.key}: exit {done.returncode}\n{(done.stderr or done.stdout)[-3000:]}")
    return seconds


def portable(path: Path) -> None:
    """pyperf's results without this checkout's location (its interpreter path, relative to the project)."""
    if not path.exists():
        return
    suite = json.loads(path.read_text(encoding="utf-8"))
    executable = suite.get("metadata", {}).get("python_executable")
    if executable and Path(executable).is_relative_to(ROOT):
        suite["metadata"]["python_executable"] = Path(executable).relative_to(ROOT).as_posix()
        path.write_text(json.dumps(suite, separators=(",", ":")) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smallest sizes, one run each, into build/bench-quick/")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report and plots from the results")
    parser.add_argument("--only", choices=["engine", "ingest", "backfill"], action="append", help="these workloads")
    parser.add_argument("--out", type=Path, help="results, page and plots here (default: see --quick)")
    args = parser.parse_args(argv)
    from benchmarks import report

    folder = args.out or (QUICK if args.quick else RESULTS)
    page, plots = (REPORT, PLOTS) if folder == RESULTS else (folder / "performance.md", folder / "performance")
    if args.report_only:
        log(f"wrote {report.write(folder, page, plots)}")
        return 0
    plan = plans.QUICK if args.quick else plans.FULL
    only = set(args.only or ["engine", "ingest", "backfill"])
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("engine", "ingest", "backfill"):
        (folder / f"{name}.json").unlink(missing_ok=True)
    extra: dict[str, Any] = {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "libraries": report.library_versions(),
        "engine_inputs": {},
        "equivalence": {},
        "ingest_files": {},
        "backfills": {},
    }
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="npaf-bench-"))
    try:
        if "engine" in only:
            run_engine(work, folder / "engine.json", plan.engine, extra)
        if "ingest" in only:
            run_ingest(work, folder / "ingest.json", plan.ingest, extra)
        if "backfill" in only:
            run_backfills(work, folder / "backfill.json", plan.backfills, extra)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    extra["total_s"] = time.perf_counter() - started
    for name in ("engine", "ingest", "backfill"):
        portable(folder / f"{name}.json")
    (folder / "extra.json").write_text(json.dumps(extra, indent=1) + "\n", encoding="utf-8")
    path = report.write(folder, page, plots)
    log(f"wrote {folder} and {path} in {extra['total_s'] / 60:.1f} minutes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
