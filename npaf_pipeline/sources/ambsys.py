"""AmbSYS time series workbook (Ambulance Quality Indicators, systems indicators) -> OF0017 and OF0028.

The ``Raw`` sheet holds one row per area (ambulance service, NHS region, England) per month, Aug 2017 onwards.
Its year column is an Excel formula, so a row's year cannot be trusted to be in the file: it is derived from
row order instead. Each area's rows run forward in time, so walking an area's rows backwards the year drops by
one whenever the month number goes up (December before January). The walk is anchored on the file's last row:
its financial year from the formula's cached value when the workbook carries one, otherwise the ``Published``
date on the ``Introduction`` sheet (the last month is the latest month of that name ended by publication).
Where cached year values exist, every row is checked against them and a disagreement stops the file.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from xml.etree import ElementTree

import fastexcel
import polars as pl

from npaf_pipeline.quarters import Quarter, parse_quarter
from npaf_pipeline.sources.base import AdapterResult, SourceFileError, combine, finish, sha256_file, validate_rows
from npaf_pipeline.sources.canonical import name_duplicate_keys, refuse_overlap
from schemas.ambsys import MONTH_NAMES, AmbsysRaw

SOURCE = "ambsys"
SHEET = "Raw"
INTRO_SHEET = "Introduction"
HEADER_SEARCH_ROWS = 30

# raw header on sheet Raw -> name used here (Year is a formula; Month C, Reg D, Area F, Trust G, indicators after)
COLUMN_MAP = {
    "Year": "fy_cached",
    "Month": "month_name",
    "Reg": "region_code",
    "Area": "org_code",
    "Trust": "org_name",
    "A7": "all_incidents",
    "A10": "c2_incidents",
    "A30": "c2_total_seconds",
    "A53": "conveyed_to_ed",
}
DATA_COLUMNS = [c for c in COLUMN_MAP if c != "Year"]
AGGREGATE_AREA = r"^(ENG|Y\d{2})$"  # England and NHS England region totals: valid rows, but not organisations
_FY = re.compile(r"^(\d{4})-(\d{2})$")
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(MONTH_NAMES)}


@dataclass(frozen=True)
class Formula:
    metric_id: str
    unit: str
    numerator: str
    denominator: str
    months: str  # "quarter" or "year_to_date"
    text: str


FORMULAS = (
    Formula("OF0017", "mins", "c2_total_seconds", "c2_incidents", "quarter", "ΣA30 / ΣA10, whole seconds, / 60"),
    Formula("OF0028", "percent", "conveyed_to_ed", "all_incidents", "year_to_date", "100 × ΣA53 / ΣA7"),
)


@dataclass(frozen=True)
class KnownDifference:
    """A value that differs from NHS England's published one for a reason we can name but not remove."""

    quarter: str
    org_code: str
    metric_id: str
    computed: float
    published: float
    reason: str


KNOWN_DIFFERENCES = (
    KnownDifference(
        "2025-26 Q1",
        "R1F",
        "OF0028",
        computed=56.07,
        published=56.10,
        reason=(
            "ΣA53/ΣA7 over Apr-Jun 2025 in the Sept 2025 time series is 4571/8153 = 56.07%. No other reading of "
            "the workbook that makes sense gives 56.10 (quarter or year to date, face-to-face A56 or all incidents "
            "A7 as the denominator, mean of monthly rates); 56.10 needs 3 more conveyances or 5 fewer incidents, "
            "the size of a routine AmbSYS revision, so NHS England most likely used an earlier release."
        ),
    ),
)


def read(paths: Iterable[str | Path], quarters: list[str] | None = None) -> AdapterResult:
    """OF0017 and OF0028 per ambulance service and quarter from AmbSYS time series workbooks."""
    wanted = None if quarters is None else {parse_quarter(q).label for q in quarters}
    result = combine([_read_one(Path(p), wanted) for p in paths], SOURCE)
    refuse_overlap(result.values, ["quarter", "org_code", "metric_id"], "AmbSYS value")
    return result


