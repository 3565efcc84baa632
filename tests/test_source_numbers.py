"""Issue 11, points 3 and 10, across every source: one thousands-separator rule, and no non-finite or absurd number.

Each adapter is given the same cell in a count its values are built from (A&E attendances, CWT total treated, a CHS
waiting list, AmbSYS Category 2 incidents, an RTT band, a canonical value, a NOF dashboard value). A well-formed
thousands-grouped number reads exactly as the same number written plainly; a malformed grouping, a decimal comma,
infinity, NaN or an absurd magnitude is quarantined (the organisation's value withheld) or, for the NOF files whose
reader refuses a bad file whole, refused naming file, line and column.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline.ruleset import RuleSet
from npaf_pipeline.screening import OUT_OF_RANGE, screen_values
from npaf_pipeline.sources import ae_monthly as ae
from npaf_pipeline.sources import ambsys, canonical, chs_waiting_lists, cwt_crs, nof_dashboard, rtt_full
from npaf_pipeline.sources.base import AdapterResult, IncompleteQuarterError, SourceFileError
from schemas.rtt_full import BANDS, TOTALS
from tests import test_nof_csv_reader as nof_t
from tests import test_source_ae_monthly as ae_t
from tests import test_source_ambsys as amb_t
from tests import test_source_canonical as can_t
from tests import test_source_chs_waiting_lists as chs_t
from tests import test_source_cwt_crs as cwt_t
from tests import test_source_rtt_full as rtt_t

Q1 = ["2025-26 Q1"]


def _csv(cell: str) -> str:
    return f'"{cell}"' if "," in cell else cell


def _ae(tmp: Path, cell: str) -> AdapterResult:
    row = ae_t._row("MAY", "RAA", attendances_type1=_csv(cell))
    return ae.read(ae_t._quarter(tmp, {"MAY": [row, ae_t._row("MAY", "RBB")]}), Q1)


def _cwt(tmp: Path, cell: str) -> AdapterResult:
    rows = [
        r
        for m in (4, 5, 6)
        for org in ("RAA", "RBB")
        for r in [
            cwt_t._row(m, org, total=cell, within=8, BREACHES=None) if (m, org) == (5, "RAA") else cwt_t._row(m, org),
            *cwt_t._62_day(m, org),
        ]
    ]
    return cwt_crs.read([cwt_t._book(tmp / "extract.xlsx", rows)], Q1)


def _chs(tmp: Path, cell: str) -> AdapterResult:
    path = chs_t._workbook(tmp / "chs.xlsx", cells={("Table 4", "RAA", "(A) Audiology"): cell})
    return chs_waiting_lists.read([path], Q1)


def _ambsys(tmp: Path, cell: str) -> AdapterResult:
    rows = amb_t.ambsys_rows()
    rows[21 + 10][9] = cell  # R1F April 2025, A10 (Category 2 incidents)
    return ambsys.read([amb_t.write_ambsys(tmp / "ambsys.xlsx", rows)], Q1)


def _rtt(tmp: Path, cell: str) -> AdapterResult:
    rows = rtt_t.standard_rows()
    first = next(r for r in rows if r["Provider Org Code"] == "RAA" and r["RTT Part Type"] == "Part_2")
    if cell.replace(",", "") in ("1000", "2000"):
        # every count x 1000, grouped or plain as the cell is: the same file either way but for the separators
        grouped = "," in cell
        for r in rows:
            for c in (*BANDS, *TOTALS):
                if r[c]:
                    r[c] = f"{int(r[c]) * 1000:,}" if grouped else str(int(r[c]) * 1000)
    else:
        first[BANDS[0]] = cell
    return rtt_full.read([rtt_t.write_rtt(tmp / "rtt.csv", rows)], Q1)


def _canonical(tmp: Path, cell: str) -> AdapterResult:
    lines = [can_t.HEADER, f"2025-26 Q1,RAA,OF0020,2025-04..2025-06,{_csv(cell)},,,count"]
    lines.append("2025-26 Q1,RBB,OF0020,2025-04..2025-06,3,,,count")
    return canonical.read([can_t.write(tmp / "values.csv", lines)], Q1)


def _nof(tmp: Path, cell: str) -> AdapterResult:
    rows = [nof_t.row("RAA", "OF0020", cell, units="count"), *nof_t.summary_rows("RAA")]
    rows += [nof_t.row("RBB", "OF0020", "3", units="count"), *nof_t.summary_rows("RBB")]
    return nof_dashboard.read([nof_t.write_csv(tmp / "nof.csv", nof_t.SEPT_HEADER, rows)], Q1)


ADAPTERS: dict[str, tuple[Callable[[Path, str], AdapterResult], str, str, str]] = {
    # builder, the organisation whose value the cell feeds, its metric, a plain number the cell may hold
    "ae_monthly": (_ae, "RAA", "OF0013", "1000"),
    "cwt_crs": (_cwt, "RAA", "OF0010", "1000"),
    "chs_waiting_lists": (_chs, "RAA", "OF0005", "1000"),
    "ambsys": (_ambsys, "R1F", "OF0017", "1000"),
    "rtt_full": (_rtt, "RAA", "OF0023", "1000"),
    "canonical": (_canonical, "RAA", "OF0020", "1000"),
    "nof_dashboard": (_nof, "RAA", "OF0020", "1000"),
}


def _values(result: AdapterResult) -> list[tuple]:
    return sorted(result.values.select("quarter", "org_code", "metric_id", "value", "numerator", "denominator").rows())


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_thousands_grouped_number_reads_as_the_same_number_written_plainly(tmp_path: Path, adapter: str) -> None:
    build, org, metric, plain = ADAPTERS[adapter]
    grouped = f"{int(plain):,}"
    assert grouped != plain
    (tmp_path / "plain").mkdir()
    (tmp_path / "grouped").mkdir()
    want, got = build(tmp_path / "plain", plain), build(tmp_path / "grouped", grouped)
    assert want.quarantine.is_empty() and got.quarantine.is_empty(), got.quarantine
    assert _values(got) == _values(want)
    assert got.values.filter(pl.col("org_code") == org, pl.col("metric_id") == metric).height == 1


BAD_NUMBERS = {
    "malformed grouping": "1,00",
    "grouping in twos": "12,34,5",
    "decimal comma": "1,5",
    "four-digit group": "1,0000",
    "grouping with a leading comma": ",100",
    "overflow to infinity": "1e999",
    "inf": "inf",
    "negative infinity": "-inf",
    "nan": "nan",
    "absurd magnitude": "1e308",
    "a quadrillion and more": "12345678901234567",
    # digits of other scripts: a pattern's \d takes them for digits, the number conversion does not (or reads them
    # as a number nobody wrote in ASCII); a number is written in ASCII digits
    "full-width digits": "\uff11\uff10\uff10",
    "Arabic-Indic digits": "\u0661\u0660\u0660",
    "Devanagari digits": "\u0967\u0966\u0966",
}


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("kind", BAD_NUMBERS)
def test_a_malformed_non_finite_or_absurd_number_is_never_scored(
    tmp_path: Path, adapter: str, kind: str, rs: RuleSet
) -> None:
    build, org, metric, _ = ADAPTERS[adapter]
    cell = BAD_NUMBERS[kind]
    if adapter == "nof_dashboard" and kind in ("absurd magnitude", "a quadrillion and more"):
        # finite, so the NOF reader keeps it as published; the rule set's plausible range sets it aside after merging
        result = build(tmp_path, cell)
        orgs = pl.DataFrame({"quarter": Q1 * 2, "org_code": ["RAA", "RBB"], "org_type": ["acute", "acute"]})
        accepted, set_aside = screen_values(result.values, orgs, rs)
        assert accepted.filter(pl.col("org_code") == org, pl.col("metric_id") == metric).is_empty()
        assert set_aside.select("source_row", "metric_id", "check").rows() == [(2, metric, OUT_OF_RANGE)]
        return
    try:
        result = build(tmp_path, cell)
    except SourceFileError as exc:
        assert adapter == "nof_dashboard", exc  # a NOF file with a value that is not a number is refused whole
        assert "line 2, column Value" in str(exc) and repr(cell) in str(exc)
        return
    assert adapter != "nof_dashboard", "the NOF reader refuses a value that is not a finite number"
    assert result.values.filter(pl.col("org_code") == org, pl.col("metric_id") == metric).is_empty()
    assert result.quarantine.height >= 1
    assert set(result.quarantine["source_file"]) <= {str(p) for p in tmp_path.rglob("*") if p.is_file()}
    assert result.quarantine["column"].is_not_null().all() and result.quarantine["check"].is_not_null().all()
    for account in result.accounts:
        assert account.rows_read == account.rows_accepted + account.rows_quarantined


# --- a quarter with a month missing (issue 11.2) ----------------------------------------------------------------


def test_ae_for_a_quarter_with_two_of_its_three_months_stops_naming_the_missing_month(tmp_path: Path) -> None:
    files = ae_t._quarter(tmp_path)
    with pytest.raises(IncompleteQuarterError) as err:
        ae.read([files[0], files[2]], Q1)  # April and June: May missing
    assert str(err.value) == (
        f"{tmp_path}: the A&E monthly files for 2025-26 Q1 hold April 2025, June 2025 but not May 2025: land the "
        "missing month (a quarter's value needs all three) or leave the quarter out of the run"
    )
    assert ae.read([files[0], files[2]]).values.is_empty()  # not requested: only whole quarters are scored


def test_cwt_for_a_quarter_with_a_month_missing_stops(tmp_path: Path) -> None:
    rows = [r for m in (4, 5) for org in ("RAA", "RBB") for r in [cwt_t._row(m, org), *cwt_t._62_day(m, org)]]
    with pytest.raises(IncompleteQuarterError, match=r"for 2025-26 Q1 hold April 2025, May 2025 but not June 2025"):
        cwt_crs.read([cwt_t._book(tmp_path / "extract.xlsx", rows)], Q1)


def test_ambsys_for_a_quarter_past_the_end_of_the_series_stops(tmp_path: Path) -> None:
    path = amb_t.write_ambsys(tmp_path / "ambsys.xlsx", amb_t.ambsys_rows())  # November 2024 to August 2025
    with pytest.raises(IncompleteQuarterError, match=r"2025-26 Q2 hold July 2025, August 2025 but not September 2025"):
        ambsys.read([path], ["2025-26 Q2"])
    assert ambsys.read([path], Q1).values.height  # a whole quarter still reads
