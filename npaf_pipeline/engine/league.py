"""League tables and published ranks: AMR (segment, then 2 dp average), IMR per metric, per-type statistics."""

from __future__ import annotations

import polars as pl

from npaf_pipeline.engine.frames import attach_org_type
from npaf_pipeline.engine.numeric import competition_rank, hf_quantiles
from npaf_pipeline.ruleset.model import RuleSet


def league_ranks(segmentation: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """Add ``amr_rank`` (league-table position) and ``average_rank`` (on the average alone), within org type.

    AMR orders by adjusted segment then the rounded average score, with competition ranks: equal keys
    share a position and the next is skipped. Organisations with no segment get no AMR rank.
    """
    by = ["quarter", "org_type"]
    order = rs.league.order
    key_cols = [pl.col("adjusted_segment" if k == "adjusted_segment" else "average_score") for k in order]
    amr_key = pl.struct(*[c.alias(f"k{i}") for i, c in enumerate(key_cols)])
    ranked = segmentation.with_columns(
        competition_rank(pl.col("average_score"), by).alias("average_rank"),
    )
    has = ranked.filter(pl.col("adjusted_segment").is_not_null())
    has = has.with_columns(amr_key.rank("min").over(by).cast(pl.Int64).alias("amr_rank"))
    return ranked.join(has.select("quarter", "org_code", "amr_rank"), on=["quarter", "org_code"], how="left")


def domain_ranks(domain_scores: pl.DataFrame) -> pl.DataFrame:
    """Rank of each domain score within org type (the published OF40xx ``Rank``)."""
    return domain_scores.with_columns(
        competition_rank(pl.col("score"), ["quarter", "org_type", "domain"]).alias("rank")
    )


def with_metric_ranks(scores: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """``scores`` with ``metric_rank``: the individual metric rank (IMR) within org type, best first, on
    full-precision values; null for a metric the rule set does not rank.

    Published ties are kept as ties: this rank never uses a published rank as a tie-break. The rank is a column
    of the scores (one row per organisation and metric) rather than a frame of its own, which would repeat the
    keys of every row.
    """
    ranked, key = metric_rank_key(rs)
    rank = competition_rank(pl.when(ranked).then(key), ["quarter", "org_type", "metric_id"])
    return scores.with_columns(pl.when(ranked).then(rank).alias("metric_rank"))


def metric_rank_key(rs: RuleSet) -> tuple[pl.Expr, pl.Expr]:
    """(whether a score row's metric is ranked, what it is ranked on, lower first): the score for a metric ranked
    by score, else the value, negated where higher is better. A ranked row whose key is null has no rank."""
    rank_on = {m.id: (m.rank_by, m.direction) for m in rs.metrics if m.direction is not None}
    by_score = [m for m, (r, _) in rank_on.items() if r == "score"]
    higher = [m for m, (_, d) in rank_on.items() if d == "higher"]
    key = (
        pl.when(pl.col("metric_id").is_in(by_score))
        .then(pl.col("score"))
        .when(pl.col("metric_id").is_in(higher))
        .then(-pl.col("value"))
        .otherwise(pl.col("value"))
    )
    return pl.col("metric_id").is_in(list(rank_on)), key


def type_statistics(values: pl.DataFrame, orgs: pl.DataFrame | None = None) -> pl.DataFrame:
    """Median and quartiles of each metric's values within org type (Excel QUARTILE.INC, as published).

    ``orgs`` supplies the organisation type; leave it out when ``values`` already carries ``org_type``.
    """
    frame = values.filter(pl.col("value").is_not_null())
    if orgs is not None:
        frame = attach_org_type(frame, orgs)
    probabilities = {"median": 0.5, "lower_quartile": 0.25, "upper_quartile": 0.75}
    stats = hf_quantiles(frame, ["quarter", "org_type", "metric_id"], "value", probabilities)
    return stats.select(
        pl.col("quarter").cast(pl.String),
        pl.col("org_type").cast(pl.String),
        pl.col("metric_id").cast(pl.String),
        "n",
        "median",
        "lower_quartile",
        "upper_quartile",
    ).sort("quarter", "org_type", "metric_id")
