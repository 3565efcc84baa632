"""Files users supply in the canonical formats, and the table reading that other small reference files share.

Metrics with no public raw source (finance, staff survey, sickness, HCAI, CQC, SHMI, MHSDS, UCR…) arrive as
metric values already computed, one row per (quarter, organisation, metric). The financial-override flags and
the intensive-support list are inputs to segmentation, not computed. All three are CSV (UTF-8, header row) or
Parquet; bad rows are quarantined like any raw source, so a typo in one row never silently changes a segment.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandera.polars as pa
import polars as pl

from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.sources.base import (
    AdapterResult,
    FileAccount,
    SourceFileError,
    combine,
    finish,
    sha256_file,
    validate_rows,
)
from schemas.canonical import QUARANTINE_COLUMNS, empty_quarantine
from schemas.canonical_inputs import (
    FLAG_TRUE,
    IntensiveSupportInput,
    MetricValuesInput,
    OverrideFlagsInput,
)

SOURCE = "canonical"
FLAGS_SOURCE = "override_flags"
SUPPORT_SOURCE = "intensive_support"

# file column -> canonical column, per format (header names are matched after trimming, case-insensitively)
METRIC_VALUE_COLUMNS = {
    "quarter": "quarter",
    "org_code": "org_code",
    "metric_id": "metric_id",
    "period": "period",
    "value": "value",
    "numerator": "numerator",
    "denominator": "denominator",
    "unit": "unit",
}
METRIC_VALUE_REQUIRED = ("quarter", "org_code", "metric_id", "period", "value")
OVERRIDE_FLAG_COLUMNS = {"quarter": "quarter", "org_code": "org_code", "financial_override": "financial_override"}
INTENSIVE_SUPPORT_COLUMNS = {"quarter": "quarter", "org_code": "org_code", "intensive_support": "intensive_support"}
FLAG_KEYS = ("quarter", "org_code")
FLAG_FILES = {
    "financial_override": "an override-flags file (quarter, org_code, financial_override)",
    "intensive_support": "an intensive-support list (quarter, org_code[, intensive_support])",
}

MISSING_CELLS = ("", "-")
UNIT_SPELLINGS = {"%": "percent", "minutes": "mins"}
HEADER_SEARCH_LINES = 10
PARQUET_MAGIC = b"PAR1"
ZIP_MAGIC = b"PK\x03\x04"


# --- reading small tables (CSV or Parquet) --------------------------------------------------------------


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
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceFileError(path, f"cannot read the file ({exc.strerror})") from None
    if not raw.strip():
        raise SourceFileError(path, f"the file is empty; expected {what}")
    sha = sha256_file(path)
    if raw.startswith(PARQUET_MAGIC):
        if n_fields is not None:
            raise SourceFileError(path, f"a Parquet file; expected {what} (CSV without a header)")
        frame = _parquet_cells(path, columns, required, what)
        quarantine = empty_quarantine()
    elif raw.startswith(ZIP_MAGIC):
        raise SourceFileError(path, f"an Excel workbook or zip archive, not {what} (CSV or Parquet)")
    else:
        frame, quarantine = _csv_cells(path, raw, sha, source, columns, required, what, n_fields)
    frame = frame.with_columns(
        pl.when(pl.col(c).str.starts_with("=")).then(None).otherwise(pl.col(c)).alias(c)
        for c in formula_as_missing
        if c in frame.columns
    )
    return RawTable(path, sha, frame, quarantine, frame.height + quarantine["source_row"].n_unique())


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceFileError(
            path,
            f"not UTF-8 text (byte {raw[exc.start]:#x}); save it as UTF-8 (in Excel: 'CSV UTF-8')",
            row=line,
        ) from None


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
    text = _decode(path, raw)
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
    return None if value in MISSING_CELLS else value


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
        pl.when(pl.col(c).is_in(MISSING_CELLS)).then(None).otherwise(pl.col(c)).alias(c)
        for c in table.select(picked).columns
    )
    return frame.with_row_index("source_row", offset=1).with_columns(pl.col("source_row").cast(pl.Int64))


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


def name_duplicate_keys(quarantine: pl.DataFrame, frame: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Uniqueness failures carry the whole row as their value: show the duplicated key instead."""
    dup = quarantine["check"] == "multiple_fields_uniqueness"
    if not dup.any():
        return quarantine
    key_text = frame.select(
        "source_row", pl.concat_str([pl.col(k).fill_null("") for k in keys], separator=" | ").alias("_key")
    )
    return (
        quarantine.join(key_text, on="source_row", how="left")
        .with_columns(
            pl.when(dup).then(pl.lit(", ".join(keys))).otherwise(pl.col("column")).alias("column"),
            pl.when(dup).then(pl.col("_key")).otherwise(pl.col("value")).alias("value"),
        )
        .select(QUARANTINE_COLUMNS)
    )


