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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import fastexcel
import polars as pl
import yaml

from npaf_pipeline.quarters import Quarter
from npaf_pipeline.sources.base import (
    AdapterResult,
    SourceFileError,
    combine,
    finish,
    in_quarters,
    refuse_overlap,
    require_whole_quarters,
    sha256_file,
    validate_rows,
    wanted_quarters,
)
from npaf_pipeline.sources.raw import column_filled, header_problems, month_number, read_sheet, sheet_rows
from schemas.ambsys import INDICATORS, AmbsysRaw
from schemas.common import parse_number

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
HELPER_REPEATS = {"Month", "Year"}  # the published sheet repeats these in formula helper columns right of the data
AGGREGATE_AREA = r"^(ENG|Y[0-9]{2})$"  # England and NHS England region totals: valid rows, but not organisations
_FY = re.compile(r"^([0-9]{4})-([0-9]{2})$")


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


KNOWN_DIFFERENCES_FILE = Path(__file__).parent / "known_differences" / "ambsys_of0028.yaml"


def known_differences() -> tuple[KnownDifference, ...]:
    """Values these workbooks cannot reproduce, each with its computed and published value and the reason."""
    data = yaml.safe_load(KNOWN_DIFFERENCES_FILE.read_text(encoding="utf-8"))
    return tuple(
        KnownDifference(
            data["quarter"],
            str(code),
            data["metric_id"],
            computed=float(entry["computed"]),
            published=float(entry["published"]),
            reason=str(entry["reason"]),
        )
        for code, entry in data["trusts"].items()
    )


KNOWN_DIFFERENCES = known_differences()


def read(paths: Iterable[str | Path], quarters: list[str] | None = None) -> AdapterResult:
    """OF0017 and OF0028 per ambulance service and quarter from AmbSYS time series workbooks."""
    wanted = wanted_quarters(quarters)
    result = combine([_read_one(Path(p), wanted) for p in paths], SOURCE)
    refuse_overlap(result.values, ["quarter", "org_code", "metric_id"], "AmbSYS value")
    return result


def _read_one(path: Path, wanted: set[str] | None) -> AdapterResult:
    grid = _load_grid(path)
    sha = sha256_file(path)
    header, index = _find_header(path, grid)
    frame = sheet_rows(grid, header, {i: raw for raw, i in index.items()})
    # a row with none of the used cells filled (a blank line, the "Raw data" banner) is layout, not data
    frame = frame.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in DATA_COLUMNS))
    if frame.is_empty():
        raise SourceFileError(path, f"sheet {SHEET} has a header but no data rows")
    frame = frame.with_columns(pl.Series("month", _months(path, frame), dtype=pl.String))
    accepted, quarantine = validate_rows(frame, AmbsysRaw, source=SOURCE, path=path, sha256=sha)
    held = {(int(m[:4]), int(m[5:])) for m in frame["month"].drop_nulls().unique().to_list()}
    require_whole_quarters(path, "the AmbSYS workbook's rows", held, wanted)
    values = in_quarters(_metrics(accepted.rename(COLUMN_MAP), path, sha), wanted)
    return finish(SOURCE, path, sha, frame.height, values, quarantine, rows_accepted=accepted.height)


# --- workbook plumbing ------------------------------------------------------------------------------------


def _load_grid(path: Path) -> pl.DataFrame:
    """Sheet ``Raw`` as text cells, row n of the sheet at index n - 1."""
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
    grid = read_sheet(path, SHEET)
    if grid.is_empty():
        raise SourceFileError(path, f"sheet {SHEET} is empty")
    return grid


def _find_header(path: Path, grid: pl.DataFrame) -> tuple[int, dict[str, int]]:
    """The header row (searched for, so a shifted header is found) and each used column's position.

    The search starts at the first row holding anything, so blank rows above the table do not use it up.
    """
    start = next((i for i in range(grid.height) if any(v is not None for v in grid.row(i))), 0)
    best: set[str] = set()
    for i in range(start, min(start + HEADER_SEARCH_ROWS, grid.height)):
        cells = [None if v is None else str(v).strip() for v in grid.row(i)]
        found = {name for name in COLUMN_MAP if name in cells}
        if len(found) == len(COLUMN_MAP):
            return i, _positions(path, grid, i, cells)
        best = max(best, found, key=len)
    missing = [name for name in COLUMN_MAP if name not in best]
    raise SourceFileError(
        path,
        f"sheet {SHEET} has no header row with the AmbSYS columns {', '.join(COLUMN_MAP)} in its first "
        f"{HEADER_SEARCH_ROWS} rows (closest row lacks {', '.join(missing)})",
    )


def _positions(path: Path, grid: pl.DataFrame, at: int, cells: list[str | None]) -> dict[str, int]:
    """Each used column's position in the header row ``at``: its first column, as CWT-CRS and CHS read theirs.

    A later column under the same name that holds data refuses the file: which copy holds the published figures
    cannot be told, and reading the first would score whatever sits there. One over an empty column is a stray
    header cell and cannot change a value; the sheet's own formula helpers ``Month`` and ``Year``, right of
    every used indicator, are published layout, not copies."""
    every = {name: [k for k, cell in enumerate(cells) if cell == name] for name in COLUMN_MAP}
    last_indicator = max(every[name][0] for name in INDICATORS)
    filled = column_filled(grid.slice(at + 1))
    repeated: list[str] = []
    for name, (_, *others) in every.items():
        helper = name in HELPER_REPEATS and len(others) == 1 and others[0] > last_indicator
        if not helper and any(filled(k) for k in others):
            repeated.append(name)
    if repeated:
        problems = header_problems([], [f"{name!r} (named more than once)" for name in repeated])
        raise SourceFileError(path, f"sheet {SHEET}: header does not match the AmbSYS layout: {problems}", row=at + 1)
    return {name: found[0] for name, found in every.items()}


def _published(path: Path) -> date | None:
    """The ``Published`` date on the Introduction sheet, if the workbook has one."""
    try:
        intro = read_sheet(path, INTRO_SHEET)
    except Exception:  # no such sheet, or unreadable: the anchor then has to come from the year column
        return None
    for row in intro.iter_rows():
        cells = [str(v).strip() for v in row if v is not None and str(v).strip()]
        if len(cells) >= 2 and cells[0].lower() == "published":
            for fmt in ("%Y-%m-%d", "%d %B %Y", "%d/%m/%Y"):
                try:
                    return datetime.strptime(cells[1][:10] if fmt == "%Y-%m-%d" else cells[1], fmt).date()
                except ValueError:
                    continue
    return None


# --- dating rows from their order -------------------------------------------------------------------------


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
    months = [month_number(n) for n in names]
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
        *(
            parse_number(pl.col(c)).alias(c)
            for c in ("all_incidents", "c2_incidents", "c2_total_seconds", "conveyed_to_ed")
        ),
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
