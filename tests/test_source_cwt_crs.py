"""CWT-CRS adapter: fidelity on NHS England's real extract, and malformed workbooks."""

from __future__ import annotations

import datetime
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from npaf_pipeline.sources import cwt_crs
from npaf_pipeline.sources.base import AdapterResult, SourceFileError
from npaf_pipeline.sources.nof_csv import read_nof_csv
from tests.conftest import ACUTE_Q1, real_file

HEADER = list(cwt_crs.COLUMNS)
MONTHS = {4: "APR", 5: "MAY", 6: "JUN", 7: "JUL"}


# --- helpers ----------------------------------------------------------------------------------------------


def _row(month: int, org: str, standard: str = "28-day FDS", total=10, within=8, **cells) -> list:
    """A 28-day FDS row by default: 10 told, 8 within 28 days."""
    row = {
        "PERIOD": datetime.datetime(2025, month, 1),
        "YEAR": "2025/26",
        "MONTH": MONTHS[month],
        "STANDARD": standard,
        "ORG CODE": org,
        "STAGE/ROUTE": "URGENT SUSPECTED CANCER",
        "TREATMENT MODALITY": None,
        "CANCER TYPE": "Suspected breast cancer",
        "TOTAL TREATED": total,
        "WITHIN STANDARD": within,
        "BREACHES": total - within if isinstance(total, int | float) and isinstance(within, int | float) else None,
    }
    row.update(cells)
    return [row[h] for h in HEADER]


def _62_day(month: int, org: str) -> list[list]:
    """The same 4 patients twice: by cancer type (3 within 62 days) and by modality (the extract's other view)."""
    by_type = _row(
        month, org, "62-day Combined", 4, 3, **{"TREATMENT MODALITY": "ALL MODALITIES", "CANCER TYPE": "Lung"}
    )
    by_modality = _row(
        month, org, "62-day Combined", 4, 1, **{"TREATMENT MODALITY": "Surgery", "CANCER TYPE": "ALL CANCERS"}
    )
    return [by_type, by_modality]


def _quarter_rows(orgs=("RAA", "RBB")) -> list[list]:
    return [r for m in (4, 5, 6) for org in orgs for r in [_row(m, org), *_62_day(m, org)]]


def _book(path: Path, rows: list[list], *, header: list[str] = HEADER, title_rows: int = 0, formulas: str = "") -> Path:
    """An extract; ``formulas`` 'cached' or 'uncalculated' writes BREACHES as a formula."""
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet("CWT CRS Provider Extract")
        _write_extract(book, sheet, rows, header=header, title_rows=title_rows, formulas=formulas)
    return path


def _sheets(path: Path, sheets: list[tuple[str, list[list] | None]], hidden: tuple[str, ...] = ()) -> Path:
    """A workbook of several sheets: an extract per (name, rows), a notes sheet where rows is None; the sheets
    named in ``hidden`` hidden (the first visible one is the sheet Excel opens on)."""
    with xlsxwriter.Workbook(path) as book:
        for name, rows in sheets:
            sheet = book.add_worksheet(name)
            if rows is None:
                sheet.write(0, 0, "Notes: a patient shared by two trusts counts a half to each")
            else:
                _write_extract(book, sheet, rows)
        for sheet in book.worksheets():
            if sheet.name in hidden:
                sheet.hide()
        next(sheet for sheet in book.worksheets() if sheet.name not in hidden).activate()
    return path


def _write_extract(
    book: xlsxwriter.Workbook, sheet, rows: list[list], *, header: list[str] = HEADER, title_rows: int = 0, formulas=""
) -> None:
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    for i in range(title_rows):
        sheet.write(i, 0, f"Cancer Waiting Times provider extract, note {i + 1}")
    sheet.write_row(title_rows, 0, header)
    for r, row in enumerate(rows, start=title_rows + 1):
        for c, cell in enumerate(row):
            if isinstance(cell, datetime.datetime):
                sheet.write_datetime(r, c, cell, date)
            elif formulas and header[c] == "BREACHES":
                formula = f"=I{r + 1}-J{r + 1}"
                sheet.write_formula(r, c, formula, None, cell if formulas == "cached" else 0)
            elif cell is not None:
                sheet.write(r, c, cell)


def _value(result: AdapterResult, org: str, metric: str) -> float:
    row = result.values.filter(pl.col("org_code") == org, pl.col("metric_id") == metric)
    assert row.height == 1, f"no single {metric} value for {org}"
    return row["value"][0]


