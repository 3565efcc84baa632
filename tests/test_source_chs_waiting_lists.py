"""CHS waiting-list adapter: fidelity on NHS England's real workbook, and malformed workbooks."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from npaf_pipeline.sources import chs_waiting_lists as chs
from npaf_pipeline.sources.base import AdapterResult, IncompleteQuarterError, SourceFileError
from npaf_pipeline.sources.nof_csv import read_nof_csv
from schemas.chs_waiting_lists import ChsServiceWaits
from tests.conftest import ACUTE_Q1, MHC_Q1, real_file

SERVICES = ["(A) Audiology", "(CYP) Audiology"]
ORGS = [
    ("National", "", "England"),
    ("Region", "Y56", "LONDON"),
    ("ICB", "QMJ", "NHS NORTH CENTRAL LONDON INTEGRATED CARE BOARD"),
    ("Provider", "RAA", "TRUST A"),
    ("Provider", "RBB", "TRUST B"),
]
# per table, per organisation code: one count per service (None: blank, not submitted)
COUNTS = {
    "Table 4": {"": [300, 50], "Y56": [300, 50], "QMJ": [300, 50], "RAA": [100, 50], "RBB": [200, None]},
    "Table 4g": {"": [14, 5], "Y56": [14, 5], "QMJ": [14, 5], "RAA": [10, 5], "RBB": [4, None]},
    "Table 4h": {"": [1, 0], "Y56": [1, 0], "QMJ": [1, 0], "RAA": [1, 0], "RBB": [0, None]},
}
OTHER_ORG = {"Table 4": [10, 10], "Table 4g": [1, 1], "Table 4h": [0, 0]}
TITLES = {
    "Table 4": "Total waiting list by service",
    "Table 4g": "Number waiting >52-104 weeks (365-728 days) by service",
    "Table 4h": "Number waiting over 104 weeks (over 2 years) by service",
}


# --- helpers ----------------------------------------------------------------------------------------------


def _workbook(
    path: Path,
    *,
    month: str = "June 2025",
    header_row: int = 5,
    cells: dict[tuple[str, str, str], object] | None = None,
    orgs: dict[str, list[tuple[str, str, str]]] | None = None,
    months: dict[str, str] | None = None,
    extra_header: str | None = None,
    above_title: str | None = None,
    extra_sheets: tuple[tuple[str, str], ...] = (),
) -> Path:
    """A CHS workbook with Tables 4, 4g, 4h; ``cells`` overrides (table, org code, service) counts; ``above_title``
    is a row written above each title; ``extra_sheets`` (sheet name, table) are copies of a table after the three."""
    with xlsxwriter.Workbook(path) as book:
        book.add_worksheet("Cover page").write_row(0, 0, ["Title:", "Community Health Services Waiting Times"])
        for name, table in [*((t, t) for t in COUNTS), *extra_sheets]:
            counts = COUNTS[table]
            sheet = book.add_worksheet(name)
            top = [above_title] if above_title else []
            top += [
                f"{TITLES[table]}, {(months or {}).get(table, month)}",
                "Blanks indicate no organisation submitted.",
            ]
            for r, text in enumerate(top):
                sheet.write(r, 0, text)
            header = ["Organisation Type", "Organisation Code", "Organisation Name", *SERVICES]
            sheet.write_row(header_row - 1, 0, [*header, *([extra_header] if extra_header else [])])
            for r, (kind, code, name) in enumerate((orgs or {}).get(table, ORGS), start=header_row):
                sheet.write_row(r, 0, [kind, code, name])
                for c, service in enumerate(SERVICES):
                    value = (cells or {}).get((table, code, service), counts.get(code, OTHER_ORG[table])[c])
                    if value is not None:
                        sheet.write(r, 3 + c, value)
                if extra_header:
                    sheet.write(r, 3 + len(SERVICES), 7)
    return path


def _value(result: AdapterResult, org: str) -> float:
    row = result.values.filter(pl.col("org_code") == org)
    assert row.height == 1, f"no single OF0005 value for {org}"
    return row["value"][0]


def _only_record(result: AdapterResult) -> dict:
    assert result.quarantine.height == 1, result.quarantine
    return result.quarantine.row(0, named=True)


def _accounting_holds(result: AdapterResult) -> None:
    for account in result.accounts:
        assert account.rows_read == account.rows_accepted + account.rows_quarantined


# --- well-formed input ------------------------------------------------------------------------------------


def test_over_52_week_share_summed_over_services(tmp_path: Path) -> None:
    result = chs.read([_workbook(tmp_path / "chs.xlsx")])
    assert _value(result, "RAA") == pytest.approx(100 * (10 + 5 + 1 + 0) / (100 + 50))
    assert _value(result, "RBB") == pytest.approx(2.0)
    raa = result.values.filter(pl.col("org_code") == "RAA").row(0, named=True)
    assert (raa["quarter"], raa["period"], raa["metric_id"], raa["source_row"]) == (
        "2025-26 Q1",
        "2025-06",
        "OF0005",
        9,
    )
    assert (raa["numerator"], raa["denominator"]) == (16, 150)
    assert sorted(result.values["org_code"]) == ["RAA", "RBB"]  # providers only
    assert [(a.rows_read, a.rows_accepted, a.rows_quarantined) for a in result.accounts] == [(5, 5, 0)]


def test_header_shifted_down(tmp_path: Path) -> None:
    result = chs.read([_workbook(tmp_path / "chs.xlsx", header_row=7)])
    assert result.quarantine.is_empty()
    raa = result.values.filter(pl.col("org_code") == "RAA")
    assert raa["source_row"].to_list() == [11]


def test_a_month_that_is_not_the_last_of_its_quarter_gives_no_value(tmp_path: Path) -> None:
    result = chs.read([_workbook(tmp_path / "chs.xlsx", month="May 2025")])
    assert result.values.is_empty()
    assert [(a.rows_read, a.rows_accepted) for a in result.accounts] == [(5, 5)]


def test_blank_and_dash_cells_are_missing_not_errors(tmp_path: Path) -> None:
    dashes = {(t, "RBB", "(CYP) Audiology"): "-" for t in COUNTS}
    result = chs.read([_workbook(tmp_path / "chs.xlsx", cells=dashes)])
    assert result.quarantine.is_empty()
    assert _value(result, "RBB") == pytest.approx(2.0)


@pytest.mark.parametrize(
    "cells",
    [
        {("Table 4g", "RAA", "(A) Audiology"): None},
        {("Table 4h", "RAA", "(A) Audiology"): "-"},
        {("Table 4g", "RAA", "(CYP) Audiology"): "-", ("Table 4h", "RAA", "(CYP) Audiology"): None},
        {("Table 4g", "RAA", "(A) Audiology"): "\u2013"},
    ],
    ids=["4g blank", "4h dash", "4g and 4h missing", "4g en dash"],
)
def test_a_waiting_list_without_its_long_waiters_is_quarantined(tmp_path: Path, cells: dict) -> None:
    """Issue 11.1: Table 4 given with Table 4g or 4h blank is part of the numerator suppressed, not zero."""
    result = chs.read([_workbook(tmp_path / "chs.xlsx", cells=cells)])
    assert result.quarantine["check"].unique().to_list() == ["long_waiters_reported_with_the_waiting_list"]
    assert result.quarantine["source_row"].unique().to_list() == [9]
    assert "RAA" not in result.values["org_code"].to_list()
    assert _value(result, "RBB") == pytest.approx(2.0)
    _accounting_holds(result)


def test_the_national_row_may_leave_long_waiters_blank(tmp_path: Path) -> None:
    """NHS England publishes England's row with some services' Tables 4g and 4h blank; it is never scored."""
    cells = {("Table 4g", "", "(A) Audiology"): None, ("Table 4h", "", "(A) Audiology"): None}
    result = chs.read([_workbook(tmp_path / "chs.xlsx", cells=cells)])
    assert result.quarantine.is_empty()


def test_quarters_filter(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "chs.xlsx")
    assert chs.read([path], quarters=["2025-26 Q2"]).values.is_empty()
    assert chs.read([path], quarters=["2025-04"]).values.height == 2


# --- malformed input: whole-file errors -------------------------------------------------------------------


def test_renamed_organisation_column(tmp_path: Path) -> None:
    renamed = tmp_path / "renamed.xlsx"
    with xlsxwriter.Workbook(renamed) as book:
        for table in COUNTS:
            sheet = book.add_worksheet(table)
            sheet.write(0, 0, f"{TITLES[table]}, June 2025")
            sheet.write_row(4, 0, ["Organisation Type", "Org Code", "Organisation Name", *SERVICES])
            sheet.write_row(5, 0, ["Provider", "RAA", "TRUST A", 1, 1])
    with pytest.raises(
        SourceFileError,
        match=r"row 5: sheet 'Table 4': header does not match: missing column\(s\) 'Organisation Code'$",
    ):
        chs.read([renamed])


def test_tables_for_different_months(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "chs.xlsx", months={"Table 4h": "May 2025"})
    with pytest.raises(SourceFileError, match=r"the tables are for different months \(.*Table 4h: 2025-05\)"):
        chs.read([path])


def test_title_without_a_month(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "chs.xlsx", months={"Table 4g": "latest month"})
    with pytest.raises(SourceFileError, match="sheet 'Table 4g': no month in the title rows"):
        chs.read([path])


@pytest.mark.parametrize(
    ("month", "above", "quarter", "period"),
    [
        ("March 2025", "Published 14 May 2025", "2024-25 Q4", "2025-03"),
        ("June 2025", "Published 14 August 2025", "2025-26 Q1", "2025-06"),
        ("June 2025", "Next update: Thursday, 11 September 2025", "2025-26 Q1", "2025-06"),
        ("September 2025", "Revised figures for June 2025 will follow", "2025-26 Q2", "2025-09"),
    ],
    ids=["published after", "published later still", "next update", "note naming another month"],
)
def test_the_period_is_the_month_ending_the_title_not_another_date_above_it(
    tmp_path: Path, month: str, above: str, quarter: str, period: str
) -> None:
    """The period is the month the table's title ends with ('..., June 2025'); a publication date or a note above
    the title names another month and is not the period."""
    result = chs.read([_workbook(tmp_path / "chs.xlsx", month=month, above_title=above)])
    assert set(result.values["quarter"]) == {quarter} and set(result.values["period"]) == {period}
    assert _value(result, "RAA") == pytest.approx(100 * 16 / 150)


def test_a_title_without_a_month_is_refused_whatever_date_is_above_it(tmp_path: Path) -> None:
    """Another date above the header does not stand in for a title without its month."""
    path = _workbook(tmp_path / "chs.xlsx", months={"Table 4g": "latest month"}, above_title="Published 12 June 2025")
    with pytest.raises(SourceFileError, match="sheet 'Table 4g': no month in the title rows"):
        chs.read([path])


def test_titles_above_one_header_naming_different_months_are_refused(tmp_path: Path) -> None:
    """Two titles above a header that end in different months cannot both be the period: the file is refused."""
    path = _workbook(tmp_path / "chs.xlsx", above_title="Total waiting list by service, May 2025")
    with pytest.raises(
        SourceFileError,
        match=r"sheet 'Table 4': titles above the header name different months \(row 1: 'Total waiting list by "
        r"service, May 2025'; row 2: 'Total waiting list by service, June 2025'\)",
    ):
        chs.read([path])


@pytest.mark.parametrize(
    "months",
    [["April 2025", "May 2025"], ["April 2025"], ["May 2025"]],
    ids=["April and May", "April", "May"],
)
def test_a_requested_quarter_without_its_last_month_stops(tmp_path: Path, months: list[str]) -> None:
    """Issue 11.2: a quarter's OF0005 is its last month's workbook; a requested quarter of which other months are
    landed but not the last stops the read, naming the folder, the months held and the month to land."""
    paths = [_workbook(tmp_path / f"chs-{i}.xlsx", month=month) for i, month in enumerate(months)]
    with pytest.raises(IncompleteQuarterError) as err:
        chs.read(paths, ["2025-26 Q1"])
    assert str(err.value) == (
        f"{tmp_path}: the CHS waiting-list workbooks for 2025-26 Q1 hold {', '.join(months)} but not June 2025: land "
        "the missing month (a quarter's value is its last month's workbook) or leave the quarter out of the run"
    )
    assert chs.read(paths).values.is_empty()  # not requested: no value, and nothing to stop for
    assert chs.read(paths, ["2025-26 Q2"]).values.is_empty()  # a quarter with no month landed is not covered


@pytest.mark.parametrize("name", ["Table  4", "table 4 ", "TABLE  4G", " Table 4h"])
def test_two_sheets_read_as_the_same_table_are_refused(tmp_path: Path, name: str) -> None:
    """Sheet names are compared without regard to case or spacing, so two sheets that would both be taken for one
    table cannot both be right: the file is refused naming both, never read from either."""
    table = next(t for t in COUNTS if t.casefold() == " ".join(name.split()).casefold())
    path = _workbook(tmp_path / "chs.xlsx", extra_sheets=((name, table),))
    with pytest.raises(SourceFileError, match=rf"sheets '{table}' and '{name}' would each be read as '{table}'"):
        chs.read([path])


def test_cwt_workbook_dropped_into_the_chs_folder(tmp_path: Path) -> None:
    path = tmp_path / "CWT-CRS-extract.xlsx"
    with xlsxwriter.Workbook(path) as book:
        book.add_worksheet("CWT CRS Provider Extract").write_row(0, 0, ["PERIOD", "YEAR", "MONTH"])
    with pytest.raises(SourceFileError, match=r"no sheet 'Table 4', 'Table 4g', 'Table 4h' .*another source"):
        chs.read([path])


def test_csv_dropped_into_the_chs_folder(tmp_path: Path) -> None:
    path = tmp_path / "chs.csv"
    path.write_text("Organisation Type,Organisation Code\nProvider,RAA\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match="not an Excel workbook"):
        chs.read([path])


def test_tables_not_aligned_row_by_row(tmp_path: Path) -> None:
    swapped = [*ORGS[:3], ORGS[4], ORGS[3]]
    path = _workbook(tmp_path / "chs.xlsx", orgs={"Table 4g": swapped})
    with pytest.raises(
        SourceFileError, match="sheet 'Table 4g' row 9 is Provider RBB where 'Table 4' has Provider RAA"
    ):
        chs.read([path])


def test_unexpected_column_with_data(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "chs.xlsx", extra_header="Total")
    with pytest.raises(SourceFileError, match=r"sheet 'Table 4': unexpected column\(s\) 'Total' \(not a service\)"):
        chs.read([path])


def test_two_workbooks_for_one_month(tmp_path: Path) -> None:
    first, second = _workbook(tmp_path / "a.xlsx"), _workbook(tmp_path / "b.xlsx")
    with pytest.raises(SourceFileError, match=r"holds 2025-06, as does .*a\.xlsx: keep one"):
        chs.read([first, second])


# --- malformed input: rows quarantined, nothing else lost -------------------------------------------------


def _one_bad_cell(tmp_path: Path, cells: dict) -> dict:
    result = chs.read([_workbook(tmp_path / "chs.xlsx", cells=cells)])
    _accounting_holds(result)
    assert result.accounts[0].rows_quarantined == 1
    assert _value(result, "RAA") == pytest.approx(100 * 16 / 150)
    assert "RBB" not in result.values["org_code"].to_list()
    return _only_record(result)


def test_long_waiters_above_the_waiting_list_are_quarantined(tmp_path: Path) -> None:
    record = _one_bad_cell(tmp_path, {("Table 4g", "RBB", "(A) Audiology"): 250})
    assert (record["source_row"], record["column"], record["check"], record["value"]) == (
        10,
        "Table 4g + Table 4h: (A) Audiology",
        "within_total_waiting_list",
        "250",
    )


def test_long_waiters_without_a_waiting_list_are_quarantined(tmp_path: Path) -> None:
    record = _one_bad_cell(tmp_path, {("Table 4h", "RBB", "(CYP) Audiology"): 3})
    assert (record["column"], record["check"]) == ("Table 4g + Table 4h: (CYP) Audiology", "within_total_waiting_list")


def test_negative_count_is_quarantined_with_its_table(tmp_path: Path) -> None:
    record = _one_bad_cell(tmp_path, {("Table 4h", "RBB", "(A) Audiology"): -1})
    assert (record["source_row"], record["column"], record["check"], record["value"]) == (
        10,
        "Table 4h: (A) Audiology",
        "greater_than_or_equal_to(0)",
        "-1",
    )


def test_unreadable_count_is_quarantined_as_published(tmp_path: Path) -> None:
    record = _one_bad_cell(tmp_path, {("Table 4h", "RBB", "(A) Audiology"): "n/a"})
    assert (record["column"], record["check"], record["value"]) == (
        "Table 4h: (A) Audiology",
        "is_a_whole_number",
        "n/a",
    )


def test_a_damaged_workbook_read_with_clean_ones_is_quarantined_alone(tmp_path: Path) -> None:
    """The service rows of all workbooks are screened together; the records and accounts stay each file's own."""
    months = ["March 2025", "June 2025", "September 2025"]
    paths = [_workbook(tmp_path / f"chs-{i}.xlsx", month=month) for i, month in enumerate(months)]
    bad = {("Table 4g", "RBB", "(A) Audiology"): 250}
    (tmp_path / "alone").mkdir()
    alone = chs.read([_workbook(tmp_path / "alone" / "chs.xlsx", month=months[1], cells=bad)])
    paths[1] = _workbook(tmp_path / "chs-1.xlsx", month=months[1], cells=bad)
    together = chs.read(paths)
    _accounting_holds(together)
    assert [a.rows_quarantined for a in together.accounts] == [0, 1, 0]
    record = _only_record(together)
    assert record["source_file"] == str(paths[1])
    expected = alone.quarantine.with_columns(pl.lit(str(paths[1])).alias("source_file"))
    assert together.quarantine.drop("source_sha256").equals(expected.drop("source_sha256"))
    by_quarter = together.values.group_by("quarter").agg(pl.col("org_code").sort()).sort("quarter")
    assert by_quarter.rows() == [
        ("2024-25 Q4", ["RAA", "RBB"]),
        ("2025-26 Q1", ["RAA"]),
        ("2025-26 Q2", ["RAA", "RBB"]),
    ]


