"""Ingest layer: one asset per landing source, each a thin wrapper over that source's adapter."""

import dagster as dg
import polars as pl

from assets.checks import contract_check, of_quarter, per_quarter, schema_metadata, table_metadata
from assets.partitions import labels_of, quarterly
from assets.settings import NpafSettings
from npaf_pipeline.landing import scan, update_ledger
from npaf_pipeline.sources import registry
from npaf_pipeline.sources.base import AdapterResult
from schemas.canonical import empty_metric_values, empty_quarantine

GROUP = "ingest"
OWNERS = ["team:npaf-data-engineering"]


def _ingest_asset(source: str) -> dg.AssetsDefinition:
    check = dg.AssetCheckSpec(
        "pandera_contract",
        asset=f"ingest_{source}",
        blocking=True,
        description="Every row read is accepted or quarantined; a quarantined row or a broken count fails it.",
    )

    @dg.asset(
        name=f"ingest_{source}",
        group_name=GROUP,
        partitions_def=quarterly,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=[check],
        kinds={"polars", "pandera"},
        owners=OWNERS,
        io_manager_key="tables_io_manager",
        description=(
            f"Raw files in <landing>/{source}/ parsed by the {source} adapter and validated with its pandera "
            "models; canonical metric values plus the quarantined rows with file, row, column and rule."
        ),
    )
    def _ingest(context: dg.AssetExecutionContext, npaf: NpafSettings):
        files = registry.source_files(npaf.landing, source)
        quarters = labels_of(context.partition_keys)
        if files:
            result = registry.reader(source)(files, quarters)
        else:
            result = AdapterResult(source, empty_metric_values(), empty_quarantine(), [])
        # a file's rejected rows concern every quarter it was read for
        quarantine = pl.concat(
            [result.quarantine.with_columns(pl.lit(q).alias("quarter")) for q in quarters], how="vertical_relaxed"
        )
        yield contract_check("pandera_contract", result.quarantine, result.accounts, npaf.quarantine_blocks, len(files))
        per_quarter(
            context,
            lambda q: {
                "row_count": of_quarter(result.values, q).height,
                "quarantined_rows": result.quarantine.height,  # a file's rejected rows concern every quarter
                "preview": table_metadata(of_quarter(result.values, q), 10),
            },
        )
        yield dg.Output(
            {"values": result.values, "quarantine": quarantine},
            metadata={"files": len(files), "schema": schema_metadata(result.values)},
        )

    return _ingest


INGEST_ASSETS = [_ingest_asset(source) for source in registry.VALUE_SOURCES]


@dg.asset(
    group_name=GROUP,
    kinds={"polars"},
    owners=OWNERS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Every landing file with SHA-256, size and first-seen time; files are never modified or moved.",
)
def landing_ledger(context: dg.AssetExecutionContext, npaf: NpafSettings) -> dg.MaterializeResult:
    ledger = update_ledger(npaf.state / "landing_ledger.parquet", scan(npaf.landing))
    by_source = ledger.group_by("source").agg(pl.len().alias("files"), pl.col("size_bytes").sum()).sort("source")
    return dg.MaterializeResult(
        metadata={"files": ledger.height, "by_source": table_metadata(by_source), "path": str(npaf.state)}
    )
