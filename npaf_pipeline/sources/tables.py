"""Small reference tables users or NHS England supply as CSV or Parquet: read as text, validated, accounted.

Canonical metric values, the override flags, the intensive-support list, the ODS ``etr`` report and the
trust-type list are all such tables. Reading them one way means a typo, a stray title line or a file saved
in the wrong encoding is reported the same way whichever table it is in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from npaf_pipeline.sources.base import FileAccount, SourceFileError, quarantined_rows, sha256_file
from npaf_pipeline.sources.raw import MISSING, XLSX_MAGIC, decode_utf8, read_bytes
from schemas.canonical import empty_quarantine

HEADER_SEARCH_LINES = 10
PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class RawTable:
    """The cells of one file as text, under canonical column names, with each row's number in the file."""

    path: Path
    sha256: str
    frame: pl.DataFrame
    quarantine: pl.DataFrame
    rows_read: int


@dataclass
class TableResult:
    """A validated input table that is not metric values (flags, organisation reference), with its quarantine."""

    source: str
    frame: pl.DataFrame
    quarantine: pl.DataFrame = field(default_factory=empty_quarantine)
    accounts: list[FileAccount] = field(default_factory=list)

    def check_accounting(self) -> None:
        for account in self.accounts:
            account.check()


def read_table(
    path: str | Path,
    *,
    source: str,
    columns: Mapping[str, str] | Mapping[int, str],
    required: Collection[str | int],
    what: str,
    n_fields: int | None = None,
    formula_as_missing: Collection[str] = (),
) -> RawTable:
    """Read a CSV (with a header, or ``n_fields`` positional fields) or a Parquet file into text columns.

    Blank and ``-`` cells become null and cells are trimmed. A header is looked for in the first lines (a title
    line above it is tolerated). Rows with the wrong number of fields are quarantined; a file that ends part-way
    through a row, is empty, is not UTF-8 or lacks required columns raises :class:`SourceFileError`.
    """
    path = Path(path)
    raw = read_bytes(path)
    if not raw.strip():
        raise SourceFileError(path, f"the file is empty; expected {what}")
    sha = sha256_file(path)
    if raw.startswith(PARQUET_MAGIC):
        if n_fields is not None:
            raise SourceFileError(path, f"a Parquet file; expected {what} (CSV without a header)")
        frame = _parquet_cells(path, columns, required, what)
        quarantine = empty_quarantine()
    elif raw.startswith(XLSX_MAGIC):
        raise SourceFileError(path, f"an Excel workbook or zip archive, not {what} (CSV or Parquet)")
    else:
        frame, quarantine = _csv_cells(path, raw, sha, source, columns, required, what, n_fields)
    frame = frame.with_columns(
        pl.when(pl.col(c).str.starts_with("=")).then(None).otherwise(pl.col(c)).alias(c)
        for c in formula_as_missing
        if c in frame.columns
    )
    return RawTable(path, sha, frame, quarantine, frame.height + quarantined_rows(quarantine))


