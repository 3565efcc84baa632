"""Screen merged metric values against the organisation reference and the rule set's value ranges.

Raw extracts list every reporting provider (independent-sector units, walk-in centres, closed trusts), not
only the organisations the framework scores: their rows are set aside as out of scope, with the reason, not
dropped. Values outside a metric's declared valid range, and values, numerators or denominators that are not finite
numbers (NaN, infinity), are quarantined as errors whichever source gave them.
"""

from __future__ import annotations

import polars as pl

from npaf_pipeline.ruleset.model import RuleSet

OUT_OF_SCOPE = "known_organisation"
OUT_OF_RANGE = "valid_range"


def screen_values(values: pl.DataFrame, orgs: pl.DataFrame, rs: RuleSet) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(accepted, set_aside)``; set-aside rows carry the quarantine columns plus ``quarter`` and ``metric_id``."""
    if values.is_empty():
        return values, _records(values.head(0), pl.lit(""), pl.lit(""), pl.lit(""))
    keys = ["quarter", "org_code"] if "quarter" in orgs.columns else ["org_code"]
    known = orgs.select(*keys).unique().with_columns(pl.lit(True).alias("_known"))
    frame = values.join(known, on=keys, how="left").with_columns(pl.col("_known").fill_null(False))
    bounds = pl.DataFrame(
        {
            "metric_id": [m.id for m in rs.metrics],
            "_low": [m.valid_range[0] if m.valid_range else None for m in rs.metrics],
            "_high": [m.valid_range[1] if m.valid_range else None for m in rs.metrics],
        },
        schema={"metric_id": pl.String, "_low": pl.Float64, "_high": pl.Float64},
    )
    frame = frame.join(bounds, on="metric_id", how="left")
    below = pl.col("_low").is_not_null() & (pl.col("value") < pl.col("_low"))
    above = pl.col("_high").is_not_null() & (pl.col("value") > pl.col("_high"))
    not_finite = ~pl.col("value").is_finite().fill_null(True)
    for part in ("numerator", "denominator"):
        if part in frame.columns:
            not_finite = not_finite | ~pl.col(part).cast(pl.Float64).is_finite().fill_null(True)
    out_of_range = (below | above).fill_null(False) | not_finite
    unknown = ~pl.col("_known")
    accepted = frame.filter(~unknown & ~out_of_range).drop("_known", "_low", "_high")
    range_text = pl.format("[{}, {}]", pl.col("_low").fill_null(float("-inf")), pl.col("_high").fill_null(float("inf")))
    set_aside = pl.concat(
        [
            _records(
                frame.filter(unknown),
                pl.lit(OUT_OF_SCOPE),
                pl.col("org_code"),
                pl.lit("organisation not in the organisation reference (not scored by this framework)"),
                column="org_code",
            ),
            _records(
                frame.filter(~unknown & out_of_range),
                pl.lit(OUT_OF_RANGE),
                pl.col("value").cast(pl.String),
                pl.when(not_finite)
                .then(pl.format("{} value, numerator or denominator is not a finite number", pl.col("metric_id")))
                .otherwise(pl.format("{} value outside the valid range {}", pl.col("metric_id"), range_text)),
                column="value",
            ),
        ]
    )
    return accepted, set_aside


def _records(frame: pl.DataFrame, check: pl.Expr, value: pl.Expr, reason: pl.Expr, column: str = "") -> pl.DataFrame:
    return frame.select(
        pl.col("source") if "source" in frame.columns else pl.lit(None, pl.String).alias("source"),
        pl.col("source_file") if "source_file" in frame.columns else pl.lit(None, pl.String).alias("source_file"),
        pl.col("source_sha256") if "source_sha256" in frame.columns else pl.lit(None, pl.String).alias("source_sha256"),
        pl.col("source_row") if "source_row" in frame.columns else pl.lit(None, pl.Int64).alias("source_row"),
        pl.lit(column or None, pl.String).alias("column"),
        check.cast(pl.String).alias("check"),
        value.cast(pl.String).alias("value"),
        reason.cast(pl.String).alias("reason"),
        pl.col("quarter") if "quarter" in frame.columns else pl.lit(None, pl.String).alias("quarter"),
        pl.col("metric_id") if "metric_id" in frame.columns else pl.lit(None, pl.String).alias("metric_id"),
    )
