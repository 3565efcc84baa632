"""Adapter for NHS England's Cancer Waiting Times (CWT-CRS) provider data extract (xlsx, the extract on one sheet).

An extract covers several months (read from PERIOD, never from the file name). For each quarter whose three
months are all present, per provider:

- OF0010, 28-day Faster Diagnosis Standard: ``100 * Σ WITHIN STANDARD / Σ TOTAL TREATED`` over the 28-day FDS rows;
- OF0011, 62-day combined standard: the same over the 62-day rows broken down by cancer type (TREATMENT MODALITY
  'ALL MODALITIES'); the extract also breaks the same patients down by modality (CANCER TYPE 'ALL CANCERS'),
  so summing every 62-day row would count each patient twice.

Every row of these two standards is summed, is the 62-day view by modality (the patients summed, counted again),
or is quarantined: a breakdown of another shape than the standard's (blank, or a total name the reader does not
sum by), a subtotal of rows the extract also gives, a 62-day row by both modality and cancer type (rules on the
shape of a row, not lists of names: ``schemas.cwt_crs``). None is left out of a sum or
added to its parts unseen. An organisation with a quarantined row in a quarter gets no value for that quarter: a
sum over the rows that remain would look right and be wrong. The extract is read from the one visible sheet holding
its header; two such sheets, or a hidden one, refuse the workbook.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import polars as pl

from npaf_pipeline.quarters import of_month
from npaf_pipeline.sources.base import (
    AdapterResult,
    SourceFileError,
    finish_by_file,
    quarter_span,
    require_whole_quarters,
    sha256_file,
    validate_rows,
    wanted_quarters,
)
from npaf_pipeline.sources.raw import (
    column_filled,
    header_row,
    match_header,
    open_workbook,
    published_names,
    read_sheet,
    require_layout,
    require_xlsx,
    sheet_rows,
)
from schemas.canonical import empty_metric_values
from schemas.common import parse_number
from schemas.cwt_crs import COUNTS, TEXT_SUFFIX, CwtCrsRow

SOURCE = "cwt_crs"

COLUMNS: dict[str, str] = {
    "PERIOD": "period",
    "YEAR": "year",
    "MONTH": "month",
    "STANDARD": "standard",
    "ORG CODE": "org_code",
    "STAGE/ROUTE": "stage_route",
    "TREATMENT MODALITY": "treatment_modality",
    "CANCER TYPE": "cancer_type",
    "TOTAL TREATED": "total_treated",
    "WITHIN STANDARD": "within_standard",
    "BREACHES": "breaches",
}
"""Published header -> canonical column (a header renamed in a new release is an edit here)."""

METRICS: dict[str, dict[str, str]] = {
    "OF0010": {"standard": "28-day FDS"},
    "OF0011": {"standard": "62-day Combined", "treatment_modality": "ALL MODALITIES"},
}
"""Metric -> the rows it sums (canonical column -> published value, compared without regard to case)."""

HEADER_SEARCH_ROWS = 20
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d/%m/%Y")


@dataclass
class Extract:
    """One CWT-CRS file read and validated (:func:`read_extract`): its rows as the adapter sees them."""

    path: Path
    sha256: str
    rows_read: int
    """Data rows in the file (after the header, empty rows dropped)."""
    accepted: pl.DataFrame
    """Valid rows in canonical columns (``COLUMNS``): ``period`` a date, the counts numbers, ``source_row``."""
    quarantine: pl.DataFrame
    """The rejected rows' failures, in the quarantine format."""
    withheld: pl.DataFrame
    """org_code, period of every quarantined row (period null when unreadable: the row withholds every period)."""


def read(paths: list[Path], quarters: list[str] | None = None) -> AdapterResult:
    """Canonical OF0010 and OF0011 values from CWT-CRS provider extracts, for every complete (requested) quarter."""
    wanted = wanted_quarters(quarters)
    extracts = [read_extract(p) for p in paths]
    check_no_overlap(extracts)
    if extracts:
        months = set().union(*(_months(e.accepted) for e in extracts))
        require_whole_quarters(extracts[0].path.parent, "the CWT-CRS extracts", months, wanted)
    values = _quarter_values(extracts, wanted)
    files = [(e.path, e.sha256, e.rows_read, e.quarantine, e.accepted.height) for e in extracts]
    return finish_by_file(SOURCE, values, files)


# --- one file ---------------------------------------------------------------------------------------------