def test_service_rows_that_do_not_stack_are_validated_workbook_by_workbook() -> None:
    # frames that cannot be screened together are not an error: each workbook's own validation then words them
    assert chs._clean([pl.DataFrame({"a": [1]}), pl.DataFrame({"b": [1]})], ChsServiceWaits) == [False, False]
    assert chs._clean([], ChsServiceWaits) == []


def test_ill_formed_org_code_is_quarantined(tmp_path: Path) -> None:
    bad = [*ORGS[:4], ("Provider", "RB B", "TRUST B")]
    result = chs.read([_workbook(tmp_path / "chs.xlsx", orgs=dict.fromkeys(COUNTS, bad))])
    record = _only_record(result)
    assert (record["source_row"], record["column"], record["value"]) == (10, "Organisation Code", "RB B")
    assert record["check"].startswith("str_matches")
    _accounting_holds(result)
    assert result.values["org_code"].to_list() == ["RAA"]


def test_provider_without_a_code_is_quarantined(tmp_path: Path) -> None:
    bad = [*ORGS[:4], ("Provider", "", "TRUST B")]
    result = chs.read([_workbook(tmp_path / "chs.xlsx", orgs=dict.fromkeys(COUNTS, bad))])
    record = _only_record(result)
    assert (record["source_row"], record["column"], record["check"]) == (
        10,
        "Organisation Code",
        "required_below_national",
    )
    _accounting_holds(result)