def _only_record(result: AdapterResult) -> dict:
    assert result.quarantine.height == 1, result.quarantine
    return result.quarantine.row(0, named=True)


def _accounting_holds(result: AdapterResult) -> None:
    for account in result.accounts:
        assert account.rows_read == account.rows_accepted + account.rows_quarantined


# --- well-formed input ------------------------------------------------------------------------------------


def test_fds_and_62_day_values_sum_one_breakdown_over_the_quarter(tmp_path: Path) -> None:
    rows = _quarter_rows()
    rows += [_row(7, "RAA", total=10, within=0)]  # July: a month of the next (incomplete) quarter
    result = cwt_crs.read([_book(tmp_path / "extract.xlsx", rows)])
    assert _value(result, "RAA", "OF0010") == pytest.approx(80.0)
    assert _value(result, "RAA", "OF0011") == pytest.approx(75.0)
    fds = result.values.filter(pl.col("org_code") == "RAA", pl.col("metric_id") == "OF0010").row(0, named=True)
    assert (fds["quarter"], fds["period"], fds["numerator"], fds["denominator"]) == (
        "2025-26 Q1",
        "2025-04..2025-06",
        24,
        30,
    )
    assert fds["source_row"] == 2
    assert set(result.values["quarter"]) == {"2025-26 Q1"}
    assert [(a.rows_read, a.rows_accepted, a.rows_quarantined) for a in result.accounts] == [(19, 19, 0)]


def test_header_shifted_down_below_title_rows(tmp_path: Path) -> None:
    result = cwt_crs.read([_book(tmp_path / "extract.xlsx", _quarter_rows(), title_rows=3)])
    assert result.quarantine.is_empty()
    fds = result.values.filter(pl.col("org_code") == "RAA", pl.col("metric_id") == "OF0010")
    assert fds["source_row"].to_list() == [5]  # header on spreadsheet row 4
    assert result.accounts[0].rows_read == 18


def test_formula_cells_are_read_as_their_calculated_values(tmp_path: Path) -> None:
    result = cwt_crs.read([_book(tmp_path / "extract.xlsx", _quarter_rows(), formulas="cached")])
    assert result.quarantine.is_empty()
    assert _value(result, "RBB", "OF0010") == pytest.approx(80.0)


def test_formula_cells_never_calculated_are_quarantined(tmp_path: Path) -> None:
    result = cwt_crs.read([_book(tmp_path / "extract.xlsx", _quarter_rows(), formulas="uncalculated")])
    assert result.quarantine.height == 18
    assert set(result.quarantine["column"]) == {"BREACHES"}
    assert set(result.quarantine["check"]) == {"total_minus_within"}
    _accounting_holds(result)
    assert result.values.is_empty()


def test_blank_and_dash_breaches_are_missing_not_errors(tmp_path: Path) -> None:
    rows = [
        *_quarter_rows(),
        _row(5, "RAA", total=2, within=2, BREACHES="-", **{"CANCER TYPE": "Suspected lung cancer"}),
    ]
    result = cwt_crs.read([_book(tmp_path / "extract.xlsx", rows)])
    assert result.quarantine.is_empty()
    assert _value(result, "RAA", "OF0010") == pytest.approx(100 * 26 / 32)


@pytest.mark.parametrize(
    ("total", "within"),
    [("-", None), (None, 3), ("-", 3), (4, "*"), (4, ".."), ("x", "x"), (":", 2), (4, "[c]")],
)
@pytest.mark.parametrize("standard", ["28-day FDS", "62-day Combined"])
def test_suppressed_total_or_within_quarantines_the_row_and_withholds_the_provider(
    tmp_path: Path, total, within, standard: str
) -> None:
    """Issue 11.1: a row with its total or within-standard count suppressed is never summed from what is left."""
    fds = standard == "28-day FDS"
    extra = (
        {"CANCER TYPE": "Suspected skin cancer"}
        if fds
        else {"CANCER TYPE": "Skin", "TREATMENT MODALITY": "ALL MODALITIES"}
    )
    rows = [*_quarter_rows(), _row(5, "RAA", standard, total, within, BREACHES=None, **extra)]
    result = cwt_crs.read([_book(tmp_path / "extract.xlsx", rows)])
    assert result.values.filter(pl.col("org_code") == "RAA").is_empty()
    assert _value(result, "RBB", "OF0010") == pytest.approx(80.0)
    assert set(result.quarantine["source_row"].to_list()) == {len(rows) + 1}
    assert "reported_not_suppressed" in result.quarantine["check"].to_list()
    assert result.accounts[0].rows_quarantined == 1


