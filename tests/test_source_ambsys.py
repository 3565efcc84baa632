"""AmbSYS adapter: OF0017 / OF0028 from the time-series workbook, real data and fixtures in the published layout."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import polars as pl
import pytest
import xlsxwriter

from npaf_pipeline.sources import ambsys
from npaf_pipeline.sources.base import SourceFileError
from npaf_pipeline.sources.nof_csv import read_nof_csv
from schemas.common import MONTH_NAMES as MONTHS
from schemas.common import NUMBER
from tests.conftest import ACUTE_Q1, real_file

AMBSYS = "ambsys-to-aug2025/AmbSYS-Time-Series-until-20250831.xlsx"
MONTH_NAMES = list(MONTHS)
# Nov 2024 .. Aug 2025: crosses a calendar year, a financial year, ends before a quarter is complete
MONTHS = [(2024, 11), (2024, 12)] + [(2025, m) for m in range(1, 9)]
HEADER = ["Concatenated", "Year", "Month", "Reg", None, "Area", "Trust", "A0", "A7", "A10", "A30", "A53", "A54"]
HELPERS = [None, "Month", "Year"]  # the real sheet repeats these names in formula helper columns further right

# per service and month: (A7 all incidents, A10 C2 incidents, A30 C2 seconds, A53 conveyed to ED)
R1F = {
    (2024, 11): (90, 100, 140000, 40),
    (2024, 12): (95, 100, 145000, 45),
    (2025, 1): (100, 100, 150000, 50),
    (2025, 2): (100, 100, 151000, 50),
    (2025, 3): (100, 100, 152000, 50),
    (2025, 4): (100, 100, 150000, 50),
    (2025, 5): (100, 100, 151100, 60),
    (2025, 6): (100, 100, 152050, 70),
    (2025, 7): (100, 100, 150000, 80),
    (2025, 8): (100, 100, 150000, 90),
}
RYE = {
    (2024, 11): (400, 200, 200000, 100),
    (2024, 12): (400, 200, 200000, 100),
    (2025, 1): (400, 200, 200000, 100),
    (2025, 2): (400, 200, 200000, 100),
    (2025, 3): (400, 200, 200000, 100),
    (2025, 4): (400, 200, 210000, 100),
    (2025, 5): (400, 200, 210000, 100),
    (2025, 6): (400, "-", "-", 100),  # not available: June has no C2 figures
    (2025, 7): (400, 200, 210000, 100),
    (2025, 8): (400, 200, 210000, 100),
}
SERVICES = {"R1F": ("Y59", "ISLE OF WIGHT NHS TRUST", R1F), "RYE": ("Y59", "SOUTH CENTRAL AMBULANCE SERVICE", RYE)}


class Cached(NamedTuple):
    """A formula cell and the result Excel saved with it (an error value such as ``#N/A`` among them)."""

    formula: str
    value: object


def _fy(year: int, month: int) -> str:
    start = year if month >= 4 else year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def ambsys_rows(services: dict = SERVICES) -> list[list]:
    """Data rows in the order of the real sheet: England, a region, a banner, then services month by month."""
    rows: list[list] = []
    for area, region in (("ENG", None), ("Y59", "Y59")):
        for y, m in MONTHS:
            sums = [
                sum(v[(y, m)][i] for _, _, v in services.values() if isinstance(v[(y, m)][i], int)) for i in range(4)
            ]
            rows.append(
                [
                    f"{_fy(y, m)}{MONTH_NAMES[m - 1]}{area}",
                    (y, m),
                    MONTH_NAMES[m - 1],
                    region,
                    None,
                    area,
                    None,
                    1,
                    *sums,
                    0,
                ]
            )
    rows.append(["Raw data", None, *[None] * 11])
    for y, m in MONTHS:
        for code, (region, name, values) in services.items():
            rows.append(
                [
                    f"{_fy(y, m)}{MONTH_NAMES[m - 1]}{code}",
                    (y, m),
                    MONTH_NAMES[m - 1],
                    region,
                    "South East",
                    code,
                    name,
                    1,
                    *values[(y, m)],
                    0,
                ]
            )
    return rows


def write_ambsys(
    path: Path,
    rows: list[list] | None = None,
    *,
    year: str = "cached",
    published: datetime | None = datetime(2025, 9, 11),
    title_rows: int = 4,
    header: list | None = None,
    sheet: str = "Raw",
    stray: bool = True,
) -> Path:
    """A workbook in the AmbSYS layout: Year (column B) is a formula, written with or without a cached result;
    a :class:`Cached` cell is written as its formula with its cached result."""
    book = xlsxwriter.Workbook(path)
    if published is not None:
        intro = book.add_worksheet("Introduction")
        intro.write(0, 0, "About the Ambulance Quality Indicators (AQI)")
        intro.write(51, 0, "Published")
        intro.write_datetime(51, 1, published, book.add_format({"num_format": "yyyy-mm-dd"}))
    raw = book.add_worksheet(sheet)
    if stray:
        raw.write(0, 150, "C1 ID'd")  # the real sheet has stray cells above the header, far to the right
    for i in range(1, title_rows):
        raw.write(i, 7, "Calls" if i == title_rows - 1 else None)
    for c, name in enumerate([*(header or HEADER), *HELPERS]):
        if name is not None:
            raw.write(title_rows, c, name)
    for r, row in enumerate(rows if rows is not None else ambsys_rows(), start=title_rows + 1):
        for c, cell in enumerate(row):
            if isinstance(cell, Cached):
                raw.write_formula(r, c, cell.formula, None, cell.value)
            elif c == 1 and cell is not None:
                y, m = cell
                formula = f'=IF(MONTH(DATE({y},{m},1))>3,"{y}-","{y - 1}-")'
                if year == "cached":
                    raw.write_formula(r, c, formula, None, _fy(y, m))
                elif year == "formula":
                    raw.write_formula(r, c, formula)  # no cached result: readers see 0
            elif cell is not None:
                raw.write(r, c, cell)
        raw.write_formula(r, len(HEADER) + 1, "=MONTH(TODAY())")
    book.close()
    return path


def _values(result) -> dict[tuple[str, str, str], float]:
    return {
        (q, o, m): v for q, o, m, v in result.values.select("quarter", "org_code", "metric_id", "value").iter_rows()
    }


EXPECTED = {
    # OF0017: ΣA30/ΣA10 rounded to whole seconds (half away from zero), / 60
    ("2024-25 Q4", "R1F", "OF0017"): 1510 / 60,  # 453000 / 300 = 1510.0 s
    ("2025-26 Q1", "R1F", "OF0017"): 1511 / 60,  # 453150 / 300 = 1510.5 s -> 1511 s
    ("2024-25 Q4", "RYE", "OF0017"): 1000 / 60,  # 600000 / 600
    # OF0028: 100 × ΣA53/ΣA7 from April to the quarter's last month
    ("2025-26 Q1", "R1F", "OF0028"): 60.0,  # 180 / 300
    ("2025-26 Q1", "RYE", "OF0028"): 25.0,  # 300 / 1200
}


# --- real data --------------------------------------------------------------------------------------------


@pytest.mark.real_data
def test_isle_of_wight_of0017_matches_the_published_value() -> None:
    result = ambsys.read([real_file(AMBSYS)], quarters=["2025-26 Q1"])
    published = read_nof_csv(real_file(ACUTE_Q1)).rows.filter(
        (pl.col("org_code") == "R1F") & (pl.col("metric_id") == "OF0017")
    )["value"][0]
    row = result.values.filter((pl.col("org_code") == "R1F") & (pl.col("metric_id") == "OF0017")).row(0, named=True)
    assert (row["numerator"], row["denominator"]) == (6032538, 3968)  # ΣA30 s, ΣA10 over Apr-Jun 2025
    assert round(row["value"], 2) == published == 25.33
    assert row["period"] == "2025-04..2025-06"


@pytest.mark.real_data
def test_isle_of_wight_of0028_is_a_named_known_difference() -> None:
    result = ambsys.read([real_file(AMBSYS)], quarters=["2025-26 Q1"])
    published = read_nof_csv(real_file(ACUTE_Q1)).rows.filter(
        (pl.col("org_code") == "R1F") & (pl.col("metric_id") == "OF0028")
    )["value"][0]
    row = result.values.filter((pl.col("org_code") == "R1F") & (pl.col("metric_id") == "OF0028")).row(0, named=True)
    assert (row["numerator"], row["denominator"]) == (4571, 8153)
    computed = round(row["value"], 2)
    assert computed != published
    [known] = [
        k for k in ambsys.KNOWN_DIFFERENCES if (k.quarter, k.org_code, k.metric_id) == ("2025-26 Q1", "R1F", "OF0028")
    ]
    assert (known.computed, known.published) == (computed, published) == (56.07, 56.10)


@pytest.mark.real_data
def test_real_file_rows_are_all_accounted_for() -> None:
    result = ambsys.read([real_file(AMBSYS)])
    [account] = result.accounts
    # 1466 sheet rows - 5 down to the header - 5 empty separator rows - the "Raw data" banner = 1455
    assert (account.rows_read, account.rows_accepted, account.rows_quarantined) == (1455, 1452, 3)
    q = result.quarantine
    assert q["source_row"].to_list() == [6, 405, 416]  # England Aug 2017 and NWAS Aug/Sep 2017: A7 reported as 0
    assert set(q["check"]) == {"conveyed_to_ed_at_most_all_incidents"}
    assert set(result.values["org_code"]) == {
        "R1F",
        "RRU",
        "RX6",
        "RX7",
        "RX8",
        "RX9",
        "RYA",
        "RYC",
        "RYD",
        "RYE",
        "RYF",
    }
    assert result.values["quarter"].max() == "2025-26 Q1"  # Jul-Aug 2025 do not make a quarter


# --- fixtures ---------------------------------------------------------------------------------------------


def test_values_from_a_workbook_in_the_published_layout(tmp_path: Path) -> None:
    result = ambsys.read([write_ambsys(tmp_path / "ambsys.xlsx")])
    assert _values(result) == pytest.approx(EXPECTED)
    assert result.values.height == len(EXPECTED)  # no England / region values, no partial quarter or year
    r1f = result.values.filter((pl.col("org_code") == "R1F") & (pl.col("quarter") == "2025-26 Q1"))
    assert r1f["source_row"].to_list() == [37, 37]  # Apr 2025 R1F: header row 5, 20 total rows, banner, 10 rows
    assert r1f.sort("metric_id")["period"].to_list() == ["2025-04..2025-06", "2025-04..2025-06"]
    [account] = result.accounts
    assert (account.rows_read, account.rows_accepted, account.rows_quarantined) == (40, 40, 0)


def test_quarter_filter_keeps_only_the_quarters_asked_for(tmp_path: Path) -> None:
    result = ambsys.read([write_ambsys(tmp_path / "ambsys.xlsx")], quarters=["Q4 2024/25"])
    assert set(result.values["quarter"]) == {"2024-25 Q4"}
    assert result.accounts[0].rows_accepted == 40


def test_years_from_row_order_when_the_year_formula_has_no_cached_value(tmp_path: Path) -> None:
    cached = ambsys.read([write_ambsys(tmp_path / "cached.xlsx")]).values
    uncached = ambsys.read([write_ambsys(tmp_path / "formula.xlsx", year="formula")]).values
    assert cached.drop("source_file", "source_sha256").equals(uncached.drop("source_file", "source_sha256"))


def test_publication_date_decides_the_year_of_the_last_row(tmp_path: Path) -> None:
    # the same rows published in Sept 2026 would be Nov 2025 .. Aug 2026: every quarter moves a year on
    path = write_ambsys(tmp_path / "later.xlsx", year="none", published=datetime(2026, 9, 10))
    assert set(ambsys.read([path]).values["quarter"]) == {"2025-26 Q4", "2026-27 Q1"}


# --- bad input ----------------------------------------------------------------------------------------------


def test_shifted_header_is_found_and_rows_keep_their_sheet_numbers(tmp_path: Path) -> None:
    result = ambsys.read([write_ambsys(tmp_path / "shifted.xlsx", title_rows=6)])
    assert _values(result) == pytest.approx(EXPECTED)
    r1f = result.values.filter((pl.col("org_code") == "R1F") & (pl.col("quarter") == "2025-26 Q1"))
    assert r1f["source_row"].to_list() == [39, 39]


def test_empty_rows_above_the_header_do_not_shift_row_numbers(tmp_path: Path) -> None:
    # without the stray cell in row 1, the sheet's first value is in row 4: the reader starts there
    result = ambsys.read([write_ambsys(tmp_path / "top.xlsx", stray=False)])
    r1f = result.values.filter((pl.col("org_code") == "R1F") & (pl.col("quarter") == "2025-26 Q1"))
    assert r1f["source_row"].to_list() == [37, 37]


def test_no_cached_year_and_no_publication_date_is_refused(tmp_path: Path) -> None:
    path = write_ambsys(tmp_path / "undatable.xlsx", year="formula", published=None)
    with pytest.raises(SourceFileError, match=r"cannot date the rows.*no 'Published' date"):
        ambsys.read([path])


def test_rows_out_of_month_order_contradict_the_year_column(tmp_path: Path) -> None:
    rows = ambsys_rows()
    service = rows[21:]
    service[2:4], service[4:6] = service[4:6], service[2:4]  # December 2024 rows after January 2025
    path = write_ambsys(tmp_path / "order.xlsx", rows[:21] + service)
    with pytest.raises(SourceFileError, match=r"row 29: the year column says 2024-25 but row order gives 2023-24"):
        ambsys.read([path])


def test_workbook_without_the_raw_sheet_is_another_source(tmp_path: Path) -> None:
    path = write_ambsys(tmp_path / "cwt.xlsx", sheet="CWT CRS")
    with pytest.raises(SourceFileError, match=r"no sheet named 'Raw'.*not an AmbSYS time series"):
        ambsys.read([path])


def test_a_csv_in_the_ambsys_folder_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "Monthly-AE-April-2025.csv"
    path.write_text("Period,Org Code,Parent Org,Org name\nMSitAE-APRIL-2025,R1F,NHS ENGLAND,ISLE OF WIGHT\n")
    with pytest.raises(SourceFileError, match="cannot be opened as an Excel workbook"):
        ambsys.read([path])


def test_empty_and_truncated_workbooks_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    with pytest.raises(SourceFileError, match="the file is empty"):
        ambsys.read([empty])
    whole = write_ambsys(tmp_path / "whole.xlsx").read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SourceFileError, match=r"cannot be opened as an Excel workbook.*truncated"):
        ambsys.read([cut])


