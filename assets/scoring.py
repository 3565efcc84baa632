"""Metric values, scores, organisation scores and segmentation: each asset wraps one engine function."""

import dagster as dg
import polars as pl

from assets.checks import contract_check, of_quarter, per_quarter, schema_metadata, table_metadata, with_names
from assets.icb import beside_segmentation, system_counts
from assets.ingest import INGEST_ASSETS, OWNERS
from assets.partitions import labels_of, quarterly
from assets.settings import NpafSettings
from npaf_pipeline import inputs
from npaf_pipeline.engine.invariants import output_violations
from npaf_pipeline.engine.pipeline import AggregateStage, aggregate_stage, score_stage, segment_stage
from npaf_pipeline.reconcile.published import compare_segmentation
from npaf_pipeline.ruleset import load_ruleset
from npaf_pipeline.screening import OUT_OF_RANGE, OUT_OF_SCOPE, screen_values
from npaf_pipeline.sources import nof_dashboard, registry

COMMON = {
    "partitions_def": quarterly,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "owners": OWNERS,
    "io_manager_key": "tables_io_manager",
}


@dg.asset(
    group_name="metric_values",
    kinds={"polars"},
    ins={
        **{a.key.path[-1]: dg.AssetIn(a.key) for a in INGEST_ASSETS},
        "ingest_icb_values": dg.AssetIn("ingest_icb_values"),
        "organisation_reference": dg.AssetIn("organisation_reference"),
    },
    check_specs=[
        dg.AssetCheckSpec(
            "valid_ranges",
            asset="metric_values",
            blocking=True,
            description="Every value lies within its metric's valid range in the rule set (else quarantined).",
        ),
        dg.AssetCheckSpec(
            "known_organisations",
            asset="metric_values",
            blocking=False,
            description="Values for organisations the reference does not know are set aside, not scored.",
        ),
    ],
    description=(
        "One canonical metric value per (quarter, organisation, metric) with its lineage. Where sources overlap "
        "the precedence is canonical > raw extracts > NHS England dashboard; the others are kept as superseded. "
        "ICB-level values count as canonical ones (a value in canonical/ wins over one in icb_values/). "
        "Values for organisations outside the reference, or outside a metric's valid range, are set aside."
    ),
    **COMMON,
)
def metric_values(
    context: dg.AssetExecutionContext,
    npaf: NpafSettings,
    organisation_reference: pl.DataFrame,
    **ingested: dict[str, pl.DataFrame],
):
    by_source = {
        name.removeprefix("ingest_"): tables.get("values", pl.DataFrame()) for name, tables in ingested.items()
    }
    by_source, icb_superseded = _with_icb_values(by_source)
    merged, superseded = registry.merge_values(by_source)
    superseded = (
        pl.concat([superseded, icb_superseded], how="diagonal_relaxed") if icb_superseded.height else superseded
    )
    values, set_aside = screen_values(merged, organisation_reference, load_ruleset(npaf.framework))
    quarantine = (
        pl.concat(
            [t["quarantine"] for t in ingested.values() if t.get("quarantine", pl.DataFrame()).height]
            + ([set_aside] if set_aside.height else []),
            how="diagonal_relaxed",
        )
        if any(t.get("quarantine", pl.DataFrame()).height for t in ingested.values()) or set_aside.height
        else pl.DataFrame()
    )
    out_of_range = set_aside.filter(pl.col("check") == OUT_OF_RANGE)
    unknown = set_aside.filter(pl.col("check") == OUT_OF_SCOPE)
    yield dg.AssetCheckResult(
        check_name="valid_ranges",
        passed=out_of_range.is_empty() or not npaf.quarantine_blocks,
        metadata={"rows_out_of_range": out_of_range.height, "failures": table_metadata(out_of_range)},
    )
    yield dg.AssetCheckResult(
        check_name="known_organisations",
        passed=unknown.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rows_set_aside": unknown.height,
            "organisations": unknown["value"].n_unique() if unknown.height else 0,
            "examples": table_metadata(unknown.unique("value").sort("value"), 20),
        },
    )

    def quarter_metadata(q: str) -> dict:
        own = of_quarter(values, q)
        per_source = own.group_by("source").agg(pl.len().alias("values")).sort("source") if own.height else own
        return {
            "row_count": own.height,
            "superseded_rows": of_quarter(superseded, q).height,
            "set_aside_rows": of_quarter(set_aside, q).height,
            "by_source": table_metadata(per_source),
            "preview": table_metadata(with_names(own, of_quarter(organisation_reference, q)), 10),
        }

    per_quarter(context, quarter_metadata)
    yield dg.Output(
        {"values": values, "superseded": superseded, "quarantine": quarantine},
        metadata={"schema": schema_metadata(values)},
    )


