"""Asset-check results built from engine outputs: quarantine tables and invariants as Dagster metadata."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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
    check_name: str,
    quarantine: pl.DataFrame,
    accounts: list | None,
    blocking_on_quarantine: bool,
    files: int,
    metadata: Mapping[str, Any] | None = None,
) -> dg.AssetCheckResult:
    """The pandera contract of a source: accounting must hold; quarantined rows fail it when configured to.

    ``accounts`` None: the reader keeps no per-file counts, so rows read and accepted are not shown (never as 0);
    ``metadata``: more entries for the check (e.g. the rows per landing folder of a check over several)."""
    problems = []
    for account in accounts or []:
        if account.rows_read != account.rows_accepted + account.rows_quarantined:
            problems.append(f"{account.path}: rows read != accepted + quarantined")
    failed = bool(problems) or (blocking_on_quarantine and quarantine.height > 0)
    counts = (
        {
            "rows_read": sum(a.rows_read for a in accounts),
            "rows_accepted": sum(a.rows_accepted for a in accounts),
        }
        if accounts is not None
        else {}
    )
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
            **counts,
            "rows_quarantined": quarantined_rows(quarantine),
            "accounting_problems": "; ".join(problems) or "none",
            "failures": table_metadata(_readable(quarantine)),
            "failures_by_check": table_metadata(summary),
            **(metadata or {}),
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


def with_names(frame: pl.DataFrame, orgs: pl.DataFrame | None) -> pl.DataFrame:
    """``org_name`` beside ``org_code`` (from the organisation reference), so a preview reads without a lookup."""
    if orgs is None or orgs.is_empty() or "org_code" not in frame.columns or "org_name" in frame.columns:
        return frame
    keys = ["quarter", "org_code"] if "quarter" in frame.columns and "quarter" in orgs.columns else ["org_code"]
    names = orgs.select(*keys, "org_name").unique(keys, keep="first")
    out = frame.join(names, on=keys, how="left")
    at = out.columns.index("org_code") + 1
    order = [c for c in out.columns if c != "org_name"]
    return out.select([*order[:at], "org_name", *order[at:]])


def per_quarter(
    context: dg.AssetExecutionContext,
    build: Callable[[str], Mapping[str, Any]],
    asset_key: dg.AssetKey | None = None,
) -> None:
    """Metadata of each partition from that quarter's rows only (a single run covers many partitions; without this
    every partition of the run would show the whole range's counts, and Dagster would store the whole range's
    tables once per partition). ``asset_key``: which asset of a multi-asset."""
    from assets.partitions import quarter_of

    for key in context.partition_keys:
        label = quarter_of(key).label  # the NHS quarter first: the UI shows partitions by key (2025-04)
        context.add_asset_metadata({"quarter": label, **build(label)}, asset_key=asset_key, partition_key=key)


def of_quarter(frame: pl.DataFrame, label: str) -> pl.DataFrame:
    """The rows of quarter ``label`` (e.g. ``2025-26 Q1``): by ``quarter_label`` in a published table (whose
    ``quarter`` is ``Q1``), by ``quarter`` in the engine's frames; all of a frame without either."""
    for column in ("quarter_label", "quarter"):
        if column in frame.columns:
            return frame.filter(pl.col(column) == label)
    return frame