def _read_one(path: Path, wanted: set[str] | None) -> AdapterResult:
    grid, first_row = _load_grid(path)
    sha = sha256_file(path)
    header, index = _find_header(path, grid)
    rows = grid.slice(header + 1).with_row_index("_i")
    frame = rows.select(
        *(pl.col(grid.columns[i]).str.strip_chars().alias(raw) for raw, i in index.items()),
        (pl.col("_i").cast(pl.Int64) + first_row + header + 1).alias("source_row"),
    )
    frame = frame.with_columns(
        pl.when(pl.col(c).is_in(["", "-"])).then(None).otherwise(pl.col(c)).alias(c) for c in index
    )
    # a row with none of the used cells filled (a blank line, the "Raw data" banner) is layout, not data
    frame = frame.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in DATA_COLUMNS))
    if frame.is_empty():
        raise SourceFileError(path, f"sheet {SHEET} has a header but no data rows")
    frame = frame.with_columns(pl.Series("month", _months(path, frame), dtype=pl.String))
    accepted, quarantine = validate_rows(frame, AmbsysRaw, source=SOURCE, path=path, sha256=sha)
    quarantine = name_duplicate_keys(quarantine, frame, ["Area", "month"])
    values = _metrics(accepted.rename(COLUMN_MAP), path, sha)
    if wanted is not None:
        values = values.filter(pl.col("quarter").is_in(sorted(wanted)))
    return finish(SOURCE, path, sha, frame.height, values, quarantine, rows_accepted=accepted.height)


# --- workbook plumbing ------------------------------------------------------------------------------------


def _load_grid(path: Path) -> tuple[pl.DataFrame, int]:
    """Sheet ``Raw`` as text cells, and the sheet row number of its first row."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SourceFileError(path, f"cannot read the file ({exc.strerror})") from None
    if size == 0:
        raise SourceFileError(path, "the file is empty; expected the AmbSYS time series workbook (xlsx)")
    try:
        sheets = fastexcel.read_excel(str(path)).sheet_names
    except Exception as exc:  # calamine reports damaged files with several exception types
        raise SourceFileError(
            path, f"cannot be opened as an Excel workbook ({type(exc).__name__}): not xlsx, or truncated"
        ) from None
    if SHEET not in sheets:
        raise SourceFileError(
            path, f"no sheet named {SHEET!r} (sheets: {', '.join(sheets)}): not an AmbSYS time series workbook"
        )
    grid = _sheet(path, SHEET)
    if grid is None:
        raise SourceFileError(path, f"sheet {SHEET} is empty")
    return grid, _first_used_row(path, SHEET)


def _sheet(path: Path, name: str) -> pl.DataFrame | None:
    """A sheet as text cells, empty rows kept (so positions map to sheet rows); None when it holds nothing."""
    grid = pl.read_excel(
        path,
        sheet_name=name,
        engine="calamine",
        has_header=False,
        infer_schema_length=0,
        drop_empty_rows=False,
        drop_empty_cols=False,
        raise_if_empty=False,
    )
    return grid if grid.height else None


def _first_used_row(path: Path, sheet: str) -> int:
    """Row number of the sheet's first row holding a value (calamine starts there, skipping empty rows).

    Read from the xlsx XML so quarantine rows are the ones Excel shows; 1 when the XML cannot be followed.
    """
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "p": "http://schemas.openxmlformats.org/package/2006/relationships",
    }
    try:
        with zipfile.ZipFile(path) as z:
            book = ElementTree.fromstring(z.read("xl/workbook.xml"))
            rid = next(s.get(f"{{{ns['r']}}}id") for s in book.iter(f"{{{ns['m']}}}sheet") if s.get("name") == sheet)
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            target = next(r.get("Target") for r in rels.iter(f"{{{ns['p']}}}Relationship") if r.get("Id") == rid)
            member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            with z.open(member) as handle:
                for _, element in ElementTree.iterparse(handle):
                    if element.tag == f"{{{ns['m']}}}row":
                        if any(c.find("m:v", ns) is not None or c.find("m:is", ns) is not None for c in element):
                            return int(element.get("r", "1"))
                        element.clear()
    except (KeyError, StopIteration, ValueError, zipfile.BadZipFile, ElementTree.ParseError):
        return 1
    return 1


def _find_header(path: Path, grid: pl.DataFrame) -> tuple[int, dict[str, int]]:
    """The header row (searched for, so a shifted header is found) and each used column's position."""
    best: set[str] = set()
    for i in range(min(HEADER_SEARCH_ROWS, grid.height)):
        cells = [None if v is None else str(v).strip() for v in grid.row(i)]
        found = {name for name in COLUMN_MAP if name in cells}
        if len(found) == len(COLUMN_MAP):
            return i, {name: cells.index(name) for name in COLUMN_MAP}
        best = max(best, found, key=len)
    missing = [name for name in COLUMN_MAP if name not in best]
    raise SourceFileError(
        path,
        f"sheet {SHEET} has no header row with the AmbSYS columns {', '.join(COLUMN_MAP)} in its first "
        f"{HEADER_SEARCH_ROWS} rows (closest row lacks {', '.join(missing)})",
    )


