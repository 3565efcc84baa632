"""Quarter-on-quarter moves: what changed, what moved the segment, and whether the score change is significant.

``cause`` names what moved the adjusted segment, checked in this order: ``override`` (the financial override was
applied or removed, and that alone changes the segment), ``system`` (the system adjustment changed while the
unadjusted segment did not: rule sets with ICB system tests), ``own_score`` (the organisation's new average
against the PREVIOUS quarter's cut-points already lands in another unadjusted segment), ``cut_points`` (the new
average would have stayed in the old segment; the pooled cut-points moved under it). ``segment_5``: the adjusted
segment held and only the final segment moved into or out of 5 (a support decision). ``none``: nothing moved.

``change_class``: ``override`` when the cause is the override; otherwise ``significant`` or ``not_significant``
from the rule set's ``change_significance`` rule, for every row, so significant changes without a change of
segment can be counted as NHS England's note counts them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from npaf_pipeline.explain.significance import bootstrap_p_value, classify
from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.ruleset.model import RuleSet

KEYS = ["quarter_label", "org_code"]
CAUSES = ["own_score", "cut_points", "override", "system", "segment_5", "none"]
CLASSES = ["override", "significant", "not_significant"]
ORG_COLUMNS = [
    "fy",
    "quarter",
    "quarter_label",
    "org_code",
    "org_type",
    "average_score_raw",
    "average_score",
    "unadjusted_segment",
    "system_adjusted_segment",
    "override_flag",
    "adjusted_segment",
    "final_segment",
    "amr_rank",
    "cutpoint_1_2",
    "cutpoint_2_3",
    "cutpoint_3_4",
]
CHANGE_COLUMNS = [
    "fy",
    "quarter",
    "quarter_label",
    "org_code",
    "org_type",
    "previous_quarter_label",
    "previous_average",
    "average",
    "average_change",
    "previous_segment",
    "segment",
    "previous_final_segment",
    "final_segment",
    "previous_rank",
    "rank",
    "segment_changed",
    "cause",
    "change_class",
    "p_value",
    "previous_unadjusted_segment",
    "unadjusted_segment",
    "segment_at_previous_cutpoints",
    "previous_override_flag",
    "override_flag",
    "previous_n_items",
    "n_items",
]
ITEM_COLUMNS = [
    "fy",
    "quarter",
    "quarter_label",
    "org_code",
    "org_type",
    "previous_quarter_label",
    "item_id",
    "item_name",
    "previous_score",
    "score",
    "previous_weight",
    "weight",
    "contribution_change",
    "status",
]


def _previous_label(label: str) -> str:
    return parse_quarter(label).shift(-1).label


def _segment_at(score: float | None, cuts: tuple[Any, Any, Any], le: bool) -> int | None:
    """The engine's rule (cut-points with '<=' or '<') for one score against another quarter's cut-points."""
    if score is None or any(c is None for c in cuts):
        return None
    return 1 + sum(1 for c in cuts if (score > c if le else score >= c))


def segment_changes(
    org_seg: pl.DataFrame,
    explanation: pl.DataFrame,
    rs: RuleSet,
    previous_org: pl.DataFrame | None = None,
    previous_items: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(segment_changes, segment_change_items)`` for every organisation and quarter with a previous quarter.

    ``org_seg`` / ``explanation``: the published organisation_segmentation and segment_explanation frames of the
    run; ``previous_*``: the same tables for earlier quarters read from the snapshot (may overlap the run: the
    run's own rows win).
    """
    orgs = org_seg.filter(pl.col("average_score_raw").is_not_null()).select(ORG_COLUMNS)
    items = explanation.select(*KEYS, "item_id", "item_name", "score", "weight")
    if previous_org is not None and previous_org.height:
        older = previous_org.filter(~pl.col("quarter_label").is_in(orgs["quarter_label"].unique().to_list()))
        orgs_all = pl.concat([orgs, older.filter(pl.col("average_score_raw").is_not_null()).select(ORG_COLUMNS)])
    else:
        orgs_all = orgs
    if previous_items is not None and previous_items.height:
        older_items = previous_items.filter(~pl.col("quarter_label").is_in(items["quarter_label"].unique().to_list()))
        items_all = pl.concat([items, older_items.select(items.columns)])
    else:
        items_all = items
    current = orgs.with_columns(
        pl.col("quarter_label").map_elements(_previous_label, return_dtype=pl.String).alias("previous_quarter_label")
    )
    prev = orgs_all.select(
        pl.col("quarter_label").alias("previous_quarter_label"),
        "org_code",
        *[pl.col(c).alias(f"prev_{c}") for c in ORG_COLUMNS if c not in ("fy", "quarter", "quarter_label", "org_code")],
    )
    joined = current.join(prev, on=["previous_quarter_label", "org_code"], how="inner").sort(KEYS)
    if joined.is_empty():
        return _empty_changes(), _empty_items()
    item_rows = _item_changes(joined, items_all)
    contributions = {
        key: group["contribution_change"].to_numpy() for key, group in item_rows.group_by(["quarter_label", "org_code"])
    }
    rule = rs.change_significance
    cap = rs.override.cap_segment
    rows = []
    for r in joined.iter_rows(named=True):
        pop = rs.population_of(r["org_type"])
        le = pop is None or pop.boundary == "le"
        prev_cuts = (r["prev_cutpoint_1_2"], r["prev_cutpoint_2_3"], r["prev_cutpoint_3_4"])
        at_prev = _segment_at(r["average_score"], prev_cuts, le)
        change = r["average_score_raw"] - r["prev_average_score_raw"]
        p = None
        if rule.method == "bootstrap":
            parts = contributions.get((r["quarter_label"], r["org_code"]), np.empty(0))
            p = bootstrap_p_value(np.asarray(parts, dtype=np.float64), rule.resolution)
        cause = _cause(r, at_prev, cap)
        significant = classify(p, change, rule)
        rows.append(
            {
                "quarter_label": r["quarter_label"],
                "org_code": r["org_code"],
                "segment_changed": r["adjusted_segment"] != r["prev_adjusted_segment"],
                "cause": cause,
                "change_class": "override"
                if cause == "override"
                else ("significant" if significant else "not_significant"),
                "p_value": p,
                "segment_at_previous_cutpoints": at_prev,
            }
        )
    extra = pl.DataFrame(
        rows,
        schema={
            "quarter_label": pl.String,
            "org_code": pl.String,
            "segment_changed": pl.Boolean,
            "cause": pl.String,
            "change_class": pl.String,
            "p_value": pl.Float64,
            "segment_at_previous_cutpoints": pl.Int64,
        },
        orient="row",
    )
    n_items = items_all.group_by(KEYS).agg(pl.len().cast(pl.Int64).alias("_n"))
    out = (
        joined.join(extra, on=KEYS, how="left")
        .join(n_items.rename({"_n": "n_items"}), on=KEYS, how="left")
        .join(
            n_items.rename({"quarter_label": "previous_quarter_label", "_n": "previous_n_items"}),
            on=["previous_quarter_label", "org_code"],
            how="left",
        )
        .select(
            "fy",
            "quarter",
            "quarter_label",
            "org_code",
            "org_type",
            "previous_quarter_label",
            pl.col("prev_average_score").alias("previous_average"),
            pl.col("average_score").alias("average"),
            (pl.col("average_score_raw") - pl.col("prev_average_score_raw")).alias("average_change"),
            pl.col("prev_adjusted_segment").alias("previous_segment"),
            pl.col("adjusted_segment").alias("segment"),
            pl.col("prev_final_segment").alias("previous_final_segment"),
            "final_segment",
            pl.col("prev_amr_rank").alias("previous_rank"),
            pl.col("amr_rank").alias("rank"),
            "segment_changed",
            "cause",
            "change_class",
            "p_value",
            pl.col("prev_unadjusted_segment").alias("previous_unadjusted_segment"),
            "unadjusted_segment",
            "segment_at_previous_cutpoints",
            pl.col("prev_override_flag").alias("previous_override_flag"),
            "override_flag",
            "previous_n_items",
            "n_items",
        )
    )
    return out.sort(KEYS), item_rows