def account(source: str, raw: RawTable, accepted: int, quarantine: pl.DataFrame) -> FileAccount:
    """Row accounting for one small-table file; raises when rows went missing."""
    result = FileAccount(
        source, str(raw.path), raw.sha256, raw.rows_read, accepted, quarantine["source_row"].n_unique()
    )
    result.check()
    return result


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


# --- metric values ----------------------------------------------------------------------------------------


def read(
    paths: Iterable[str | Path], quarters: list[str] | None = None, units: Mapping[str, str] | None = None
) -> AdapterResult:
    """Metric values in the canonical format (CSV or Parquet), validated and with lineage filled in.

    ``units`` (metric id -> unit, e.g. from the rule set) fills a blank or absent ``unit`` column; a row left
    without a unit is quarantined. ``quarters`` keeps only those quarters' values (other rows are still checked).
    """
    wanted = _wanted(quarters)
    result = combine([_read_values(Path(p), wanted, units or {}) for p in paths], SOURCE)
    refuse_overlap(result.values, ["quarter", "org_code", "metric_id"], "metric value")
    return result


def _wanted(quarters: list[str] | None) -> set[str] | None:
    return None if quarters is None else {parse_quarter(q).label for q in quarters}


def _quarter_label(text: str) -> str:
    try:
        return parse_quarter(text).label
    except ValueError:
        return text


def normalise_quarter(column: str = "quarter") -> pl.Expr:
    """Any accepted quarter spelling as the engine label; unparseable text is left for validation to reject."""
    return pl.col(column).map_elements(_quarter_label, return_dtype=pl.String)


def _with_columns(frame: pl.DataFrame, names: Iterable[str]) -> pl.DataFrame:
    return frame.with_columns(pl.lit(None, pl.String).alias(n) for n in names if n not in frame.columns)


def _read_values(path: Path, wanted: set[str] | None, units: Mapping[str, str]) -> AdapterResult:
    raw = read_table(
        path,
        source=SOURCE,
        columns=METRIC_VALUE_COLUMNS,
        required=METRIC_VALUE_REQUIRED,
        what="a canonical metric-values file",
    )
    frame = _with_columns(raw.frame, METRIC_VALUE_COLUMNS.values())
    unit = pl.col("unit").str.to_lowercase()
    frame = frame.with_columns(
        normalise_quarter(),
        pl.coalesce(
            unit.replace(UNIT_SPELLINGS),
            pl.col("metric_id").replace_strict(dict(units), default=None, return_dtype=pl.String),
        ).alias("unit"),
    )
    accepted, rejected = validate_rows(frame, MetricValuesInput, source=SOURCE, path=path, sha256=raw.sha256)
    rejected = name_duplicate_keys(rejected, frame, ["quarter", "org_code", "metric_id"])
    values = accepted.with_columns(
        pl.col("value", "numerator", "denominator").cast(pl.Float64),
        pl.lit(SOURCE).alias("source"),
        pl.lit(str(path)).alias("source_file"),
        pl.lit(raw.sha256).alias("source_sha256"),
    )
    if wanted is not None:
        values = values.filter(pl.col("quarter").is_in(sorted(wanted)))
    quarantine = pl.concat([raw.quarantine, rejected])
    return finish(SOURCE, path, raw.sha256, raw.rows_read, values, quarantine, rows_accepted=accepted.height)