# --- malformed input: whole-file errors -------------------------------------------------------------------


def test_missing_column(tmp_path: Path) -> None:
    keep = [i for i, h in enumerate(HEADER) if h != "WITHIN STANDARD"]
    rows = [[r[i] for i in keep] for r in _quarter_rows()]
    path = _book(tmp_path / "extract.xlsx", rows, header=[HEADER[i] for i in keep])
    with pytest.raises(
        SourceFileError, match=r"row 1: header does not match .* missing column\(s\) 'WITHIN STANDARD'$"
    ):
        cwt_crs.read([path])


def test_csv_dropped_into_the_cwt_folder(tmp_path: Path) -> None:
    path = tmp_path / "Monthly-AE-April-2025.csv"
    path.write_text("Period,Org Code\nMSitAE-APRIL-2025,RAA\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match=r"not an Excel workbook \(\.xlsx\)"):
        cwt_crs.read([path])


def test_workbook_of_another_source_in_the_cwt_folder(tmp_path: Path) -> None:
    path = tmp_path / "Community-health-services-waiting-lists.xlsx"
    with xlsxwriter.Workbook(path) as book:
        book.add_worksheet("Cover page").write_row(0, 0, ["Title:", "Community Health Services Waiting Times"])
        book.add_worksheet("Table 4").write_row(4, 0, ["Organisation Type", "Organisation Code"])
    with pytest.raises(SourceFileError, match=r"no CWT-CRS header .* a file of another source"):
        cwt_crs.read([path])


def test_truncated_workbook(tmp_path: Path) -> None:
    whole = _book(tmp_path / "whole.xlsx", _quarter_rows())
    path = tmp_path / "extract.xlsx"
    path.write_bytes(whole.read_bytes()[:2000])
    with pytest.raises(SourceFileError, match="cannot be read as an Excel workbook"):
        cwt_crs.read([path])


def test_empty_file_and_empty_sheet(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    with pytest.raises(SourceFileError, match="the file is empty"):
        cwt_crs.read([empty])
    blank = tmp_path / "blank.xlsx"
    with xlsxwriter.Workbook(blank) as book:
        book.add_worksheet()
    with pytest.raises(SourceFileError, match="the first sheet is empty"):
        cwt_crs.read([blank])


def test_overlapping_extracts(tmp_path: Path) -> None:
    first = _book(tmp_path / "apr-jun.xlsx", _quarter_rows())
    second = _book(tmp_path / "jun-jul.xlsx", [_row(6, "RCC"), _row(7, "RCC")])
    with pytest.raises(SourceFileError, match=r"holds 2025-06, as does .*apr-jun\.xlsx: extracts must not overlap"):
        cwt_crs.read([first, second])


# --- malformed input: rows quarantined, nothing else lost -------------------------------------------------


def _one_bad_row(tmp_path: Path, bad: list) -> AdapterResult:
    result = cwt_crs.read([_book(tmp_path / "extract.xlsx", [*_quarter_rows(), bad])])
    _accounting_holds(result)
    assert _value(result, "RAA", "OF0010") == pytest.approx(80.0)
    assert _value(result, "RAA", "OF0011") == pytest.approx(75.0)
    return result


def test_within_above_total_is_quarantined(tmp_path: Path) -> None:
    record = _only_record(_one_bad_row(tmp_path, _row(5, "RCC", total=5, within=7, BREACHES=None)))
    assert (record["source_row"], record["column"], record["check"], record["value"]) == (
        20,
        "WITHIN STANDARD",
        "within_total_treated",
        "7.0",
    )


def test_negative_count_is_quarantined(tmp_path: Path) -> None:
    result = _one_bad_row(tmp_path, _row(5, "RCC", total=5, within=7, BREACHES=-2))
    assert result.quarantine["source_row"].unique().to_list() == [20]
    assert set(result.quarantine.select("column", "check", "value").iter_rows()) == {
        ("BREACHES", "greater_than_or_equal_to(0)", "-2.0"),
        ("WITHIN STANDARD", "within_total_treated", "7.0"),
    }


def test_month_that_disagrees_with_period_is_quarantined(tmp_path: Path) -> None:
    record = _only_record(_one_bad_row(tmp_path, _row(5, "RCC", MONTH="JUN")))
    assert (record["source_row"], record["column"], record["check"], record["value"]) == (
        20,
        "MONTH",
        "agrees_with_period",
        "JUN",
    )


def test_unreadable_period_is_quarantined_as_published(tmp_path: Path) -> None:
    record = _only_record(_one_bad_row(tmp_path, _row(5, "RCC", PERIOD="May 2025")))
    assert (record["source_row"], record["column"], record["check"], record["value"]) == (
        20,
        "PERIOD",
        "is_a_date",
        "May 2025",
    )


def test_unknown_standard_is_quarantined(tmp_path: Path) -> None:
    record = _only_record(_one_bad_row(tmp_path, _row(5, "RCC", STANDARD="62 day combined")))
    assert (record["source_row"], record["column"], record["value"]) == (20, "STANDARD", "62 day combined")
    assert record["check"].startswith("isin")


def test_ill_formed_org_code_is_quarantined(tmp_path: Path) -> None:
    record = _only_record(_one_bad_row(tmp_path, _row(5, "R C C")))
    assert (record["source_row"], record["column"], record["value"]) == (20, "ORG CODE", "R C C")
    assert record["check"].startswith("str_matches")


def test_duplicate_rows_quarantine_every_copy_and_withhold_the_provider(tmp_path: Path) -> None:
    rows = [*_quarter_rows(), _row(5, "RCC"), _row(5, "RCC"), _row(4, "RCC"), _row(6, "RCC")]
    result = cwt_crs.read([_book(tmp_path / "extract.xlsx", rows)])
    assert sorted(result.quarantine["source_row"]) == [20, 21]
    assert set(result.quarantine["check"]) == {"one_row_per_breakdown"}
    _accounting_holds(result)
    assert "RCC" not in result.values["org_code"].to_list()
    assert _value(result, "RBB", "OF0010") == pytest.approx(80.0)


def _62_day_row(month: int, org: str, modality: str | None, cancer: str | None, **cells) -> list:
    return _row(month, org, "62-day Combined", 4, 2, **{"TREATMENT MODALITY": modality, "CANCER TYPE": cancer}, **cells)


def _withholds_raa_only(result: AdapterResult, rows: int) -> None:
    """The bad RAA row is quarantined, RAA's quarter withheld, RBB's values as they were, the accounting whole."""
    _accounting_holds(result)
    assert result.accounts[0].rows_quarantined == rows
    assert result.values.filter(pl.col("org_code") == "RAA").is_empty()
    assert _value(result, "RBB", "OF0010") == pytest.approx(80.0)
    assert _value(result, "RBB", "OF0011") == pytest.approx(75.0)


@pytest.mark.parametrize(
    ("bad", "column", "value"),
    [
        (_62_day_row(5, "RAA", None, "Breast"), "TREATMENT MODALITY", None),
        (_62_day_row(5, "RAA", "ALL MODALITY", "Breast"), "TREATMENT MODALITY", "ALL MODALITY"),
        (_62_day_row(5, "RAA", "ALL MODALITIES", None), "CANCER TYPE", None),
        (_62_day_row(5, "RAA", "Surgery ", "ALL CANCER"), "CANCER TYPE", "ALL CANCER"),
        (_row(5, "RAA", **{"CANCER TYPE": None}), "CANCER TYPE", None),
        (_row(5, "RAA", **{"TREATMENT MODALITY": "Surgery"}), "TREATMENT MODALITY", "Surgery"),
        (_row(5, "RAA", **{"STAGE/ROUTE": "ALL ROUTES"}), "STAGE/ROUTE", "ALL ROUTES"),
    ],
    ids=[
        "62-day modality blank",
        "62-day modality misspelt",
        "62-day cancer type blank",
        "62-day total misspelt",
        "28-day cancer type blank",
        "28-day with a modality",
        "28-day route total",
    ],
)
def test_a_breakdown_the_reader_does_not_know_is_quarantined_not_left_out(
    tmp_path: Path, bad: list, column: str, value: str | None
) -> None:
    """Every row of a standard a metric is built from is summed or quarantined: a breakdown of another shape than the
    standard's (blank, a 28-day modality, a total name the reader does not sum by) may be a part it would leave out or
    a total it would add, so the row is quarantined with its column and value and the provider's quarter withheld,
    never worked out from the rest."""
    result = cwt_crs.read([_book(tmp_path / "extract.xlsx", [*_quarter_rows(), bad])])
    record = _only_record(result)
    assert (record["source_row"], record["column"], record["check"], record["value"]) == (
        20,
        column,
        "known_breakdown",
        value,
    )
    _withholds_raa_only(result, 1)


@pytest.mark.parametrize(
    ("known", "new"),
    [
        (_62_day_row(5, "RAA", "ALL MODALITIES", "Breast"), _62_day_row(5, "RAA", "ALL MODALITIES", "Breast cancer")),
        (
            _62_day_row(5, "RAA", "ALL MODALITIES", "Breast"),
            _62_day_row(5, "RAA", "ALL MODALITIES", "Breast", **{"STAGE/ROUTE": "Two week wait"}),
        ),
        (_62_day_row(5, "RAA", "Radiotherapy", "ALL CANCERS"), _62_day_row(5, "RAA", "Chemotherapy", "ALL CANCERS")),
        (
            _row(5, "RAA", **{"CANCER TYPE": "Suspected lung cancer"}),
            _row(5, "RAA", **{"CANCER TYPE": "Suspected lung"}),
        ),
    ],
    ids=["62-day new cancer type", "62-day new route", "62-day new modality", "28-day new cancer type"],
)
def test_a_part_of_the_standards_shape_is_read_whatever_its_name(tmp_path: Path, known: list, new: list) -> None:
    """The parts' names are not a list to keep up with: a cancer type, route or modality a release adds is read
    as the part it is, exactly as a row of a name the real extract has."""
    want = cwt_crs.read([_book(tmp_path / "known.xlsx", [*_quarter_rows(), known])])
    got = cwt_crs.read([_book(tmp_path / "new.xlsx", [*_quarter_rows(), new])])
    assert got.quarantine.is_empty() and want.quarantine.is_empty()
    assert got.values.drop("source_file", "source_sha256", strict=False).equals(
        want.values.drop("source_file", "source_sha256", strict=False)
    )


@pytest.mark.parametrize(
    ("bad", "columns"),
    [
        (_62_day_row(5, "RAA", "ALL MODALITIES", "ALL CANCERS"), {"TREATMENT MODALITY", "CANCER TYPE"}),
        (_62_day_row(5, "RAA", "all modalities", "All Cancers"), {"TREATMENT MODALITY", "CANCER TYPE"}),
        (_row(5, "RAA", **{"CANCER TYPE": "ALL CANCERS"}), {"CANCER TYPE"}),
        (_row(5, "RAA", **{"TREATMENT MODALITY": "ALL MODALITIES"}), {"TREATMENT MODALITY"}),
    ],
    ids=["62-day all by all", "62-day all by all, any case", "28-day all cancers", "28-day all modalities"],
)
def test_a_subtotal_row_is_quarantined_not_added_to_its_parts(tmp_path: Path, bad: list, columns: set[str]) -> None:
    """A row totalling breakdowns the extract also gives (62-day ALL MODALITIES and ALL CANCERS; a 28-day ALL
    CANCERS row) would count its patients twice if summed: quarantined (`not_a_subtotal`), the provider withheld."""
    result = cwt_crs.read([_book(tmp_path / "extract.xlsx", [*_quarter_rows(), bad])])
    assert set(result.quarantine["source_row"]) == {20}
    assert set(result.quarantine["check"]) == {"not_a_subtotal"}
    assert set(result.quarantine["column"]) == columns
    _withholds_raa_only(result, 1)


def test_a_62_day_row_by_both_modality_and_cancer_type_is_quarantined(tmp_path: Path) -> None:
    """The extract gives 62-day patients by cancer type (ALL MODALITIES) or by modality (ALL CANCERS): a row by both
    is summed by neither, so it is quarantined rather than silently left out of OF0011."""
    result = cwt_crs.read(
        [_book(tmp_path / "extract.xlsx", [*_quarter_rows(), _62_day_row(5, "RAA", "Surgery", "Breast")])]
    )
    record = _only_record(result)
    assert (record["column"], record["check"], record["value"]) == (
        "CANCER TYPE",
        "by_cancer_type_or_by_modality",
        "Breast",
    )
    _withholds_raa_only(result, 1)


def test_every_known_breakdown_is_read_and_31_day_rows_are_not_checked(tmp_path: Path) -> None:
    """Known values in any letter case are read; the 62-day view by modality is accepted and left out of OF0011; 31-day
    rows feed no metric, so their breakdowns are not checked."""
    rows = [
        *_quarter_rows(),
        _row(5, "RAA", **{"CANCER TYPE": "missing or invalid", "STAGE/ROUTE": "National Screening Programme"}),
        _62_day_row(5, "RAA", "Anti-cancer drug regimen", "ALL CANCERS", **{"STAGE/ROUTE": "Consultant Upgrade"}),
        _row(5, "RAA", "31-day Combined", **{"TREATMENT MODALITY": "ALL MODALITIES", "CANCER TYPE": "ALL CANCERS"}),
    ]
    result = cwt_crs.read([_book(tmp_path / "extract.xlsx", rows)])
    assert result.quarantine.is_empty()
    assert _value(result, "RAA", "OF0010") == pytest.approx(100 * 32 / 40)
    assert _value(result, "RAA", "OF0011") == pytest.approx(75.0)


# --- sheets -----------------------------------------------------------------------------------------------


def test_the_extract_is_read_from_the_sheet_holding_its_header(tmp_path: Path) -> None:
    """The extract's sheet is found by its header, not its place: a notes sheet before it is passed over."""
    path = _sheets(tmp_path / "extract.xlsx", [("Notes", None), ("CWT CRS Provider Extract", _quarter_rows())])
    result = cwt_crs.read([path])
    assert result.quarantine.is_empty()
    assert result.accounts[0].rows_read == 18
    assert _value(result, "RBB", "OF0010") == pytest.approx(80.0)
    assert result.values["source_row"].min() == 2


def test_two_sheets_holding_the_extract_are_refused_naming_both(tmp_path: Path) -> None:
    """Providers split over two sheets, or an old copy beside the new: reading one would lose or mix providers, and
    which is meant is not the reader's to guess, so the workbook is refused naming the sheets."""
    rows = _quarter_rows()
    raa, rbb = [r for r in rows if r[4] == "RAA"], [r for r in rows if r[4] == "RBB"]
    path = _sheets(tmp_path / "split.xlsx", [("Providers A-M", raa), ("Notes", None), ("Providers N-Z", rbb)])
    with pytest.raises(SourceFileError, match=r"sheets 'Providers A-M', 'Providers N-Z' each hold a CWT-CRS header"):
        cwt_crs.read([path])
    stale = _sheets(tmp_path / "stale.xlsx", [("draft", raa), ("CWT CRS Provider Extract", rows)], hidden=("draft",))
    with pytest.raises(SourceFileError, match=r"sheets 'draft' \(hidden\), 'CWT CRS Provider Extract' each hold"):
        cwt_crs.read([stale])


def test_a_hidden_extract_sheet_is_refused(tmp_path: Path) -> None:
    """What is read must be what a person opening the workbook sees: the extract on a hidden sheet is refused."""
    path = _sheets(
        tmp_path / "extract.xlsx",
        [("CWT CRS Provider Extract", _quarter_rows()), ("Notes", None)],
        hidden=("CWT CRS Provider Extract",),
    )
    with pytest.raises(
        SourceFileError, match=r"the CWT-CRS extract is on sheet 'CWT CRS Provider Extract', which is hidden"
    ):
        cwt_crs.read([path])


# --- real NHS England extract -----------------------------------------------------------------------------

REAL = "cwt-crs-provider-apr-jul2025/CWT-CRS-Apr-2025-to-Jul-2025-Data-Extract-Provider.xlsx"


@pytest.fixture(scope="module")
def real_result() -> AdapterResult:
    return cwt_crs.read([real_file(REAL)])


@pytest.mark.real_data
def test_real_extract_is_read_whole(real_result: AdapterResult) -> None:
    rows = pl.read_excel(real_file(REAL), engine="calamine").height
    account = real_result.accounts[0]
    assert (account.rows_read, account.rows_accepted, account.rows_quarantined) == (rows, rows, 0)
    assert set(real_result.values["quarter"]) == {"2025-26 Q1"}  # July alone is not a quarter


@pytest.mark.real_data
@pytest.mark.parametrize("metric", ["OF0010", "OF0011"])
def test_q1_matches_nhs_england_for_every_trust(real_result: AdapterResult, metric: str) -> None:
    published = (
        read_nof_csv(real_file(ACUTE_Q1))
        .rows.filter(pl.col("metric_id") == metric, pl.col("value").is_not_null())
        .select("org_code", pl.col("value").alias("published"))
    )
    ours = real_result.values.filter(pl.col("metric_id") == metric).select("org_code", "value")
    both = published.join(ours, on="org_code", how="left")
    assert published.height == 118 and both["value"].null_count() == 0
    # published to 2 dp: equal at that precision (so also within 0.05, i.e. equal to 1 dp)
    assert both.filter(pl.col("value").round(2) != pl.col("published")).is_empty()
