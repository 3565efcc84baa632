"""A&E monthly adapter: fidelity on NHS England's real files, and every malformed input we know of."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline.sources import ae_monthly, base
from npaf_pipeline.sources.base import AdapterResult, SourceFileError
from npaf_pipeline.sources.nof_csv import read_nof_csv
from tests.conftest import ACUTE_Q1, real_file

HEADER = list(ae_monthly.COLUMNS)
CANONICAL = list(ae_monthly.COLUMNS.values())
Q1_MONTHS = {"APRIL": "a.csv", "MAY": "b.csv", "JUNE": "c.csv"}  # file names say nothing about the month


# --- helpers ----------------------------------------------------------------------------------------------


def _row(month: str, org: str, **counts: object) -> list[str]:
    """One organisation's month: 100 type-1 attendances, 10 of them over 4 hours, 2 waits of 12 h+ from DTA."""
    cells: dict[str, object] = dict.fromkeys(CANONICAL[4:], 0)
    cells.update(attendances_type1=100, over_4h_type1=10, dta_wait_12h_plus=2)
    cells.update(counts)
    cells.update(period=f"MSitAE-{month}-2025", org_code=org, parent_org="NHS ENGLAND LONDON ", org_name=f"ORG {org}")
    return [str(cells[c]) for c in CANONICAL]


def _count(cell: str) -> int:
    """A cell's count as NHS England's TOTAL row adds it in: a whole number (thousands grouped or not, within 10^15);
    0 for anything else, which the rule lets the TOTAL hold more than."""
    text = cell.strip().strip('"').strip()
    if not re.fullmatch("[0-9]{1,3}(,[0-9]{3})+|[0-9]+", text):
        return 0
    value = int(text.replace(",", ""))
    return value if value <= 10**15 else 0


def _write(
    path: Path,
    rows: list[list[str]],
    *,
    header: list[str] = HEADER,
    footer: bool = True,
    totals: dict[str, str] | None = None,
    **kw,
) -> Path:
    """The file as published: the header, the rows and the England TOTAL row, each count column summed (``totals``
    replaces a column's TOTAL cell: canonical name -> cell)."""
    lines = [",".join(header), *(",".join(r) for r in rows)]
    if footer:
        given = totals or {}
        cells = [
            given.get(CANONICAL[HEADER.index(h.strip())], str(sum(_count(r[i]) for r in rows if i < len(r))))
            if h.strip() in HEADER[4:]
            else ""  # stray columns stay empty
            for i, h in enumerate(header)
        ]
        lines.append(",".join(["TOTAL"] * 4 + cells[4:]))
    newline = kw.pop("newline", "\n")
    path.write_bytes((newline.join(lines) + newline).encode(kw.pop("encoding", "utf-8")))
    return path


def _quarter(tmp_path: Path, special: dict[str, list[list[str]]] | None = None) -> list[Path]:
    """Apr-Jun 2025 for RAA and RBB; ``special`` replaces a month's rows."""
    files = []
    for month, name in Q1_MONTHS.items():
        rows = (special or {}).get(month) or [_row(month, "RAA"), _row(month, "RBB")]
        files.append(_write(tmp_path / name, rows))
    return files


def _value(result: AdapterResult, org: str, metric: str = "OF0013") -> float:
    row = result.values.filter(pl.col("org_code") == org, pl.col("metric_id") == metric)
    assert row.height == 1, f"no single {metric} value for {org}"
    return row["value"][0]


def _accounting_holds(result: AdapterResult) -> None:
    for account in result.accounts:
        assert account.rows_read == account.rows_accepted + account.rows_quarantined


def _only_record(result: AdapterResult) -> dict:
    assert result.quarantine.height == 1, result.quarantine
    return result.quarantine.row(0, named=True)


# --- well-formed input ------------------------------------------------------------------------------------


def test_quarter_sums_three_months_read_from_content(tmp_path: Path) -> None:
    files = _quarter(tmp_path, {"MAY": [_row("MAY", "RAA", over_4h_type1=40), _row("MAY", "RBB")]})
    result = ae_monthly.read(files)
    assert _value(result, "RAA") == pytest.approx(100 * (1 - 60 / 300))
    assert _value(result, "RBB") == pytest.approx(90.0)
    assert _value(result, "RAA", "OF9013") == 6
    of0013 = result.values.filter(pl.col("org_code") == "RAA", pl.col("metric_id") == "OF0013").row(0, named=True)
    assert (of0013["quarter"], of0013["period"]) == ("2025-26 Q1", "2025-04..2025-06")
    assert (of0013["numerator"], of0013["denominator"]) == (240, 300)
    assert (Path(of0013["source_file"]).name, of0013["source_row"]) == ("a.csv", 2)
    assert [(a.rows_read, a.rows_accepted, a.rows_quarantined) for a in result.accounts] == [(3, 3, 0)] * 3


