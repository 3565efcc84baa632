"""The what-if answer as a terminal page (rich renderables built from the outcome frames)."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
from rich.console import Group
from rich.table import Table
from rich.text import Text

from npaf_pipeline.explain.whatif import FullOutcome, OrgOutcome, QuarterInputs


def _f(x: object, places: int = 2) -> str:
    if x is None:
        return "-"
    return f"{x:.{places}f}" if isinstance(x, float) else str(x)


def _arrow(before: object, after: object, places: int = 2) -> str:
    b, a = _f(before, places), _f(after, places)
    return b if b == a else f"{b} -> {a}"


def what_if_page(
    inputs: QuarterInputs, org: str, changes: Mapping[str, float], outcome: OrgOutcome | FullOutcome, others: int = 15
) -> Group:
    """Published vs re-run for the organisation, then (full re-run) the other organisations that move."""
    mine = outcome.org if isinstance(outcome, FullOutcome) else outcome
    pub = inputs.org_seg.filter(pl.col("org_code") == org).row(0, named=True)
    values = inputs.values.filter((pl.col("org_code") == org) & pl.col("metric_id").is_in(list(changes)))
    old = dict(zip(values["metric_id"].to_list(), values["value"].to_list(), strict=True))
    mode = "full re-run" if isinstance(outcome, FullOutcome) else "first order: everyone else held as published"
    head = Text()
    head.append(f"What if {org} ({pub['org_name'] or ''}), {inputs.quarter}: ", style="bold")
    head.append(", ".join(f"{m} {_f(old.get(m))} -> {v:g}" for m, v in changes.items()))
    head.append(f"\n{mode}; nothing is written to the snapshot")
    parts: list[object] = [head]

    scores = inputs.scores.filter(pl.col("org_code") == org).select("metric_id", pl.col("score").alias("published"))
    moved = scores.join(mine.scores, on="metric_id", how="full", coalesce=True).filter(
        ~pl.col("published").eq_missing(pl.col("score"))
    )
    table = Table(title="Metric scores that move", title_justify="left")
    for col in ("metric", "published", "what-if"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for r in moved.sort("metric_id").iter_rows(named=True):
        table.add_row(r["metric_id"], _f(r["published"]), _f(r["score"]))
    if not moved.height:
        table.caption = "no metric score moves"
    parts.append(table)

    same_type = inputs.org_seg.filter((pl.col("org_type") == pub["org_type"]) & pl.col("amr_rank").is_not_null()).height
    summary = Table(title=f"{org}: published -> what-if", title_justify="left", show_header=False)
    summary.add_column("")
    summary.add_column("")
    summary.add_row("average score", _arrow(pub["average_score"], mine.average_score))
    summary.add_row("unadjusted segment", _arrow(pub["unadjusted_segment"], mine.unadjusted_segment))
    summary.add_row("adjusted segment", _arrow(pub["adjusted_segment"], mine.adjusted_segment))
    summary.add_row("final segment", _arrow(pub["final_segment"], mine.final_segment))
    summary.add_row(f"rank of {same_type}", _arrow(pub["amr_rank"], mine.rank))
    if isinstance(outcome, FullOutcome):
        row = outcome.segmentation.filter(pl.col("org_code") == org).row(0, named=True)
        if row.get("average_low") is not None:
            summary.add_row(
                "likely range of average",
                f"{_f(row['average_low'])} to {_f(row['average_high'])} "
                f"(published {_f(pub['average_score_low'])} to {_f(pub['average_score_high'])})",
            )
            summary.add_row(
                "likely range of rank",
                f"{row['rank_low']} to {row['rank_high']} "
                f"(published {_f(pub['amr_rank_low'])} to {_f(pub['amr_rank_high'])})",
            )
        cuts = (row["cut_1"], row["cut_2"], row["cut_3"])
        old_cuts = (pub["cutpoint_1_2"], pub["cutpoint_2_3"], pub["cutpoint_3_4"])
        summary.add_row("cut-points", " / ".join(_arrow(o, n) for o, n in zip(old_cuts, cuts, strict=True)))
    parts.append(summary)

    if isinstance(outcome, FullOutcome):
        movers = outcome.movers.filter(pl.col("org_code") != org)
        seg_moved = movers.filter(~pl.col("adjusted_segment").eq_missing(pl.col("published_segment")))
        rank_moved = movers.filter(~pl.col("amr_rank").eq_missing(pl.col("published_rank")))
        score_moved = movers.filter(pl.col("scores_moved") > 0)
        parts.append(
            Text(
                f"Other organisations: {score_moved.height} with a metric score that moves, "
                f"{seg_moved.height} with a segment that moves, {rank_moved.height} with a rank that moves"
            )
        )
        if movers.height:
            listed = movers.with_columns(
                (~pl.col("adjusted_segment").eq_missing(pl.col("published_segment"))).alias("_seg"),
                (pl.col("amr_rank") - pl.col("published_rank")).abs().fill_null(0).alias("_rank"),
            ).sort(["_seg", "_rank", "org_code"], descending=[True, True, False])
            table = Table(title=f"Others that move (first {others})", title_justify="left")
            for col in ("org", "type", "scores moved", "average", "segment", "rank"):
                table.add_column(col, justify="left" if col in ("org", "type") else "right")
            for r in listed.head(others).iter_rows(named=True):
                table.add_row(
                    r["org_code"],
                    r["org_type"],
                    str(r["scores_moved"]),
                    _arrow(r["published_average"], r["average_score"]),
                    _arrow(r["published_segment"], r["adjusted_segment"]),
                    _arrow(r["published_rank"], r["amr_rank"]),
                )
            parts.append(table)
    return Group(*parts)