def _cause(r: dict[str, Any], at_prev: int | None, cap: int) -> str:
    if r["adjusted_segment"] == r["prev_adjusted_segment"]:
        return "segment_5" if r["final_segment"] != r["prev_final_segment"] else "none"
    system_now = r["system_adjusted_segment"]
    with_previous_flag = max(system_now, cap) if r["prev_override_flag"] and system_now is not None else system_now
    if r["override_flag"] != r["prev_override_flag"] and with_previous_flag != r["adjusted_segment"]:
        return "override"
    if r["unadjusted_segment"] == r["prev_unadjusted_segment"]:
        return "system" if system_now != r["prev_system_adjusted_segment"] else "override"
    return "own_score" if at_prev != r["prev_unadjusted_segment"] else "cut_points"


def _item_changes(joined: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """Each item's change in contribution (weight x score); they add up to the change in the raw average."""
    pairs = joined.select("fy", "quarter", *KEYS, "org_type", "previous_quarter_label")
    now = pairs.join(items, on=KEYS, how="inner")
    before = pairs.join(
        items.rename(
            {"quarter_label": "previous_quarter_label", "score": "previous_score", "weight": "previous_weight"}
        ),
        on=["previous_quarter_label", "org_code"],
        how="inner",
    )
    keys = ["fy", "quarter", *KEYS, "org_type", "previous_quarter_label", "item_id"]
    both = now.join(before.drop("item_name"), on=keys, how="full", coalesce=True)
    names = items.group_by("item_id").agg(pl.col("item_name").first().alias("_name"))
    both = both.join(names, on="item_id", how="left").with_columns(pl.coalesce("item_name", "_name").alias("item_name"))
    status = (
        pl.when(pl.col("previous_score").is_null())
        .then(pl.lit("entered"))
        .when(pl.col("score").is_null())
        .then(pl.lit("left"))
        .when((pl.col("score") != pl.col("previous_score")) | (pl.col("weight") != pl.col("previous_weight")))
        .then(pl.lit("changed"))
        .otherwise(pl.lit("unchanged"))
    )
    return (
        both.with_columns(
            (
                (pl.col("weight") * pl.col("score")).fill_null(0.0)
                - (pl.col("previous_weight") * pl.col("previous_score")).fill_null(0.0)
            ).alias("contribution_change"),
            status.alias("status"),
        )
        .select(ITEM_COLUMNS)
        .sort(*KEYS, "item_id")
    )


def _empty_changes() -> pl.DataFrame:
    schema = {
        c: pl.String for c in ("fy", "quarter", "quarter_label", "org_code", "org_type", "previous_quarter_label")
    }
    schema |= {"previous_average": pl.Float64, "average": pl.Float64, "average_change": pl.Float64}
    schema |= {c: pl.Int64 for c in ("previous_segment", "segment", "previous_final_segment", "final_segment")}
    schema |= {"previous_rank": pl.Int64, "rank": pl.Int64, "segment_changed": pl.Boolean}
    schema |= {"cause": pl.String, "change_class": pl.String, "p_value": pl.Float64}
    schema |= {"previous_unadjusted_segment": pl.Int64, "unadjusted_segment": pl.Int64}
    schema |= {"segment_at_previous_cutpoints": pl.Int64}
    schema |= {"previous_override_flag": pl.Boolean, "override_flag": pl.Boolean}
    schema |= {"previous_n_items": pl.Int64, "n_items": pl.Int64}
    return pl.DataFrame(schema=schema)


def _empty_items() -> pl.DataFrame:
    schema = {c: pl.String for c in ITEM_COLUMNS}
    schema |= {c: pl.Float64 for c in ("previous_score", "score", "previous_weight", "weight", "contribution_change")}
    return pl.DataFrame(schema=schema)


SUMMARY_COLUMNS = [
    "organisations",
    "changed",
    "changed_up",
    "changed_down",
    "override",
    "override_up",
    "override_down",
    "significant",
    "significant_up",
    "significant_down",
    "not_significant",
    "significant_without_segment_change",
    "segment_5_changes",
]


def national_summary(changes: pl.DataFrame) -> pl.DataFrame:
    """NHS England's Q2-note shape per quarter and organisation type (plus ``all``): organisations compared,
    segments changed (up = to a better segment), of which override / significant / not significant, significant
    score changes without a change of segment, and moves into or out of segment 5 alone."""
    up = pl.col("segment") < pl.col("previous_segment")
    down = pl.col("segment") > pl.col("previous_segment")
    changed = pl.col("segment_changed")
    cls = pl.col("change_class")

    def count(expr: pl.Expr) -> pl.Expr:
        return expr.fill_null(False).sum().cast(pl.Int64)

    aggs = [
        pl.len().cast(pl.Int64).alias("organisations"),
        count(changed).alias("changed"),
        count(changed & up).alias("changed_up"),
        count(changed & down).alias("changed_down"),
        count(changed & (cls == "override")).alias("override"),
        count(changed & (cls == "override") & up).alias("override_up"),
        count(changed & (cls == "override") & down).alias("override_down"),
        count(changed & (cls == "significant")).alias("significant"),
        count(changed & (cls == "significant") & up).alias("significant_up"),
        count(changed & (cls == "significant") & down).alias("significant_down"),
        count(changed & (cls == "not_significant")).alias("not_significant"),
        count(~changed & (cls == "significant")).alias("significant_without_segment_change"),
        count(pl.col("cause") == "segment_5").alias("segment_5_changes"),
    ]
    keys = ["fy", "quarter", "quarter_label"]
    by_type = changes.group_by(*keys, "org_type").agg(aggs)
    every = changes.group_by(keys).agg(aggs).with_columns(pl.lit("all").alias("org_type"))
    out = pl.concat([by_type, every.select(by_type.columns)]) if changes.height else by_type
    return out.select(*keys, "org_type", *SUMMARY_COLUMNS).sort("quarter_label", "org_type")


def manifest_summary(changes: pl.DataFrame, quarter_label: str) -> list[dict[str, Any]]:
    """The national summary rows of one quarter as plain dicts, for the quarter's manifest."""
    part = national_summary(changes.filter(pl.col("quarter_label") == quarter_label))
    return [{k: v for k, v in row.items() if k not in ("fy", "quarter", "quarter_label")} for row in part.to_dicts()]
