"""Checks on the published explanation tables (run by the Dagster assets, and usable on any snapshot)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from npaf_pipeline.engine import run
from npaf_pipeline.explain.changes import CLASSES
from npaf_pipeline.explain.whatif import NOT_AS_PUBLISHED, load_quarter, published_outcomes

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
    return run_mismatches(out, [quarter]).drop("quarter")


def run_mismatches(out: Path, quarters: Sequence[str]) -> pl.DataFrame:
    """:func:`what_if_mismatches` of several quarters with one engine run (the engine treats each quarter on its
    own, as the pipeline's run of them did): quarter, org_code, published and re-run segment and rank."""
    loaded = [load_quarter(out, q) for q in quarters]
    loaded = [q for q in loaded if not q.org_seg.is_empty()]
    if not loaded:
        return pl.DataFrame(schema={"quarter": pl.String, "org_code": pl.String})
    tests = [q.system_tests for q in loaded if q.system_tests is not None]
    result = run(
        pl.concat([q.values for q in loaded], how="vertical_relaxed"),
        pl.concat([q.orgs for q in loaded], how="vertical_relaxed").unique("org_code", keep="first"),
        loaded[0].rs,
        pl.concat([q.flags for q in loaded], how="vertical_relaxed"),
        pl.concat(tests, how="vertical_relaxed") if tests else None,
        with_ranges=False,
    ).as_text()
    published = pl.concat(
        [published_outcomes(q.org_seg).with_columns(pl.lit(q.quarter).alias("quarter")) for q in loaded],
        how="vertical_relaxed",
    )
    seg = result.segmentation.select("quarter", "org_code", "adjusted_segment", "final_segment", "amr_rank")
    return (
        seg.join(published, on=["quarter", "org_code"], how="full", coalesce=True)
        .filter(NOT_AS_PUBLISHED)
        .select("quarter", "org_code", "published_segment", "adjusted_segment", "published_rank", "amr_rank")
        .sort("quarter", "org_code")
    )
