"""Does the pandas reference give the engine's results? Field by field, every difference counted and shown."""

from __future__ import annotations

from typing import Any

import pandas as pd
import polars as pl

TOLERANCE = 1e-9

# (table, keys, float fields compared within TOLERANCE, fields compared exactly)
TABLES: list[tuple[str, list[str], list[str], list[str]]] = [
    ("metric_scores", ["quarter", "org_code", "metric_id"], ["score"], ["rank"]),
    ("items", ["quarter", "org_code", "item_id"], ["score"], []),
    ("domain_scores", ["quarter", "org_code", "domain"], ["score_raw", "score"], []),
    (
        "segmentation",
        ["quarter", "org_code"],
        ["average_score_raw", "average_score", "cut_1", "cut_2", "cut_3"],
        ["unadjusted_segment", "adjusted_segment", "final_segment", "amr_rank"],
    ),
]


def engine_tables(result: Any) -> dict[str, pl.DataFrame]:
    """The engine's tables that the reference also produces, with text columns as text (as the reference's)."""
    text = result.as_text()
    return {name: getattr(text, name) for name, *_ in TABLES}


def reference_tables(result: dict[str, pd.DataFrame]) -> dict[str, pl.DataFrame]:
    return {name: pl.from_pandas(result[name]) for name, *_ in TABLES}


def compare(engine: dict[str, pl.DataFrame], reference: dict[str, pl.DataFrame]) -> dict[str, Any]:
    """Per table: rows on each side, rows on one side only, and per field the differing rows with examples."""
    report: dict[str, Any] = {"identical": True, "tables": {}}
    for name, keys, floats, exact in TABLES:
        fields = floats + exact
        e = engine[name].select(*keys, *[pl.col(f).cast(pl.Float64) for f in fields])
        r = reference[name].select(*keys, *[pl.col(f).cast(pl.Float64) for f in fields])
        missing_ref = e.join(r, on=keys, how="anti").height
        missing_engine = r.join(e, on=keys, how="anti").height
        table: dict[str, Any] = {
            "rows_engine": e.height,
            "rows_reference": r.height,
            "only_in_engine": missing_ref,
            "only_in_reference": missing_engine,
            "fields": {},
        }
        both = e.join(r, on=keys, how="inner", suffix="_ref")
        for f in fields:
            a, b = pl.col(f), pl.col(f"{f}_ref")
            null_mismatch = a.is_null() != b.is_null()
            value_mismatch = (a - b).abs() > TOLERANCE if f in floats else a != b
            bad = both.filter(null_mismatch | value_mismatch.fill_null(False))
            diff = both.select((a - b).abs().max()).item()
            table["fields"][f] = {
                "differing_rows": bad.height,
                "max_abs_difference": float(diff) if diff is not None else 0.0,
                "examples": bad.select(*keys, f, f"{f}_ref").head(5).rows(),
            }
            if bad.height:
                report["identical"] = False
        if missing_ref or missing_engine:
            report["identical"] = False
        report["tables"][name] = table
    return report


def describe(report: dict[str, Any]) -> str:
    """One line: identical, or which fields differ in how many rows."""
    if report["identical"]:
        return "identical"
    parts = []
    for name, table in report["tables"].items():
        if table["only_in_engine"] or table["only_in_reference"]:
            parts.append(
                f"{name}: {table['only_in_engine']} rows only in engine, {table['only_in_reference']} only in reference"
            )
        for f, info in table["fields"].items():
            if info["differing_rows"]:
                parts.append(f"{name}.{f}: {info['differing_rows']} rows differ (e.g. {info['examples'][:2]})")
    return "; ".join(parts)


def main(argv: list[str]) -> int:
    """``python -m benchmarks.equivalence <engine folder> <reference folder>``: the comparison as JSON."""
    import json
    import sys
    from pathlib import Path

    def read(folder: str) -> dict[str, pl.DataFrame]:
        """Each table, its categorical columns (the engine's, as ``run`` returns them) as text."""
        frames = {name: pl.read_parquet(Path(folder) / f"{name}.parquet") for name, *_ in TABLES}
        return {name: f.with_columns(pl.col(pl.Categorical).cast(pl.String)) for name, f in frames.items()}

    report = compare(read(argv[0]), read(argv[1]))
    report["text"] = describe(report)
    json.dump(report, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