def test_renamed_indicator_column_names_the_missing_column(tmp_path: Path) -> None:
    header = [("A30 " if h == "A30" else h) for h in HEADER]  # trailing space: still found
    assert ambsys.read([write_ambsys(tmp_path / "space.xlsx", header=header)]).values.height == len(EXPECTED)
    header = [("A30x" if h == "A30" else h) for h in HEADER]
    with pytest.raises(SourceFileError, match=r"no header row with the AmbSYS columns.*lacks A30"):
        ambsys.read([write_ambsys(tmp_path / "renamed.xlsx", header=header)])


@pytest.mark.parametrize(("name", "at"), [("A30", 10), ("A7", 12), ("Area", 7), ("Month", 3)])
def test_a_used_column_named_twice_is_refused(tmp_path: Path, name: str, at: int) -> None:
    """A header naming a used column twice over data refuses the file, naming the column: which copy holds the
    published figures cannot be told, and the first one read would be scored silently. Only the sheet's formula
    helpers Month and Year, right of the indicators, repeat a name; a later copy over an empty column is a stray
    header cell and is read past."""
    source = HEADER.index(name)
    header = [*HEADER[:at], name, *HEADER[at:]]
    other = [[*r[:at], r[source] * 2 if isinstance(r[source], int) else r[source], *r[at:]] for r in ambsys_rows()]
    with pytest.raises(
        SourceFileError,
        match=rf"twice.xlsx, row 5: sheet Raw: .*unexpected column\(s\) '{name}' \(named more than once\)",
    ):
        ambsys.read([write_ambsys(tmp_path / "twice.xlsx", other, header=header)])
    header = [*HEADER[: source + 1], name, *HEADER[source + 1 :]]
    stray = [[*r[: source + 1], None, *r[source + 1 :]] for r in ambsys_rows()]
    assert _values(ambsys.read([write_ambsys(tmp_path / "stray.xlsx", stray, header=header)])) == pytest.approx(
        EXPECTED
    )