def _with_icb_values(by_source: dict[str, pl.DataFrame]) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """ICB-level values join the canonical ones; a key already in canonical/ keeps that value (the other is
    returned as superseded)."""
    icb = by_source.pop("icb_values", pl.DataFrame())
    if icb.is_empty():
        return by_source, icb
    keys = list(registry.KEYS)
    own = by_source.get("canonical", pl.DataFrame())
    if own.is_empty():
        return {**by_source, "canonical": icb}, pl.DataFrame()
    taken = icb.join(own.select(keys), on=keys, how="semi")
    merged = pl.concat([own, icb.join(own.select(keys), on=keys, how="anti")], how="diagonal_relaxed")
    return {**by_source, "canonical": merged}, taken


@dg.asset(
    group_name="metric_values",
    kinds={"polars", "pandera"},
    check_specs=[
        dg.AssetCheckSpec(
            "pandera_contract",
            asset="organisation_reference",
            blocking=True,
            description="Every row read is accepted or quarantined; a quarantined row or a broken count fails it.",
        )
    ],
    description="Organisations per quarter with their rule-set type: ODS list + trust types, else the NOF files.",
    **COMMON,
)
def organisation_reference(context: dg.AssetExecutionContext, npaf: NpafSettings):
    rs = load_ruleset(npaf.framework)
    orgs, quarantine, accounts = inputs.organisation_inputs(npaf.landing, labels_of(context.partition_keys), rs)
    yield contract_check("pandera_contract", quarantine, accounts, npaf.quarantine_blocks, len(accounts))
    per_quarter(
        context,
        lambda q: {
            "row_count": of_quarter(orgs, q).height,
            "by_type": table_metadata(of_quarter(orgs, q).group_by("org_type").len("organisations").sort("org_type")),
        },
    )
    yield dg.Output(orgs)


@dg.asset(
    group_name="metric_values",
    kinds={"polars", "pandera"},
    check_specs=[
        dg.AssetCheckSpec(
            "pandera_contract",
            asset="segmentation_flags",
            blocking=True,
            description="Every row read is accepted or quarantined; a quarantined row or a broken count fails it.",
        )
    ],
    description="Financial-override and intensive-support flags per organisation-quarter, with their source.",
    **COMMON,
)
def segmentation_flags(context: dg.AssetExecutionContext, npaf: NpafSettings):
    flags, quarantine, accounts = inputs.flag_inputs(npaf.landing, labels_of(context.partition_keys))
    yield contract_check("pandera_contract", quarantine, accounts, npaf.quarantine_blocks, len(accounts))

    def summary(q: str) -> dict:
        own = of_quarter(flags, q)
        counts = own.group_by("flag_source").agg(
            pl.len().alias("organisations"),
            pl.col("financial_override").sum().alias("override_flags"),
            pl.col("intensive_support").sum().alias("intensive_support"),
        )
        return {"row_count": own.height, "summary": table_metadata(counts.sort("flag_source"))}

    per_quarter(context, summary)
    yield dg.Output(flags)


