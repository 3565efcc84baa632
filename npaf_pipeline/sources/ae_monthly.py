"""Adapter for NHS England's monthly A&E attendances and emergency admissions provider CSVs.

One file is one month (the month is read from the Period column, never from the file name). Values are quarterly,
so a quarter is produced only when all three of its months are in the folder:

- OF0013, % of all A&E attendances (every department type, booked appointments included) within 4 hours:
  ``100 * (1 - Σ over 4 h / Σ attendances)`` over the quarter's three months.
- OF9013, Σ patients waiting 12+ hours from decision to admit over the quarter: a contextual count that has no
  NOF id of its own (NHS England does not use the OF9xxx range).

An organisation with a quarantined row in any month of a quarter gets no value for that quarter: a sum over the
months that remain would look right and be too low.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from npaf_pipeline.quarters import Quarter, of_month
from npaf_pipeline.sources.base import (
    AdapterResult,
    SourceFileError,
    finish_by_file,
    quarter_span,
    sha256_file,
    validate_rows,
    wanted_quarters,
)
from npaf_pipeline.sources.raw import (
    MISSING,
    MONTH_NUMBERS,
    XLSX_MAGIC,
    header_row,
    match_header,
    published_names,
    read_bytes,
    require_layout,
)
from schemas.ae_monthly import ATTENDANCES, COUNTS, MONTHS, OVER_4H, PERIOD, TEXT_SUFFIX, AeMonthlyRow
from schemas.canonical import empty_metric_values

SOURCE = "ae_monthly"

COLUMNS: dict[str, str] = {
    "Period": "period",
    "Org Code": "org_code",
    "Parent Org": "parent_org",
    "Org name": "org_name",
    "A&E attendances Type 1": "attendances_type1",
    "A&E attendances Type 2": "attendances_type2",
    "A&E attendances Other A&E Department": "attendances_other",
    "A&E attendances Booked Appointments Type 1": "attendances_booked_type1",
    "A&E attendances Booked Appointments Type 2": "attendances_booked_type2",
    "A&E attendances Booked Appointments Other Department": "attendances_booked_other",
    "Attendances over 4hrs Type 1": "over_4h_type1",
    "Attendances over 4hrs Type 2": "over_4h_type2",
    "Attendances over 4hrs Other Department": "over_4h_other",
    "Attendances over 4hrs Booked Appointments Type 1": "over_4h_booked_type1",
    "Attendances over 4hrs Booked Appointments Type 2": "over_4h_booked_type2",
    "Attendances over 4hrs Booked Appointments Other Department": "over_4h_booked_other",
    "Patients who have waited 4-12 hs from DTA to admission": "dta_wait_4_12h",
    "Patients who have waited 12+ hrs from DTA to admission": "dta_wait_12h_plus",
    "Emergency admissions via A&E - Type 1": "emergency_admissions_type1",
    "Emergency admissions via A&E - Type 2": "emergency_admissions_type2",
    "Emergency admissions via A&E - Other A&E department": "emergency_admissions_other",
    "Other emergency admissions": "other_emergency_admissions",
}
"""Published header -> canonical column (a header renamed in a new release is an edit here)."""

OF0013 = "OF0013"
OF9013 = "OF9013"
"""12-hour decision-to-admit waits: contextual, no NOF id."""
KNOWN_DIFFERENCES = Path(__file__).parent / "known_differences" / "ae_monthly_of0013.yaml"

HEADER_SEARCH_ROWS = 10
_FOOTER = "TOTAL"
_PERIOD = re.compile(PERIOD)


@dataclass
class _Month:
    """One file read and validated: the month it holds, its accepted rows and its quarantine."""

    path: Path
    sha256: str
    year: int
    month: int
    rows_read: int
    accepted: pl.DataFrame
    quarantine: pl.DataFrame
    withheld: set[str]

    @property
    def quarter(self) -> Quarter:
        return of_month(self.year, self.month)


def read(paths: list[Path], quarters: list[str] | None = None) -> AdapterResult:
    """Canonical OF0013 and OF9013 values from monthly files, for every complete (and requested) quarter."""
    wanted = wanted_quarters(quarters)
    months = [_read_file(Path(p)) for p in paths]
    _one_file_per_month(months)
    values = _quarter_values(months, wanted)
    # each file's TOTAL row is read and accepted as its end marker, hence + 1
    files = [(m.path, m.sha256, m.rows_read, m.quarantine, m.accepted.height + 1) for m in months]
    return finish_by_file(SOURCE, values, files)


def known_differences() -> dict[str, str]:
    """Trusts whose published OF0013 these files cannot reproduce (ODS code -> reason)."""
    data = yaml.safe_load(KNOWN_DIFFERENCES.read_text(encoding="utf-8"))
    return {str(code): str(entry["reason"]) for code, entry in data["trusts"].items()}


# --- one file ---------------------------------------------------------------------------------------------


def _read_file(path: Path) -> _Month:
    text = _decode(path)
    records = [(n, f) for n, f in enumerate(_parse_csv(path, text), start=1) if any(c.strip() for c in f)]
    if not records:
        raise SourceFileError(path, "the file is empty")
    at = _header_at(records)
    header, body = [name.strip() for name in records[at][1]], records[at + 1 :]
    _check_shape(path, text, header, body)
    keep = _match_header(path, header, body, row=records[at][0])
    rows = _strip_footer(path, body, period_at=next(i for i, c in keep.items() if c == "period"))
    frame = _frame(rows, keep)
    year, month = _file_month(path, frame)
    sha = sha256_file(path)
    accepted, quarantine = validate_rows(
        frame, AeMonthlyRow, source=SOURCE, path=path, sha256=sha, column_names=published_names(header, keep)
    )
    bad_rows = quarantine["source_row"].unique().implode()
    withheld = set(frame.filter(pl.col("source_row").is_in(bad_rows))["org_code"].drop_nulls().to_list())
    return _Month(path, sha, year, month, len(rows) + 1, accepted, quarantine, withheld)


def _decode(path: Path) -> str:
    raw = read_bytes(path)
    if not raw.strip():
        raise SourceFileError(path, "the file is empty")
    if raw.startswith(XLSX_MAGIC):
        raise SourceFileError(path, "is an Excel workbook, not a CSV: a file of another source in the A&E folder?")
    if b"\x00" in raw:
        raise SourceFileError(path, "is a binary file, not a CSV")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")  # files saved from Excel on Windows
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceFileError(path, f"line {line}: neither UTF-8 nor Windows-1252 text") from None


def _parse_csv(path: Path, text: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return list(reader)
    except csv.Error as exc:
        raise SourceFileError(path, f"not a readable CSV ({exc})", row=reader.line_num) from None


def _header_at(records: list[tuple[int, list[str]]]) -> int:
    """The record naming most A&E columns among the first few: title lines above the header are skipped."""
    best, named = header_row([fields for _, fields in records[:HEADER_SEARCH_ROWS]], COLUMNS)
    return best if 2 * named > len(COLUMNS) else 0


def _check_shape(path: Path, text: str, header: list[str], body: list[tuple[int, list[str]]]) -> None:
    """Every row has the header's width; a short last row without a line end is a truncated file."""
    for n, fields in body:
        if len(fields) == len(header):
            continue
        if n == body[-1][0] and not text.endswith(("\n", "\r")):
            raise SourceFileError(
                path, f"the file ends mid-row ({len(fields)} of {len(header)} fields): truncated", row=n
            )
        raise SourceFileError(path, f"{len(fields)} fields where the header has {len(header)} (shifted row)", row=n)


