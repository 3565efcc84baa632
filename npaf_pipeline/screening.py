"""Screen merged metric values against the organisation reference and the rule set's value ranges.

Raw extracts list every reporting provider (independent-sector units, walk-in centres, closed trusts), not
only the organisations the framework scores: their rows are set aside as out of scope, with the reason, not
dropped. Values outside a metric's declared valid range, and values, numerators or denominators that are not finite
numbers (NaN, infinity), are quarantined as errors whichever source gave them, and so are two kinds of
value the method has no score for: a value of a metric for an organisation type the rule set does not score
on that metric (it would otherwise vanish when scoring), and a count (unit ``count``) that is negative or not
a whole number (banded counts such as HCAI cases would otherwise fall into some band).
"""

from __future__ import annotations

import polars as pl

from npaf_pipeline.ruleset.model import RuleSet

OUT_OF_SCOPE = "known_organisation"
OUT_OF_RANGE = "valid_range"
NOT_SCORED_FOR_TYPE = "scored_for_org_type"
COUNT_NOT_WHOLE = "whole_count"


def screen_values(values: pl.DataFrame, orgs: pl.DataFrame, rs: RuleSet) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(accepted, set_aside)``; set-aside rows carry the quarantine columns plus ``quarter`` and ``metric_id``."""
    if values.is_empty():
        return values, _records(values.head(0), pl.lit(""), pl.lit(""), pl.lit(""))
    keys = ["quarter", "org_code"] if "quarter" in orgs.columns else ["org_code"]
    org_type = pl.col("org_type") if "org_type" in orgs.columns else pl.lit(None, pl.String)
    known = (
        orgs.select(*keys, org_type.alias("_org_type"))
        .unique(keys, keep="first")
        .with_columns(pl.lit(True).alias("_known"))
    )
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
    frame = frame.with_columns(_type_not_scored(rs).alias("_not_scored"))
    not_scored = ~unknown & pl.col("_not_scored")
    unit = pl.col("unit").str.strip_chars().str.to_lowercase() if "unit" in frame.columns else pl.lit(None, pl.String)
    bad_count = (unit == "count") & ((pl.col("value") < 0) | (pl.col("value") != pl.col("value").round(0)))
    bad_count = ~unknown & ~pl.col("_not_scored") & ~out_of_range & bad_count.fill_null(False)
    flagged = unknown | out_of_range | pl.col("_not_scored") | bad_count
    accepted = frame.filter(~flagged).drop("_known", "_low", "_high", "_not_scored", "_org_type")
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
            _records(
                frame.filter(not_scored & ~out_of_range),
                pl.lit(NOT_SCORED_FOR_TYPE),
                pl.col("_org_type"),
                pl.format(
                    "{} is not scored for organisation type {} by rule set {}",
                    pl.col("metric_id"),
                    pl.col("_org_type"),
                    pl.lit(rs.id),
                ),
                column="org_type",
            ),
            _records(
                frame.filter(bad_count),
                pl.lit(COUNT_NOT_WHOLE),
                pl.col("value").cast(pl.String),
                pl.format(
                    "{} count {} is not a whole number >= 0: no score for it", pl.col("metric_id"), pl.col("value")
                ),
                column="value",
            ),
        ]
    )
    return accepted, set_aside


def _type_not_scored(rs: RuleSet) -> pl.Expr:
    """True where the rule set has the metric but does not score it for the organisation's type.

    Adds nothing for metrics the rule set does not know (those are not this check's business) or for
    organisations whose type is unknown. Reads ``_org_type``, which :func:`screen_values` joins on.
    """
    pairs = [(m.id, t) for m in rs.metrics for t in m.org_types]
    known_metric = pl.col("metric_id").is_in([m.id for m in rs.metrics])
    scored = pl.concat_str("metric_id", pl.lit("|"), "_org_type").is_in([f"{m}|{t}" for m, t in pairs])
    return (known_metric & pl.col("_org_type").is_not_null() & ~scored).fill_null(False)


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
