"""What every source adapter shares: the result type, whole-file errors, pandera validation into quarantine.

An adapter turns the raw files of one landing folder into canonical metric values. Row-level problems are
quarantined (file, row, column, rule, value), never dropped; a file that cannot be read at all raises
:class:`SourceFileError`. ``rows read = rows accepted + rows quarantined`` is checked for every file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandera.polars as pa
import polars as pl

from schemas.canonical import (
    METRIC_VALUE_COLUMNS,
    OPTIONAL_METRIC_VALUE_COLUMNS,
    QUARANTINE_COLUMNS,
    MetricValues,
    empty_metric_values,
    empty_quarantine,
)


class SourceFileError(ValueError):
    """A raw file that cannot be used at all; the message names the file and the problem in plain words."""

    def __init__(self, path: str | Path, problem: str, row: int | None = None, column: str | None = None):
        self.path, self.problem, self.row, self.column = str(path), problem, row, column
        where = str(path)
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column}"
        super().__init__(f"{where}: {problem}")


class AccountingError(AssertionError):
    """Rows went missing between reading a file and accepting or quarantining them."""


@dataclass(frozen=True)
class FileAccount:
    """Row accounting for one raw file."""

    source: str
    path: str
    sha256: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int

    def check(self) -> None:
        if self.rows_read != self.rows_accepted + self.rows_quarantined:
            raise AccountingError(
                f"{self.path}: {self.rows_read} rows read but {self.rows_accepted} accepted + "
                f"{self.rows_quarantined} quarantined"
            )


@dataclass
class AdapterResult:
    """Canonical values, quarantined rows and per-file accounting from one source."""

    source: str
    values: pl.DataFrame = field(default_factory=empty_metric_values)
    quarantine: pl.DataFrame = field(default_factory=empty_quarantine)
    accounts: list[FileAccount] = field(default_factory=list)

    def check_accounting(self) -> None:
        for account in self.accounts:
            account.check()


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def validate_rows(
    frame: pl.DataFrame,
    model: type[pa.DataFrameModel],
    *,
    source: str,
    path: str | Path,
    sha256: str,
    row_column: str = "source_row",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate eagerly (so value checks really run) and split into (accepted, quarantine records).

    Every failure is collected in one pass (``lazy=True``). A failure pandera cannot tie to a row (a
    missing column, a wrong dtype) is a whole-file problem and raises :class:`SourceFileError`.
    """
    try:
        model.validate(frame, lazy=True)
        return frame, empty_quarantine()
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    unplaced = cases.filter(pl.col("index").is_null())
    if unplaced.height:
        first = unplaced.row(0, named=True)
        raise SourceFileError(
            path, f"does not match {model.__name__}: {first['check']} on {first['column']} ({first['failure_case']})"
        )
    indexed = frame.with_row_index("_idx")
    records = (
        cases.select(
            pl.col("index").cast(pl.UInt32).alias("_idx"),
            pl.when(pl.col("schema_context") == "Column").then(pl.col("column")).alias("column"),
            pl.col("check").alias("check"),
            pl.col("failure_case").cast(pl.String).alias("value"),
        )
        .join(indexed.select("_idx", pl.col(row_column).alias("source_row")), on="_idx", how="left")
        .with_columns(
            pl.lit(source).alias("source"),
            pl.lit(str(path)).alias("source_file"),
            pl.lit(sha256).alias("source_sha256"),
            pl.concat_str([pl.coalesce(pl.col("column"), pl.lit("row")), pl.lit(" fails "), pl.col("check")]).alias(
                "reason"
            ),
        )
    )
    bad = records["_idx"].unique()
    accepted = indexed.filter(~pl.col("_idx").is_in(bad.implode())).drop("_idx")
    return accepted, records.select(QUARANTINE_COLUMNS).sort("source_row", "column", nulls_last=True)


def finish(
    source: str,
    path: str | Path,
    sha256: str,
    rows_read: int,
    values: pl.DataFrame,
    quarantine: pl.DataFrame | None = None,
    rows_accepted: int | None = None,
    reference_rows: int = 0,
) -> AdapterResult:
    """Validate canonical output against :class:`MetricValues` and record the file's accounting.

    ``rows_accepted`` is the number of *raw* rows that contributed (adapters aggregate many raw rows into
    one value); it defaults to the number of output values plus ``reference_rows`` (raw rows kept as
    reference rather than as values, e.g. the published scores of a NOF file).
    """
    absent = [c for c in OPTIONAL_METRIC_VALUE_COLUMNS if c not in values.columns]
    values = values.with_columns(pl.lit(None, pl.Float64).alias(c) for c in absent)
    accepted, more = validate_rows(
        values.select(METRIC_VALUE_COLUMNS), MetricValues, source=source, path=path, sha256=sha256
    )
    earlier = empty_quarantine() if quarantine is None or quarantine.width == 0 else quarantine
    quarantine = pl.concat([earlier.select(QUARANTINE_COLUMNS), more], how="vertical_relaxed")
    n_quarantined = quarantine["source_row"].n_unique()
    n_accepted = rows_accepted if rows_accepted is not None else accepted.height + reference_rows
    account = FileAccount(source, str(path), sha256, rows_read, n_accepted, n_quarantined)
    result = AdapterResult(source, accepted, quarantine, [account])
    result.check_accounting()
    return result


def combine(results: list[AdapterResult], source: str) -> AdapterResult:
    """Results of several files of one source, as one."""
    if not results:
        return AdapterResult(source)
    return AdapterResult(
        source,
        pl.concat([r.values for r in results], how="vertical_relaxed"),
        pl.concat([r.quarantine for r in results], how="vertical_relaxed"),
        [a for r in results for a in r.accounts],
    )