def _match_header(path: Path, header: list[str], body: list[tuple[int, list[str]]], row: int) -> dict[int, str]:
    """Field position -> canonical column; empty columns (blank or stray header, no data) are ignored."""
    keep, missing, unexpected = match_header(header, COLUMNS, lambda i: any(fields[i].strip() for _, fields in body))
    if len(missing) == len(COLUMNS):
        raise SourceFileError(
            path, "none of the A&E monthly columns is in the header: a file of another source in the A&E folder?", row
        )
    require_layout(path, row, "A&E monthly", missing, unexpected)
    return keep


def _strip_footer(path: Path, body: list[tuple[int, list[str]]], period_at: int) -> list[tuple[int, list[str]]]:
    """The England TOTAL row closes every file; without it the file was cut short."""
    for k, (n, fields) in enumerate(body):
        if fields[period_at].strip().upper() == _FOOTER:
            if k != len(body) - 1:
                raise SourceFileError(path, "rows follow the TOTAL row that closes the file", row=body[k + 1][0])
            if k == 0:
                raise SourceFileError(path, "a header and a TOTAL row but no organisation rows", row=n)
            return body[:k]
    last = f"the last row, {body[-1][0]}, is an organisation" if body else "there are no rows"
    raise SourceFileError(path, f"no TOTAL row at the end ({last}): the file looks truncated")


