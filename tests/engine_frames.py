"""Tiny frame builders for hand-worked engine tests."""

from __future__ import annotations

import polars as pl

Q1 = "2025-26 Q1"


def values(rows: list[tuple], quarter: str = Q1) -> pl.DataFrame:
    """Rows of (org_code, metric_id, value[, unit[, tiebreak_rank]])."""
    full = [(*r, *([None] * (5 - len(r)))) for r in rows]
    return pl.DataFrame(
        [(quarter, *r) for r in full],
        schema={
            "quarter": pl.String,
            "org_code": pl.String,
            "metric_id": pl.String,
            "value": pl.Float64,
            "unit": pl.String,
            "tiebreak_rank": pl.Float64,
        },
        orient="row",
    )


def orgs(mapping: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame({"org_code": list(mapping), "org_type": list(mapping.values())})


def scores_of(frame: pl.DataFrame, metric: str) -> dict[str, float]:
    return {r["org_code"]: r["score"] for r in frame.filter(pl.col("metric_id") == metric).iter_rows(named=True)}
