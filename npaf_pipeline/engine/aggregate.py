"""Step 2: metric scores -> scored items -> average metric score and domain scores.

Averages are unweighted means of *items*: a metric score is an item unless the rule set puts it in a
composite item (the HCAI mean) or marks it as an input only (finance plan and variance feed OF0080).
"""

from __future__ import annotations

import polars as pl

from npaf_pipeline.engine.numeric import exact_mean, exact_sum, round_expr
from npaf_pipeline.ruleset.model import RuleSet

ITEM_COLUMNS = ["quarter", "org_code", "org_type", "item_id", "domain", "score"]


def build_items(scores: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """One row per (quarter, organisation, item) with the score that enters the averages (in no set order)."""
    meta = pl.DataFrame(
        {
            "metric_id": [m.id for m in rs.metrics],
            "_role": [m.role for m in rs.metrics],
            "_item": [m.item or m.id for m in rs.metrics],
            "domain": [m.domain for m in rs.metrics],
            "_precision": [m.average_precision for m in rs.metrics],
        },
        schema_overrides={"_precision": pl.Int64},
    )
    scored = scores.select("quarter", "org_code", "org_type", "metric_id", "score").join(
        meta, on="metric_id", how="inner"
    )
    scored = scored.filter((pl.col("_role") == "scored") & pl.col("score").is_not_null())
    # metric-level precision before entering averages (published practice differs by metric)
    rounded = pl.lit(None, pl.Float64)
    for p in sorted({m.average_precision for m in rs.metrics if m.average_precision is not None}):
        rounded = (
            pl.when(pl.col("_precision") == p)
            .then(round_expr(pl.col("score"), p, rs.aggregation.rounding))
            .otherwise(rounded)
        )
    scored = scored.with_columns(pl.coalesce(rounded, pl.col("score")).alias("score"))
    # most items are a single metric: only composite items (several metrics) need grouping
    composite = [item for item, n in _item_sizes(rs).items() if n > 1]
    single = scored.filter(~pl.col("_item").is_in(composite)).select(
        "quarter", "org_code", "org_type", pl.col("_item").alias("item_id"), "domain", "score"
    )
    if not composite:
        return single
    grouped = (
        scored.filter(pl.col("_item").is_in(composite))
        .group_by("quarter", "org_code", "org_type", "_item", "domain")
        .agg(exact_mean(pl.col("score")).alias("score"))
        .rename({"_item": "item_id"})
        .select(ITEM_COLUMNS)
    )
    return pl.concat([single, grouped], how="vertical_relaxed")


def _item_sizes(rs: RuleSet) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for m in rs.metrics:
        if m.role == "scored":
            sizes[m.item or m.id] = sizes.get(m.item or m.id, 0) + 1
    return sizes


def aggregate(items: pl.DataFrame, rs: RuleSet) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Average metric score per organisation and domain scores, rounded as the rule set says.

    ``org_scores`` is sorted by quarter and organisation; ``domain_scores`` (several times longer) is not.

    Returns ``(org_scores, domain_scores)``. ``average_score_raw`` keeps full precision for explanation;
    ``average_score`` is the published (rounded) value that segmentation and league tables use.
    """
    agg = rs.aggregation
    items = items.rechunk()
    # org_type follows from (quarter, org_code): carried along rather than hashed as a fourth key
    domain_scores = (
        items.group_by("quarter", "org_code", "domain")
        .agg(
            pl.col("org_type").first(),
            pl.len().cast(pl.Int64).alias("n_items"),
            exact_mean(pl.col("score")).alias("score_raw"),
        )
        .select("quarter", "org_code", "org_type", "domain", "n_items", "score_raw")
        .with_columns(round_expr(pl.col("score_raw"), agg.domain_precision, agg.rounding).alias("score"))
    )
    if agg.overall == "item_mean":
        org = items.group_by("quarter", "org_code").agg(
            pl.col("org_type").first(),
            pl.len().cast(pl.Int64).alias("n_items"),
            exact_mean(pl.col("score")).alias("average_score_raw"),
        )
    else:
        weights = pl.DataFrame(
            [(d, g.id, g.weight) for g in agg.groups for d in g.domains],
            schema={"domain": pl.String, "group_id": pl.String, "weight": pl.Float64},
            orient="row",
        )
        groups = (
            domain_scores.join(weights, on="domain", how="inner")
            .group_by("quarter", "org_code", "org_type", "group_id", "weight")
            .agg(exact_mean(pl.col("score_raw")).alias("group_score"), pl.col("n_items").sum())
        )
        org = groups.group_by("quarter", "org_code", "org_type").agg(
            pl.col("n_items").sum(),
            (exact_sum(pl.col("group_score") * pl.col("weight")) / exact_sum(pl.col("weight"))).alias(
                "average_score_raw"
            ),
        )
    org = org.with_columns(
        round_expr(pl.col("average_score_raw"), agg.average_precision, agg.rounding).alias("average_score")
    ).sort("quarter", "org_code")
    return org, domain_scores


def group_scores(domain_scores: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """Scores of domain groups (e.g. the draft framework's short- and medium-term scores); empty without groups."""
    agg = rs.aggregation
    if not agg.groups:
        return pl.DataFrame(
            schema={"quarter": pl.String, "org_code": pl.String, "group_id": pl.String, "score": pl.Float64}
        )
    membership = pl.DataFrame(
        [(d, g.id) for g in agg.groups for d in g.domains],
        schema={"domain": pl.String, "group_id": pl.String},
        orient="row",
    )
    return (
        domain_scores.join(membership, on="domain", how="inner")
        .group_by("quarter", "org_code", "group_id")
        .agg(exact_mean(pl.col("score_raw")).alias("score_raw"))
        .with_columns(round_expr(pl.col("score_raw"), agg.domain_precision, agg.rounding).alias("score"))
        .sort("quarter", "org_code", "group_id")
    )