@dg.asset(
    group_name="scores",
    kinds={"polars"},
    description=(
        "Step 1: metric scores 1-4 with their individual metric ranks, and per-type quartiles (engine.score_stage)."
    ),
    **COMMON,
)
def metric_scores(
    context: dg.AssetExecutionContext,
    npaf: NpafSettings,
    metric_values: dict[str, pl.DataFrame],
    organisation_reference: pl.DataFrame,
) -> dg.Output:
    rs = load_ruleset(npaf.framework)
    stage = score_stage(metric_values["values"], organisation_reference, rs)
    scores = stage.metric_scores
    per_quarter(
        context,
        lambda q: {
            "row_count": of_quarter(scores, q).height,
            "by_metric": table_metadata(
                of_quarter(scores, q)
                .group_by("metric_id")
                .agg(pl.len().alias("organisations"), pl.col("score").mean().round(2).alias("mean_score"))
                .sort("metric_id"),
                100,
            ),
        },
    )
    return dg.Output(
        {"metric_scores": scores, "type_statistics": stage.type_statistics},
        metadata={"rule_set": f"{rs.id} {rs.version}", "schema": schema_metadata(scores)},
    )


@dg.asset(
    group_name="scores",
    kinds={"polars"},
    description="Step 2: scored items, average metric score and domain scores (engine.aggregate_stage).",
    **COMMON,
)
def organisation_scores(
    context: dg.AssetExecutionContext, npaf: NpafSettings, metric_scores: dict[str, pl.DataFrame]
) -> dg.Output:
    stage = aggregate_stage(metric_scores["metric_scores"], load_ruleset(npaf.framework))
    tables = {
        "items": stage.items,
        "org_scores": stage.org_scores,
        "domain_scores": stage.domain_scores,
        "group_scores": stage.group_scores,
    }
    per_quarter(
        context,
        lambda q: {
            "row_count": of_quarter(stage.org_scores, q).height,
            "preview": table_metadata(of_quarter(stage.org_scores, q).drop("quarter"), 10),
        },
    )
    return dg.Output(tables)


