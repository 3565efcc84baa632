"""Workloads 1 and 2: the engine (with and without likely ranges) and the pandas reference, size by size.

Each (size, implementation) runs in its own process: a warm-up call on the 1 x 1 input, then the timed calls
on the size's input, then the peak resident set. The engine's and the reference's results of the same input
are compared field by field (``equivalence``) in another process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import inputs
from benchmarks.common import summary
from benchmarks.runner import log, run_child


@dataclass(frozen=True)
class Size:
    orgs_factor: int
    quarters: int
    repeats: int  # engine without ranges
    pandas_repeats: int
    ranges_repeats: int  # 0: not measured; estimated from the nearest measured size

    @property
    def key(self) -> str:
        return f"x{self.orgs_factor}_q{self.quarters}"


FULL = [
    Size(1, 1, 5, 5, 5),
    Size(1, 8, 5, 5, 3),
    Size(1, 32, 3, 3, 3),
    Size(10, 1, 5, 5, 3),
    Size(10, 8, 3, 3, 1),
    Size(10, 32, 3, 3, 0),
    Size(100, 1, 3, 3, 1),
    Size(100, 32, 2, 1, 0),
]
QUICK = [Size(1, 1, 1, 1, 1), Size(1, 8, 1, 1, 1), Size(10, 1, 1, 1, 1)]


def prepare(workdir: Path, sizes: list[Size]) -> dict[str, dict[str, Any]]:
    """Write every size's input (Parquet) once; returns folder and dimensions per size."""
    from npaf_pipeline.ruleset import load_ruleset

    rs = load_ruleset("nof-2025-26")
    b = inputs.base(rs)
    out: dict[str, dict[str, Any]] = {}
    for size in sizes:
        data = (
            b
            if (size.orgs_factor, size.quarters) == (1, 1)
            else inputs.scale_up(b, size.orgs_factor, size.quarters, rs)
        )
        folder = data.write(workdir / "engine-inputs" / size.key)
        out[size.key] = {
            "folder": str(folder),
            "organisations": data.orgs.height,
            "org_quarters": data.orgs.height * size.quarters,
            "value_rows": data.values.height,
            "decoded_inputs_mb": data.decoded_mb,
        }
        del data
    return out


def run(workdir: Path, sizes: list[Size]) -> list[dict[str, Any]]:
    log("engine: building inputs")
    prepared = prepare(workdir, sizes)
    warmup = prepared[Size(1, 1, 1, 1, 1).key]["folder"] if Size(1, 1, 1, 1, 1).key in prepared else None
    results = []
    for size in sizes:
        info = prepared[size.key]
        row: dict[str, Any] = {"orgs_factor": size.orgs_factor, "quarters": size.quarters, **info, "impls": {}}
        plan = [("engine", size.repeats), ("pandas", size.pandas_repeats), ("engine_ranges", size.ranges_repeats)]
        for impl, repeats in plan:
            if repeats == 0:
                continue
            save = str(workdir / "engine-out" / size.key / impl) if impl in ("engine", "pandas") else None
            spec = {
                "kind": "engine",
                "impl": impl,
                "inputs": info["folder"],
                "warmup": warmup or info["folder"],
                "repeats": repeats,
                "save": save,
            }
            measured = run_child(spec, label=f"engine {impl} {size.key}")
            measured["time"] = summary(measured["times"])
            measured["run_memory_mb"] = measured["peak_rss_mb"] - measured["rss_start_mb"]
            measured["working_memory_mb"] = measured["peak_rss_mb"] - measured["rss_inputs_mb"]
            row["impls"][impl] = measured
            median, peak = measured["time"]["median"], measured["peak_rss_mb"]
            log(f"  {size.key:<10} {impl:<14} median {median:8.3f} s  peak {peak:7.0f} MiB")
        check = run_child(
            {"kind": "compare", "engine": str(workdir / "engine-out" / size.key / "engine"),
             "reference": str(workdir / "engine-out" / size.key / "pandas")},
            label=f"compare {size.key}",
        )  # fmt: skip
        row["equivalence"] = check
        log(f"  {size.key:<10} pandas reference vs engine: {'identical' if check['identical'] else 'DIFFERENT'}")
        row["ratio_pandas_engine"] = row["impls"]["pandas"]["time"]["median"] / row["impls"]["engine"]["time"]["median"]
        results.append(row)
    _estimate_ranges(results)
    return results


def _estimate_ranges(results: list[dict[str, Any]]) -> None:
    """Likely ranges where not measured: the no-range time plus the measured per-quarter bootstrap cost."""
    for row in results:
        if "engine_ranges" in row["impls"]:
            continue
        same_orgs = [r for r in results if r["orgs_factor"] == row["orgs_factor"] and "engine_ranges" in r["impls"]]
        if not same_orgs:
            continue
        ref = max(same_orgs, key=lambda r: r["quarters"])
        per_quarter = (
            ref["impls"]["engine_ranges"]["time"]["median"] - ref["impls"]["engine"]["time"]["median"]
        ) / ref["quarters"]
        row["impls"]["engine_ranges"] = {
            "estimated": True,
            "time": {"median": row["impls"]["engine"]["time"]["median"] + per_quarter * row["quarters"]},
            "from": f"x{ref['orgs_factor']}_q{ref['quarters']}",
        }
