"""Adapter for NHS England's monthly A&E attendances and emergency admissions provider CSVs.

One file is one month (the month is read from the Period column, never from the file name). Values are quarterly,
so a quarter is produced only when all three of its months are in the folder:

- OF0013, % of all A&E attendances (every department type, booked appointments included) within 4 hours:
  ``100 * (1 - Σ over 4 h / Σ attendances)`` over the quarter's three months.
- OF9013, Σ patients waiting 12+ hours from decision to admit over the quarter: a contextual count that has no
  NOF id of its own (NHS England does not use the OF9xxx range).

An organisation with a quarantined row in any month of a quarter gets no value for that quarter: a sum over the
months that remain would look right and be too low. The row is the organisation's however its code is written
(``r0a``, ``R0A.``, full-width letters), and it is also found by its name (so a blank code withholds it too).

Each file's England TOTAL row must equal the sum of its organisation rows, column by column: a row deleted from a
month's file would otherwise leave the organisation a quarterly value from the two months that remain.
"""

from __future__ import annotations

import csv
import hashlib
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
    failing,
    finish_by_file,
    organisation,
    organisation_name,
    quarter_span,
    require_whole_quarters,
    screen_rows,
    validate_rows,
    wanted_quarters,
)
from npaf_pipeline.sources.raw import (
    MISSING,
    MONTH_NUMBERS,
    WHITESPACE,
    XLSX_MAGIC,
    header_row,
    match_header,
    published_names,
    read_bytes,
    require_layout,
)
from schemas.ae_monthly import ATTENDANCES, COUNTS, FILE, MONTHS, OVER_4H, PERIOD, TEXT_SUFFIX, AeMonthlyRow
from schemas.canonical import empty_metric_values, empty_quarantine
from schemas.common import MAX_MAGNITUDE, WHOLE_NUMBER, parse_number

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
_WHOLE_NUMBER = re.compile(WHOLE_NUMBER)


@dataclass
class _Parsed:
    """One file's structure checked: its header, which field is which column, its organisation rows."""

    path: Path
    sha256: str
    header: list[str]
    keep: dict[int, str]
    rows: list[tuple[int, list[str]]]
    total: tuple[int, list[str]]
    """The England TOTAL row: its row number and fields."""


@dataclass
class _Month:
    """One file read and validated: the month it holds, its rows accepted and quarantined."""

    path: Path
    sha256: str
    year: int
    month: int
    rows_read: int
    rows_accepted: int
    quarantine: pl.DataFrame
    withheld: set[str]
    """Organisations (codes as :func:`organisation` reads them) with a quarantined row in this file."""
    withheld_names: set[str]
    """Their names (as :func:`organisation_name` reads them): every organisation whose rows in the quarter carry one
    is withheld too, so a row whose code cannot be read still withholds its organisation."""

    @property
    def quarter(self) -> Quarter:
        return of_month(self.year, self.month)


def read(paths: list[Path], quarters: list[str] | None = None) -> AdapterResult:
    """Canonical OF0013 and OF9013 values from monthly files, for every complete (and requested) quarter."""
    wanted = wanted_quarters(quarters)
    months, accepted = _read_files([Path(p) for p in paths])
    _one_file_per_month(months)
    if months:
        where = months[0].path.parent
        require_whole_quarters(where, "the A&E monthly files", [(m.year, m.month) for m in months], wanted)
    values = _quarter_values(months, accepted, wanted)
    # each file's TOTAL row is read and accepted as its end marker, hence + 1
    files = [(m.path, m.sha256, m.rows_read, m.quarantine, m.rows_accepted + 1) for m in months]
    return finish_by_file(SOURCE, values, files)


def known_differences() -> dict[str, str]:
    """Trusts whose published OF0013 these files cannot reproduce (ODS code -> reason)."""
    data = yaml.safe_load(KNOWN_DIFFERENCES.read_text(encoding="utf-8"))
    return {str(code): str(entry["reason"]) for code, entry in data["trusts"].items()}


# --- the files, together ----------------------------------------------------------------------------------
#
# A file is a couple of hundred rows, so the cost of reading one is mostly fixed: a polars query or a pandera
# check costs about as much on 200 rows as on 20,000. Each file's layout is checked on its own (in Python, as
# its csv module parses it); their rows are then put in one frame (``FILE`` says whose a row is) and trimmed,
# parsed and validated together. The checks across rows look within a file (see ``schemas.ae_monthly``), and a
# file with a row that fails is validated again on its own, so quarantine records and errors are each file's
# own, raised in the order the files are given, as reading them one after another would.