def read_extract(path: str | Path) -> Extract:
    """Read and validate one CWT-CRS provider extract, every month it holds: the adapter's header matching,
    validation (``schemas.cwt_crs.CwtCrsRow``) and quarantine, without summing anything.

    For callers that need other sums than the adapter's quarters (e.g. ICB months, ``icb.cancer``); select rows
    with ``METRICS``. Raises :class:`SourceFileError` for a file that is not a CWT-CRS extract.
    """
    path = Path(path)
    name, sheet = _sheet_text(path)
    header_at = _find_header(path, sheet, name)
    header = [(c or "").strip() for c in sheet.row(header_at)]
    keep = _match_header(path, header, sheet.slice(header_at + 1), header_at + 1)
    frame = _frame(sheet, header_at, keep)
    if frame.is_empty():
        raise SourceFileError(path, "a header row but no data rows", row=header_at + 1)
    sha = sha256_file(path)
    accepted, quarantine = validate_rows(
        frame, CwtCrsRow, source=SOURCE, path=path, sha256=sha, column_names=published_names(header, keep)
    )
    bad_rows = quarantine["source_row"].unique().implode()
    withheld = frame.filter(pl.col("source_row").is_in(bad_rows)).select("org_code", "period")
    return Extract(path, sha, frame.height, accepted, quarantine, withheld)


def _sheet_text(path: Path) -> tuple[str, pl.DataFrame]:
    """(name, cells) of the sheet holding the extract, every cell as text, one frame row per spreadsheet row (row n
    is index n - 1). A workbook of several sheets is searched for the extract's header (:func:`_data_sheet`)."""
    require_xlsx(path, "CWT")
    try:
        book = open_workbook(path)
        names = book.sheet_names
        name = names[0] if len(names) == 1 else _data_sheet(path, book, names)
        sheet = read_sheet(path, name, book=book)
    except (fastexcel.FastExcelError, pl.exceptions.PolarsError) as exc:
        problem = str(exc).splitlines()[0]
        raise SourceFileError(path, f"cannot be read as an Excel workbook (truncated or damaged?): {problem}") from None
    if sheet.is_empty():
        raise SourceFileError(path, "the first sheet is empty")
    return name, sheet


def _data_sheet(path: Path, book: fastexcel.ExcelReader, names: list[str]) -> str:
    """The one sheet whose first rows hold the extract's header, which must be visible.

    Two such sheets (providers split over sheets, an old copy kept beside the new) are refused rather than one read
    and the other ignored, or both added up: which is meant is not the reader's to guess. A hidden data sheet is
    refused: what would be read is not what a person opening the workbook sees. A workbook of one sheet is read
    without this search (Excel cannot hide a workbook's only sheet), which keeps the usual case to one parse.
    """
    found: list[tuple[str, str]] = []
    for name in names:
        head = book.load_sheet(name, header_row=None, skip_rows=0, n_rows=HEADER_SEARCH_ROWS, dtypes="string")
        if _holds_header(head.to_polars().rows()):
            found.append((name, head.visible))
    if not found:
        raise _no_header(path, f"any sheet ({', '.join(map(repr, names))})")
    if len(found) > 1:
        listed = ", ".join(repr(n) + ("" if v == "visible" else f" ({v})") for n, v in found)
        raise SourceFileError(
            path,
            f"sheets {listed} each hold a CWT-CRS header: the extract must be on one sheet (remove the other copy or "
            "put the providers on one sheet)",
        )
    name, visible = found[0]
    if visible != "visible":
        raise SourceFileError(
            path,
            f"the CWT-CRS extract is on sheet {name!r}, which is {visible}: unhide it (what is read must be what a "
            "person opening the workbook sees)",
        )
    return name


def _holds_header(rows: list[tuple]) -> bool:
    """Whether a row among the first holds most of the CWT column names."""
    return bool(rows) and 2 * header_row(rows[:HEADER_SEARCH_ROWS], COLUMNS)[1] > len(COLUMNS)


def _no_header(path: Path, where: str) -> SourceFileError:
    return SourceFileError(
        path,
        f"no CWT-CRS header ({', '.join(COLUMNS)}) in the first {HEADER_SEARCH_ROWS} rows of {where}: "
        "a file of another source in the CWT folder?",
    )


def _find_header(path: Path, sheet: pl.DataFrame, name: str) -> int:
    """The row naming most CWT columns within the first rows (the header may sit below a title)."""
    at, named = header_row([sheet.row(i) for i in range(min(HEADER_SEARCH_ROWS, sheet.height))], COLUMNS)
    if 2 * named <= len(COLUMNS):
        raise _no_header(path, f"the sheet {name!r}")
    return at


def _match_header(path: Path, header: list[str], body: pl.DataFrame, row: int) -> dict[int, str]:
    """Column position -> canonical column; columns with neither a known header nor data are ignored."""
    keep, missing, unexpected = match_header(header, COLUMNS, column_filled(body))
    require_layout(path, row, "CWT-CRS", missing, unexpected)
    return keep