def test_negative_count_and_text_in_a_number_cell_are_quarantined(tmp_path: Path) -> None:
    rows = ambsys_rows()
    rows[21 + 10][10] = -5  # R1F April 2025, A30
    rows[21 + 12][9] = "n/a"  # R1F May 2025, A10
    result = ambsys.read([write_ambsys(tmp_path / "bad.xlsx", rows)])
    q = result.quarantine.sort("source_row")
    assert q.select("source_row", "column", "value").rows() == [(37, "A30", "-5"), (39, "A10", "n/a")]
    assert q["check"].to_list() == ["non_negative", f"str_matches('{NUMBER}')"]
    values = _values(result)
    assert ("2025-26 Q1", "R1F", "OF0017") not in values  # never a value from part of a quarter
    assert ("2025-26 Q1", "R1F", "OF0028") not in values
    assert values[("2025-26 Q1", "RYE", "OF0028")] == 25.0
    [account] = result.accounts
    assert (account.rows_read, account.rows_accepted, account.rows_quarantined) == (40, 38, 2)


def test_a_month_not_reported_leaves_the_quarter_without_a_value_and_is_not_an_error(tmp_path: Path) -> None:
    rows = ambsys_rows()
    rows[21 + 11][8] = None  # RYE April 2025, A7 blank ...
    rows[21 + 11][11] = "-"  # ... and A53 '-': the month's conveyance not reported
    result = ambsys.read([write_ambsys(tmp_path / "blank.xlsx", rows)])
    assert result.quarantine.is_empty()
    values = _values(result)
    assert ("2025-26 Q1", "RYE", "OF0017") not in values  # June A10/A30 are "-"
    assert ("2025-26 Q1", "RYE", "OF0028") not in values  # April not reported: year to date incomplete
    assert values[("2025-26 Q1", "R1F", "OF0017")] == pytest.approx(1511 / 60)