def _published(path: Path) -> date | None:
    """The ``Published`` date on the Introduction sheet, if the workbook has one."""
    try:
        intro = _sheet(path, INTRO_SHEET)
    except Exception:  # no such sheet, or unreadable: the anchor then has to come from the year column
        return None
    for row in [] if intro is None else intro.iter_rows():
        cells = [str(v).strip() for v in row if v is not None and str(v).strip()]
        if len(cells) >= 2 and cells[0].lower() == "published":
            for fmt in ("%Y-%m-%d", "%d %B %Y", "%d/%m/%Y"):
                try:
                    return datetime.strptime(cells[1][:10] if fmt == "%Y-%m-%d" else cells[1], fmt).date()
                except ValueError:
                    continue
    return None


# --- dating rows from their order -------------------------------------------------------------------------


def _month_number(name: str | None) -> int | None:
    return None if name is None else _MONTH_NUMBER.get(name.upper())


def _fy_start(text: str | None) -> int | None:
    match = _FY.match(text or "")
    if not match or (int(match[1]) + 1) % 100 != int(match[2]):
        return None
    return int(match[1])


def _calendar_year(fy_start: int, month: int) -> int:
    return fy_start if month >= 4 else fy_start + 1


def _months(path: Path, frame: pl.DataFrame) -> list[str | None]:
    """Each row's calendar month ``YYYY-MM`` from row order (None where the row has no month or area)."""
    names, areas, cached, rows = (frame[c].to_list() for c in ("Month", "Area", "Year", "source_row"))
    months = [_month_number(n) for n in names]
    dated = [k for k in range(len(rows)) if months[k] is not None and areas[k] is not None]
    if not dated:
        return [None] * len(rows)
    anchor = _anchor(path, months[dated[-1]], cached[dated[-1]])
    by_area: dict[str, list[int]] = {}
    for k in dated:
        by_area.setdefault(areas[k], []).append(k)
    years: dict[int, int] = {}
    for ks in by_area.values():
        year = anchor[0] if months[ks[-1]] <= anchor[1] else anchor[0] - 1
        years[ks[-1]] = year
        for later, k in zip(reversed(ks), list(reversed(ks))[1:], strict=False):
            if months[k] > months[later]:
                year -= 1
            years[k] = year
    out: list[str | None] = [None] * len(rows)
    for k, year in years.items():
        fy = year if months[k] >= 4 else year - 1
        given = _fy_start(cached[k])
        if given is not None and given != fy:
            raise SourceFileError(
                path,
                f"the year column says {cached[k]} but row order gives {fy}-{(fy + 1) % 100:02d} for "
                f"{areas[k]} {names[k]}: rows are not in month order",
                row=rows[k],
            )
        out[k] = f"{year}-{months[k]:02d}"
    return out


