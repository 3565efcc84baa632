"""Output invariants checked before anything is published: a broken one stops the quarter."""

from __future__ import annotations

import polars as pl

from npaf_pipeline.engine.league import metric_rank_key
from npaf_pipeline.ruleset.model import RuleSet


def output_violations(
    scores: pl.DataFrame, segmentation: pl.DataFrame, orgs: pl.DataFrame, rs: RuleSet
) -> pl.DataFrame:
    """One row per violation: quarter, org_code, rule, detail. Empty when every invariant holds.

    - every scored organisation of a segmented type has exactly one segmentation row and a segment;
    - metric scores lie within 1-4; segments within 1-4 (final: also the intensive-support segment);
    - league ranks are complete: every segmented organisation has an AMR rank within 1..n of its type;
    - individual metric ranks are complete: every score of a ranked metric with what it is ranked on (its value,
      or its score for a metric ranked by score) has a ``metric_rank`` within 1..n of its type and metric. Metric
      scores stored before the rank was a column of theirs have none, and are refused here rather than
      published without ranks.
    """
    segmented = [t for p in rs.segmentation for t in p.org_types]
    problems: list[pl.DataFrame] = []

    def add(frame: pl.DataFrame, rule: str, detail: pl.Expr) -> None:
        if frame.height:
            problems.append(frame.select("quarter", "org_code", pl.lit(rule).alias("rule"), detail.alias("detail")))

    out_of_range = scores.filter(~pl.col("score").is_between(1.0, 4.0))
    add(out_of_range, "score within 1-4", pl.format("{} scored {}", pl.col("metric_id"), pl.col("score")))
    dupes = segmentation.filter(pl.len().over("quarter", "org_code") > 1)
    add(dupes, "one segmentation row per organisation", pl.lit("duplicated"))
    scored_orgs = scores.select("quarter", "org_code", "org_type").unique()
    in_scope = scored_orgs.filter(pl.col("org_type").is_in(segmented))
    missing = in_scope.join(segmentation, on=["quarter", "org_code"], how="anti")
    add(missing, "every scored organisation segmented", pl.lit("no segmentation row"))
    seg = segmentation.filter(pl.col("org_type").is_in(segmented))
    no_segment = seg.filter(pl.col("adjusted_segment").is_null() | pl.col("unadjusted_segment").is_null())
    add(no_segment, "every segmented organisation has a segment", pl.lit("segment missing"))
    bad_segment = seg.filter(~pl.col("adjusted_segment").is_between(1, 4))
    add(bad_segment, "segment within 1-4", pl.format("adjusted segment {}", pl.col("adjusted_segment")))
    final_ok = pl.col("final_segment").is_between(1, 4) | (pl.col("final_segment") == rs.intensive_support.segment)
    add(seg.filter(~final_ok), "final segment valid", pl.format("final segment {}", pl.col("final_segment")))
    n = pl.len().over("quarter", "org_type")
    ranks = seg.filter(pl.col("amr_rank").is_null() | ~pl.col("amr_rank").is_between(1, n))
    add(ranks, "league ranks complete", pl.format("AMR rank {}", pl.col("amr_rank")))
    unranked = _metric_ranks_missing(scores, rs)
    add(unranked, "individual metric ranks complete", pl.format("{} has no rank within 1..n", pl.col("metric_id")))
    if not problems:
        return pl.DataFrame(
            schema={"quarter": pl.String, "org_code": pl.String, "rule": pl.String, "detail": pl.String}
        )
    return pl.concat(problems).sort("quarter", "org_code", "rule")


def _metric_ranks_missing(scores: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """Scores of ranked metrics that have what they are ranked on but no ``metric_rank`` within 1..n."""
    ranked, key = metric_rank_key(rs)
    rows = scores.filter(ranked & key.is_not_null())
    rank = pl.col("metric_rank") if "metric_rank" in scores.columns else pl.lit(None, pl.Int64)
    n = pl.len().over("quarter", "org_type", "metric_id")
    return rows.filter(rank.is_null() | ~rank.is_between(1, n))