def _read_files(paths: list[Path]) -> tuple[list[_Month], pl.DataFrame]:
    """Each file's month, accounting and quarantine; the accepted rows of them all (``FILE`` naming the file)."""
    parsed: list[_Parsed] = []
    pending: SourceFileError | None = None
    for path in paths:
        try:
            parsed.append(_parse(path))
        except SourceFileError as exc:
            pending = exc  # raised once the files before it have been checked as far as it was
            break
    months, accepted = _validate(parsed)
    if pending is not None:
        raise pending
    return months, accepted


def _parse(path: Path) -> _Parsed:
    text, sha = _decode(path)
    records = [(n, f) for n, f in enumerate(_parse_csv(path, text), start=1) if "".join(f).strip()]
    if not records:
        raise SourceFileError(path, "the file is empty")
    at = _header_at(records)
    header, body = [name.strip() for name in records[at][1]], records[at + 1 :]
    _check_shape(path, text, header, body)
    keep = _match_header(path, header, body, row=records[at][0])
    rows, total = _strip_footer(path, body, period_at=next(i for i, c in keep.items() if c == "period"))
    return _Parsed(path, sha, header, keep, rows, total)


def _validate(parsed: list[_Parsed]) -> tuple[list[_Month], pl.DataFrame]:
    """Each file's month and validation (the rows of all screened at once, a file with a failing row validated
    again on its own for its records); the accepted rows of them all."""
    if not parsed:
        return [], _frame([])
    frame = _frame(parsed)
    periods = _majority_periods(frame, len(parsed))
    troubled = _troubled(frame, screen_rows(frame, AeMonthlyRow), len(parsed))
    sums = _column_sums(frame)
    months: list[_Month] = []
    quarantined: list[pl.DataFrame] = []
    clean = empty_quarantine()  # one frame for every file without a quarantined row (frames are not changed)
    for k, file in enumerate(parsed):
        _check_total_row(file, sums[k])
        rows = frame.filter(pl.col(FILE) == k).drop(FILE) if k in troubled or periods[k] is None else None
        year, month = periods[k] or _file_month(file.path, rows)
        if k in troubled:
            accepted, quarantine = validate_rows(
                rows,
                AeMonthlyRow,
                source=SOURCE,
                path=file.path,
                sha256=file.sha256,
                column_names=published_names(file.header, file.keep),
            )
            bad = rows.filter(pl.col("source_row").is_in(quarantine["source_row"].unique().implode())).select(
                organisation(pl.col("org_code")), organisation_name(pl.col("org_name"))
            )
            withheld, names = (set(bad[c].drop_nulls().to_list()) for c in ("org_code", "org_name"))
            quarantined.append(quarantine.select("source_row").with_columns(pl.lit(k, pl.Int64).alias(FILE)))
        else:
            accepted, quarantine, withheld, names = None, clean, set(), set()
        n_accepted = len(file.rows) if accepted is None else accepted.height
        months.append(
            _Month(file.path, file.sha256, year, month, len(file.rows) + 1, n_accepted, quarantine, withheld, names)
        )
    if quarantined:
        frame = frame.join(pl.concat(quarantined).unique(), on=[FILE, "source_row"], how="anti")
    return months, frame


def _troubled(frame: pl.DataFrame, screen: pl.DataFrame | None, n_files: int) -> set[int]:
    """The files with a row failing a check (see ``screen_rows``); every file when the rows could not be screened."""
    if screen is None:
        return set(range(n_files))
    if screen.width == 0:
        return set()
    return set(frame[FILE].filter(failing(screen)).unique().to_list())


def _decode(path: Path) -> tuple[str, str]:
    raw = read_bytes(path)
    if not raw.strip():
        raise SourceFileError(path, "the file is empty")
    if raw.startswith(XLSX_MAGIC):
        raise SourceFileError(path, "is an Excel workbook, not a CSV: a file of another source in the A&E folder?")
    if b"\x00" in raw:
        raise SourceFileError(path, "is a binary file, not a CSV")
    sha = hashlib.sha256(raw).hexdigest()
    try:
        return raw.decode("utf-8-sig"), sha
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), sha  # files saved from Excel on Windows
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


def _strip_footer(
    path: Path, body: list[tuple[int, list[str]]], period_at: int
) -> tuple[list[tuple[int, list[str]]], tuple[int, list[str]]]:
    """The organisation rows and the England TOTAL row that closes every file; without it the file was cut short."""
    for k, (n, fields) in enumerate(body):
        if fields[period_at].strip().upper() == _FOOTER:
            if k != len(body) - 1:
                raise SourceFileError(path, "rows follow the TOTAL row that closes the file", row=body[k + 1][0])
            if k == 0:
                raise SourceFileError(path, "a header and a TOTAL row but no organisation rows", row=n)
            return body[:k], body[k]
    last = f"the last row, {body[-1][0]}, is an organisation" if body else "there are no rows"
    raise SourceFileError(path, f"no TOTAL row at the end ({last}): the file looks truncated")


