"""Checks on the published explanation tables (run by the Dagster assets, and usable on any snapshot)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from npaf_pipeline.explain.changes import CLASSES
from npaf_pipeline.explain.whatif import full, load_quarter

TOLERANCE = 1e-9


def contribution_gaps(org_seg: pl.DataFrame, explanation: pl.DataFrame) -> pl.DataFrame:
    """Organisations whose contributions do not add up to the unrounded average (within 1e-9); empty when fine."""
    sums = explanation.group_by("quarter_label", "org_code").agg(pl.col("contribution").sum().alias("contributions"))
    averaged = org_seg.filter(pl.col("average_score_raw").is_not_null()).select(
        "quarter_label", "org_code", "average_score_raw"
    )
    joined = averaged.join(sums, on=["quarter_label", "org_code"], how="full", coalesce=True)
    return joined.filter(
        pl.col("contributions").is_null()
        | pl.col("average_score_raw").is_null()
        | ((pl.col("contributions") - pl.col("average_score_raw")).abs() > TOLERANCE)
    )


def unclassed_changes(changes: pl.DataFrame) -> pl.DataFrame:
    """Changed segments without one of the three classes; empty when every change is classed."""
    return changes.filter(pl.col("segment_changed") & ~pl.col("change_class").is_in(CLASSES).fill_null(False))


def what_if_mismatches(out: Path, quarter: str) -> pl.DataFrame:
    """Organisations whose segment or rank the what-if of unchanged values does not reproduce; empty when fine."""
    inputs = load_quarter(out, quarter)
    if inputs.org_seg.is_empty():
        return pl.DataFrame()
    seg = full(inputs, inputs.org_seg["org_code"][0], {}, with_ranges=False).segmentation
    return seg.filter(
        ~pl.col("adjusted_segment").eq_missing(pl.col("published_segment"))
        | ~pl.col("final_segment").eq_missing(pl.col("published_final_segment"))
        | ~pl.col("amr_rank").eq_missing(pl.col("published_rank"))
    ).select("org_code", "published_segment", "adjusted_segment", "published_rank", "amr_rank")
