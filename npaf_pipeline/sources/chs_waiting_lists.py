"""Adapter for NHS England's monthly community health services (CHS) waiting-list workbook (xlsx).

One workbook is one month, read from the titles of its tables (e.g. 'Total waiting list by service, June 2025'),
never from the file name. OF0005, % of the community waiting list waiting over 52 weeks, per provider row:
``100 * Σ services (Table 4g + Table 4h) / Σ services Table 4``. The NOF uses the quarter's last month, so a
workbook for June gives Q1; workbooks for other months are read and validated but give no value.

Rows are accounted once per organisation: row n is the same organisation in Tables 4, 4g and 4h (checked), and a
problem in any of the three quarantines it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import polars as pl

from npaf_pipeline.quarters import Quarter, of_month, parse_quarter
from npaf_pipeline.sources.base import AdapterResult, SourceFileError, combine, finish, sha256_file, validate_rows
from schemas.canonical import empty_metric_values, empty_quarantine
from schemas.chs_waiting_lists import TEXT_SUFFIX, ChsOrganisation, ChsServiceWaits

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
_MISSING = ["", "-"]
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_TITLE_MONTH = re.compile(rf"\b({'|'.join(_MONTHS)})\s+(\d{{4}})\b", re.IGNORECASE)


@dataclass
class _Table:
    """One sheet: its month, its published headers and its data rows as text."""

    name: str
    month: tuple[int, int]
    header: list[str]
    rows: pl.DataFrame  # source_row, org_type, org_code, org_name, one text column per service


def read(paths: list[Path], quarters: list[str] | None = None) -> AdapterResult:
    """Canonical OF0005 values, one per provider, from each workbook for the last month of a (requested) quarter."""
    wanted = None if quarters is None else {parse_quarter(q).label for q in quarters}
    results: list[AdapterResult] = []
    seen: dict[tuple[int, int], Path] = {}
    for path in map(Path, paths):
        month, result = _read_file(path, wanted)
        first = seen.setdefault(month, path)
        if first != path:
            raise SourceFileError(path, f"holds {month[0]}-{month[1]:02d}, as does {first}: keep one")
        results.append(result)
    return combine(results, SOURCE)


def _read_file(path: Path, wanted: set[str] | None) -> tuple[tuple[int, int], AdapterResult]:
    tables = {count: _table(path, sheet) for count, sheet in _sheets(path).items()}
    months = {t.month for t in tables.values()}
    if len(months) > 1:
        named = ", ".join(f"{t.name}: {t.month[0]}-{t.month[1]:02d}" for t in tables.values())
        raise SourceFileError(path, f"the tables are for different months ({named})")
    base = tables["total"]
    _check_aligned(path, tables)
    sha = sha256_file(path)
    orgs, org_bad = validate_rows(
        base.rows.select("source_row", *COLUMNS.values()), ChsOrganisation, source=SOURCE, path=path, sha256=sha
    )
    published = dict(zip(COLUMNS.values(), base.header[:3], strict=True))
    org_bad = _relabel(org_bad, pl.col("column").replace(published))
    waits, cell_bad = _service_waits(path, sha, tables)
    quarantine = pl.concat([org_bad, cell_bad])
    bad_rows = quarantine["source_row"].unique().implode()
    accepted = orgs.filter(~pl.col("source_row").is_in(bad_rows))
    month = base.month
    quarter = of_month(*month)
    values = empty_metric_values()
    if month == quarter.months[-1] and (wanted is None or quarter.label in wanted):
        values = _values(path, sha, quarter, month, accepted, waits)
    result = finish(SOURCE, path, sha, base.rows.height, values, quarantine, rows_accepted=accepted.height)
    return month, result


# --- reading the workbook ---------------------------------------------------------------------------------


def _sheets(path: Path) -> dict[str, str]:
    """Canonical count -> the workbook's own spelling of its sheet name."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise SourceFileError(path, f"cannot read the file ({exc.strerror})") from None
    if not head:
        raise SourceFileError(path, "the file is empty")
    if head != b"PK\x03\x04":
        raise SourceFileError(path, "not an Excel workbook (.xlsx): a file of another source in the CHS folder?")
    try:
        names = fastexcel.read_excel(path).sheet_names
    except fastexcel.FastExcelError as exc:
        problem = str(exc).splitlines()[0]
        raise SourceFileError(path, f"cannot be read as an Excel workbook (truncated or damaged?): {problem}") from None
    found = {_normal(n): n for n in names}
    missing = [sheet for sheet in TABLES.values() if _normal(sheet) not in found]
    if missing:
        raise SourceFileError(
            path,
            f"no sheet {', '.join(map(repr, missing))} (sheets: {', '.join(names)}): "
            "not a CHS waiting-list workbook, a file of another source in the CHS folder?",
        )
    return {count: found[_normal(sheet)] for count, sheet in TABLES.items()}


def _normal(name: str | None) -> str:
    return " ".join((name or "").split()).casefold()


