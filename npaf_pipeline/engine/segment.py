"""Steps 3-4: average score -> unadjusted segment -> override -> adjusted segment -> final segment (5).

Cut-points are computed per quarter over each segmentation population (2025/26: every trust of every
type pooled), or taken from fixed thresholds. Domain segments use the same rule on domain scores.
"""

from __future__ import annotations

import polars as pl

from npaf_pipeline.engine.numeric import condition_columns, condition_expr, hf_quantiles
from npaf_pipeline.ruleset.model import RuleSet

OVERALL = "overall"


class SegmentationRefused(ValueError):
    """The rule set cannot segment (e.g. fixed thresholds that the framework has not published)."""


def _population_frame(rs: RuleSet) -> pl.DataFrame:
    return pl.DataFrame(
        [(t, p.id) for p in rs.segmentation for t in p.org_types],
        schema={"org_type": pl.String, "population": pl.String},
        orient="row",
    )


def cutpoints(org_scores: pl.DataFrame, domain_scores: pl.DataFrame | None, rs: RuleSet) -> pl.DataFrame:
    """Cut-points per (quarter, population, target) where target is ``overall`` or a domain id."""
    frames = [
        org_scores.select("quarter", "org_type", pl.lit(OVERALL).alias("target"), pl.col("average_score").alias("s"))
    ]
    if domain_scores is not None and domain_scores.height:
        frames.append(
            domain_scores.select("quarter", "org_type", pl.col("domain").alias("target"), pl.col("score").alias("s"))
        )
    scores = pl.concat(frames).join(_population_frame(rs), on="org_type", how="inner").drop_nulls("s")
    keys = ["quarter", "population", "target"]
    parts = []
    for pop in rs.segmentation:
        rows = scores.filter(pl.col("population") == pop.id)
        if not pop.domain_segments:
            rows = rows.filter(pl.col("target") == OVERALL)
        if pop.mode == "fixed_thresholds":
            if pop.thresholds is None:
                if rows.height:
                    raise SegmentationRefused(
                        f"segmentation population {pop.id!r} uses fixed thresholds but none are set; "
                        "set segmentation.thresholds in the rule set (the engine will not invent them)"
                    )
                continue
            cuts = (
                rows.group_by(keys)
                .agg(pl.len().cast(pl.Int64).alias("n"))
                .with_columns([pl.lit(t, pl.Float64).alias(f"cut_{i}") for i, t in enumerate(pop.thresholds, start=1)])
            )
        else:
            probabilities = {f"cut_{i}": p for i, p in enumerate(pop.probabilities, start=1)}
            cuts = hf_quantiles(rows, keys, "s", probabilities, pop.quantile_method)
        parts.append(cuts.select(*keys, "n", "cut_1", "cut_2", "cut_3"))
    schema = {"quarter": pl.String, "population": pl.String, "target": pl.String, "n": pl.Int64}
    schema |= {f"cut_{i}": pl.Float64 for i in (1, 2, 3)}
    out = pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame(schema=schema)
    return out.cast(schema).sort(keys)  # type: ignore[arg-type]


def _segment_expr(score: str, boundary_le: pl.Expr) -> pl.Expr:
    above = [
        pl.when(boundary_le).then(pl.col(score) > pl.col(f"cut_{i}")).otherwise(pl.col(score) >= pl.col(f"cut_{i}"))
        for i in (1, 2, 3)
    ]
    return (1 + pl.sum_horizontal([a.cast(pl.Int64) for a in above])).cast(pl.Int64)


def _boundary_frame(rs: RuleSet) -> pl.DataFrame:
    return pl.DataFrame(
        {"population": [p.id for p in rs.segmentation], "_le": [p.boundary == "le" for p in rs.segmentation]}
    )