# --- override flags and the intensive-support list --------------------------------------------------------


def read_override_flags(paths: Iterable[str | Path]) -> TableResult:
    """Financial-override flags: ``quarter, org_code, financial_override`` (bool; null = not supplied)."""
    return _read_flags(paths, FLAGS_SOURCE, OVERRIDE_FLAG_COLUMNS, "financial_override", OverrideFlagsInput)


def read_intensive_support(paths: Iterable[str | Path]) -> TableResult:
    """Intensive-support list: ``quarter, org_code[, intensive_support]``; without the flag column every row is yes."""
    return _read_flags(paths, SUPPORT_SOURCE, INTENSIVE_SUPPORT_COLUMNS, "intensive_support", IntensiveSupportInput)


def _read_flags(
    paths: Iterable[str | Path], source: str, columns: Mapping[str, str], flag: str, model: type[pa.DataFrameModel]
) -> TableResult:
    frames, quarantines, accounts = [], [], []
    for p in paths:
        required = FLAG_KEYS if flag == "intensive_support" else (*FLAG_KEYS, flag)
        raw = read_table(p, source=source, columns=columns, required=required, what=FLAG_FILES[flag])
        frame = raw.frame.with_columns(normalise_quarter())
        if flag not in frame.columns:
            frame = frame.with_columns(pl.lit("yes").alias(flag))
        accepted, rejected = validate_rows(frame, model, source=source, path=raw.path, sha256=raw.sha256)
        rejected = name_duplicate_keys(rejected, frame, FLAG_KEYS)
        quarantine = pl.concat([raw.quarantine, rejected])
        accounts.append(account(source, raw, accepted.height, quarantine))
        quarantines.append(quarantine)
        frames.append(
            accepted.select(
                *FLAG_KEYS,
                pl.when(pl.col(flag).is_null())
                .then(None)
                .otherwise(pl.col(flag).str.to_lowercase().is_in(FLAG_TRUE))
                .alias(flag),
                pl.lit(str(raw.path)).alias("source_file"),
                "source_row",
            )
        )
    schema = {"quarter": pl.String, "org_code": pl.String, flag: pl.Boolean, "source_file": pl.String}
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=schema | {"source_row": pl.Int64})
    refuse_overlap(frame, list(FLAG_KEYS), f"{flag.replace('_', ' ')} flag for")
    quarantine = pl.concat(quarantines) if quarantines else empty_quarantine()
    return TableResult(source, frame.drop("source_file", "source_row").sort(FLAG_KEYS), quarantine, accounts)


def segment_flags(override: pl.DataFrame | None = None, support: pl.DataFrame | None = None) -> pl.DataFrame:
    """``quarter, org_code, financial_override, intensive_support``: the ``flags`` frame segmentation reads.

    ``financial_override`` stays null where no flag was supplied (the rule set decides what that means);
    ``intensive_support`` is false for organisations not on the list (or left blank on it).
    """
    keys = list(FLAG_KEYS)
    none = pl.DataFrame(schema={"quarter": pl.String, "org_code": pl.String})
    ov = none.with_columns(pl.lit(None, pl.Boolean).alias("financial_override")) if override is None else override
    su = none.with_columns(pl.lit(None, pl.Boolean).alias("intensive_support")) if support is None else support
    both = ov.select(*keys, "financial_override").join(
        su.select(*keys, "intensive_support"), on=keys, how="full", coalesce=True
    )
    return both.with_columns(pl.col("intensive_support").fill_null(False)).sort(keys)