def _table(path: Path, sheet: str) -> _Table:
    """One sheet: the header (found below the title rows), the month in the title, the data rows as text."""
    try:
        cells = pl.read_excel(
            path,
            sheet_name=sheet,
            engine="calamine",
            has_header=False,
            drop_empty_rows=False,
            drop_empty_cols=False,
            raise_if_empty=False,
            read_options={"skip_rows": 0, "dtypes": "string"},  # every row kept, so row n is index n - 1
        )
    except (fastexcel.FastExcelError, pl.exceptions.PolarsError) as exc:
        raise SourceFileError(path, f"sheet {sheet!r} cannot be read: {str(exc).splitlines()[0]}") from None
    at = _find_header(path, sheet, cells)
    month = _title_month(path, sheet, cells.head(at))
    header = [(c or "").strip() for c in cells.row(at)]
    keep = _match_header(path, sheet, header, cells.slice(at + 1), at + 1)
    names = cells.columns
    text = [pl.col(names[i]).str.strip_chars().replace(_MISSING, None).alias(name) for i, name in keep.items()]
    rows = (
        cells.with_row_index("source_row", offset=1)
        .slice(at + 1)
        .select(pl.col("source_row").cast(pl.Int64), *text)
        .filter(pl.any_horizontal(pl.exclude("source_row").is_not_null()))
    )
    return _Table(sheet, month, [header[i] for i in keep], rows)


def _find_header(path: Path, sheet: str, cells: pl.DataFrame) -> int:
    """The first row naming most organisation columns (the header sits below the title and notes)."""
    wanted = {_normal(raw): raw for raw in COLUMNS}
    found = [
        {wanted[n] for n in map(_normal, cells.row(i)) if n in wanted}
        for i in range(min(HEADER_SEARCH_ROWS, cells.height))
    ]
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
    for row in title_rows.iter_rows():
        for cell in row:
            match = _TITLE_MONTH.search(cell or "")
            if match:
                return int(match[2]), _MONTHS.index(match[1].lower()) + 1
    raise SourceFileError(path, f"sheet {sheet!r}: no month in the title rows above the header (e.g. 'June 2025')")


def _match_header(path: Path, sheet: str, header: list[str], body: pl.DataFrame, row: int) -> dict[int, str]:
    """Column position -> name (canonical for the organisation columns, as published for services)."""
    wanted = {_normal(raw): canonical for raw, canonical in COLUMNS.items()}
    keep: dict[int, str] = {}
    unexpected: list[str] = []
    for i, name in enumerate(header):
        canonical = wanted.get(_normal(name))
        if canonical is not None and canonical not in keep.values():
            keep[i] = canonical
        elif SERVICE.match(name) and name not in keep.values():
            keep[i] = name
        elif body.to_series(i).str.strip_chars().replace("", None).drop_nulls().len():
            unexpected.append(repr(name) if name else f"an unnamed column at position {i + 1}")
    if unexpected:
        raise SourceFileError(
            path, f"sheet {sheet!r}: unexpected column(s) {', '.join(unexpected)} (not a service)", row=row
        )
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


def _service_waits(path: Path, sha: str, tables: dict[str, _Table]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per organisation row and service, validated; quarantine records name the table and service."""
    services = tables["total"].header[3:]
    long = pl.concat(
        pl.DataFrame({"source_row": tables["total"].rows["source_row"]}).with_columns(
            pl.lit(s).alias("service"), *[t.rows[s].alias(count) for count, t in tables.items()]
        )
        for s in services
    ).with_row_index("cell")
    counts = list(TABLES)
    long = long.with_columns(
        *[pl.col(c).alias(c + TEXT_SUFFIX) for c in counts],
        *[pl.col(c).str.replace_all(",", "").cast(pl.Int64, strict=False) for c in counts],
    ).with_columns(
        pl.when(pl.col("over_52_104").is_null() & pl.col("over_104").is_null())
        .then(None)
        .otherwise(pl.sum_horizontal("over_52_104", "over_104"))
        .alias("over_52_weeks")
    )
    accepted, bad = validate_rows(
        long.with_columns(pl.col("cell").cast(pl.Int64)),
        ChsServiceWaits,
        source=SOURCE,
        path=path,
        sha256=sha,
        row_column="cell",
    )
    if bad.is_empty():
        return accepted, empty_quarantine()
    sheets = {c: tables[c].name for c in counts}
    sheets["over_52_weeks"] = f"{sheets['over_52_104']} + {sheets['over_104']}"
    where = long.select(pl.col("cell").cast(pl.Int64).alias("_cell"), "source_row", "service")
    bad = bad.rename({"source_row": "_cell"}).join(where, on="_cell", how="left")
    label = pl.concat_str([pl.col("column").str.strip_suffix(TEXT_SUFFIX).replace(sheets), pl.lit(": "), "service"])
    return accepted, _relabel(bad.drop("_cell"), label)


def _relabel(quarantine: pl.DataFrame, column: pl.Expr) -> pl.DataFrame:
    """Name the column as a person finds it in the workbook, and say so in the reason."""
    reason = pl.concat_str([pl.coalesce("column", pl.lit("row")), pl.lit(" fails "), pl.col("check")])
    relabelled = quarantine.with_columns(column.alias("column")).with_columns(reason.alias("reason"))
    return relabelled.select(empty_quarantine().columns)


def _values(
    path: Path, sha: str, quarter: Quarter, month: tuple[int, int], orgs: pl.DataFrame, waits: pl.DataFrame
) -> pl.DataFrame:
    providers = orgs.filter(pl.col("org_type") == "Provider").select("source_row", "org_code")
    sums = (
        waits.group_by("source_row")
        .agg(pl.col("over_52_weeks").sum().alias("numerator"), pl.col("total").sum().alias("denominator"))
        .join(providers, on="source_row")
        .filter(pl.col("denominator") > 0)
    )
    return sums.select(
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
    ).sort("org_code")
