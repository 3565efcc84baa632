"""Asset-check results built from engine outputs: quarantine tables and invariants as Dagster metadata."""

from __future__ import annotations

import dagster as dg
import polars as pl

from npaf_pipeline.sources.base import quarantined_rows

MAX_ROWS_SHOWN = 50


def table_metadata(frame: pl.DataFrame, limit: int = MAX_ROWS_SHOWN) -> dg.MetadataValue:
    """A polars frame as a Dagster table (first ``limit`` rows; values shown as text)."""
    head = frame.head(limit)
    columns = [dg.TableColumn(name, type=str(dtype)) for name, dtype in head.schema.items()]
    records = [
        dg.TableRecord({k: (None if v is None else str(v)) for k, v in row.items()})
        for row in head.iter_rows(named=True)
    ]
    return dg.MetadataValue.table(records, schema=dg.TableSchema(columns=columns))


def schema_metadata(frame: pl.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.table_schema(
        dg.TableSchema(columns=[dg.TableColumn(name, type=str(dtype)) for name, dtype in frame.schema.items()])
    )


def contract_check(
    check_name: str, quarantine: pl.DataFrame, accounts: list, blocking_on_quarantine: bool, files: int
) -> dg.AssetCheckResult:
    """The pandera contract of a source: accounting must hold; quarantined rows fail it when configured to."""
    problems = []
    for account in accounts:
        if account.rows_read != account.rows_accepted + account.rows_quarantined:
            problems.append(f"{account.path}: rows read != accepted + quarantined")
    failed = bool(problems) or (blocking_on_quarantine and quarantine.height > 0)
    summary = (
        quarantine.group_by("check", "source_file")
        .agg(pl.len().alias("rows"))
        .sort("rows", "check", descending=[True, False])
        .select("check", "rows", pl.col("source_file").str.split("/").list.last().alias("file"))
        if quarantine.height
        else pl.DataFrame()
    )
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "files": files,
            "rows_read": sum(a.rows_read for a in accounts),
            "rows_accepted": sum(a.rows_accepted for a in accounts),
            "rows_quarantined": quarantined_rows(quarantine),
            "accounting_problems": "; ".join(problems) or "none",
            "failures": table_metadata(_readable(quarantine)),
            "failures_by_check": table_metadata(summary),
        },
        description=(f"{quarantine.height} quarantined failure(s)" if quarantine.height else "every row accepted"),
    )


def _readable(quarantine: pl.DataFrame) -> pl.DataFrame:
    """What a person needs first: the row, column, rule and value; then the file by name."""
    if quarantine.is_empty():
        return quarantine
    return quarantine.select(
        "source_row",
        "column",
        "check",
        "value",
        "reason",
        pl.col("source_file").str.split("/").list.last().alias("file"),
        "source",
    )