def _frame(sheet: pl.DataFrame, header_at: int, keep: dict[int, str]) -> pl.DataFrame:
    """Data rows (trimmed text; blank and '-' missing; empty rows dropped) with period and counts parsed."""
    rows = sheet_rows(sheet, header_at, keep)
    period = pl.col("period")
    return rows.with_columns(
        period.alias("period" + TEXT_SUFFIX),
        pl.coalesce([period.str.strptime(pl.Date, f, strict=False) for f in _DATE_FORMATS]).alias("period"),
        *[pl.col(c).alias(c + TEXT_SUFFIX) for c in COUNTS],
        *[parse_number(pl.col(c)) for c in COUNTS],
    )


# --- across files -----------------------------------------------------------------------------------------


def _months(frame: pl.DataFrame) -> set[tuple[int, int]]:
    found = frame.select(pl.col("period").dt.year().alias("y"), pl.col("period").dt.month().alias("m")).unique()
    return {(y, m) for y, m in found.drop_nulls().iter_rows()}


def check_no_overlap(extracts: Sequence[Extract]) -> None:
    """Refuse extracts that share a month (:class:`SourceFileError` naming both files): a month is read once."""
    seen: dict[tuple[int, int], Path] = {}
    for e in extracts:
        for ym in sorted(_months(e.accepted)):
            first = seen.setdefault(ym, e.path)
            if first != e.path:
                raise SourceFileError(e.path, f"holds {ym[0]}-{ym[1]:02d}, as does {first}: extracts must not overlap")


def _quarter_values(extracts: list[Extract], wanted: set[str] | None) -> pl.DataFrame:
    present = set().union(*(_months(e.accepted) for e in extracts)) if extracts else set()
    complete = {of_month(*ym) for ym in present}
    complete = {q for q in complete if all(ym in present for ym in q.months) and (wanted is None or q.label in wanted)}
    if not complete:
        return empty_metric_values()
    labels = pl.DataFrame(
        [(y * 100 + m, q.label, quarter_span(q)) for q in complete for y, m in q.months],
        schema={"ym": pl.Int32, "quarter": pl.String, "span": pl.String},
        orient="row",
    )
    ym = (pl.col("period").dt.year() * 100 + pl.col("period").dt.month()).cast(pl.Int32).alias("ym")
    rows = pl.concat(
        e.accepted.with_columns(ym, pl.lit(str(e.path)).alias("source_file"), pl.lit(e.sha256).alias("source_sha256"))
        for e in extracts
    ).join(labels, on="ym")
    withheld = _withheld(extracts, labels)
    out = []
    for metric, selector in METRICS.items():
        chosen = rows.filter(
            *[pl.col(c).str.to_lowercase() == v.lower() for c, v in selector.items()],
            pl.col("total_treated").is_not_null() & pl.col("within_standard").is_not_null(),
        )
        sums = (
            chosen.sort("ym", "source_row")
            .group_by("quarter", "org_code", maintain_order=True)
            .agg(
                pl.col("span").first().alias("period"),
                pl.col("within_standard").sum().alias("numerator"),
                pl.col("total_treated").sum().alias("denominator"),
                pl.col("source_file").first(),
                pl.col("source_sha256").first(),
                pl.col("source_row").first(),
            )
            .join(withheld, on=["quarter", "org_code"], how="anti")
            .filter(pl.col("denominator") > 0)
        )
        out.append(
            sums.select(
                "quarter",
                "org_code",
                pl.lit(metric).alias("metric_id"),
                "period",
                (100 * pl.col("numerator") / pl.col("denominator")).alias("value"),
                "numerator",
                "denominator",
                pl.lit("percent").alias("unit"),
                pl.lit(SOURCE).alias("source"),
                "source_file",
                "source_sha256",
                "source_row",
            )
        )
    return pl.concat(out).sort("quarter", "metric_id", "org_code")


def _withheld(extracts: list[Extract], labels: pl.DataFrame) -> pl.DataFrame:
    """(quarter, org) pairs with a quarantined row; a row whose period cannot be read withholds every quarter."""
    bad = pl.concat([e.withheld for e in extracts]).drop_nulls("org_code")
    ym = (pl.col("period").dt.year() * 100 + pl.col("period").dt.month()).cast(pl.Int32).alias("ym")
    dated = bad.filter(pl.col("period").is_not_null()).with_columns(ym).join(labels, on="ym")
    undated = bad.filter(pl.col("period").is_null()).join(labels.select("quarter").unique(), how="cross")
    return pl.concat([dated.select("quarter", "org_code"), undated.select("quarter", "org_code")]).unique()
