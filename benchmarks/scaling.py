"""Workload 5: how time and memory grow with quarters and with organisations (least-squares slope in log-log)."""

from __future__ import annotations

import math
from typing import Any


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log(y) on log(x): 1 is linear, 2 quadratic; None with fewer than two points."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2 or len({p[0] for p in pts}) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


def engine_fits(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Slopes of time and run memory for each implementation, along quarters (fixed orgs) and orgs (fixed quarters)."""
    fits = []
    for impl in ("engine", "engine_ranges", "pandas"):
        for axis, fixed_key, vary_key in (
            ("quarters", "orgs_factor", "quarters"),
            ("organisations", "quarters", "orgs_factor"),
        ):
            for fixed in sorted({r[fixed_key] for r in rows}):
                pts = [
                    r
                    for r in rows
                    if r[fixed_key] == fixed and impl in r["impls"] and not r["impls"][impl].get("estimated")
                ]
                pts.sort(key=lambda r: r[vary_key])
                if len(pts) < 2:
                    continue
                xs = [float(r[vary_key]) for r in pts]
                times = [r["impls"][impl]["time"]["median"] for r in pts]
                mem = [max(r["impls"][impl]["run_memory_mb"], 1.0) for r in pts]
                fits.append(
                    {
                        "impl": impl,
                        "axis": axis,
                        "fixed": f"{fixed_key}={fixed}",
                        "points": [r[vary_key] for r in pts],
                        "time_slope": slope(xs, times),
                        "memory_slope": slope(xs, mem),
                        "time_slope_last_step": slope(xs[-2:], times[-2:]),
                    }
                )
    return fits


def ingest_fits(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    fits = []
    for source in sorted({r["source"] for r in rows}):
        pts = sorted((r for r in rows if r["source"] == source), key=lambda r: r["quarters"])
        if len(pts) < 2:
            continue
        xs = [float(r["quarters"]) for r in pts]
        fits.append(
            {
                "source": source,
                "points": [r["quarters"] for r in pts],
                "bytes_slope": slope(xs, [float(r["bytes"]) for r in pts]),
                "pipeline_slope": slope(xs, [r["pipeline"]["time"]["median"] for r in pts]),
                "floor_slope": slope(xs, [r["floor"]["time"]["median"] for r in pts]),
            }
        )
    return fits


def orchestration_fits(result: dict[str, Any]) -> list[dict[str, Any]]:
    runs = sorted(result.get("runs", []), key=lambda r: r["quarters"])
    if len(runs) < 2:
        return []
    xs = [float(r["quarters"]) for r in runs]
    return [
        {
            "mode": mode,
            "points": [r["quarters"] for r in runs],
            "time_slope": slope(xs, [r["modes"][mode]["time"]["median"] for r in runs]),
        }
        for mode in ("direct", "dagster")
    ]
