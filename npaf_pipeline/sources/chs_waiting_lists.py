"""Adapter for NHS England's monthly community health services (CHS) waiting-list workbook (xlsx).

One workbook is one month, read from the titles of its tables (e.g. 'Total waiting list by service, June 2025'),
never from the file name nor from other dates above the header (a publication date, a note). OF0005, % of the
community waiting list waiting over 52 weeks, per provider row: ``100 * Σ services (Table 4g + Table 4h) / Σ services
Table 4``. The NOF uses the quarter's last month, so a workbook for June gives Q1; workbooks for other months are read
and validated but give no value, and a requested quarter whose last month is not landed stops the read.

Rows are accounted once per organisation: row n is the same organisation in Tables 4, 4g and 4h (checked), and a
problem in any of the three quarantines it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import pandera.polars as pa
import polars as pl

from npaf_pipeline.quarters import Quarter, of_month, parse_quarter
from npaf_pipeline.sources.base import (
    AdapterResult,
    IncompleteQuarterError,
    SourceFileError,
    failing,
    finish_by_file,
    relabel,
    screen_rows,
    sha256_file,
    validate_rows,
    wanted_quarters,
)
from npaf_pipeline.sources.raw import (
    MONTH_NUMBERS,
    column_filled,
    header_problems,
    match_header,
    normal_name,
    open_workbook,
    read_sheet,
    require_xlsx,
    sheets_rows,
)
from schemas.canonical import empty_metric_values, empty_quarantine
from schemas.chs_waiting_lists import TEXT_SUFFIX, WORKBOOK, ChsOrganisation, ChsServiceWaits
from schemas.common import MONTH_NAMES, WHOLE_NUMBER, parse_number

SOURCE = "chs_waiting_lists"
METRIC = "OF0005"

TABLES: dict[str, str] = {"total": "Table 4", "over_52_104": "Table 4g", "over_104": "Table 4h"}
"""Canonical count -> the sheet that holds it."""
COLUMNS: dict[str, str] = {
    "Organisation Type": "org_type",
    "Organisation Code": "org_code",
    "Organisation Name": "org_name",
}
"""Published header -> canonical column; every other column is a service."""
SERVICE = re.compile(r"^\((A|CYP)\) \S")
"""A service column header: '(A) ...' for adults, '(CYP) ...' for children and young people."""

HEADER_SEARCH_ROWS = 20
_TITLE = re.compile(rf"^\s*\S.*?\s*,\s*({'|'.join(MONTH_NAMES)})\s+([0-9]{{4}})\s*$", re.IGNORECASE)
"""A table's title, which ends in its month after a comma: 'Total waiting list by service, June 2025'. Other dates
above the header ('Published 12 June 2025') are not in this form and are not the period."""


@dataclass
class _Table:
    """One sheet: its month, its published headers and its data rows as text."""

    name: str
    month: tuple[int, int]
    header: list[str]
    rows: pl.DataFrame  # source_row, org_type, org_code, org_name, one text column per service


def read(paths: list[Path], quarters: list[str] | None = None) -> AdapterResult:
    """Canonical OF0005 values, one per provider, from each workbook for the last month of a (requested) quarter.

    Every workbook is read first; the organisation rows of all of them, then the service rows of all of them, are
    screened together (one pandera validation each instead of one per workbook: :class:`ChsServiceWaits` checks
    one row at a time, and :class:`ChsOrganisation`'s one rule across rows is applied within each workbook, so a
    row passes among all workbooks' rows exactly when it passes among its own), and only a workbook with a
    failing row is validated again on its own, to word its quarantine records. The values are finished and
    accounted file by file (:func:`finish_by_file`)."""
    wanted = wanted_quarters(quarters)
    loaded: list[_Workbook] = []
    seen: dict[tuple[int, int], Path] = {}
    for book in _load([Path(p) for p in paths]):
        path = book.path
        first = seen.setdefault(book.month, path)
        if first != path:
            raise SourceFileError(path, f"holds {book.month[0]}-{book.month[1]:02d}, as does {first}: keep one")
        loaded.append(book)
    _require_last_months(loaded, wanted)
    org_bad = _org_records(loaded)
    clean = _clean([book.long for book in loaded], ChsServiceWaits)
    files, values = [], []
    for book, bad, passes in zip(loaded, org_bad, clean, strict=True):
        waits, cell_bad = (book.long, empty_quarantine()) if passes else _service_waits(book)
        quarantine = pl.concat([bad, cell_bad])
        bad_rows = quarantine["source_row"].unique().implode()
        accepted = book.orgs.filter(~pl.col("source_row").is_in(bad_rows))
        quarter = of_month(*book.month)
        if book.month == quarter.months[-1] and (wanted is None or quarter.label in wanted):
            values.append(_values(book.path, book.sha, quarter, book.month, accepted, waits))
        files.append((book.path, book.sha, book.rows, quarantine, accepted.height))
    return finish_by_file(SOURCE, pl.concat(values) if values else empty_metric_values(), files)


def _require_last_months(books: list[_Workbook], wanted: set[str] | None) -> None:
    """Refuse a requested quarter of which the workbooks hold a month but not the last, the month its value is from.

    Without the last month the quarter would get no OF0005 value and say nothing (its other months give none); the
    earlier months cannot stand in for it. Quarters with no month landed are not the source's to cover; without
    requested quarters only a quarter whose last month is landed gets a value (as A&E and CWT do,
    :func:`base.require_whole_quarters`, for quarters that need all three months)."""
    if wanted is None or not books:
        return
    held = {book.month for book in books}
    for label in sorted(wanted):
        quarter = parse_quarter(label)
        have = [month for month in quarter.months if month in held]
        last = quarter.months[-1]
        if have and last not in held:
            raise IncompleteQuarterError(
                books[0].path.parent,
                f"the CHS waiting-list workbooks for {quarter.label} hold {_month_names(have)} but not "
                f"{_month_names([last])}: land the missing month (a quarter's value is its last month's workbook) or "
                "leave the quarter out of the run",
            )


def _month_names(months: list[tuple[int, int]]) -> str:
    return ", ".join(f"{MONTH_NAMES[m - 1].title()} {y}" for y, m in months)


@dataclass
class _Workbook:
    """One workbook read: its month, its organisation rows (validated by :func:`_org_records`), its service rows (one
    per row and service)."""

    path: Path
    sha: str
    month: tuple[int, int]
    rows: int
    orgs: pl.DataFrame
    tables: dict[str, _Table]
    long: pl.DataFrame


def _load(paths: list[Path]) -> Iterator[_Workbook]:
    """The workbooks, each read as its tables: every sheet's layout first, then all their rows trimmed at once
    (:func:`sheets_rows`), then each workbook's tables checked against each other."""
    found = []
    for path in paths:
        book, sheets = _sheets(path)
        found.append((path, {count: _layout(path, sheet, book) for count, sheet in sheets.items()}))
    rows = iter(sheets_rows([(t.cells, t.header_at, t.keep) for _, layouts in found for t in layouts.values()]))
    for path, layouts in found:
        tables = {count: _Table(t.name, t.month, t.header, next(rows)) for count, t in layouts.items()}
        yield _workbook(path, tables)


def _workbook(path: Path, tables: dict[str, _Table]) -> _Workbook:
    months = {t.month for t in tables.values()}
    if len(months) > 1:
        named = ", ".join(f"{t.name}: {t.month[0]}-{t.month[1]:02d}" for t in tables.values())
        raise SourceFileError(path, f"the tables are for different months ({named})")
    base = tables["total"]
    _check_aligned(path, tables)
    orgs = base.rows.select("source_row", *COLUMNS.values())
    return _Workbook(path, sha256_file(path), base.month, base.rows.height, orgs, tables, _long(tables))


def _org_records(books: list[_Workbook]) -> list[pl.DataFrame]:
    """Each workbook's quarantine records for its organisation rows: all workbooks screened at once, and a
    workbook with a failing row validated on its own (which words its records)."""
    return [
        empty_quarantine()
        if passes
        else validate_rows(
            book.orgs,
            ChsOrganisation,
            source=SOURCE,
            path=book.path,
            sha256=book.sha,
            column_names=dict(zip(COLUMNS.values(), book.tables["total"].header[:3], strict=True)),
        )[1]
        for book, passes in zip(books, _clean([b.orgs for b in books], ChsOrganisation), strict=True)
    ]


# --- reading the workbook ---------------------------------------------------------------------------------


def _sheets(path: Path) -> tuple[fastexcel.ExcelReader, dict[str, str]]:
    """The workbook, opened once for its three sheets; canonical count -> the workbook's spelling of its sheet."""
    require_xlsx(path, "CHS")
    try:
        book = open_workbook(path)
        names = book.sheet_names
    except fastexcel.FastExcelError as exc:
        problem = str(exc).splitlines()[0]
        raise SourceFileError(path, f"cannot be read as an Excel workbook (truncated or damaged?): {problem}") from None
    same: dict[str, list[str]] = {}
    for name in names:
        same.setdefault(normal_name(name), []).append(name)
    for sheet in TABLES.values():
        alike = same.get(normal_name(sheet), [])
        if len(alike) > 1:
            raise SourceFileError(
                path,
                f"sheets {', '.join(map(repr, alike[:-1]))} and {alike[-1]!r} would each be read as {sheet!r} (sheet "
                "names are compared without regard to case or spacing): keep one",
            )
    found = {key: alike[0] for key, alike in same.items()}
    missing = [sheet for sheet in TABLES.values() if normal_name(sheet) not in found]
    if missing:
        raise SourceFileError(
            path,
            f"no sheet {', '.join(map(repr, missing))} (sheets: {', '.join(names)}): "
            "not a CHS waiting-list workbook, a file of another source in the CHS folder?",
        )
    return book, {count: found[normal_name(sheet)] for count, sheet in TABLES.items()}


@dataclass
class _Layout:
    """One sheet as read: its cells, where its header is, its month and the columns kept (position -> name)."""

    name: str
    month: tuple[int, int]
    header: list[str]
    cells: pl.DataFrame
    header_at: int
    keep: dict[int, str]


def _layout(path: Path, sheet: str, book: fastexcel.ExcelReader | None = None) -> _Layout:
    """One sheet: the header (found below the title rows), the month in the title, the columns kept."""
    try:
        cells = read_sheet(path, sheet, book=book)
    except (fastexcel.FastExcelError, pl.exceptions.PolarsError) as exc:
        raise SourceFileError(path, f"sheet {sheet!r} cannot be read: {str(exc).splitlines()[0]}") from None
    at = _find_header(path, sheet, cells)
    month = _title_month(path, sheet, cells.head(at))
    header = [(c or "").strip() for c in cells.row(at)]
    keep = _match_header(path, sheet, header, cells.slice(at + 1), at + 1)
    return _Layout(sheet, month, [header[i] for i in keep], cells, at, keep)


def _find_header(path: Path, sheet: str, cells: pl.DataFrame) -> int:
    """The first row naming most organisation columns (the header sits below the title and notes)."""
    wanted = {normal_name(raw): raw for raw in COLUMNS}
    rows = cells.head(HEADER_SEARCH_ROWS).rows()
    found = [{wanted[n] for n in (normal_name(c) for c in row if c is not None) if n in wanted} for row in rows]
    best = max(range(len(found)), key=lambda i: (len(found[i]), -i), default=None)
    if best is None or len(found[best]) < 2:
        raise SourceFileError(
            path, f"sheet {sheet!r}: no header row naming {', '.join(COLUMNS)} in the first {HEADER_SEARCH_ROWS} rows"
        )
    missing = [raw for raw in COLUMNS if raw not in found[best]]
    if missing:
        raise SourceFileError(
            path, f"sheet {sheet!r}: header does not match: missing column(s) {', '.join(map(repr, missing))}", best + 1
        )
    return best


def _title_month(path: Path, sheet: str, title_rows: pl.DataFrame) -> tuple[int, int]:
    """The month the sheet's title ends with (:data:`_TITLE`), wherever above the header the title is. Another date
    (a publication date, a note) is not the period; titles naming different months cannot both be right."""
    titles: dict[tuple[int, int], tuple[int, str]] = {}
    for row, cells in enumerate(title_rows.iter_rows(), start=1):
        for cell in cells:
            match = _TITLE.match(cell or "")
            if match:
                titles.setdefault((int(match[2]), MONTH_NUMBERS[match[1].upper()]), (row, cell))
    if not titles:
        raise SourceFileError(
            path,
            f"sheet {sheet!r}: no month in the title rows above the header (a title such as 'Total waiting list by "
            "service, June 2025'; another date, e.g. a publication date, is not the period)",
        )
    if len(titles) > 1:
        named = "; ".join(f"row {row}: {cell!r}" for row, cell in titles.values())
        raise SourceFileError(path, f"sheet {sheet!r}: titles above the header name different months ({named})")
    return next(iter(titles))


def _match_header(path: Path, sheet: str, header: list[str], body: pl.DataFrame, row: int) -> dict[int, str]:
    """Column position -> name (canonical for the organisation columns, as published for services)."""
    keep, _, unexpected = match_header(header, COLUMNS, column_filled(body), keep_as_named=SERVICE.match)
    if unexpected:
        raise SourceFileError(path, f"sheet {sheet!r}: {header_problems([], unexpected)} (not a service)", row=row)
    if list(keep.values())[:3] != list(COLUMNS.values()):
        raise SourceFileError(
            path, f"sheet {sheet!r}: the header must start with {', '.join(map(repr, COLUMNS))}", row=row
        )
    if len(keep) == len(COLUMNS):
        raise SourceFileError(path, f"sheet {sheet!r}: no service columns", row=row)
    return keep


def _check_aligned(path: Path, tables: dict[str, _Table]) -> None:
    """Tables 4, 4g and 4h list the same services and, row by row, the same organisations."""
    base = tables["total"]
    services = base.header[3:]
    who = base.rows.select("source_row", "org_type", "org_code")
    for table in tables.values():
        if table.header[3:] != services:
            differ = sorted(set(table.header[3:]) ^ set(services)) or ["the same services in another order"]
            raise SourceFileError(
                path, f"sheet {table.name!r} has other service columns than {base.name!r}: {', '.join(differ)}"
            )
        other = table.rows.select("source_row", "org_type", "org_code")
        if other.height != who.height or not other.equals(who):
            diff = other.join(who, on="source_row", how="full", suffix="_base", nulls_equal=True).filter(
                pl.any_horizontal(
                    pl.col("org_type").ne_missing(pl.col("org_type_base")),
                    pl.col("org_code").ne_missing(pl.col("org_code_base")),
                )
            )
            first = diff.row(0, named=True)
            row = first["source_row"] if first["source_row"] is not None else first["source_row_base"]
            raise SourceFileError(
                path,
                f"sheet {table.name!r} row {row} is {first['org_type']} {first['org_code']} where {base.name!r} has "
                f"{first['org_type_base']} {first['org_code_base']}: the tables are not aligned",
            )


# --- validation and values --------------------------------------------------------------------------------


def _long(tables: dict[str, _Table]) -> pl.DataFrame:
    """One row per organisation row and service: the three tables' counts as published and as whole numbers."""
    services = tables["total"].header[3:]
    # service by service, each with its rows in order (the tables are aligned, see _check_aligned)
    first, *others = pl.collect_all(
        t.rows.lazy().unpivot(services, index=["source_row", "org_type"], variable_name="service", value_name=count)
        for count, t in tables.items()
    )
    counts = list(TABLES)
    return (
        first.lazy()
        .with_columns(other[count] for count, other in zip(counts[1:], others, strict=True))
        .with_row_index("cell")
        .with_columns(_WAITS)
        .with_columns(_OVER_52_WEEKS)
        .with_columns(pl.col("cell").cast(pl.Int64))
        .collect()
    )


def _clean(frames: list[pl.DataFrame], model: type[pa.DataFrameModel]) -> list[bool]:
    """Whether every row of each workbook's frame passes ``model``, all screened at once: stacked with a
    ``workbook`` column telling them apart (:class:`ChsOrganisation`'s one rule across rows applies within a
    workbook; :class:`ChsServiceWaits` checks one row at a time)."""
    if not frames:
        return []
    tagged = [frame.with_columns(pl.lit(i, pl.Int32).alias(WORKBOOK)) for i, frame in enumerate(frames)]
    try:
        together = pl.concat(tagged, how="vertical_relaxed")
    except pl.exceptions.PolarsError:  # workbooks whose columns do not stack: each is validated on its own
        return [False] * len(frames)
    screen = screen_rows(together, model)
    if screen is None:  # a failure not tied to a row: each workbook's own validation words it
        return [False] * len(frames)
    bad = set(together.filter(failing(screen))[WORKBOOK].to_list())
    return [i not in bad for i in range(len(frames))]


def _service_waits(book: _Workbook) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One workbook's service rows validated; quarantine records name the table and service."""
    tables, long = book.tables, book.long
    accepted, bad = validate_rows(
        long, ChsServiceWaits, source=SOURCE, path=book.path, sha256=book.sha, row_column="cell"
    )
    if bad.is_empty():
        return accepted, empty_quarantine()
    counts = list(TABLES)
    sheets = {c: tables[c].name for c in counts}
    sheets["over_52_weeks"] = f"{sheets['over_52_104']} + {sheets['over_104']}"
    where = long.select(pl.col("cell").alias("_cell"), "source_row", "service")
    bad = bad.rename({"source_row": "_cell"}).join(where, on="_cell", how="left")
    label = pl.concat_str([pl.col("column").str.strip_suffix(TEXT_SUFFIX).replace(sheets), pl.lit(": "), "service"])
    return accepted, relabel(bad.drop("_cell"), label)


def _values(
    path: Path, sha: str, quarter: Quarter, month: tuple[int, int], orgs: pl.DataFrame, waits: pl.DataFrame
) -> pl.DataFrame:
    providers = orgs.lazy().filter(pl.col("org_type") == "Provider").select("source_row", "org_code")
    sums = (
        waits.lazy()
        .group_by("source_row")
        .agg(pl.col("over_52_weeks").sum().alias("numerator"), pl.col("total").sum().alias("denominator"))
        .join(providers, on="source_row")
        .filter(pl.col("denominator") > 0)
    )
    return (
        sums.select(
            pl.lit(quarter.label).alias("quarter"),
            "org_code",
            pl.lit(METRIC).alias("metric_id"),
            pl.lit(f"{month[0]}-{month[1]:02d}").alias("period"),
            (100 * pl.col("numerator") / pl.col("denominator")).alias("value"),
            pl.col("numerator").cast(pl.Float64),
            pl.col("denominator").cast(pl.Float64),
            pl.lit("percent").alias("unit"),
            pl.lit(SOURCE).alias("source"),
            pl.lit(str(path)).alias("source_file"),
            pl.lit(sha).alias("source_sha256"),
            "source_row",
        )
        .sort("org_code")
        .collect()
    )


_WAITS = [
    *[pl.col(c).alias(c + TEXT_SUFFIX) for c in TABLES],
    *[parse_number(pl.col(c), WHOLE_NUMBER).cast(pl.Int64, strict=False) for c in TABLES],
]
_OVER_52_WEEKS = (
    pl.when(pl.col("over_52_104").is_null() & pl.col("over_104").is_null())
    .then(None)
    .otherwise(pl.sum_horizontal("over_52_104", "over_104"))
    .alias("over_52_weeks")
)