def test_an_organisation_listed_twice_is_quarantined_in_its_workbook_alone(tmp_path: Path) -> None:
    """The organisation rows of all workbooks are screened together; one row per organisation is a rule about one
    workbook, so the same trusts in every month's workbook are not repeats, and a repeat in one workbook is
    quarantined with that workbook's records, as when it is read alone."""
    twice = [*ORGS, ("Provider", "RBB", "TRUST B AGAIN")]
    months = ["March 2025", "June 2025", "September 2025"]
    paths = [_workbook(tmp_path / f"chs-{i}.xlsx", month=month) for i, month in enumerate(months)]
    (tmp_path / "alone").mkdir()
    alone = chs.read([_workbook(tmp_path / "alone" / "chs.xlsx", month=months[2], orgs=dict.fromkeys(COUNTS, twice))])
    paths[2] = _workbook(tmp_path / "chs-2.xlsx", month=months[2], orgs=dict.fromkeys(COUNTS, twice))
    together = chs.read(paths)
    _accounting_holds(together)
    assert [a.rows_quarantined for a in together.accounts] == [0, 0, 2]
    assert set(together.quarantine["check"]) == {"one_row_per_organisation"}
    assert set(together.quarantine["source_file"]) == {str(paths[2])}
    expected = alone.quarantine.with_columns(pl.lit(str(paths[2])).alias("source_file"))
    assert together.quarantine.drop("source_sha256").equals(expected.drop("source_sha256"))
    assert together.values.filter(pl.col("quarter") == "2025-26 Q2")["org_code"].to_list() == ["RAA"]


