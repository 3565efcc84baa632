"""Monthly provider cancer sums from CWT-CRS extracts, for the every-month ICB tests.

The CWT adapter (``npaf_pipeline.sources.cwt_crs``) publishes quarterly values only. This helper reads the same
extracts with the adapter's own reader (``cwt_crs.read_extract``: same header matching, validation and
quarantine; ``cwt_crs.check_no_overlap``: no month in two extracts) and sums each provider's rows per month with
the adapter's row selection (``cwt_crs.METRICS``): OF0011 is the 62-day rows broken down by cancer type
(TREATMENT MODALITY 'ALL MODALITIES'), OF0010 the 28-day FDS rows.

A provider with a quarantined row in a month gets a row with no numerator or denominator for that month, so the
ICB sum for that month is marked incomplete rather than silently low.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from npaf_pipeline.sources import cwt_crs

MONTHLY_COLUMNS = ["month", "org_code", "metric_id", "numerator", "denominator", "source_file"]


def cwt_monthly(paths: Sequence[str | Path], metrics: Sequence[str] = ("OF0010", "OF0011")) -> pl.DataFrame:
    """month (YYYY-MM), org_code, metric_id, numerator (Σ within standard), denominator (Σ total treated)."""
    extracts = [cwt_crs.read_extract(p) for p in paths]
    if not extracts:
        return pl.DataFrame(
            schema=dict.fromkeys(MONTHLY_COLUMNS, pl.String) | {"numerator": pl.Float64, "denominator": pl.Float64}
        )
    cwt_crs.check_no_overlap(extracts)
    month = pl.col("period").dt.strftime("%Y-%m").alias("month")
    rows = pl.concat(e.accepted.with_columns(month, pl.lit(str(e.path)).alias("source_file")) for e in extracts)
    withheld = _withheld(extracts, rows)
    parts = []
    for metric in metrics:
        selector = cwt_crs.METRICS[metric]
        chosen = rows.filter(
            *[pl.col(c).str.to_lowercase() == v.lower() for c, v in selector.items()],
            pl.col("total_treated").is_not_null() & pl.col("within_standard").is_not_null(),
        )
        sums = chosen.group_by("month", "org_code").agg(
            pl.col("within_standard").sum().alias("numerator"),
            pl.col("total_treated").sum().alias("denominator"),
            pl.col("source_file").first(),
        )
        kept = sums.join(withheld, on=["month", "org_code"], how="anti")
        blanks = withheld.join(sums.select("month", "org_code", "source_file"), on=["month", "org_code"], how="left")
        blanks = blanks.with_columns(
            pl.lit(None, pl.Float64).alias("numerator"), pl.lit(None, pl.Float64).alias("denominator")
        )
        parts += [
            kept.with_columns(pl.lit(metric).alias("metric_id")),
            blanks.with_columns(pl.lit(metric).alias("metric_id")),
        ]
    out = pl.concat([p.select(MONTHLY_COLUMNS) for p in parts], how="vertical_relaxed")
    return out.sort("metric_id", "month", "org_code")


def _withheld(extracts: list[cwt_crs.Extract], rows: pl.DataFrame) -> pl.DataFrame:
    """(month, org_code) of quarantined rows; a row whose period cannot be read withholds every month."""
    bad = pl.concat([e.withheld for e in extracts]).drop_nulls("org_code")
    dated = bad.filter(pl.col("period").is_not_null()).select(
        pl.col("period").dt.strftime("%Y-%m").alias("month"), "org_code"
    )
    months = rows.select("month").unique()
    undated = bad.filter(pl.col("period").is_null()).select("org_code").join(months, how="cross")
    return pl.concat([dated, undated.select("month", "org_code")]).unique()