def _frame(rows: list[tuple[int, list[str]]], keep: dict[int, str]) -> pl.DataFrame:
    """Rows as text (trimmed; blank and '-' missing), each count with its parsed value."""
    data: dict[str, list] = {"source_row": [n for n, _ in rows]}
    for i, canonical in keep.items():
        cells = (fields[i].strip() for _, fields in rows)
        data[canonical] = [None if c in MISSING else c for c in cells]
    frame = pl.DataFrame(data, schema={"source_row": pl.Int64, **dict.fromkeys(keep.values(), pl.String)})
    return frame.with_columns(
        *[pl.col(c).alias(c + TEXT_SUFFIX) for c in COUNTS],
        *[pl.col(c).str.replace_all(",", "").cast(pl.Int64, strict=False) for c in COUNTS],
    )


def _month_of(period: str | None) -> tuple[int, int] | None:
    match = _PERIOD.match(period or "")
    return (int(match[2]), MONTH_NUMBERS[match[1].upper()]) if match else None


def _file_month(path: Path, frame: pl.DataFrame) -> tuple[int, int]:
    """The month most rows name; rows naming another are quarantined, and a file with no clear month is refused."""
    counts = frame["period"].str.to_uppercase().value_counts(sort=True)
    period, n = counts.row(0)
    if 2 * n <= frame.height:
        named = ", ".join(f"{p} ({k} rows)" for p, k in counts.iter_rows())
        raise SourceFileError(path, f"no month is named by most rows (Period: {named}); one file holds one month")
    month = _month_of(period)
    if month is None:
        raise SourceFileError(path, f"Period {period!r} is not a month (expected e.g. 'MSitAE-APRIL-2025')")
    return month


# --- across files -----------------------------------------------------------------------------------------


def _one_file_per_month(months: list[_Month]) -> None:
    seen: dict[tuple[int, int], Path] = {}
    for m in months:
        first = seen.setdefault((m.year, m.month), m.path)
        if first != m.path:
            raise SourceFileError(
                m.path, f"holds {MONTHS[m.month - 1].title()} {m.year}, as does {first}: keep one (a revision replaces)"
            )


def _quarter_values(months: list[_Month], wanted: set[str] | None) -> pl.DataFrame:
    present = {(m.year, m.month) for m in months}
    complete = {m.quarter for m in months if all(ym in present for ym in m.quarter.months)}
    complete = {q for q in complete if wanted is None or q.label in wanted}
    used = [m for m in months if m.quarter in complete]
    if not used:
        return empty_metric_values()
    rows = pl.concat(
        m.accepted.select(
            pl.lit(m.quarter.label).alias("quarter"),
            pl.lit(quarter_span(m.quarter)).alias("period"),
            "org_code",
            pl.sum_horizontal(ATTENDANCES).alias("attendances"),
            pl.sum_horizontal(OVER_4H).alias("over_4h"),
            pl.col("dta_wait_12h_plus").fill_null(0).alias("dta_12h"),
            pl.lit(m.year * 100 + m.month).alias("month"),
            "source_row",
            pl.lit(str(m.path)).alias("source_file"),
            pl.lit(m.sha256).alias("source_sha256"),
        )
        for m in used
    )
    withheld = pl.DataFrame(
        [(m.quarter.label, org) for m in used for org in m.withheld],
        schema={"quarter": pl.String, "org_code": pl.String},
        orient="row",
    )
    sums = (
        rows.sort("month", "source_row")
        .group_by("quarter", "org_code", maintain_order=True)
        .agg(
            pl.col("period").first(),
            pl.col("attendances").sum(),
            pl.col("over_4h").sum(),
            pl.col("dta_12h").sum(),
            pl.col("source_file").first(),
            pl.col("source_sha256").first(),
            pl.col("source_row").first(),
        )
        .join(withheld, on=["quarter", "org_code"], how="anti")
        .filter(pl.col("attendances") > 0)
    )
    lineage = ["source_file", "source_sha256", "source_row"]
    within = (pl.col("attendances") - pl.col("over_4h")).cast(pl.Float64)
    of0013 = sums.select(
        "quarter",
        "org_code",
        pl.lit(OF0013).alias("metric_id"),
        "period",
        (100 * within / pl.col("attendances")).alias("value"),
        within.alias("numerator"),
        pl.col("attendances").cast(pl.Float64).alias("denominator"),
        pl.lit("percent").alias("unit"),
        pl.lit(SOURCE).alias("source"),
        *lineage,
    )
    of9013 = sums.select(
        "quarter",
        "org_code",
        pl.lit(OF9013).alias("metric_id"),
        "period",
        pl.col("dta_12h").cast(pl.Float64).alias("value"),
        pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator"),
        pl.lit("count").alias("unit"),
        pl.lit(SOURCE).alias("source"),
        *lineage,
    )
    return pl.concat([of0013, of9013]).sort("quarter", "metric_id", "org_code")
