"""Reconciliation rows for NHS England's league-table files: the league fields and both likely ranges.

Published rows come from the league-table reader; computed rows from the engine. End to end, the likely
ranges are the engine's own (items from the published metric values). Stage by stage they are computed
from the published item scores (OF1xxx), segmented at the cut-points that the published unadjusted
segments (OF5003) imply and capped by the published override (OF5004), so the comparison isolates the
bootstrap; because the cut-points come from the published segments, a release holding one trust type
reconciles on its own.
"""

from __future__ import annotations

import polars as pl

from npaf_pipeline.engine.bootstrap import likely_ranges
from npaf_pipeline.ruleset.model import RuleSet

LIKELY = {
    "likely_average_low": "average_low",
    "likely_average_high": "average_high",
    "likely_rank_low": "rank_low",
    "likely_rank_high": "rank_high",
}
"""Reconciliation metric id -> the engine's (and the reader's) column."""
LEAGUE = {
    "league_average_score": "average_score",
    "league_segment": "segment",
    "league_financial_deficit": "financial_deficit",
    "league_rank": "rank",
}
"""The league table's own fields, as reconciliation metric ids -> the reader's column."""
BOOTSTRAP_NOISE = {"likely_average": 0.02, "likely_rank": 2}
"""Differences within these of a published bound are what NHS England's finite replicates leave (see docs)."""


def published_rows(league: pl.DataFrame) -> pl.DataFrame:
    """quarter, org_code, org_type (label), metric_id, published_value, published_rank: one row per field."""
    parts = []
    for metric_id, column in {**LEAGUE, **LIKELY}.items():
        parts.append(
            league.select(
                "quarter",
                "org_code",
                pl.lit(metric_id).alias("metric_id"),
                pl.col(column).cast(pl.Float64).alias("published_value"),
                (pl.col(column) if metric_id == "league_rank" else pl.lit(None)).cast(pl.Int64).alias("published_rank"),
                pl.col("trust_type").alias("org_type"),
            )
        )
    return pl.concat(parts)


def computed_rows(computed: pl.DataFrame, ranges: pl.DataFrame, flags: pl.DataFrame) -> pl.DataFrame:
    """The league fields from a mode's own OF5002/OF5000 rows, the override flag, and likely ranges."""
    keys = ["quarter", "org_code"]
    of = {m: computed.filter(pl.col("metric_id") == m).select(*keys, "computed_value", "computed_rank")
          for m in ("OF5002", "OF5000")}  # fmt: skip
    parts = [
        of["OF5002"].select(*keys, pl.lit("league_average_score").alias("metric_id"), "computed_value",
                            pl.lit(None, pl.Int64).alias("computed_rank")),
        of["OF5000"].select(*keys, pl.lit("league_segment").alias("metric_id"), "computed_value",
                            pl.lit(None, pl.Int64).alias("computed_rank")),
        of["OF5000"].select(*keys, pl.lit("league_rank").alias("metric_id"),
                            pl.col("computed_rank").cast(pl.Float64).alias("computed_value"), "computed_rank"),
        flags.select(*keys, pl.lit("league_financial_deficit").alias("metric_id"),
                     pl.col("financial_override").cast(pl.Float64).alias("computed_value"),
                     pl.lit(None, pl.Int64).alias("computed_rank")),
    ]  # fmt: skip
    for metric_id, column in LIKELY.items():
        parts.append(
            ranges.select(
                *keys,
                pl.lit(metric_id).alias("metric_id"),
                pl.col(column).cast(pl.Float64).alias("computed_value"),
                pl.lit(None, pl.Int64).alias("computed_rank"),
            )
        )
    return pl.concat([p.with_columns(pl.col("computed_rank").cast(pl.Int64)) for p in parts], how="vertical_relaxed")


def implied_cutpoints(published: pl.DataFrame, orgs: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """quarter, population, cut_1..cut_3 that reproduce the published unadjusted segments.

    With the ``<=`` boundary a trust is in segment <= k exactly when its average is at most cut k, so cut k
    is the highest published average in segments 1..k (or just below the lowest average above it when no
    trust is in segments 1..k). Taken over the trusts of each segmentation population present.
    """
    pop_of = {t: p.id for p in rs.segmentation for t in p.org_types}
    wide = (
        published.filter(pl.col("metric_id").is_in(["OF5002", "OF5003"]))
        .pivot(on="metric_id", index=["quarter", "org_code"], values="published_value", aggregate_function="first")
        .join(orgs.select("quarter", "org_code", "org_type"), on=["quarter", "org_code"], how="inner")
        .with_columns(pl.col("org_type").replace_strict(pop_of, default=None).alias("population"))
        .drop_nulls(["population", "OF5002", "OF5003"])
    )
    cuts = []
    for k in (1, 2, 3):
        low = pl.col("OF5002").filter(pl.col("OF5003") <= k).max()
        high = pl.col("OF5002").filter(pl.col("OF5003") > k).min()
        cuts.append(pl.coalesce(low, high - 0.005).alias(f"cut_{k}"))
    return wide.group_by("quarter", "population").agg(*cuts)


def stage_ranges(
    items: pl.DataFrame, published: pl.DataFrame, orgs: pl.DataFrame, flags: pl.DataFrame, rs: RuleSet
) -> pl.DataFrame:
    """Likely ranges from published item scores, implied cut-points and the published override flag."""
    cuts = implied_cutpoints(published, orgs, rs)
    pop_of = {t: p.id for p in rs.segmentation for t in p.org_types}
    seg = (
        orgs.select("quarter", "org_code", "org_type")
        .with_columns(pl.col("org_type").replace_strict(pop_of, default=None).alias("population"))
        .join(cuts, on=["quarter", "population"], how="left")
        .join(
            flags.select("quarter", "org_code", pl.col("financial_override").alias("override_flag")),
            on=["quarter", "org_code"],
            how="left",
        )
        .with_columns(pl.col("override_flag").fill_null(False))
    )
    return likely_ranges(items, seg, rs)


def noise_condition(metric_id: str, difference: float | None) -> bool:
    """Whether a likely-range difference is within what finite replicates leave."""
    for prefix, limit in BOOTSTRAP_NOISE.items():
        if metric_id.startswith(prefix):
            return difference is not None and difference <= limit + 1e-9
    return False
