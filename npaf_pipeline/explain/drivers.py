"""Drivers: each scored item's part of the average, in the engine's own arithmetic, so the parts add up.

For an item mean the share factor (``weight``) of every item is 1/n. For weighted domain groups (the draft NPAF)
it is the group's weight share, divided by the organisation's number of domains in the group, divided by its
number of items in the domain, summed over every group the domain belongs to; the weighted average is then
exactly the sum of weight x score.
"""

from __future__ import annotations

import polars as pl

from npaf_pipeline.ruleset.model import RuleSet

KEYS = ["quarter_label", "org_code"]


def item_names(rs: RuleSet) -> dict[str, str]:
    """Display name of every item: the composite's name, or the metric's for a single-metric item."""
    names = {m.id: m.name for m in rs.metrics if m.role == "scored" and m.item is None}
    return names | {i.id: i.name for i in rs.items}


def item_weights(items: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """``items`` (quarter_label, org_code, item_id, domain, score) with the share factor ``weight`` added."""
    if rs.aggregation.overall == "item_mean":
        return items.with_columns((1.0 / pl.len().over(KEYS)).alias("weight"))
    groups = pl.DataFrame(
        [(d, g.id, g.weight) for g in rs.aggregation.groups for d in g.domains],
        schema={"domain": pl.String, "_group": pl.String, "_gw": pl.Float64},
        orient="row",
    )
    per_domain = items.group_by(*KEYS, "domain").agg(pl.len().alias("_nd"))
    in_group = per_domain.join(groups, on="domain", how="inner").with_columns(
        pl.len().over(*KEYS, "_group").alias("_domains")
    )
    total = in_group.unique([*KEYS, "_group"]).group_by(KEYS).agg(pl.col("_gw").sum().alias("_total"))
    share = (
        in_group.join(total, on=KEYS)
        .with_columns((pl.col("_gw") / pl.col("_total") / pl.col("_domains") / pl.col("_nd")).alias("_w"))
        .group_by(*KEYS, "domain")
        .agg(pl.col("_w").sum().alias("weight"))
    )
    return items.join(share, on=[*KEYS, "domain"], how="left").with_columns(pl.col("weight").fill_null(0.0))


def segment_explanation(items: pl.DataFrame, org_seg: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """One row per quarter, organisation and scored item: score, share, contribution and pulls.

    ``items``: the engine's items with ``quarter_label``; ``org_seg``: the published organisation table.
    ``driver_rank`` orders an organisation's items by ``pull_vs_type_mean`` descending (1 = the item that pulls
    the average most towards worse), ties by item id.
    """
    org = org_seg.select(
        "fy",
        "quarter",
        *KEYS,
        "org_name",
        "average_score_raw",
        "unadjusted_segment",
        "cutpoint_1_2",
        "cutpoint_2_3",
        "cutpoint_3_4",
        pl.col("average_score_raw").mean().over("quarter_label", "org_type").alias("type_mean_average"),
    )
    cut_above = (
        pl.when(pl.col("unadjusted_segment") == 2)
        .then(pl.col("cutpoint_1_2"))
        .when(pl.col("unadjusted_segment") == 3)
        .then(pl.col("cutpoint_2_3"))
        .when(pl.col("unadjusted_segment") == 4)
        .then(pl.col("cutpoint_3_4"))
    )
    names = item_names(rs)
    frame = item_weights(items.drop("quarter", "fy", strict=False), rs).join(org, on=KEYS, how="inner")
    frame = frame.with_columns(
        pl.col("item_id").replace_strict(names, default=pl.col("item_id")).alias("item_name"),
        (pl.col("weight") * pl.col("score")).alias("contribution"),
        (pl.col("weight") * (pl.col("score") - pl.col("type_mean_average"))).alias("pull_vs_type_mean"),
        cut_above.alias("cut_above"),
    ).with_columns((pl.col("weight") * (pl.col("score") - pl.col("cut_above"))).alias("pull_vs_cut_above"))
    frame = frame.with_columns(
        pl.struct(-pl.col("pull_vs_type_mean"), pl.col("item_id"))
        .rank("ordinal")
        .over(KEYS)
        .cast(pl.Int64)
        .alias("driver_rank")
    )
    return frame.select(
        "fy",
        "quarter",
        "quarter_label",
        "org_code",
        "org_name",
        "org_type",
        "item_id",
        "item_name",
        "domain",
        "score",
        "weight",
        "contribution",
        "pull_vs_type_mean",
        "pull_vs_cut_above",
        "driver_rank",
        "type_mean_average",
        "cut_above",
    ).sort("quarter_label", "org_code", "driver_rank")
