"""Workload 3: each source's adapter (parse, validate with pandera, compute values) against the read floor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import landing
from benchmarks.common import summary
from benchmarks.runner import log, run_child

# (quarters, source) -> (pipeline repeats, floor repeats)
FULL = {
    **{(1, s): (5, 5) for s in landing.SOURCES if s != "rtt_full"},
    (1, "rtt_full"): (3, 3),
    **{(12, s): (3, 3) for s in landing.SOURCES if s != "rtt_full"},
    (12, "rtt_full"): (1, 2),
}
QUICK = {(1, s): (1, 1) for s in landing.SOURCES}


def run(workdir: Path, plan: dict[tuple[int, str], tuple[int, int]]) -> list[dict[str, Any]]:
    log("ingest: building file sets")
    sets = {n: landing.build(workdir, n) for n in sorted({n for n, _ in plan})}
    rows = []
    for (n, source), (repeats, floor_repeats) in plan.items():
        files = sets[n][source]
        quarters = landing.quarters(n)
        row: dict[str, Any] = {"quarters": n, "source": source, **landing.rows_and_bytes(files)}
        for mode, reps in (("pipeline", repeats), ("floor", floor_repeats)):
            spec = {"kind": "ingest", "mode": mode, "source": source, "files": [str(f) for f in files],
                    "quarters": quarters, "repeats": reps}  # fmt: skip
            measured = run_child(spec, label=f"ingest {mode} {source} {n}q")
            measured["time"] = summary(measured["times"])
            row[mode] = measured
        row["ratio_pipeline_floor"] = row["pipeline"]["time"]["median"] / row["floor"]["time"]["median"]
        log(
            f"  {n:>2}q {source:<18} pipeline {row['pipeline']['time']['median']:7.3f} s  "
            f"floor {row['floor']['time']['median']:7.3f} s  x{row['ratio_pipeline_floor']:.1f}"
        )
        rows.append(row)
    for n in sorted(sets):
        total = [r for r in rows if r["quarters"] == n]
        pipeline = sum(r["pipeline"]["time"]["median"] for r in total)
        floor = sum(r["floor"]["time"]["median"] for r in total)
        rows.append(
            {
                "quarters": n,
                "source": "all",
                "files": sum(r["files"] for r in total),
                "bytes": sum(r["bytes"] for r in total),
                "pipeline": {"time": {"median": pipeline}},
                "floor": {"time": {"median": floor}},
                "ratio_pipeline_floor": pipeline / floor,
            }
        )
    return rows