@dg.multi_asset(
    outs={
        "segmentation": dg.AssetOut(
            group_name="segmentation",
            kinds={"polars"},
            owners=OWNERS,
            io_manager_key="tables_io_manager",
            description=(
                "Steps 3-4 (engine.segment_stage): cut-points, unadjusted segment, system adjustment (from "
                "icb_system_tests), override, adjusted and final segment, AMR (aggregated metric ranking) ranks and "
                "likely ranges; the segment's description and leadership capability ratings beside it (never "
                "changing it). Blocked when an output invariant breaks."
            ),
        )
    },
    check_specs=[
        dg.AssetCheckSpec(
            "output_invariants",
            asset="segmentation",
            blocking=True,
            description=(
                "Every scored organisation has exactly one segment; scores within 1-4; league ranks and individual "
                "metric ranks complete."
            ),
        ),
        dg.AssetCheckSpec(
            "matches_nhs_england",
            asset="segmentation",
            blocking=False,
            description=(
                "Organisations whose published adjusted segment the run reproduces, as a count (194/195), where "
                "NHS England's files for the quarter are landed; skipped when there is nothing to compare."
            ),
        ),
    ],
    # subsettable, so the comparison check may be left out (shown as skipped) when nothing was compared
    can_subset=True,
    partitions_def=quarterly,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def segmentation(
    context: dg.AssetExecutionContext,
    npaf: NpafSettings,
    organisation_scores: dict[str, pl.DataFrame],
    metric_scores: dict[str, pl.DataFrame],
    metric_values: dict[str, pl.DataFrame],
    organisation_reference: pl.DataFrame,
    segmentation_flags: pl.DataFrame,
    icb_system_tests: dict[str, pl.DataFrame],
):
    rs = load_ruleset(npaf.framework)
    agg = AggregateStage(
        **{k: organisation_scores[k] for k in ("items", "org_scores", "domain_scores", "group_scores")}
    )
    flags = segmentation_flags if segmentation_flags.height else None
    tests = icb_system_tests.get("tests")
    system_tests = tests if tests is not None and tests.height else None
    stage = segment_stage(agg, metric_values["values"], rs, flags, system_tests=system_tests)
    seg = beside_segmentation(stage.segmentation, rs, inputs.leadership_ratings(npaf.landing))
    violations = output_violations(metric_scores["metric_scores"], seg, organisation_reference, rs)
    yield dg.AssetCheckResult(
        check_name="output_invariants",
        passed=violations.height == 0,
        metadata={"violations": violations.height, "details": table_metadata(violations)},
    )
    quarters = labels_of(context.partition_keys)
    comparison = _published_check(npaf, quarters, seg)
    if comparison is not None:
        yield comparison
    per_quarter(
        context,
        lambda q: _segmentation_metadata(
            of_quarter(seg, q), of_quarter(stage.cutpoints, q), of_quarter(organisation_reference, q)
        ),
    )
    yield dg.Output(
        {"cutpoints": stage.cutpoints, "domain_scores": stage.domain_scores, "segmentation": seg},
        output_name="segmentation",
    )


def _segmentation_metadata(seg: pl.DataFrame, cutpoints: pl.DataFrame, orgs: pl.DataFrame) -> dict:
    """One quarter's segmentation: its own rows, segment counts and cut-points (2 dp, as scores are published)."""
    counts = seg.group_by("org_type", "final_segment").agg(pl.len().alias("organisations"))
    overall = cutpoints.filter(pl.col("target") == "overall").select(
        "population", "n", *[pl.col(c).round(2) for c in ("cut_1", "cut_2", "cut_3")]
    )
    preview = seg.sort("org_type", "amr_rank").select(
        "org_code", "org_type", "average_score", "amr_rank", "unadjusted_segment", "adjusted_segment", "final_segment"
    )
    return {
        "row_count": seg.height,
        "segment_distribution": table_metadata(counts.sort("org_type", "final_segment"), 100),
        "system_adjustment": table_metadata(system_counts(seg), 100),
        "cut_points": table_metadata(overall),
        "preview": table_metadata(with_names(preview, orgs), 20),
    }


def _published_check(npaf: NpafSettings, quarters: list[str], seg: pl.DataFrame) -> dg.AssetCheckResult | None:
    """The comparison with NHS England's published segments as counts; None (the check is skipped) when the
    landing zone holds none of NHS England's results for these quarters."""
    files = registry.source_files(npaf.landing, nof_dashboard.SOURCE)
    if not files:
        return None
    comparison = compare_segmentation(seg, nof_dashboard.read_release(files, quarters))
    if comparison.is_empty():
        return None
    by_quarter = comparison.group_by("quarter").agg(
        pl.len().alias("organisations"),
        (pl.col("adjusted_segment") == pl.col("published_adjusted")).sum().alias("segment_equal"),
        ((pl.col("amr_rank") - pl.col("published_amr_rank")).abs() <= 2).sum().alias("rank_within_2"),
        ((pl.col("average_score") - pl.col("published_average")).abs() <= 0.01 + 1e-9).sum().alias("average_equal"),
    )
    table = by_quarter.sort("quarter").select(
        "quarter",
        pl.format("{}/{}", "segment_equal", "organisations").alias("adjusted_segment_equal"),
        pl.format("{}/{}", "rank_within_2", "organisations").alias("amr_rank_within_2"),
        pl.format("{}/{}", "average_equal", "organisations").alias("average_score_within_0_01"),
    )
    n, equal = comparison.height, int(by_quarter["segment_equal"].sum())
    differing = comparison.filter(pl.col("adjusted_segment") != pl.col("published_adjusted"))
    return dg.AssetCheckResult(
        check_name="matches_nhs_england",
        passed=equal >= 0.985 * n,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"adjusted segment equal to NHS England: {equal}/{n}",
        metadata={
            "adjusted_segment_equal": f"{equal}/{n}",
            "amr_rank_within_2": f"{int(by_quarter['rank_within_2'].sum())}/{n}",
            "average_score_within_0_01": f"{int(by_quarter['average_equal'].sum())}/{n}",
            "by_quarter": table_metadata(table),
            "segment_differences": table_metadata(differing),
        },
    )