def test_every_department_type_and_booked_appointments_count(tmp_path: Path) -> None:
    busy = {
        "attendances_type1": 50,
        "attendances_type2": 20,
        "attendances_other": 20,
        "attendances_booked_type1": 5,
        "attendances_booked_type2": 3,
        "attendances_booked_other": 2,
        "over_4h_type1": 10,
        "over_4h_other": 5,
        "over_4h_booked_type1": 5,
    }
    result = ae_monthly.read(_quarter(tmp_path, {m: [_row(m, "RAA", **busy)] for m in Q1_MONTHS}))
    assert _value(result, "RAA") == pytest.approx(80.0)


def test_an_incomplete_quarter_gives_no_value_but_every_row_is_accounted(tmp_path: Path) -> None:
    files = _quarter(tmp_path)[:2]
    result = ae_monthly.read(files)
    assert result.values.is_empty()
    assert [(a.rows_read, a.rows_accepted) for a in result.accounts] == [(3, 3), (3, 3)]


def test_quarters_filter_keeps_only_the_requested_quarter(tmp_path: Path) -> None:
    files = _quarter(tmp_path)
    assert ae_monthly.read(files, quarters=["Q1 2025/26"]).values.height == 4
    assert ae_monthly.read(files, quarters=["2025-26 Q2"]).values.is_empty()


# --- malformed input: whole-file errors -------------------------------------------------------------------


def test_missing_column_names_the_file_and_the_column(tmp_path: Path) -> None:
    drop = HEADER.index("Patients who have waited 12+ hrs from DTA to admission")
    rows = [[c for i, c in enumerate(_row("APRIL", "RAA")) if i != drop]]
    path = _write(tmp_path / "a.csv", rows, header=[h for i, h in enumerate(HEADER) if i != drop])
    with pytest.raises(SourceFileError) as err:
        ae_monthly.read([path])
    assert err.value.path == str(path)
    assert "missing column(s) 'Patients who have waited 12+ hrs from DTA to admission'" in err.value.problem
    assert "unexpected" not in err.value.problem


def test_renamed_column_names_the_missing_and_the_unexpected_header(tmp_path: Path) -> None:
    header = [h.replace("Type 1", "Type One") if h == "A&E attendances Type 1" else h for h in HEADER]
    path = _write(tmp_path / "a.csv", [_row("APRIL", "RAA")], header=header)
    with pytest.raises(
        SourceFileError,
        match=r"missing column\(s\) 'A&E attendances Type 1'; unexpected column\(s\) "
        r"'A&E attendances Type One'",
    ):
        ae_monthly.read([path])


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"\r\n  \n")
    with pytest.raises(SourceFileError, match="the file is empty"):
        ae_monthly.read([path])