def _anchor(path: Path, last_month: int, last_cached: str | None) -> tuple[int, int]:
    """(year, month) of the file's last row: from the cached financial year, else from the publication date."""
    fy = _fy_start(last_cached)
    if fy is not None:
        return _calendar_year(fy, last_month), last_month
    published = _published(path)
    if published is None:
        raise SourceFileError(
            path,
            "cannot date the rows: the Year column holds no values (formulas without cached results) and the "
            f"{INTRO_SHEET} sheet has no 'Published' date",
        )
    year = published.year
    month_end = date(year + (last_month == 12), last_month % 12 + 1, 1)
    return (year if month_end <= published else year - 1), last_month


# --- metrics ----------------------------------------------------------------------------------------------


def _metrics(rows: pl.DataFrame, path: Path, sha: str) -> pl.DataFrame:
    """OF0017 per complete quarter and OF0028 per complete year to date, for services (not region totals)."""
    year = pl.col("month").str.slice(0, 4).cast(pl.Int64)
    month = pl.col("month").str.slice(5, 2).cast(pl.Int64)
    typed = rows.filter(~pl.col("org_code").str.contains(AGGREGATE_AREA)).select(
        "org_code",
        "month",
        "source_row",
        pl.when(month >= 4).then(year).otherwise(year - 1).alias("fy"),
        ((month - 4) % 12 + 1).alias("fy_month"),
        *(pl.col(c).cast(pl.Float64) for c in ("all_incidents", "c2_incidents", "c2_total_seconds", "conveyed_to_ed")),
    )
    frames = [_one_metric(typed, f) for f in FORMULAS]
    return pl.concat(frames).with_columns(
        pl.lit(SOURCE).alias("source"), pl.lit(str(path)).alias("source_file"), pl.lit(sha).alias("source_sha256")
    )


def _one_metric(typed: pl.DataFrame, f: Formula) -> pl.DataFrame:
    quarters = pl.DataFrame({"q": [1, 2, 3, 4]}, schema={"q": pl.Int64})
    spans = typed.join(quarters, how="cross")
    by_quarter = f.months == "quarter"
    first = 3 * pl.col("q") - 2 if by_quarter else pl.lit(1)
    spans = spans.filter(pl.col("fy_month").is_between(first, 3 * pl.col("q")))
    complete = pl.col(f.numerator).is_not_null() & pl.col(f.denominator).is_not_null()
    months_needed = pl.lit(3) if by_quarter else 3 * pl.col("q")
    grouped = (
        spans.group_by("org_code", "fy", "q")
        .agg(
            complete.sum().alias("n"),
            pl.col(f.numerator).sum().alias("numerator"),
            pl.col(f.denominator).sum().alias("denominator"),
            pl.col("month").min().alias("from"),
            pl.col("month").max().alias("to"),
            pl.col("source_row").min().alias("source_row"),
        )
        .filter((pl.col("n") == months_needed) & (pl.col("denominator") > 0))
    )
    spans_of = grouped.select("fy", "q").unique()
    labels = spans_of.with_columns(
        pl.Series("quarter", [Quarter(fy, q).label for fy, q in spans_of.iter_rows()], dtype=pl.String)
    )
    ratio = pl.col("numerator") / pl.col("denominator")
    value = ratio.round(0, mode="half_away_from_zero") / 60 if f.metric_id == "OF0017" else 100 * ratio
    return (
        grouped.join(labels, on=["fy", "q"])
        .select(
            "quarter",
            "org_code",
            pl.lit(f.metric_id).alias("metric_id"),
            pl.concat_str([pl.col("from"), pl.lit(".."), pl.col("to")]).alias("period"),
            value.alias("value"),
            "numerator",
            "denominator",
            pl.lit(f.unit).alias("unit"),
            "source_row",
        )
        .sort("quarter", "org_code")
    )
