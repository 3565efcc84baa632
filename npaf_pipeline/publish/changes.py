"""Organisations whose segment changed since the previous quarter (what a person watching a run looks for)."""

from __future__ import annotations

import polars as pl

from npaf_pipeline.quarters import parse_quarter


def segment_changes(segmentation: pl.DataFrame) -> pl.DataFrame:
    """quarter, org_code, org_type, previous and current adjusted/final segment, and whether the override moved it."""
    cols = [
        "quarter",
        "org_code",
        "org_type",
        "unadjusted_segment",
        "adjusted_segment",
        "final_segment",
        "override_flag",
    ]
    seg = segmentation.select(cols).unique(["quarter", "org_code"])
    previous = seg.with_columns(
        pl.col("quarter").map_elements(lambda q: parse_quarter(q).shift(1).label, return_dtype=pl.String)
    ).select(
        "quarter",
        "org_code",
        pl.col("adjusted_segment").alias("previous_adjusted_segment"),
        pl.col("final_segment").alias("previous_final_segment"),
        pl.col("override_flag").alias("previous_override_flag"),
    )
    joined = seg.join(previous, on=["quarter", "org_code"], how="inner")
    changed = joined.filter(
        (pl.col("final_segment") != pl.col("previous_final_segment"))
        | (pl.col("adjusted_segment") != pl.col("previous_adjusted_segment"))
    )
    return changed.with_columns(
        (pl.col("override_flag") != pl.col("previous_override_flag")).alias("override_changed")
    ).sort("quarter", "org_code")


def previous_quarters(segmentation: pl.DataFrame, quarters: list[str]) -> dict[str, tuple[str, bool]]:
    """Each quarter's previous quarter and whether ``segmentation`` holds it: where it does not, that quarter's
    changes are not known (none can be listed), which is not the same as none having happened."""
    held = set(segmentation["quarter"].unique().to_list()) if "quarter" in segmentation.columns else set()
    previous = {q: parse_quarter(q).shift(-1).label for q in quarters}
    return {q: (p, p in held) for q, p in previous.items()}
