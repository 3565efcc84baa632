"""Excel error cells (#N/A, #REF!, ...) in the workbooks of CHS, AmbSYS and CWT-CRS: a value as published, never blank.

calamine gives an error cell no value, as it does an empty cell. Read as blank, ``#N/A`` in a count would pass as
"not submitted" (CHS: a service not run, AmbSYS: a month not reported) and a row of ``#REF!`` as a spacer row,
and the organisation would be scored from what is left. Each reader sees the cell's error text instead, so the
number checks quarantine the row with the cell as published and the organisation's value is withheld.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from npaf_pipeline.sources import ambsys, cwt_crs
from npaf_pipeline.sources import chs_waiting_lists as chs
from npaf_pipeline.sources.base import AdapterResult
from npaf_pipeline.sources.raw import read_sheet
from tests.test_source_ambsys import Cached, ambsys_rows, write_ambsys
from tests.test_source_cwt_crs import _row as cwt_row

ERRORS = {
    "#N/A": "=NA()",
    "#REF!": "=#REF!",
    "#DIV/0!": "=1/0",
    "#VALUE!": '="a"+1',
    "#NAME?": "=NOSUCHFUNCTION()",
    "#NUM!": "=SQRT(-1)",
    "#NULL!": "=A1 B1",
}
"""Each Excel error value and a formula whose cached result it is, as Excel saves it (``t="e"``)."""


class Error(str):
    """A cell to write as an Excel error value (a formula with that error as its cached result)."""


def _write(sheet, row: int, column: int, cell: object) -> None:
    if isinstance(cell, Error):
        sheet.write_formula(row, column, ERRORS[cell], None, str(cell))
    elif cell is not None:
        sheet.write(row, column, cell)


def _accounts(result: AdapterResult) -> list[tuple[int, int, int]]:
    return [(a.rows_read, a.rows_accepted, a.rows_quarantined) for a in result.accounts]


def _records(result: AdapterResult) -> list[tuple[int, str, str]]:
    return sorted(result.quarantine.select("source_row", "column", "value").rows())


def test_an_error_cell_is_read_as_its_error_text_not_as_blank(tmp_path: Path) -> None:
    """Every Excel error value reaches the readers as the text Excel shows, where it is in the sheet; a blank
    cell stays blank and text that looks like an error stays that text."""
    path = tmp_path / "errors.xlsx"
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet("Data")
        sheet.write(2, 2, "first used cell")  # calamine starts its range here: rows and columns must not shift
        for row, error in enumerate(ERRORS, start=3):
            _write(sheet, row, 3, Error(error))
        sheet.write(10, 2, "#N/A")
    cells = read_sheet(path, "Data")
    assert cells["column_2"].to_list()[3:10] == list(ERRORS)
    assert cells["column_1"].to_list() == [None, None, "first used cell", *[None] * 7, "#N/A"]
    assert cells["column_2"].to_list()[:3] == [None, None, None]


# --- CHS waiting lists -------------------------------------------------------------------------------------

CHS_SERVICES = ["(A) Audiology", "(CYP) Audiology"]
CHS_TABLES = {
    "Table 4": "Total waiting list by service",
    "Table 4g": "Number waiting >52-104 weeks (365-728 days) by service",
    "Table 4h": "Number waiting over 104 weeks (over 2 years) by service",
}
# per table: organisation rows (type, code, name, one count per service)
CHS_ROWS = {
    "Table 4": [
        ("National", "", "England", 300, 50),
        ("Provider", "RAA", "TRUST A", 100, 50),
        ("Provider", "RBB", "TRUST B", 200, None),
    ],
    "Table 4g": [
        ("National", "", "England", 14, 5),
        ("Provider", "RAA", "TRUST A", 10, 5),
        ("Provider", "RBB", "TRUST B", 4, None),
    ],
    "Table 4h": [
        ("National", "", "England", 1, 0),
        ("Provider", "RAA", "TRUST A", 1, 0),
        ("Provider", "RBB", "TRUST B", 0, None),
    ],
}


def _chs_workbook(path: Path, cells: dict[tuple[str, str, str], object]) -> Path:
    """A June 2025 CHS workbook (Tables 4, 4g, 4h, header on row 5); ``cells`` overrides (table, org, service)."""
    with xlsxwriter.Workbook(path) as book:
        for table, title in CHS_TABLES.items():
            sheet = book.add_worksheet(table)
            sheet.write(0, 0, f"{title}, June 2025")
            sheet.write_row(4, 0, ["Organisation Type", "Organisation Code", "Organisation Name", *CHS_SERVICES])
            for r, (kind, code, name, *counts) in enumerate(CHS_ROWS[table], start=5):
                sheet.write_row(r, 0, [kind, code, name])
                for c, service in enumerate(CHS_SERVICES):
                    _write(sheet, r, 3 + c, cells.get((table, code, service), counts[c]))
    return path


@pytest.mark.parametrize("error", list(ERRORS))
def test_chs_error_cells_are_quarantined_not_a_service_not_run(tmp_path: Path, error: str) -> None:
    """A service's counts given as an error value are a waiting list as published, not "service not run": the
    row is quarantined with the error text and the provider's OF0005 withheld, never summed from its other
    services."""
    clean = chs.read([_chs_workbook(tmp_path / "clean.xlsx", {})])
    assert clean.values.filter(pl.col("org_code") == "RAA")["value"].to_list() == [pytest.approx(100 * 16 / 150)]
    cells = {(table, "RAA", "(A) Audiology"): Error(error) for table in CHS_TABLES}
    result = chs.read([_chs_workbook(tmp_path / "errors.xlsx", cells)])
    assert _records(result) == [(7, f"{table}: (A) Audiology", error) for table in CHS_TABLES]
    assert result.values["org_code"].to_list() == ["RBB"]  # RAA withheld
    assert _accounts(result) == [(3, 2, 1)]


# --- AmbSYS ------------------------------------------------------------------------------------------------

R1F_MAY_2025 = 21 + 12  # index in ambsys_rows(): 20 total rows, the banner, then services month by month
"""R1F May 2025, sheet row 39."""


@pytest.mark.parametrize("error", list(ERRORS))
def test_ambsys_error_cells_are_quarantined_not_a_month_not_reported(tmp_path: Path, error: str) -> None:
    """A month's A10 and A30 given as error values are figures as published, not a month not reported: the row
    is quarantined with the error text, and the quarters it feeds get no value for the service."""
    rows = ambsys_rows()
    rows[R1F_MAY_2025][9:11] = [Cached(ERRORS[error], error)] * 2
    result = ambsys.read([write_ambsys(tmp_path / "errors.xlsx", rows)], ["2025-26 Q1"])
    assert _records(result) == [(39, "A10", error), (39, "A30", error)]
    assert result.values.filter(pl.col("org_code") == "R1F").is_empty()
    assert result.values["org_code"].unique().to_list() == ["RYE"]
    assert _accounts(result) == [(40, 39, 1)]


def test_ambsys_a_row_of_error_cells_is_read_and_quarantined(tmp_path: Path) -> None:
    """A row whose every cell is an error value (``#REF!`` where the rows it pointed at were deleted) is a row
    as published, not a spacer: counted as read and quarantined, never skipped."""
    rows = ambsys_rows()
    rows.insert(R1F_MAY_2025 + 1, [Cached(ERRORS["#REF!"], "#REF!")] * len(rows[0]))
    result = ambsys.read([write_ambsys(tmp_path / "errors.xlsx", rows)], ["2025-26 Q1"])
    bad = result.quarantine.filter(pl.col("source_row") == 40, pl.col("column") != "month")  # month: from row order
    assert set(bad["value"]) == {"#REF!"}
    assert set(bad["column"]) == {"Month", "Reg", "Area", "A7", "A10", "A30", "A53"}
    assert _accounts(result) == [(41, 40, 1)]


# --- CWT-CRS -----------------------------------------------------------------------------------------------

CWT_HEADER = list(cwt_crs.COLUMNS)


def _cwt_row(month: int, org: str, total: object = 10, within: object = 8) -> list:
    """A 28-day FDS row: ``total`` told, ``within`` within 28 days (the CWT tests' row)."""
    return cwt_row(month, org, total=total, within=within)


def _cwt_extract(path: Path, rows: list[list]) -> Path:
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet("CWT CRS Provider Extract")
        date = book.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_row(0, 0, CWT_HEADER)
        for r, row in enumerate(rows, start=1):
            for c, cell in enumerate(row):
                if isinstance(cell, datetime.datetime):
                    sheet.write_datetime(r, c, cell, date)
                else:
                    _write(sheet, r, c, cell)
    return path


def _cwt_rows() -> list[list]:
    return [_cwt_row(month, org) for month in (4, 5, 6) for org in ("RAA", "RBB")]


@pytest.mark.parametrize("error", list(ERRORS))
def test_cwt_error_cells_are_quarantined_and_withhold_the_provider(tmp_path: Path, error: str) -> None:
    """TOTAL TREATED and WITHIN STANDARD given as error values are counts as published: the row is quarantined
    with the error text and the provider's quarter withheld, never summed from its other rows."""
    rows = _cwt_rows()
    rows[2] = _cwt_row(5, "RAA", Error(error), Error(error))  # sheet row 4
    result = cwt_crs.read([_cwt_extract(tmp_path / "errors.xlsx", rows)], ["2025-26 Q1"])
    assert _records(result) == [(4, "TOTAL TREATED", error), (4, "WITHIN STANDARD", error)]
    assert result.values["org_code"].unique().to_list() == ["RBB"]  # RAA withheld
    assert _accounts(result) == [(6, 5, 1)]


def test_cwt_a_row_of_error_cells_is_read_and_quarantined(tmp_path: Path) -> None:
    """A row whose every cell is an error value is a row as published, not a spacer row: counted as read and
    quarantined with each cell as published, never skipped."""
    rows = _cwt_rows()
    rows.insert(3, [Error("#REF!")] * len(CWT_HEADER))  # sheet row 5
    result = cwt_crs.read([_cwt_extract(tmp_path / "errors.xlsx", rows)], ["2025-26 Q1"])
    bad = result.quarantine
    assert set(bad["source_row"]) == {5} and set(bad["value"]) == {"#REF!"}
    assert {"ORG CODE", "TOTAL TREATED", "WITHIN STANDARD"} <= set(bad["column"])
    assert _accounts(result) == [(7, 6, 1)]
