"""Compare a pipeline run's segmentation with NHS England's published results for the same quarters."""

from __future__ import annotations

import polars as pl

from npaf_pipeline.sources.nof_csv import NofRelease


def compare_segmentation(segmentation: pl.DataFrame, release: NofRelease) -> pl.DataFrame:
    """One row per published organisation-quarter: published and computed average, segments and AMR rank."""
    pub = release.rows.filter(pl.col("metric_id").is_in(["OF5000", "OF5002", "OF5003"]))
    wide = pub.pivot(on="metric_id", index=["quarter", "org_code"], values="value", aggregate_function="first")
    rank = pub.filter(pl.col("metric_id") == "OF5000").select("quarter", "org_code", pl.col("rank").alias("pub_rank"))
    ours = segmentation.select(
        "quarter", "org_code", "average_score", "unadjusted_segment", "adjusted_segment", "amr_rank"
    )
    return (
        wide.join(rank, on=["quarter", "org_code"], how="left")
        .join(ours, on=["quarter", "org_code"], how="left")
        .select(
            "quarter",
            "org_code",
            pl.col("OF5002").alias("published_average"),
            "average_score",
            pl.col("OF5003").alias("published_unadjusted"),
            "unadjusted_segment",
            pl.col("OF5000").alias("published_adjusted"),
            "adjusted_segment",
            pl.col("pub_rank").cast(pl.Int64).alias("published_amr_rank"),
            "amr_rank",
        )
        .sort("quarter", "org_code")
    )


def match_rates(comparison: pl.DataFrame) -> dict[str, float]:
    """Shares of published organisations the run reproduces (0..1)."""
    n = comparison.height
    if n == 0:
        return {"organisations": 0}
    return {
        "organisations": n,
        "average_within_0_01": comparison.select(
            ((pl.col("average_score") - pl.col("published_average")).abs() <= 0.01 + 1e-9).sum()
        ).item()
        / n,
        "adjusted_segment_equal": comparison.select(
            (pl.col("adjusted_segment") == pl.col("published_adjusted")).sum()
        ).item()
        / n,
        "amr_rank_within_2": comparison.select(
            ((pl.col("amr_rank") - pl.col("published_amr_rank")).abs() <= 2).sum()
        ).item()
        / n,
    }
