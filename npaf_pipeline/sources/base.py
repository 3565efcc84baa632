"""What every source adapter shares: the result type, whole-file errors, quarantine records, requested quarters.

An adapter turns the raw files of one landing folder into canonical metric values. Row-level problems are
quarantined (file, row, column, rule, value), never dropped; a file that cannot be read at all raises
:class:`SourceFileError`. ``rows read = rows accepted + rows quarantined`` is checked for every file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandera.polars as pa
import polars as pl

from npaf_pipeline.quarters import Quarter, parse_quarter
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


UNIQUENESS = "multiple_fields_uniqueness"
"""The pandera check that fails for every copy of a row repeating the model's ``Config.unique`` key."""


def validate_rows(
    frame: pl.DataFrame,
    model: type[pa.DataFrameModel],
    *,
    source: str,
    path: str | Path,
    sha256: str,
    row_column: str = "source_row",
    column_names: Mapping[str, str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate eagerly (so value checks really run) and split into (accepted, quarantine records).

    Every failure is collected in one pass (``lazy=True``). A failure pandera cannot tie to a row (a
    missing column, a wrong dtype) is a whole-file problem and raises :class:`SourceFileError`.
    ``column_names`` (frame column -> header in the file) names columns as the person fixing the file finds
    them. A repeated key is recorded under the key columns with the key as its value (pandera gives the
    whole row, which hides what is repeated).
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
    keys = model.to_schema().unique or []
    key_cells = [pl.col(k).cast(pl.String).fill_null("") for k in keys]
    key = pl.concat_str(key_cells, separator=" | ") if keys else pl.lit("")
    indexed = frame.with_row_index("_idx")
    column = pl.when(pl.col("schema_context") == "Column").then(pl.col("column"))
    repeated = pl.col("check") == UNIQUENESS
    records = (
        cases.select(
            pl.col("index").cast(pl.UInt32).alias("_idx"),
            column.alias("_column"),
            (column.replace(dict(column_names)) if column_names else column).alias("column"),
            pl.col("check").alias("check"),
            pl.col("failure_case").cast(pl.String).alias("value"),
        )
        .join(
            indexed.select("_idx", pl.col(row_column).alias("source_row"), key.alias("_key")),
            on="_idx",
            how="left",
        )
        .with_columns(
            pl.lit(source).alias("source"),
            pl.lit(str(path)).alias("source_file"),
            pl.lit(sha256).alias("source_sha256"),
            _reason(),
        )
        .with_columns(
            pl.when(repeated).then(pl.lit(", ".join(keys))).otherwise(pl.col("column")).alias("column"),
            pl.when(repeated).then(pl.col("_key")).otherwise(pl.col("value")).alias("value"),
        )
    )
    bad = records["_idx"].unique()
    accepted = indexed.filter(~pl.col("_idx").is_in(bad.implode())).drop("_idx")
    return accepted, records.sort("source_row", "_column", nulls_last=True).select(QUARANTINE_COLUMNS)


def _reason() -> pl.Expr:
    """``<column> fails <check>``; ``row fails <check>`` for a rule over the whole row."""
    named = pl.coalesce(pl.col("column"), pl.lit("row"))
    return pl.concat_str([named, pl.lit(" fails "), pl.col("check")]).alias("reason")


def relabel(quarantine: pl.DataFrame, column: pl.Expr) -> pl.DataFrame:
    """Records naming their column as ``column`` says (e.g. the sheet and service of a cell), and so their reason."""
    return quarantine.with_columns(column.alias("column")).with_columns(_reason()).select(QUARANTINE_COLUMNS)


def quarantine_rows(
    frame: pl.DataFrame,
    mask: pl.Expr,
    *,
    column: str | None,
    check: str,
    value: pl.Expr,
    reason: str,
    source: str,
    path: str | Path,
    sha256: str,
) -> pl.DataFrame:
    """Quarantine records for the rows of ``frame`` matching ``mask`` (rules pandera cannot express per row)."""
    hit = frame.filter(mask)
    return hit.select(
        pl.lit(source).alias("source"),
        pl.lit(str(path)).alias("source_file"),
        pl.lit(sha256).alias("source_sha256"),
        pl.col("source_row").cast(pl.Int64),
        pl.lit(column, pl.String).alias("column"),
        pl.lit(check).alias("check"),
        value.cast(pl.String).alias("value"),
        pl.lit(reason).alias("reason"),
    ).select(QUARANTINE_COLUMNS)


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


def finish_by_file(
    source: str, values: pl.DataFrame, files: Iterable[tuple[Path, str, int, pl.DataFrame, int]]
) -> AdapterResult:
    """Values computed across files (a quarter from monthly files), finished and accounted file by file.

    ``files``: (path, sha256, rows read, quarantine, rows accepted) of each file; a value belongs to the
    file its ``source_file`` names.
    """
    return combine(
        [
            finish(
                source,
                path,
                sha256,
                rows_read,
                values.filter(pl.col("source_file") == str(path)),
                quarantine,
                rows_accepted=rows_accepted,
            )
            for path, sha256, rows_read, quarantine, rows_accepted in files
        ],
        source,
    )


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


def refuse_overlap(frame: pl.DataFrame, keys: Sequence[str], what: str) -> None:
    """Two files giving the same key is ambiguous (which one is right?): name both files and stop."""
    if frame.is_empty() or frame["source_file"].n_unique() < 2:
        return
    clash = frame.filter(pl.col("source_file").n_unique().over(keys) > 1)
    if clash.height:
        first = clash.sort(*keys, "source_file").row(0, named=True)
        files = sorted(set(clash.filter(pl.all_horizontal(pl.col(k) == first[k] for k in keys))["source_file"]))
        key = " ".join(str(first[k]) for k in keys)
        raise SourceFileError(files[0], f"{what} {key} is also given by {', '.join(files[1:])}; keep one file")


# --- quarters ---------------------------------------------------------------------------------------------


def wanted_quarters(quarters: Iterable[str] | None) -> set[str] | None:
    """The requested quarters as engine labels (any accepted spelling); None keeps every quarter."""
    return None if quarters is None else {parse_quarter(q).label for q in quarters}


def in_quarters(values: pl.DataFrame, wanted: set[str] | None) -> pl.DataFrame:
    """The values of the requested quarters (see :func:`wanted_quarters`)."""
    return values if wanted is None else values.filter(pl.col("quarter").is_in(sorted(wanted)))


def quarter_span(quarter: Quarter) -> str:
    """A quarterly value's ``period``: its three months, e.g. ``2025-04..2025-06``."""
    (y1, m1), _, (y3, m3) = quarter.months
    return f"{y1}-{m1:02d}..{y3}-{m3:02d}"