@pytest.mark.parametrize(("column", "marker"), [(8, None), (8, "-"), (11, None), (9, "-"), (10, None), (10, "-")])
def test_a_numerator_without_its_denominator_is_quarantined(tmp_path: Path, column: int, marker) -> None:
    """Issue 11.1: A30 without A10 (or A53 without A7, or the reverse) is one side of a value suppressed."""
    rows = ambsys_rows()
    rows[21 + 10][column] = marker  # R1F April 2025
    result = ambsys.read([write_ambsys(tmp_path / "half.xlsx", rows)])
    assert result.quarantine["check"].to_list() == ["reported_with_its_denominator"]
    assert result.quarantine["source_row"].to_list() == [37]
    values = _values(result)
    assert ("2025-26 Q1", "R1F", "OF0017") not in values and ("2025-26 Q1", "R1F", "OF0028") not in values


@pytest.mark.parametrize("marker", ["*", "..", "x", ":", "c", "[c]"])
def test_a_suppression_marker_is_quarantined(tmp_path: Path, marker: str) -> None:
    rows = ambsys_rows()
    rows[21 + 10][10] = marker  # R1F April 2025, A30
    result = ambsys.read([write_ambsys(tmp_path / "marker.xlsx", rows)])
    assert result.quarantine.select("source_row", "column", "value").rows()[0] == (37, "A30", marker)
    assert ("2025-26 Q1", "R1F", "OF0017") not in _values(result)


def test_ill_formed_area_code_and_duplicate_month_are_quarantined(tmp_path: Path) -> None:
    rows = ambsys_rows()
    rows[21 + 1][5] = "r y e"  # RYE November 2024: not an ODS code
    rows.insert(21 + 8, list(rows[21 + 6]))  # R1F February 2025 repeated
    result = ambsys.read([write_ambsys(tmp_path / "dup.xlsx", rows)])
    q = result.quarantine.sort("source_row", "check")
    assert q.filter(pl.col("column") == "Area").select("source_row", "value").rows() == [(28, "r y e")]
    assert q.filter(pl.col("check") == "multiple_fields_uniqueness")["source_row"].to_list() == [33, 35]
    assert ("2024-25 Q4", "R1F", "OF0017") not in _values(result)
    [account] = result.accounts
    assert (account.rows_read, account.rows_accepted, account.rows_quarantined) == (41, 38, 3)