def _frame(parsed: list[_Parsed]) -> pl.DataFrame:
    """The files' rows as text (trimmed; blank and '-' missing), each count with its parsed value, ``FILE`` the
    file's position in ``parsed``."""
    data: dict[str, list] = {"source_row": [], FILE: [], **{c: [] for c in COLUMNS.values()}}
    for k, file in enumerate(parsed):
        data["source_row"] += [n for n, _ in file.rows]
        data[FILE] += [k] * len(file.rows)
        fields = list(zip(*(f for _, f in file.rows), strict=True))
        for i, canonical in file.keep.items():
            data[canonical] += fields[i]
    return pl.DataFrame(data, schema=_RAW_SCHEMA).lazy().with_columns(_CELLS).with_columns(_COUNTS).collect()


# the expressions every read uses, built once (building them costs about as much as running them on 200 rows)
_RAW_SCHEMA = {"source_row": pl.Int64, FILE: pl.Int64, **dict.fromkeys(COLUMNS.values(), pl.String)}
_CELLS = [
    pl.col(c).str.strip_chars(WHITESPACE).replace([""] if c in COUNTS else MISSING, None) for c in COLUMNS.values()
]  # a count's dash is kept in its ``_text`` twin, so a quarantine record shows it
_COUNTS = [
    *[pl.col(c).alias(c + TEXT_SUFFIX) for c in COUNTS],
    *[parse_number(pl.col(c), WHOLE_NUMBER).cast(pl.Int64, strict=False) for c in COUNTS],
]


# --- the TOTAL row ----------------------------------------------------------------------------------------
#
# NHS England totals the file from its own data, so a TOTAL that differs from the rows above it says a row was
# deleted, added or altered after publication. A cell that is not a count (blank, a dash, a suppression marker,
# text, a negative or absurd number: each quarantines or leaves out its row's value) hides a count that is not
# negative, so where a column has such a cell its readable counts may not sum to more than the TOTAL; where it has
# none they must sum to it exactly. Every organisation row counts, quarantined ones too (their counts are in the
# published TOTAL): two copies of a row make the rows sum to more than the TOTAL, and the file is refused.


@dataclass(frozen=True)
class _ColumnSum:
    """One count column of one file's organisation rows: its readable counts summed, and the cells without one."""

    summed: int
    not_counts: int


def _column_sums(frame: pl.DataFrame) -> dict[int, dict[str, _ColumnSum]]:
    """File -> count column -> :class:`_ColumnSum`; a readable count is a whole number from 0 to ``MAX_MAGNITUDE``."""
    readable = {c: pl.col(c).is_between(0, MAX_MAGNITUDE).fill_null(False) for c in COUNTS}
    sums = (
        frame.lazy()
        .group_by(FILE)
        .agg(
            *(pl.col(c).filter(readable[c]).cast(pl.Int128).sum().alias(c) for c in COUNTS),
            *((~readable[c]).sum().alias(c + TEXT_SUFFIX) for c in COUNTS),
        )
        .collect()
    )
    return {
        row[FILE]: {c: _ColumnSum(int(row[c]), int(row[c + TEXT_SUFFIX])) for c in COUNTS}
        for row in sums.iter_rows(named=True)
    }


def _total_cell(text: str) -> int | None:
    """A TOTAL cell's count (thousands separators allowed, any size: compared exactly); 0 for blank or a dash,
    which is accepted only where the rows sum to nothing; None when it is not a count."""
    text = text.strip(WHITESPACE)
    if text in MISSING:
        return 0
    if not _WHOLE_NUMBER.match(text) or text.startswith("-"):
        return None
    return int(text.replace(",", ""))


def _check_total_row(file: _Parsed, sums: dict[str, _ColumnSum]) -> None:
    """Each count column of the TOTAL row equals its organisation rows' counts summed (see above); else the file
    is refused, naming the TOTAL row, the column, the total and the sum."""
    row, fields = file.total
    for i, canonical in file.keep.items():
        if canonical not in sums:
            continue
        column, cell, found = file.header[i], fields[i].strip(WHITESPACE), sums[canonical]
        total = _total_cell(cell)
        if total is None:
            raise SourceFileError(
                file.path, f"the TOTAL row holds {cell!r}, not a count to check the rows against", row, column
            )
        given = f"no count ({cell!r})" if cell in MISSING else str(total)
        if found.not_counts == 0 and found.summed != total:
            raise SourceFileError(
                file.path,
                f"the TOTAL row gives {given} but the organisation rows sum to {found.summed}: a row was removed, "
                "added or changed after publication",
                row,
                column,
            )
        if found.summed > total:
            raise SourceFileError(
                file.path,
                f"the TOTAL row gives {given} but the organisation rows' counts sum to {found.summed}, more than it "
                f"(and {found.not_counts} cell(s) hold no count): a row was added or changed after publication",
                row,
                column,
            )


# --- months -----------------------------------------------------------------------------------------------


