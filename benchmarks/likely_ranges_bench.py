"""Cost of the likely ranges per organisation-quarter: the exact bootstrap against 1,000 seeded replicates.

Self-contained: ``python -m benchmarks.likely_ranges_bench [--factors 1 10 100] [--repeats 1]``. Each size
is a quarter of ``factor`` x 205 trusts (acute, mental health & community and ambulance in the real
proportions, 5 to 21 items each, about two thirds of them held at 2 dp as in the Q1 2025/26 release, the rest
unrounded), segmented at its own quartiles with about 10 % flagged for the financial override. Both methods
run on the same items in the same process, one after the other, after a first untimed call of each (imports
and transform set-up), so the ratio holds whatever else the machine is doing; absolute times are indicative
only, and the ratio of CPU times is the steadier figure on a busy machine. The exact bootstrap's cost grows
linearly in quarters (each quarter is computed on its own), so a quarter's cost times the number of quarters
is the run's.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from npaf_pipeline.engine.bootstrap import likely_ranges
from npaf_pipeline.ruleset import load_ruleset

QUARTER = "2025-26 Q1"
TYPES = {"acute": 134, "mhc": 61, "ambulance": 10}


def workload(factor: int, seed: int = 1) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(items, segmentation) of one synthetic quarter of ``factor`` x 205 trusts."""
    rng = np.random.default_rng(seed)
    rows, codes, types = [], [], []
    for org_type, count in TYPES.items():
        for k in range(count * factor):
            code = f"{org_type[:3].upper()}{k:06d}"  # ACU, MHC, AMB: distinct codes across types
            n = int(rng.integers(5, 22))
            level = rng.uniform(1.6, 3.2)
            scores = np.clip(rng.normal(level, 0.9, n), 1.0, 4.0)
            on_grid = rng.random(n) < 0.66
            scores = np.where(on_grid, np.round(scores, 2), scores)
            rows += [(QUARTER, code, org_type, f"I{i:02d}", "d", float(v)) for i, v in enumerate(scores)]
            codes.append(code)
            types.append(org_type)
    items = pl.DataFrame(rows, schema=["quarter", "org_code", "org_type", "item_id", "domain", "score"], orient="row")
    means = items.group_by("org_code").agg(pl.col("score").mean().round(2).alias("avg"))
    cuts = np.quantile(means["avg"].to_numpy(), [0.25, 0.5, 0.75])
    seg = pl.DataFrame(
        {
            "quarter": [QUARTER] * len(codes),
            "org_code": codes,
            "org_type": types,
            "population": ["trusts"] * len(codes),
            "cut_1": [float(cuts[0])] * len(codes),
            "cut_2": [float(cuts[1])] * len(codes),
            "cut_3": [float(cuts[2])] * len(codes),
            "override_flag": (rng.random(len(codes)) < 0.1).tolist(),
        }
    )
    return items, seg


def measure(factor: int, repeats: int = 1) -> dict[str, float]:
    rs = load_ruleset("nof-2025-26")
    mc = rs.model_copy(
        update={"bootstrap": rs.bootstrap.model_copy(update={"method": "monte_carlo", "replicates": 1000})}
    )
    items, seg = workload(factor)
    out: dict[str, float] = {"orgs": seg.height}
    for rules in (rs, mc):  # first calls (imports, FFT set-up) out of the timings
        likely_ranges(*workload(1, seed=2), rules)
    for name, rules in (("exact", rs), ("monte_carlo_1000", mc)):
        best = float("inf")
        best_cpu = float("inf")
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            likely_ranges(items, seg, rules)
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
        out[name] = best
        out[name + "_cpu"] = best_cpu
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    print(
        "| organisations | exact (s) | ms per org-quarter | 1,000 replicates (s) | ms per org-quarter | ratio "
        "| ratio of CPU times |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for factor in args.factors:
        r = measure(factor, args.repeats)
        n = r["orgs"]
        print(
            f"| {n:,.0f} | {r['exact']:.2f} | {1000 * r['exact'] / n:.3f} | {r['monte_carlo_1000']:.2f} | "
            f"{1000 * r['monte_carlo_1000'] / n:.3f} | {r['exact'] / r['monte_carlo_1000']:.2f} | "
            f"{r['exact_cpu'] / r['monte_carlo_1000_cpu']:.2f} |"
        )


if __name__ == "__main__":
    main()