def test_file_cut_mid_row_is_truncated(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", [_row("APRIL", "RAA"), _row("APRIL", "RBB")], footer=False)
    path.write_bytes(path.read_bytes()[:-25])
    with pytest.raises(SourceFileError, match=r"row 3: the file ends mid-row \([0-9]+ of 22 fields\): truncated"):
        ae_monthly.read([path])


def test_file_cut_at_a_line_end_has_no_total_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", [_row("APRIL", "RAA"), _row("APRIL", "RBB")], footer=False)
    with pytest.raises(SourceFileError, match=r"no TOTAL row at the end .*: the file looks truncated"):
        ae_monthly.read([path])


def test_shifted_row_with_a_missing_field(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", [_row("APRIL", "RAA")[:-1], _row("APRIL", "RBB")])
    with pytest.raises(SourceFileError, match="row 2: 21 fields where the header has 22"):
        ae_monthly.read([path])


def test_cwt_workbook_dropped_into_the_ae_folder(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "CWT-CRS-extract.xlsx"
    with xlsxwriter.Workbook(path) as book:
        book.add_worksheet().write_row(0, 0, ["PERIOD", "YEAR", "MONTH", "STANDARD", "ORG CODE"])
    with pytest.raises(SourceFileError, match="is an Excel workbook, not a CSV"):
        ae_monthly.read([path])


def test_csv_of_another_source_in_the_ae_folder(tmp_path: Path) -> None:
    path = tmp_path / "nof.csv"
    path.write_text("Region,Trust_code,Metric_ID,Value\nLondon,RAA,OF0013,71.2\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match="none of the A&E monthly columns is in the header"):
        ae_monthly.read([path])


def test_two_files_for_one_month(tmp_path: Path) -> None:
    first = _write(tmp_path / "April.csv", [_row("APRIL", "RAA")])
    revised = _write(tmp_path / "April-revised.csv", [_row("APRIL", "RAA")])
    with pytest.raises(SourceFileError, match=r"holds April 2025, as does .*April\.csv: keep one"):
        ae_monthly.read([first, revised])


# --- malformed input: what real files contain, read as they are -------------------------------------------


def test_bom_crlf_and_windows_1252_names_are_read(tmp_path: Path) -> None:
    files = _quarter(tmp_path)
    april = _row("APRIL", "RAA")
    april[3] = "ST GEORGE\u2019S UNIVERSITY HOSPITALS"  # a curly apostrophe: byte 0x92 in Windows-1252
    _write(files[0], [april, _row("APRIL", "RBB")], encoding="cp1252", newline="\r\n")
    files[1].write_bytes(b"\xef\xbb\xbf" + files[1].read_bytes().replace(b"\n", b"\r\n"))
    result = ae_monthly.read(files)
    assert result.quarantine.is_empty()
    assert _value(result, "RAA") == pytest.approx(90.0)


def test_blank_and_dash_cells_are_missing_not_errors_where_no_value_uses_them(tmp_path: Path) -> None:
    row = _row("APRIL", "RAA", emergency_admissions_type2="-", other_emergency_admissions="", dta_wait_4_12h="-")
    files = _quarter(tmp_path, {"APRIL": [row, _row("APRIL", "RBB")]})
    result = ae_monthly.read(files)
    assert result.quarantine.is_empty()
    assert _value(result, "RAA") == pytest.approx(90.0)


@pytest.mark.parametrize("marker", ["-", "", "*", "..", ":", "x", "c", "[c]", "n/a", "\u2013"])
@pytest.mark.parametrize(
    "column", ["attendances_type2", "over_4h_type1", "attendances_booked_other", "dta_wait_12h_plus"]
)
def test_a_suppressed_count_a_value_needs_quarantines_the_row_and_withholds_the_quarter(
    tmp_path: Path, marker: str, column: str
) -> None:
    """Issue 11.1: a '-' in attendances with the over-4-hour count present moved a trust's 4-hour % (80.6 -> 75.2)."""
    files = _quarter(tmp_path, {"MAY": [_row("MAY", "RAA", **{column: marker}), _row("MAY", "RBB")]})
    result = ae_monthly.read(files)
    assert not result.values.filter(pl.col("org_code") == "RAA").height  # no OF0013 nor OF9013 from what is left
    assert _value(result, "RBB") == pytest.approx(90.0)
    records = result.quarantine.filter(pl.col("check") == "reported_not_suppressed")
    assert records["source_row"].to_list() == [2]
    assert records["column"].to_list() == [HEADER[CANONICAL.index(column)]]
    assert records["value"].to_list() == [marker or None]
    _accounting_holds(result)


def test_trailing_spaces_and_stray_empty_columns_are_ignored(tmp_path: Path) -> None:
    header = [h + " " for h in HEADER] + ["", "a"]
    rows = [[c + " " for c in _row("APRIL", org)] + ["", ""] for org in ("RAA", "RBB")]
    files = _quarter(tmp_path)
    _write(files[0], rows, header=header)
    result = ae_monthly.read(files)
    assert result.quarantine.is_empty()
    assert _value(result, "RAA") == pytest.approx(90.0)


def test_title_lines_above_the_header_are_skipped_and_rows_keep_their_numbers(tmp_path: Path) -> None:
    files = _quarter(tmp_path)
    files[0].write_bytes(b"A&E Attendances and Emergency Admissions,,\nApril 2025\n\n" + files[0].read_bytes())
    result = ae_monthly.read(files)
    raa = result.values.filter(pl.col("org_code") == "RAA", pl.col("metric_id") == "OF0013")
    assert raa["source_row"].to_list() == [5]  # header on line 4
    assert result.accounts[0].rows_read == 3


def test_rows_after_the_total_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", [_row("APRIL", "RAA")])
    path.write_text(path.read_text() + ",".join(_row("APRIL", "RBB")) + "\n")
    with pytest.raises(SourceFileError, match="row 4: rows follow the TOTAL row that closes the file"):
        ae_monthly.read([path])


# --- malformed input: rows quarantined, nothing else lost -------------------------------------------------


def test_negative_count_is_quarantined_with_row_column_and_rule(tmp_path: Path) -> None:
    files = _quarter(tmp_path, {"MAY": [_row("MAY", "RAA"), _row("MAY", "RBB", emergency_admissions_type1=-5)]})
    result = ae_monthly.read(files)
    record = _only_record(result)
    assert (Path(record["source_file"]).name, record["source_row"]) == ("b.csv", 3)
    assert (record["column"], record["check"], record["value"]) == (
        "Emergency admissions via A&E - Type 1",
        "greater_than_or_equal_to(0)",
        "-5",
    )
    _accounting_holds(result)
    assert _value(result, "RAA") == pytest.approx(90.0)
    assert "RBB" not in result.values["org_code"].to_list()  # a two-month sum would be too low


def test_over_4h_above_attendances_is_quarantined(tmp_path: Path) -> None:
    files = _quarter(tmp_path, {"JUNE": [_row("JUNE", "RAA", over_4h_type1=120), _row("JUNE", "RBB")]})
    result = ae_monthly.read(files)
    record = _only_record(result)
    assert (record["source_row"], record["column"], record["check"], record["value"]) == (
        2,
        "Attendances over 4hrs Type 1",
        "within_attendances",
        "120",
    )
    _accounting_holds(result)
    assert _value(result, "RBB") == pytest.approx(90.0)


def test_unreadable_count_is_quarantined_as_published(tmp_path: Path) -> None:
    files = _quarter(tmp_path, {"APRIL": [_row("APRIL", "RAA", dta_wait_12h_plus="12a"), _row("APRIL", "RBB")]})
    result = ae_monthly.read(files)
    record = _only_record(result)
    assert (record["source_row"], record["column"], record["check"], record["value"]) == (
        2,
        "Patients who have waited 12+ hrs from DTA to admission",
        "is_a_whole_number",
        "12a",
    )
    assert record["reason"] == "Patients who have waited 12+ hrs from DTA to admission fails is_a_whole_number"
    _accounting_holds(result)
    assert _value(result, "RBB") == pytest.approx(90.0)


def test_ill_formed_org_code_is_quarantined(tmp_path: Path) -> None:
    rows = [_row("APRIL", "RAA"), _row("APRIL", "RBB"), _row("APRIL", "r-x 1")]
    result = ae_monthly.read(_quarter(tmp_path, {"APRIL": rows}))
    record = _only_record(result)
    assert (record["source_row"], record["column"], record["value"]) == (4, "Org Code", "r-x 1")
    assert record["check"].startswith("str_matches")
    _accounting_holds(result)
    assert sorted(result.values.filter(pl.col("metric_id") == "OF0013")["org_code"]) == ["RAA", "RBB"]


@pytest.mark.parametrize("written", ["raa", " rAa", "RAA.", "r-aa", "\uff32\uff21\uff21", ""])
def test_a_row_quarantined_for_how_its_code_is_written_withholds_its_organisation(tmp_path: Path, written: str) -> None:
    """The organisation a quarantined row belongs to gets no value for the quarter however its code is written
    (trimmed, upper-cased, full-width folded, punctuation dropped; a blank code by the organisation's name): else the
    other two months would give it a value."""
    raa = _row("APRIL", written)
    raa[CANONICAL.index("org_name")] = "ORG RAA"  # its name as in May and June
    files = _quarter(tmp_path, {"APRIL": [raa, _row("APRIL", "RBB")]})
    result = ae_monthly.read(files)
    record = _only_record(result)
    assert (record["source_row"], record["column"]) == (2, "Org Code")
    assert "RAA" not in result.values["org_code"].to_list()
    assert _value(result, "RBB") == pytest.approx(90.0)
    _accounting_holds(result)


def test_duplicate_rows_quarantine_every_copy(tmp_path: Path) -> None:
    rows = [_row("MAY", "RAA"), _row("MAY", "RBB"), _row("MAY", "RBB")]
    result = ae_monthly.read(_quarter(tmp_path, {"MAY": rows}))
    q = result.quarantine.sort("source_row")
    assert q["source_row"].to_list() == [3, 4]
    assert set(q["check"]) == {"one_row_per_organisation"} and set(q["column"]) == {"Org Code"}
    _accounting_holds(result)
    assert result.accounts[1].rows_quarantined == 2
    assert _value(result, "RAA") == pytest.approx(90.0)


def test_row_of_another_month_is_quarantined(tmp_path: Path) -> None:
    rows = [_row("APRIL", "RAA"), _row("APRIL", "RBB"), _row("APRIL", "RCC"), _row("MAY", "RDD")]
    result = ae_monthly.read(_quarter(tmp_path, {"APRIL": rows}))
    record = _only_record(result)
    assert (record["source_row"], record["column"], record["check"], record["value"]) == (
        5,
        "Period",
        "single_period_per_file",
        "MSitAE-MAY-2025",
    )
    _accounting_holds(result)
    assert _value(result, "RAA") == pytest.approx(90.0)


# --- the TOTAL row: the rows above it add up to it ------------------------------------------------------------


def test_a_row_removed_after_publication_refuses_the_file(tmp_path: Path) -> None:
    """Each count column of the TOTAL row equals the sum of the rows above it: a deleted row would otherwise leave its
    organisation a quarterly value from the other two months."""
    files = _quarter(tmp_path, {"MAY": [_row("MAY", "RAA", attendances_type2=7), _row("MAY", "RBB")]})
    lines = files[1].read_text().splitlines(keepends=True)
    files[1].write_text("".join(line for line in lines if ",RAA," not in line))
    with pytest.raises(SourceFileError) as err:
        ae_monthly.read(files)
    assert (err.value.path, err.value.row, err.value.column) == (str(files[1]), 3, "A&E attendances Type 1")
    assert err.value.problem.startswith("the TOTAL row gives 200 but the organisation rows sum to 100")


@pytest.mark.parametrize(
    ("column", "total", "summed"),
    [("dta_wait_4_12h", "1", "0"), ("emergency_admissions_other", "1,000", "0"), ("over_4h_type1", "19", "20")],
)
def test_a_total_row_that_disagrees_with_its_rows_refuses_the_file(
    tmp_path: Path, column: str, total: str, summed: str
) -> None:
    """Any count column, thousands-grouped TOTAL cells read by the one number rule; the error names the TOTAL row's
    line, the column, the total and the sum."""
    path = _write(tmp_path / "a.csv", [_row("APRIL", "RAA"), _row("APRIL", "RBB")], totals={column: f'"{total}"'})
    with pytest.raises(SourceFileError) as err:
        ae_monthly.read([path])
    assert (err.value.row, err.value.column) == (4, HEADER[CANONICAL.index(column)])
    assert f"the TOTAL row gives {total.replace(',', '')} but the organisation rows sum to {summed}" in str(err.value)


@pytest.mark.parametrize("cell", ["x", "12a", "-5", "*"])
def test_a_total_cell_that_is_not_a_count_refuses_the_file(tmp_path: Path, cell: str) -> None:
    path = _write(tmp_path / "a.csv", [_row("APRIL", "RAA")], totals={"attendances_other": cell})
    with pytest.raises(
        SourceFileError,
        match=f"row 3, column A&E attendances Other A&E Department: the TOTAL row "
        f"holds '{re.escape(cell)}', not a count",
    ):
        ae_monthly.read([path])


def test_a_cell_without_a_count_lets_the_total_hold_more_never_less(tmp_path: Path) -> None:
    """A cell that is not a count (quarantined, or blank where no value uses it) hides a count of 0 or more: the
    TOTAL may exceed the readable counts of its column, never fall below them; the other columns still add up."""
    rows = [_row("MAY", "RAA", attendances_type1="12a", emergency_admissions_type1=""), _row("MAY", "RBB")]
    published = {"attendances_type1": "250", "emergency_admissions_type1": "40"}  # RAA's hidden 150 and 40
    files = _quarter(tmp_path)
    _write(files[1], rows, totals=published)
    result = ae_monthly.read(files)
    assert _only_record(result)["value"] == "12a"
    assert "RAA" not in result.values["org_code"].to_list() and _value(result, "RBB") == pytest.approx(90.0)
    _write(files[1], rows, totals={**published, "attendances_type1": "99"})  # below RBB's 100 alone
    with pytest.raises(SourceFileError, match="the TOTAL row gives 99 but the organisation rows' counts sum to 100"):
        ae_monthly.read(files)


def test_a_blank_total_cell_stands_for_a_column_the_rows_leave_empty(tmp_path: Path) -> None:
    rows = [_row("APRIL", org, emergency_admissions_type2="-", other_emergency_admissions="") for org in ("RAA", "RBB")]
    files = _quarter(tmp_path)
    _write(files[0], rows, totals={"emergency_admissions_type2": "", "other_emergency_admissions": "-"})
    assert ae_monthly.read(files).quarantine.is_empty()
    _write(files[0], rows, totals={"dta_wait_12h_plus": ""})  # the rows give 2 + 2
    with pytest.raises(
        SourceFileError, match=r"the TOTAL row gives no count \(''\) but the organisation rows sum to 4"
    ):
        ae_monthly.read(files)


def test_a_duplicated_row_makes_the_rows_sum_past_the_total(tmp_path: Path) -> None:
    """Every organisation row counts, quarantined ones too: NHS England's TOTAL holds each organisation once."""
    path = _write(tmp_path / "a.csv", [_row("APRIL", "RAA"), _row("APRIL", "RBB")])
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines[:3], lines[2], *lines[3:]]))
    with pytest.raises(SourceFileError, match="row 5, column A&E attendances Type 1: the TOTAL row gives 200 but"):
        ae_monthly.read([path])


@pytest.mark.real_data
def test_every_real_files_total_row_is_the_sum_of_its_rows(tmp_path: Path) -> None:
    """The rule holds on every file NHS England published (they are read whole); a row removed from one is found."""
    files = [*sorted(real_file("ae-monthly-2024-25").glob("*.csv")), real_file("ae-monthly-may2026/May-2026-CSV.csv")]
    assert len(ae_monthly.read(files).accounts) == 13
    may = tmp_path / "may.csv"
    lines = real_file("ae-monthly-2024-25/Monthly-AE-May-2025.csv").read_bytes().split(b"\n")
    may.write_bytes(b"\n".join(line for line in lines if b",R0A," not in line))
    with pytest.raises(SourceFileError, match="the TOTAL row gives 1418862 but the organisation rows sum to 1393180"):
        ae_monthly.read([may])


def test_file_with_no_clear_month_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", [_row("APRIL", "RAA"), _row("MAY", "RBB")])
    with pytest.raises(SourceFileError, match="no month is named by most rows"):
        ae_monthly.read([path])


# --- real NHS England files -------------------------------------------------------------------------------


@pytest.mark.real_data
def test_real_files_are_read_whole_and_accounted() -> None:
    monthly = sorted(real_file("ae-monthly-2024-25").glob("*.csv"))
    files = [*monthly, real_file("ae-monthly-may2026/May-2026-CSV.csv")]
    result = ae_monthly.read(files)
    assert result.quarantine.is_empty()
    for account in result.accounts:
        with open(account.path, encoding="utf-8") as handle:
            lines = sum(1 for line in handle if line.strip())
        assert (account.rows_read, account.rows_accepted) == (lines - 1, lines - 1)
    assert sorted(result.values["quarter"].unique()) == ["2024-25 Q3", "2024-25 Q4", "2025-26 Q1"]


@pytest.mark.real_data
def test_the_month_comes_from_the_content_not_the_file_name(tmp_path: Path) -> None:
    april = real_file("ae-monthly-2024-25/Monthly-AE-April-2025.csv")
    misleading = tmp_path / "Monthly-AE-June-2099.csv"
    shutil.copyfile(april, misleading)
    may = real_file("ae-monthly-2024-25/Monthly-AE-May-2025.csv")
    june = real_file("ae-monthly-2024-25/Monthly-AE-June-2025-1-1.csv")
    result = ae_monthly.read([misleading, may, june])
    assert result.values["quarter"].unique().to_list() == ["2025-26 Q1"]


@pytest.mark.real_data
def test_of0013_q1_matches_nhs_england_except_the_known_differences() -> None:
    folder = real_file("ae-monthly-2024-25")
    result = ae_monthly.read(sorted(folder.glob("*.csv")), quarters=["2025-26 Q1"])
    published = (
        read_nof_csv(real_file(ACUTE_Q1))
        .rows.filter(pl.col("metric_id") == "OF0013", pl.col("value").is_not_null())
        .select("org_code", pl.col("value").alias("published"))
    )
    ours = result.values.filter(pl.col("metric_id") == "OF0013").select("org_code", "value")
    both = published.join(ours, on="org_code", how="left")
    assert published.height == 123 and both["value"].null_count() == 0
    differ = both.filter(pl.col("value").round(1) != pl.col("published"))
    assert both.height - differ.height == 73
    known = ae_monthly.known_differences()
    assert set(differ["org_code"]) == set(known)
    assert (differ["published"] > differ["value"]).all(), "NHS England's value should be the higher one"
    assert all("type-3" in reason for reason in known.values())


@pytest.mark.real_data
def test_of9013_is_the_sum_of_12_hour_dta_waits() -> None:
    folder = real_file("ae-monthly-2024-25")
    result = ae_monthly.read(sorted(folder.glob("*.csv")), quarters=["2025-26 Q1"])
    raw = pl.concat(
        pl.read_csv(folder / name, infer_schema_length=0).select(
            pl.col("Org Code").str.strip_chars(), pl.col("Patients who have waited 12+ hrs from DTA to admission")
        )
        for name in ("Monthly-AE-April-2025.csv", "Monthly-AE-May-2025.csv", "Monthly-AE-June-2025-1-1.csv")
    )
    expected = raw.filter(pl.col("Org Code") == "RCX")[:, 1].cast(pl.Int64).sum()
    assert _value(result, "RCX", "OF9013") == expected


# --- files read together: what reading them one by one, with pandera alone, gives ----------------------------


def _outcome(files: list[Path]) -> object:
    try:
        result = ae_monthly.read(files)
    except SourceFileError as exc:
        return str(exc)
    return result.values, result.quarantine, result.accounts


def _the_same_as_pandera_alone(files: list[Path], monkeypatch: pytest.MonkeyPatch) -> object:
    got = _outcome(files)
    with monkeypatch.context() as m:
        m.setattr(base, "screen_rows", lambda *args, **kw: None)
        m.setattr(ae_monthly, "screen_rows", lambda *args, **kw: None)
        expected = _outcome(files)
    if isinstance(got, str) or isinstance(expected, str):
        assert got == expected
    else:
        assert got[0].equals(expected[0]) and got[1].equals(expected[1]) and got[2] == expected[2]
    return got


def test_quarantine_and_accounts_are_each_files_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    may = [_row("MAY", "RAA", over_4h_type1=120), _row("MAY", "RBB"), _row("MAY", "RBB"), _row("APRIL", "RCC")]
    files = _quarter(tmp_path, {"MAY": may})
    values, quarantine, accounts = _the_same_as_pandera_alone(files, monkeypatch)
    alone = [ae_monthly.read([f]) for f in files]
    assert quarantine.equals(pl.concat([r.quarantine for r in alone]))
    assert accounts == [a for r in alone for a in r.accounts]
    assert set(quarantine["source_file"]) == {str(files[1])} and quarantine["source_row"].unique().len() == 4
    assert values.filter(pl.col("metric_id") == "OF0013")["org_code"].to_list() == []  # RAA and RBB withheld


def test_errors_come_in_the_order_the_files_are_given(tmp_path: Path) -> None:
    no_month = _write(tmp_path / "a.csv", [_row("APRIL", "RAA"), _row("MAY", "RBB")])
    cut = _write(tmp_path / "b.csv", [_row("MAY", "RAA")], footer=False)
    with pytest.raises(SourceFileError, match="no month is named by most rows") as err:
        ae_monthly.read([no_month, cut])
    assert err.value.path == str(no_month)
    with pytest.raises(SourceFileError, match="no TOTAL row") as err:
        ae_monthly.read([cut, no_month])
    assert err.value.path == str(cut)


def test_random_damage_gives_what_pandera_alone_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(11)
    pool = ["", "-", "abc", "-4", "4", "1,200", "12a", " 7 ", "r-x 1", "RAA", "MSitAE-MAY-2025", "MSitAE-APRIL-2025"]
    for trial in range(6):
        special = {}
        for month in Q1_MONTHS:
            rows = [_row(month, org) for org in ("RAA", "RBB", "RCC")]
            for _ in range(rng.randint(0, 2)):
                rng.choice(rows)[rng.randrange(len(HEADER))] = rng.choice(pool)
            special[month] = rows
        folder = tmp_path / str(trial)
        folder.mkdir()
        _the_same_as_pandera_alone(_quarter(folder, special), monkeypatch)
