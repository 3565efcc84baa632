"""Publish layer: the quarter's Parquet snapshot, written only when every blocking check upstream passed."""

from datetime import timedelta

import dagster as dg
import polars as pl

from assets.checks import of_quarter, per_quarter, table_metadata
from assets.commands.progress import PUBLISH_PREFIX
from assets.ingest import OWNERS
from assets.io_manager import PREVIOUS_QUARTER_OPTIONAL
from assets.partitions import labels_of, quarterly
from assets.settings import NpafSettings
from npaf_pipeline import inputs
from npaf_pipeline.engine import EngineResult
from npaf_pipeline.engine.invariants import output_violations
from npaf_pipeline.publish import publish_quarters
from npaf_pipeline.publish.changes import previous_quarters
from npaf_pipeline.publish.changes import segment_changes as changed_segments
from npaf_pipeline.ruleset import load_ruleset
from npaf_pipeline.sources import registry


@dg.asset(
    group_name="publish",
    kinds={"parquet", "duckdb"},
    owners=OWNERS,
    partitions_def=quarterly,
    backfill_policy=dg.BackfillPolicy.single_run(),
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(days=120)),
    description=(
        "Hive-partitioned Parquet tables for BI (organisation segmentation, metric scores, metric values with "
        "lineage, league tables, quarantine summary, run manifest, ICB system considerations) with a manifest per "
        "quarter, the data package and the DuckDB catalog. Each quarter is swapped in atomically."
    ),
)
def published_snapshot(
    context: dg.AssetExecutionContext,
    npaf: NpafSettings,
    metric_values: dict[str, pl.DataFrame],
    organisation_reference: pl.DataFrame,
    metric_scores: dict[str, pl.DataFrame],
    organisation_scores: dict[str, pl.DataFrame],
    segmentation: dict[str, pl.DataFrame],
    icb_system_tests: dict[str, pl.DataFrame],
) -> dg.MaterializeResult:
    rs = load_ruleset(npaf.framework)
    result = EngineResult(
        metric_scores=metric_scores["metric_scores"],
        type_statistics=metric_scores["type_statistics"],
        items=organisation_scores["items"],
        domain_scores=segmentation["domain_scores"],
        group_scores=organisation_scores["group_scores"],
        cutpoints=segmentation["cutpoints"],
        segmentation=segmentation["segmentation"],
    )
    quarters = labels_of(context.partition_keys)
    violations = output_violations(result.metric_scores, result.segmentation, organisation_reference, rs)
    checks = [
        {"quarter": q, "name": "output_invariants", "passed": violations.filter(pl.col("quarter") == q).height == 0}
        for q in quarters
    ]
    files = [f for source in registry.VALUE_SOURCES for f in registry.source_files(npaf.landing, source)]
    files += inputs.icb_input_files(npaf.landing, rs)
    report = publish_quarters(
        result,
        organisation_reference,
        metric_values["values"],
        rs,
        npaf.output,
        quarantine=every_quarantine(metric_values.get("quarantine"), icb_system_tests.get("quarantine")),
        inputs=files or None,
        checks=checks,
        system_evidence=icb_system_tests.get("evidence"),
        on_wait=context.log.info,
        on_progress=lambda stage: context.log.info(f"{PUBLISH_PREFIX}{stage}"),  # read by npaf backfill's display
    )
    seg = result.segmentation

    def quarter_metadata(q: str) -> dict:
        """This quarter's published files only (a run covers many partitions)."""
        info = report["quarters"].get(q, {})
        counts = of_quarter(seg, q).group_by("org_type", "final_segment").len("organisations")
        rows = [(name, t["rows"]) for name, t in info.get("tables", {}).items()]
        meta = {
            "manifest": dg.MetadataValue.path(info.get("manifest", "")),
            "segments": table_metadata(counts.sort("org_type", "final_segment")),
            "row_counts": table_metadata(pl.DataFrame(rows, schema=["table", "rows"], orient="row")),
        }
        if info.get("data_docs"):
            meta["data_docs"] = dg.MetadataValue.url(f"file://{info['data_docs']}")
        return meta

    per_quarter(context, quarter_metadata)
    stages = sorted(report["seconds"].items(), key=lambda kv: -kv[1])
    return dg.MaterializeResult(
        metadata={
            "output_dir": dg.MetadataValue.path(str(npaf.output)),
            "catalog": dg.MetadataValue.path(report["catalog"]),
            # where the publish spent its time, longest first (the Dagster UI shows it with the materialization)
            "publish_seconds": table_metadata(
                pl.DataFrame(
                    {"stage": [k for k, _ in stages], "seconds": [round(v, 3) for _, v in stages]},
                    schema={"stage": pl.String, "seconds": pl.Float64},
                )
            ),
        }
    )


def every_quarantine(values: pl.DataFrame | None, system_tests: pl.DataFrame | None) -> pl.DataFrame | None:
    """The rows quarantined by the metric-value sources and by the ICB system tests' own inputs (rtt_monthly/),
    for ``quarantine_summary``: every source's quarantine is published, whichever step read it."""
    held = [q for q in (values, system_tests) if q is not None and q.height]
    return pl.concat(held, how="diagonal_relaxed") if held else values


@dg.asset(
    group_name="segmentation",
    kinds={"polars"},
    owners=OWNERS,
    partitions_def=quarterly,
    backfill_policy=dg.BackfillPolicy.single_run(),
    io_manager_key="tables_io_manager",
    ins={
        "segmentation": dg.AssetIn(
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-1, allow_nonexistent_upstream_partitions=True
            ),
            # the quarter before the run's first may never have been computed: its changes are then not known
            metadata={PREVIOUS_QUARTER_OPTIONAL: True},
        )
    },
    description="Organisations whose adjusted or final segment changed since the previous quarter.",
)
def segment_changes(context: dg.AssetExecutionContext, segmentation: dict[str, pl.DataFrame]) -> dg.Output:
    quarters = labels_of(context.partition_keys)
    seg = segmentation.get("segmentation", pl.DataFrame())
    changes = changed_segments(seg).filter(pl.col("quarter").is_in(quarters))
    previous = previous_quarters(seg, quarters)
    for q, (before, held) in previous.items():
        if not held:
            context.log.warning(
                f"segment_changes {q}: nothing stored for the previous quarter, {before}, so this quarter's "
                f"changes are not known and none are listed; backfill from {before} to list them"
            )
    per_quarter(
        context,
        lambda q: {
            "compared_with": previous[q][0] if previous[q][1] else f"nothing: {previous[q][0]} is not stored",
            "row_count": of_quarter(changes, q).height,
            "changes": table_metadata(of_quarter(changes, q)),
        },
    )
    return dg.Output(changes)
