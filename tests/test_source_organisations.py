"""Organisation reference: ODS etr + NOF trust-type list, on the real files and on fixtures in their layouts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline.sources import organisations
from npaf_pipeline.sources.base import SourceFileError
from npaf_pipeline.sources.nof_csv import read_nof_csv
from tests.conftest import ACUTE_Q1, MHC_Q1, real_file

ETR = "ods-etr-nov2025/etr.csv"
TRUST_TYPES = "reference-derived/trust_reference_2025_26.csv"
TYPES_HEADER = "Trust_code,Trust_name,Region,Trust_type,Trust_subtype,ods_name,nhs_region_code,icb_code"


def etr_line(
    code: str,
    name: str,
    region: str = "Y56",
    icb: str = "QMJ",
    opened: str = "20200401",
    closed: str = "",
    n_fields: int = 27,
) -> str:
    """One etr row: 27 quoted fields, no header (code, name, region, ICB, address x5, postcode, dates, ...)."""
    fields = [code, name, region, icb, "1 HIGH STREET", "", "", "LONDON", "", "NW1 0PE", opened, closed]
    fields += [""] * (27 - len(fields))
    fields[21], fields[23] = "1", "H"
    return ",".join(f'"{f}"' for f in fields[:n_fields])


ETR_LINES = [
    etr_line("RAA", "ALPHA HOSPITALS NHS TRUST", "Y56", "QMJ", "20200401"),
    etr_line("RBB", "BETA HEALTH NHS FOUNDATION TRUST", "Y61", "QUE", "20060401"),
    etr_line("ROLD", "OLD COUNTY NHS TRUST", "Y61", "QUE", "19940401", "20180331"),
    etr_line("RQF", "VELINDRE NHS TRUST", "", "", "19940401"),  # Welsh: no English region or ICB
]
TYPES_LINES = [
    TYPES_HEADER,
    "RAA,Alpha Hospitals NHS Trust,London,Acute trust,Acute - Teaching,,,",
    'RBB,Beta Health NHS Foundation Trust,"=VLOOKUP($D1338,$GZ$8:$HA$14,2,0)",Ambulance trust,Ambulance,,,',
    "RCC,Gamma Community NHS Trust,East,Non-acute trust,Community,,,",
    "TAD,Care District NHS Foundation Trust,North East and Yorkshire,Mental health and community trust,Care Trust,,,",
]


def write(path: Path, lines: list[str], newline: str = "\r\n", encoding: str = "utf-8", end: bool = True) -> Path:
    path.write_bytes((newline.join(lines) + (newline if end else "")).encode(encoding))
    return path


def _accounts(result) -> list[tuple[str, int, int, int]]:
    return [(a.source, a.rows_read, a.rows_accepted, a.rows_quarantined) for a in result.accounts]


# --- real data --------------------------------------------------------------------------------------------


@pytest.mark.real_data
def test_every_nof_trust_resolves_to_ods_except_the_three_care_trusts(rs) -> None:
    nof = read_nof_csv([real_file(ACUTE_Q1), real_file(MHC_Q1)]).rows
    nof_types = dict(nof.select("org_code", "trust_type").unique().iter_rows())
    assert len(nof_types) == 195
    etr_codes = set(organisations.read_ods_etr(real_file(ETR))["org_code"])
    assert set(nof_types) - etr_codes == {"TAD", "TAH", "TAJ"}

    result = organisations.organisation_reference_result(real_file(ETR), real_file(TRUST_TYPES), rs)
    ref = result.frame
    scored = ref.filter(pl.col("org_code").is_in(list(nof_types)))
    assert scored.height == 195
    assert dict(scored.select("org_code", "org_type").iter_rows()) == {
        code: rs.org_type_key(label) for code, label in nof_types.items()
    }
    care = scored.filter(pl.col("org_code").is_in(["TAD", "TAH", "TAJ"]))
    assert care["open_date"].null_count() == care["icb_code"].null_count() == 3
    assert _accounts(result) == [("ods_etr", 273, 273, 0), ("trust_reference", 205, 205, 0)]


@pytest.mark.real_data
def test_closed_trusts_are_kept_with_their_close_date(rs) -> None:
    ref = organisations.organisation_reference(real_file(ETR), real_file(TRUST_TYPES), rs)
    assert ref.height == 276  # 273 etr rows + the three care trusts
    closed = ref.filter(pl.col("close_date").is_not_null())
    assert closed.height == 68
    nightingale = ref.filter(pl.col("org_code") == "R0C").row(0, named=True)
    assert (nightingale["open_date"], nightingale["close_date"]) == (date(2020, 3, 1), date(2020, 3, 26))
    assert nightingale["org_type"] is None  # never scored by NOF
    assert ref.schema == organisations.REFERENCE_SCHEMA


@pytest.mark.real_data
def test_region_formulas_in_the_real_trust_list_fall_back_to_the_ods_region(rs) -> None:
    ref = organisations.organisation_reference(real_file(ETR), real_file(TRUST_TYPES), rs)
    regions = dict(ref.filter(pl.col("org_type") == "ambulance").select("org_code", "region").iter_rows())
    assert regions["RRU"] == "London" and regions["RYC"] == "East"  # both "=VLOOKUP(...)" in the list
    assert not any(r.startswith("=") for r in ref["region"].drop_nulls())


# --- fixtures ---------------------------------------------------------------------------------------------


def test_reference_from_both_inputs(tmp_path: Path, rs) -> None:
    etr_lines = [
        *ETR_LINES,
        etr_line("RCC", "GAMMA COMMUNITY NHS TRUST", "Y61", "QUE"),
        etr_line("RDD", "DELTA NHS TRUST", "Y58", "QSL"),
    ]
    types_lines = [*TYPES_LINES, "RDD,Delta NHS Trust,=VLOOKUP($D9),Acute trust,Acute - Small,,,"]
    etr = write(tmp_path / "etr.csv", etr_lines)
    types = write(tmp_path / "types.csv", types_lines)
    ref = organisations.organisation_reference(etr, types, rs)
    rows = {r["org_code"]: r for r in ref.iter_rows(named=True)}
    assert sorted(rows) == ["RAA", "RBB", "RCC", "RDD", "ROLD", "RQF", "TAD"]
    assert rows["RAA"] == {
        "org_code": "RAA",
        "org_name": "Alpha Hospitals NHS Trust",
        "region": "London",
        "icb_code": "QMJ",
        "org_type": "acute",
        "org_subtype": "Acute - Teaching",
        "open_date": date(2020, 4, 1),
        "close_date": None,
    }
    assert rows["RBB"]["region"] == "East"  # formula -> ODS Y61, spelled as the list spells Y61 (RCC: "East")
    assert rows["RDD"]["region"] == "South West"  # formula -> ODS Y58, which the list never names
    assert rows["RCC"]["org_type"] == "mhc" and rows["RCC"]["icb_code"] == "QUE"  # alias "Non-acute trust"
    assert rows["ROLD"]["close_date"] == date(2018, 3, 31) and rows["ROLD"]["org_type"] is None
    assert rows["RQF"]["region"] is None
    assert rows["TAD"]["open_date"] is None and rows["TAD"]["org_type"] == "mhc"


# --- bad input ----------------------------------------------------------------------------------------------


def test_a_trust_list_in_the_etr_folder_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "etr.csv", TYPES_LINES)
    with pytest.raises(SourceFileError, match="rows have 8 fields where an ODS etr file has 27"):
        organisations.read_ods_etr(path)


def test_bad_dates_duplicates_codes_and_short_rows_in_etr(tmp_path: Path) -> None:
    lines = [
        *ETR_LINES,
        etr_line("RDD", "DELTA NHS TRUST", opened="20251340"),  # month 13
        etr_line("REE", "EPSILON NHS TRUST", opened="20200401", closed="20190101"),  # closes before it opens
        etr_line("RAA", "ALPHA AGAIN NHS TRUST"),  # duplicate code
        etr_line("rff", "LOWER CASE NHS TRUST"),
        etr_line("RGG", "SHORT ROW NHS TRUST", n_fields=26),
    ]
    result = organisations.ods_etr_result(write(tmp_path / "etr.csv", lines))
    q = result.quarantine.sort("source_row", "check")
    got = {(r, c, v) for r, c, v in q.select("source_row", "check", "value").iter_rows()}
    assert (5, "calendar_date", "20251340") in got
    assert (6, "closes_after_opening", "20190101") in got
    assert {r for r, c, _ in got if c == "multiple_fields_uniqueness"} == {1, 7}
    assert (8, "str_matches('^[A-Z0-9]{3,6}$')", "rff") in got
    assert (9, "field_count", "26 fields") in got
    assert sorted(result.frame["org_code"]) == ["RBB", "ROLD", "RQF"]
    assert _accounts(result) == [("ods_etr", 9, 3, 6)]


def test_unknown_trust_type_is_quarantined_not_guessed(tmp_path: Path, rs) -> None:
    lines = [*TYPES_LINES, "RZZ,Zeta Social Enterprise,London,Community interest company,Community,,,"]
    result = organisations.trust_types_result(write(tmp_path / "types.csv", lines), rs)
    assert result.quarantine.select("source_row", "column", "check", "value").rows() == [
        (6, "Trust_type", "known_trust_type", "Community interest company")
    ]
    assert "RZZ" not in set(result.frame["org_code"])
    assert _accounts(result) == [("trust_reference", 5, 4, 1)]


def test_missing_trust_type_column_is_named(tmp_path: Path, rs) -> None:
    lines = [TYPES_HEADER.replace("Trust_type", "Type"), *TYPES_LINES[1:]]
    with pytest.raises(SourceFileError, match=r"missing column\(s\) Trust_type \(found: Trust_code, Trust_name"):
        organisations.trust_types_result(write(tmp_path / "types.csv", lines), rs)


def test_title_line_bom_padding_and_dash_cells_in_the_trust_list(tmp_path: Path, rs) -> None:
    lines = [
        "NOF trust types 2025/26,,,,,,,",
        TYPES_HEADER.replace("Trust_type", " Trust_type "),
        "RAA , Alpha Hospitals NHS Trust ,London,Acute trust,-,,,",
        *TYPES_LINES[2:],
    ]
    path = tmp_path / "types.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    result = organisations.trust_types_result(path, rs)
    raa = result.frame.filter(pl.col("org_code") == "RAA").row(0, named=True)
    assert (raa["org_name"], raa["org_subtype"]) == ("Alpha Hospitals NHS Trust", None)
    assert _accounts(result) == [("trust_reference", 4, 4, 0)]


def test_cp1252_empty_and_truncated_files_are_refused(tmp_path: Path, rs) -> None:
    lines = [*TYPES_LINES, "RHH,St Mary’s NHS Trust,London,Acute trust,Acute - Small,,,"]
    with pytest.raises(SourceFileError, match=r"row 6: not UTF-8 text \(byte 0x92\)"):
        organisations.trust_types_result(write(tmp_path / "cp.csv", lines, encoding="cp1252"), rs)
    with pytest.raises(SourceFileError, match="the file is empty"):
        organisations.read_ods_etr(write(tmp_path / "empty.csv", [""], end=False))
    cut = write(tmp_path / "cut.csv", [*ETR_LINES[:-1], ETR_LINES[-1][:40]], end=False)
    with pytest.raises(SourceFileError, match="row 4: the file ends part-way through a row"):
        organisations.read_ods_etr(cut)