def _month_of(period: str | None) -> tuple[int, int] | None:
    match = _PERIOD.match(period or "")
    return (int(match[2]), MONTH_NUMBERS[match[1].upper()]) if match else None


def _majority_periods(frame: pl.DataFrame, n_files: int) -> list[tuple[int, int] | None]:
    """Each file's month when most of its rows name it; None where :func:`_file_month` has to look (and refuse)."""
    counts = (
        frame.lazy()
        .group_by(FILE, pl.col("period").str.to_uppercase())
        .len()
        .filter(2 * pl.col("len") > pl.col("len").sum().over(FILE))
        .select(FILE, "period")
        .collect()
    )
    months: list[tuple[int, int] | None] = [None] * n_files
    for k, period in counts.iter_rows():
        months[k] = _month_of(period)
    return months


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


def _quarter_values(months: list[_Month], accepted: pl.DataFrame, wanted: set[str] | None) -> pl.DataFrame:
    present = {(m.year, m.month) for m in months}
    complete = {m.quarter for m in months if all(ym in present for ym in m.quarter.months)}
    complete = {q for q in complete if wanted is None or q.label in wanted}
    used = [(k, m) for k, m in enumerate(months) if m.quarter in complete]
    if not used:
        return empty_metric_values()
    files = pl.DataFrame(
        {
            FILE: [k for k, _ in used],
            "quarter": [m.quarter.label for _, m in used],
            "_span": [quarter_span(m.quarter) for _, m in used],
            "month": [m.year * 100 + m.month for _, m in used],
            "source_file": [str(m.path) for _, m in used],
            "source_sha256": [m.sha256 for _, m in used],
        },
        schema_overrides={FILE: pl.Int64, "month": pl.Int32},
    )
    rows = accepted.lazy().join(files.lazy(), on=FILE, how="inner").select(_ROWS)
    used = [m for _, m in used]
    withheld_codes = pl.DataFrame(
        [(m.quarter.label, org) for m in used for org in m.withheld],
        schema={"quarter": pl.String, "org_code": pl.String},
        orient="row",
    )
    withheld_names = pl.DataFrame(
        [(m.quarter.label, name) for m in used for name in m.withheld_names],
        schema={"quarter": pl.String, "_name": pl.String},
        orient="row",
    )
    named = rows.join(withheld_names.lazy(), on=["quarter", "_name"], how="semi").select("quarter", "org_code")
    withheld = pl.concat([withheld_codes.lazy(), named])
    sums = (  # one query with what follows: sums is worked out once for both metrics
        rows.sort("month", "source_row")
        .group_by("quarter", "org_code", maintain_order=True)
        .agg(_SUMS)
        .join(withheld, on=["quarter", "org_code"], how="anti")
        .filter(pl.col("attendances") > 0)
    )
    of0013, of9013 = sums.select(_OF0013), sums.select(_OF9013)
    return pl.concat([of0013, of9013]).sort("quarter", "metric_id", "org_code").collect()


# the expressions of the quarterly values, built once
_ROWS = [
    "quarter",
    pl.col("_span").alias("period"),
    "org_code",
    organisation_name(pl.col("org_name")).alias("_name"),
    pl.sum_horizontal(ATTENDANCES).alias("attendances"),
    pl.sum_horizontal(OVER_4H).alias("over_4h"),
    pl.col("dta_wait_12h_plus").fill_null(0).alias("dta_12h"),
    "month",
    "source_row",
    "source_file",
    "source_sha256",
]
_SUMS = [
    pl.col("period").first(),
    pl.col("attendances").sum(),
    pl.col("over_4h").sum(),
    pl.col("dta_12h").sum(),
    pl.col("source_file").first(),
    pl.col("source_sha256").first(),
    pl.col("source_row").first(),
]
_LINEAGE = ["source_file", "source_sha256", "source_row"]
_WITHIN = (pl.col("attendances") - pl.col("over_4h")).cast(pl.Float64)
_OF0013 = [
    "quarter",
    "org_code",
    pl.lit(OF0013).alias("metric_id"),
    "period",
    (100 * _WITHIN / pl.col("attendances")).alias("value"),
    _WITHIN.alias("numerator"),
    pl.col("attendances").cast(pl.Float64).alias("denominator"),
    pl.lit("percent").alias("unit"),
    pl.lit(SOURCE).alias("source"),
    *_LINEAGE,
]
_OF9013 = [
    "quarter",
    "org_code",
    pl.lit(OF9013).alias("metric_id"),
    "period",
    pl.col("dta_12h").cast(pl.Float64).alias("value"),
    pl.lit(None, pl.Float64).alias("numerator"),
    pl.lit(None, pl.Float64).alias("denominator"),
    pl.lit("count").alias("unit"),
    pl.lit(SOURCE).alias("source"),
    *_LINEAGE,
]