def _csv_cells(
    path: Path,
    raw: bytes,
    sha: str,
    source: str,
    columns: Mapping,
    required: Collection,
    what: str,
    n_fields: int | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    text = decode_utf8(path, raw, "; save it as UTF-8 (in Excel: 'CSV UTF-8')")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = [(reader.line_num, fields) for fields in reader]
    except csv.Error as exc:
        raise SourceFileError(path, f"not a readable CSV file ({exc})", row=reader.line_num) from None
    records = [(line, fields) for line, fields in records if any(f.strip() for f in fields)]
    if n_fields is None:
        start, index = _find_header(path, records, columns, required, what)
        width = len(records[start - 1][1])
    else:
        start, width = 0, n_fields
        index = {name: position - 1 for position, name in columns.items()}
        if records and not any(len(fields) == width for _, fields in records):
            raise SourceFileError(
                path, f"rows have {len(records[0][1])} fields where {what} has {n_fields}; not {what}", row=1
            )
    body = records[start:]
    if not body:
        raise SourceFileError(path, f"a header but no data rows; expected {what}")
    last_line, last_fields = body[-1]
    if len(last_fields) < width and not text.endswith(("\n", "\r")):
        raise SourceFileError(
            path, f"the file ends part-way through a row ({len(last_fields)} of {width} fields): truncated", last_line
        )
    good = [(line, fields) for line, fields in body if len(fields) == width]
    ragged = [(line, len(fields)) for line, fields in body if len(fields) != width]
    data = {name: [_cell(fields[i]) for _, fields in good] for name, i in index.items()}
    data["source_row"] = [line for line, _ in good]
    schema = {name: pl.String for name in index} | {"source_row": pl.Int64}
    frame = pl.DataFrame(data, schema=schema)
    quarantine = pl.DataFrame(
        [
            (
                source,
                str(path),
                sha,
                line,
                None,
                "field_count",
                f"{n} fields",
                f"row has {n} fields, header has {width}",
            )
            for line, n in ragged
        ],
        schema=empty_quarantine().schema,
        orient="row",
    )
    return frame, quarantine


def _cell(text: str) -> str | None:
    value = text.strip()
    return None if value in MISSING else value


def _norm(name: str) -> str:
    return name.replace("\ufeff", "").strip().lower()


def _find_header(
    path: Path, records: list[tuple[int, list[str]]], columns: Mapping, required: Collection, what: str
) -> tuple[int, dict[str, int]]:
    """(index of the first data record, canonical column -> field index) from the header line."""
    if not records:
        raise SourceFileError(path, f"no rows; expected {what}")
    for k, (_, fields) in enumerate(records[:HEADER_SEARCH_LINES]):
        names = [_norm(f) for f in fields]
        if all(_norm(r) in names for r in required):
            duplicated = sorted({n for n in names if n and names.count(n) > 1 and n in map(_norm, columns)})
            if duplicated:
                raise SourceFileError(path, f"column(s) {', '.join(duplicated)} appear twice in the header", k + 1)
            index = {canon: names.index(_norm(raw)) for raw, canon in columns.items() if _norm(raw) in names}
            return k + 1, index
    found = [f.strip() for f in records[0][1]]
    missing = [r for r in required if _norm(r) not in map(_norm, found)]
    raise SourceFileError(
        path, f"not {what}: missing column(s) {', '.join(missing)} (found: {', '.join(found)})", row=records[0][0]
    )


def _parquet_cells(path: Path, columns: Mapping, required: Collection, what: str) -> pl.DataFrame:
    try:
        table = pl.read_parquet(path)
    except Exception as exc:  # pyarrow/polars raise many types for a damaged file
        raise SourceFileError(
            path, f"not a readable Parquet file ({type(exc).__name__}): truncated or damaged"
        ) from None
    names = {_norm(c): c for c in table.columns}
    missing = [r for r in required if _norm(r) not in names]
    if missing:
        raise SourceFileError(
            path, f"not {what}: missing column(s) {', '.join(missing)} (found: {', '.join(table.columns)})"
        )
    picked = [
        pl.col(names[_norm(raw)]).cast(pl.String).str.strip_chars().alias(canon)
        for raw, canon in columns.items()
        if _norm(raw) in names
    ]
    frame = table.select(picked).with_columns(
        pl.when(pl.col(c).is_in(MISSING)).then(None).otherwise(pl.col(c)).alias(c) for c in table.select(picked).columns
    )
    return frame.with_row_index("source_row", offset=1).with_columns(pl.col("source_row").cast(pl.Int64))


def account(source: str, raw: RawTable, accepted: int, quarantine: pl.DataFrame) -> FileAccount:
    """Row accounting for one small-table file; raises when rows went missing."""
    result = FileAccount(source, str(raw.path), raw.sha256, raw.rows_read, accepted, quarantined_rows(quarantine))
    result.check()
    return result