# --- real NHS England workbook ----------------------------------------------------------------------------

REAL = "chs-waiting-lists-jun2025/Community-health-services-waiting-lists-2025-26-June.xlsx"


@pytest.fixture(scope="module")
def real_result() -> AdapterResult:
    return chs.read([real_file(REAL)])


@pytest.mark.real_data
def test_real_workbook_is_read_whole(real_result: AdapterResult) -> None:
    table = pl.read_excel(real_file(REAL), sheet_name="Table 4", engine="calamine", read_options={"header_row": 4})
    account = real_result.accounts[0]
    assert (account.rows_read, account.rows_accepted, account.rows_quarantined) == (table.height, table.height, 0)
    assert set(real_result.values["period"]) == {"2025-06"}


@pytest.mark.real_data
def test_q1_matches_nhs_england_within_a_hundredth(real_result: AdapterResult) -> None:
    published = (
        read_nof_csv([real_file(ACUTE_Q1), real_file(MHC_Q1)])
        .rows.filter(pl.col("metric_id") == "OF0005", pl.col("value").is_not_null())
        .select("org_code", pl.col("value").alias("published"))
    )
    both = published.join(real_result.values.select("org_code", "value"), on="org_code", how="left")
    assert published.height == 121 and both["value"].null_count() == 0
    assert ((both["value"] - both["published"]).abs() <= 0.01).all()
    inexact = both.filter(pl.col("value").round(2) != pl.col("published"))
    assert both.height - inexact.height == 114
    # NHS England rounded these up: the published value is the next hundredth above ours
    for ours, theirs in inexact.select("value", "published").iter_rows():
        assert theirs > ours and theirs == math.ceil(ours * 100) / 100
