"""Workload 4: a single-run Dagster backfill against the same work called directly (no Dagster).

Sample landing zones (``npaf_pipeline.sample.generate``, 40 trusts, from 2017-18 Q1) of 8 and 32 quarters. The
Dagster run is ``quarterly_pipeline`` executed in process with the partition-range tags (as ``npaf backfill``
does) in a child process with ``NPAF_FIRST_PARTITION=2017-04`` and an ephemeral instance; the direct path is
the adapters, merge, screening, ``engine.run`` and ``publish_quarters`` in a child process. Times are the run
alone (imports and definitions excluded, reported as start-up); each run starts from empty output folders.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from benchmarks.common import summary
from benchmarks.runner import log, run_child
from npaf_pipeline.quarters import parse_quarter

FIRST = "2017-18 Q1"
FIRST_PARTITION = "2017-04"
SEED = 2025

# quarters -> repeats of each mode
FULL = {8: 2, 32: 1}
QUICK = {2: 1}


def run(workdir: Path, plan: dict[int, int], persistent: bool) -> dict[str, Any]:
    from npaf_pipeline.sample import generate

    rows = []
    for n, repeats in plan.items():
        landing = workdir / f"sample-{n}q"
        if not landing.exists():
            log(f"orchestration: generating {n} sample quarters")
            generate(landing, quarters=n, seed=SEED, first=FIRST, scale=1)
        last = parse_quarter(FIRST).shift(n - 1).label
        row: dict[str, Any] = {"quarters": n, "modes": {}}
        modes = [("direct", {}), ("dagster", {})]
        if persistent and n == min(plan):
            modes.append(("dagster_sqlite", {}))
        for mode, _ in modes:
            samples, details = [], []
            for i in range(repeats if mode != "dagster_sqlite" else 1):
                out = workdir / f"orch-{mode}-{n}q-{i}"
                shutil.rmtree(out, ignore_errors=True)
                env = {"NPAF_FIRST_PARTITION": FIRST_PARTITION}
                if mode == "dagster_sqlite":
                    home = out / "dagster_home"
                    home.mkdir(parents=True)
                    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
                    env["DAGSTER_HOME"] = str(home)
                spec = {
                    "kind": "pipeline",
                    "mode": "direct" if mode == "direct" else "dagster",
                    "landing": str(landing),
                    "output": str(out / "output"),
                    "state": str(out / "state"),
                    "first": FIRST,
                    "last": last,
                }
                measured = run_child(spec, env=env, label=f"{mode} {n}q")
                if not measured["success"]:
                    raise RuntimeError(f"{mode} {n}q: the run failed")
                samples.append(measured["times"][0])
                details.append(measured)
                shutil.rmtree(out, ignore_errors=True)
            row["modes"][mode] = {"time": summary(samples), "runs": details}
            log(f"  {n:>2}q {mode:<15} median {row['modes'][mode]['time']['median']:7.2f} s")
        direct, dagster = row["modes"]["direct"]["time"]["median"], row["modes"]["dagster"]["time"]["median"]
        row["ratio_dagster_direct"] = dagster / direct
        row["overhead_s"] = dagster - direct
        row["overhead_per_quarter_s"] = (dagster - direct) / n
        rows.append(row)
    return {"runs": rows, **_fit(rows)}


def _fit(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Dagster time as fixed + per-quarter cost over the direct path, from the two range lengths."""
    if len(rows) < 2:
        return {}
    a, b = sorted(rows, key=lambda r: r["quarters"])[:2]
    span = b["quarters"] - a["quarters"]
    per_q = {
        m: (b["modes"][m]["time"]["median"] - a["modes"][m]["time"]["median"]) / span for m in ("direct", "dagster")
    }
    fixed = {m: a["modes"][m]["time"]["median"] - per_q[m] * a["quarters"] for m in ("direct", "dagster")}
    return {
        "per_quarter_s": per_q,
        "fixed_s": fixed,
        "overhead_per_quarter_s": per_q["dagster"] - per_q["direct"],
        "overhead_fixed_s": fixed["dagster"] - fixed["direct"],
        "per_quarter_ratio": per_q["dagster"] / per_q["direct"],
    }