def domain_segments(domain_scores: pl.DataFrame, cuts: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """Domain scores with their display-only segment."""
    joined = (
        domain_scores.join(_population_frame(rs), on="org_type", how="left")
        .join(_boundary_frame(rs), on="population", how="left")
        .join(
            cuts,
            left_on=["quarter", "population", "domain"],
            right_on=["quarter", "population", "target"],
            how="left",
        )
    )
    return joined.with_columns(
        pl.when(pl.col("cut_1").is_not_null() & pl.col("score").is_not_null())
        .then(_segment_expr("score", pl.col("_le")))
        .otherwise(None)
        .alias("segment")
    ).drop("_le", "n", "cut_1", "cut_2", "cut_3")


def segment(
    org_scores: pl.DataFrame,
    cuts: pl.DataFrame,
    rs: RuleSet,
    flags: pl.DataFrame | None = None,
    wide_inputs: pl.DataFrame | None = None,
    system_tests: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Unadjusted, adjusted and final segments with every adjustment recorded per organisation.

    ``flags``: quarter, org_code, financial_override (bool, null = not supplied), intensive_support (bool).
    ``wide_inputs``: quarter, org_code, ``value__OF0xxx`` / ``domain__<id>`` columns, for the override proxy.
    ``system_tests``: quarter, org_code, test_id, failed (bool), for rule sets with a system adjustment.
    """
    seg = unadjusted_segments(org_scores, cuts, rs)
    seg = adjust_segments(seg, rs, flags, wide_inputs, system_tests)
    return final_segments(seg, rs, flags).select(SEGMENTATION_COLUMNS).sort("quarter", "org_code")


SEGMENTATION_COLUMNS = [
    "quarter",
    "org_code",
    "org_type",
    "population",
    "n_items",
    "average_score_raw",
    "average_score",
    "unadjusted_segment",
    "improvement_to_next_segment",
    "system_tests_failed",
    "system_adjusted_segment",
    "override_flag",
    "override_source",
    "override_exempt",
    "adjusted_segment",
    "intensive_support",
    "final_segment",
    "cut_1",
    "cut_2",
    "cut_3",
]


def unadjusted_segments(org_scores: pl.DataFrame, cuts: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """Step 3: the average score placed against its population's cut-points (segment 1..4)."""
    seg = (
        org_scores.join(_population_frame(rs), on="org_type", how="left")
        .join(_boundary_frame(rs), on="population", how="left")
        .join(cuts.filter(pl.col("target") == OVERALL).drop("target", "n"), on=["quarter", "population"], how="left")
    )
    seg = seg.with_columns(
        pl.when(pl.col("cut_1").is_not_null())
        .then(_segment_expr("average_score", pl.col("_le")))
        .alias("unadjusted_segment")
    )
    return seg.with_columns(_improvement_expr().alias("improvement_to_next_segment")).drop("_le")


def adjust_segments(
    seg: pl.DataFrame,
    rs: RuleSet,
    flags: pl.DataFrame | None = None,
    wide_inputs: pl.DataFrame | None = None,
    system_tests: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Step 4: system adjustment (where the rule set has one), then the financial override cap."""
    keys = ["quarter", "org_code"]
    sa = rs.system_adjustment
    seg = seg.with_columns(pl.lit(0, pl.Int64).alias("system_tests_failed"))
    if sa is not None and system_tests is not None and system_tests.height:
        failed = system_tests.filter(pl.col("failed")).group_by(keys).agg(pl.len().cast(pl.Int64).alias("_failed"))
        seg = (
            seg.drop("system_tests_failed")
            .join(failed, on=keys, how="left")
            .with_columns(pl.col("_failed").fill_null(0).alias("system_tests_failed"))
            .drop("_failed")
        )
    after_system = pl.col("unadjusted_segment")
    if sa is not None:
        applies = pl.col("org_type").is_in(sa.org_types) & (pl.col("system_tests_failed") >= sa.when_failed_at_least)
        after_system = (
            pl.when(applies)
            .then(pl.min_horizontal(pl.col("unadjusted_segment") + sa.worsen_by, pl.lit(sa.max_segment)))
            .otherwise(pl.col("unadjusted_segment"))
        )
    seg = seg.with_columns(after_system.alias("system_adjusted_segment"))
    seg = _apply_override(seg, rs, flags, wide_inputs)
    return seg.with_columns(
        pl.when(pl.col("override_flag").fill_null(False))
        .then(pl.max_horizontal(pl.col("system_adjusted_segment"), pl.lit(rs.override.cap_segment)))
        .otherwise(pl.col("system_adjusted_segment"))
        .alias("adjusted_segment")
    )


def final_segments(seg: pl.DataFrame, rs: RuleSet, flags: pl.DataFrame | None = None) -> pl.DataFrame:
    """Segment 5 for organisations on the intensive-support list; everyone else keeps the adjusted segment."""
    keys = ["quarter", "org_code"]
    support = pl.lit(False)
    seg = seg.drop("intensive_support", strict=False)
    if flags is not None and "intensive_support" in flags.columns and rs.intensive_support.source == "input":
        seg = seg.join(flags.select(*keys, pl.col("intensive_support").alias("_is")), on=keys, how="left")
        support = pl.col("_is").fill_null(False)
    seg = seg.with_columns(support.alias("intensive_support")).drop("_is", strict=False)
    return seg.with_columns(
        pl.when(pl.col("adjusted_segment").is_null())
        .then(None)
        .when(pl.col("intensive_support"))
        .then(pl.lit(rs.intensive_support.segment, pl.Int64))
        .otherwise(pl.col("adjusted_segment"))
        .alias("final_segment")
    )


def _improvement_expr() -> pl.Expr:
    """How far the average score must fall to reach the next better segment (0 at segment 1)."""
    seg = pl.col("unadjusted_segment")
    cut_above = (
        pl.when(seg == 2)
        .then(pl.col("cut_1"))
        .when(seg == 3)
        .then(pl.col("cut_2"))
        .when(seg == 4)
        .then(pl.col("cut_3"))
    )
    # with '<=' boundaries, reaching the cut is enough; with '<' one more hundredth is needed
    gap = pl.col("average_score") - cut_above + pl.when(pl.col("_le")).then(0.0).otherwise(0.01)
    return pl.when(seg == 1).then(0.0).otherwise(gap.round(6))


def override_columns(rs: RuleSet) -> set[str]:
    """The ``value__``/``domain__`` columns the override's proxy and exemption read (empty when neither)."""
    ov = rs.override
    if ov.source in ("none", "input") and ov.exempt is None:
        return set()
    proxy = condition_columns(ov.proxy) if ov.source in ("proxy", "input_else_proxy") else set()
    return proxy | condition_columns(ov.exempt)


def _apply_override(
    seg: pl.DataFrame, rs: RuleSet, flags: pl.DataFrame | None, wide: pl.DataFrame | None
) -> pl.DataFrame:
    ov = rs.override
    keys = ["quarter", "org_code"]
    have_input = flags is not None and "financial_override" in flags.columns
    if have_input:
        seg = seg.join(flags.select(*keys, pl.col("financial_override").alias("_input")), on=keys, how="left")
    else:
        seg = seg.with_columns(pl.lit(None, pl.Boolean).alias("_input"))
    needs = override_columns(rs)
    if needs:
        if wide is None:
            wide = pl.DataFrame({"quarter": [], "org_code": []}, schema={"quarter": pl.String, "org_code": pl.String})
        missing = [c for c in needs if c not in wide.columns]
        wide = wide.with_columns([pl.lit(None, pl.Float64).alias(c) for c in missing])
        seg = seg.join(wide.select(*keys, *sorted(needs)), on=keys, how="left")
    proxy = condition_expr(ov.proxy) if ov.proxy is not None else pl.lit(None, pl.Boolean)
    if ov.source == "none":
        flag, source = pl.lit(False), pl.lit("none")
    elif ov.source == "input":
        flag = pl.col("_input")
        source = pl.when(pl.col("_input").is_not_null()).then(pl.lit("input")).otherwise(pl.lit("missing"))
    elif ov.source == "proxy":
        flag, source = proxy, pl.lit("proxy")
    else:  # input_else_proxy
        flag = pl.coalesce(pl.col("_input"), proxy)
        source = pl.when(pl.col("_input").is_not_null()).then(pl.lit("input")).otherwise(pl.lit("proxy"))
    exempt = condition_expr(ov.exempt) if ov.exempt is not None else pl.lit(False)
    applies = pl.lit(True) if ov.org_types is None else pl.col("org_type").is_in(ov.org_types)
    seg = seg.with_columns(
        (flag.fill_null(False) & applies).alias("_flag"),
        source.alias("override_source"),
        exempt.alias("override_exempt"),
    )
    return seg.with_columns((pl.col("_flag") & ~pl.col("override_exempt")).alias("override_flag")).drop(
        "_flag", "_input", *sorted(needs)
    )
