"""The ICB list and the trust -> ICB map: the references every other ICB input is checked against and summed by.

A list that cannot be trusted is refused naming file, row and column; a trust's ICB is the one ODS gives it,
whatever the trust-type list says; providers whose figures reach no ICB are listed, never dropped unseen.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline import inputs
from npaf_pipeline.icb import aggregate_to_icb, read_icb_lookup
from npaf_pipeline.ruleset import load_ruleset
from npaf_pipeline.sources.base import SourceFileError

DRAFT = load_ruleset("npaf-2025-26-draft")
QUARTERS = ["2024-25 Q3", "2025-26 Q1"]
ICB_HEAD = "icb_code,icb_name,region,note\n"
ICB_ROWS = "QA1,NHS Alpha ICB,London,a\nQA2,NHS Beta ICB,North West,b\n"
TRUST_HEAD = "Trust_code,Trust_name,Region,Trust_type,Trust_subtype\n"


def _file(landing: Path, folder: str, body: str | bytes, name: str = "file.csv") -> Path:
    path = landing / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    return path


def _etr_line(code: str, icb: str, close: str = "") -> str:
    """One ODS etr row: 27 quoted fields, no header (code, name, region, ICB, ..., postcode, open, close)."""
    fields = [code, f"TRUST {code}", "Y56", icb, "", "", "", "", "", "ZZ1 1ZZ", "20000101", close] + [""] * 15
    return ",".join(f'"{f}"' for f in fields) + "\n"


# --- the ICB list ---------------------------------------------------------------------------------------------------


def test_a_well_formed_icb_list_reads_every_icb_with_its_region(tmp_path: Path) -> None:
    """Codes and names are read as written (trimmed), the region when the file has one, other columns ignored; an
    ICB given twice in identical rows is one ICB."""
    _file(tmp_path, "icb_reference", "\ufeff" + ICB_HEAD + ICB_ROWS + " QA1 , NHS Alpha ICB ,London,again\n")
    icbs = inputs.icb_organisations(tmp_path, ["2025-26 Q1"])
    assert icbs.select("org_code", "org_name", "org_type", "region").rows() == [
        ("QA1", "NHS Alpha ICB", "icb", "London"),
        ("QA2", "NHS Beta ICB", "icb", "North West"),
    ]
    no_region = _file(tmp_path, "other", "icb_ons_code,icb_code,icb_name\nE54000050,QHM,NHS North East ICB\n")
    assert read_icb_lookup(no_region).rows() == [("QHM", "NHS North East ICB", "icb")]


@pytest.mark.parametrize(
    ("body", "row", "column", "words"),
    [
        (ICB_HEAD + "qa1,NHS Alpha ICB,London,a\n", 2, "icb_code", "icb_code 'qa1' is not accepted"),
        (ICB_HEAD + "Q-A1,NHS Alpha ICB,London,a\n", 2, "icb_code", "icb_code 'Q-A1' is not accepted"),
        (ICB_HEAD + ICB_ROWS + "RXX,NHS Trust not an ICB,London,c\n", 4, "icb_code", "'RXX' is not accepted"),
        (ICB_HEAD + ICB_ROWS + ",NHS Gamma ICB,London,c\n", 4, "icb_code", "icb_code is blank"),
        (ICB_HEAD + ICB_ROWS + "QA3,,London,c\n", 4, "icb_name", "icb_name is blank"),
        (ICB_HEAD + ICB_ROWS + "QA3,NHS Gamma ICB\n", 4, None, "row has 2 fields, header has 4"),
        (ICB_HEAD, None, None, "a header but no data rows"),
        ("", None, None, "the file is empty"),
        ((ICB_HEAD + ICB_ROWS).encode().replace(b"Alpha", b"Alph\xe9"), 2, None, "not UTF-8"),
        ("icb_code,icb_name,icb_code\nQA1,NHS Alpha ICB,QA9\n", 1, None, "icb_code appear twice in the header"),
        ("code,name\nQA1,NHS Alpha ICB\n", 1, None, "missing column(s) icb_code, icb_name"),
    ],
    ids=[
        "lower-case code",
        "punctuated code",
        "trust code",
        "blank code",
        "blank name",
        "short row",
        "header only",
        "empty",
        "windows-1252",
        "code column twice",
        "no code column",
    ],
)
def test_an_icb_list_that_cannot_be_trusted_is_refused_naming_file_row_and_column(
    tmp_path: Path, body: str | bytes, row: int | None, column: str | None, words: str
) -> None:
    """The ICB list is the reference the other ICB inputs are checked against: a code not written as ODS writes
    an ICB's (Q and two capitals or digits), a blank code or name, a broken row, no rows, bytes that are not UTF-8
    or a repeated header refuse it; a mistyped code read as an ICB of its own would leave the real ICB unassessed
    with no one told."""
    path = _file(tmp_path, "icb_reference", body)
    with pytest.raises(SourceFileError) as err:
        inputs.icb_organisations(tmp_path, QUARTERS)
    assert (err.value.path, err.value.row, err.value.column) == (str(path), row, column)
    assert words in err.value.problem
    with pytest.raises(SourceFileError):
        read_icb_lookup(path)


def test_an_icb_list_in_parquet_is_checked_as_a_csv_is(tmp_path: Path) -> None:
    """The same rules whatever the format: a Parquet list with an ill-formed code or no rows is refused."""
    folder = tmp_path / "icb_reference"
    folder.mkdir()
    good = pl.DataFrame({"icb_code": ["QA1"], "icb_name": ["NHS Alpha ICB"]})
    good.write_parquet(folder / "icbs.parquet")
    assert inputs.icb_organisations(tmp_path, ["2025-26 Q1"]).select("org_code", "region").rows() == [("QA1", None)]
    good.with_columns(pl.lit("qa1").alias("icb_code")).write_parquet(folder / "icbs.parquet")
    with pytest.raises(SourceFileError, match=r"row 1, column icb_code: icb_code 'qa1' is not accepted"):
        inputs.icb_organisations(tmp_path, QUARTERS)
    good.clear().write_parquet(folder / "icbs.parquet")
    with pytest.raises(SourceFileError, match=r"icbs\.parquet: no data rows; expected an ICB list"):
        inputs.icb_organisations(tmp_path, QUARTERS)


@pytest.mark.parametrize("two_files", [False, True])
def test_one_icb_code_given_twice_with_another_name_or_region_is_refused_naming_both_rows(
    tmp_path: Path, two_files: bool
) -> None:
    """Which name and region is right is not ours to guess: both rows are named (in one file or two)."""
    again = "QA2,NHS Beta ICB,London,c\n"
    first = _file(tmp_path, "icb_reference", ICB_HEAD + ICB_ROWS + ("" if two_files else again), "a.csv")
    if two_files:
        second = _file(tmp_path, "icb_reference", ICB_HEAD + again, "b.csv")
    with pytest.raises(SourceFileError) as err:
        inputs.icb_organisations(tmp_path, QUARTERS)
    other = f"row 2 of {second}" if two_files else "row 4"
    assert str(err.value) == (
        f"{first}, row 3, column icb_code: ICB QA2 is given twice and the rows disagree: "
        f"row 3 ('NHS Beta ICB', region 'North West') and {other} ('NHS Beta ICB', region 'London'); "
        "keep the right one"
    )


def test_a_refused_icb_list_stops_the_organisation_reference(tmp_path: Path) -> None:
    """The pipeline's organisation reference reads the list the same way, so a bad list stops the run there."""
    path = _file(tmp_path, "icb_reference", ICB_HEAD + "qa1,NHS Alpha ICB,London,a\n")
    with pytest.raises(SourceFileError, match=r"row 2, column icb_code: icb_code 'qa1' is not accepted"):
        inputs.organisation_inputs(tmp_path, QUARTERS, DRAFT)
    with pytest.raises(SourceFileError) as err:
        inputs.known_organisation_codes(tmp_path)
    assert err.value.path == str(path)


# --- trust -> ICB ---------------------------------------------------------------------------------------------------


@pytest.fixture
def two_lists(tmp_path: Path) -> Path:
    """ODS places RA1, RA2 (missing from the trust-type list) in QA1, and RA3 (closed, untyped) and RA4 in QA2;
    the trust-type list scores RA1, RA4 and the care trust TAD, which ODS does not list."""
    etr = _etr_line("RA1", "QA1") + _etr_line("RA2", "QA1") + _etr_line("RA3", "QA2", "20241231")
    _file(tmp_path, "ods_etr", etr + _etr_line("RA4", "QA2"), "etr.csv")
    types = "RA1,Trust one,London,Acute trust,Acute - Large\nRA4,Trust four,London,Acute trust,Acute - Large\n"
    _file(tmp_path, "trust_reference", TRUST_HEAD + types + "TAD,Care trust,London,Acute trust,Acute - Small\n")
    _file(tmp_path, "icb_reference", ICB_HEAD + ICB_ROWS)
    return tmp_path


def test_a_trusts_icb_is_odss_whatever_the_trust_type_list_says(two_lists: Path) -> None:
    """Membership of an ICB is ODS's and the type for scoring is the trust-type list's: a trust in only the ODS
    list (missing from the type list, or closed) still counts in its ICB's sums, while only typed trusts are
    scored. Dropping it would change its ICB's value with no one told."""
    orgs, quarantine, _ = inputs.organisation_inputs(two_lists, QUARTERS, DRAFT)
    system, _ = inputs.system_inputs(two_lists, DRAFT, orgs, None)
    assert system.trust_icb.rows() == [("RA1", "QA1"), ("RA2", "QA1"), ("RA3", "QA2"), ("RA4", "QA2")]
    scored = orgs.filter((pl.col("org_type") != "icb") & (pl.col("quarter") == QUARTERS[0]))
    assert scored["org_code"].to_list() == ["RA1", "RA4", "TAD"]
    assert quarantine.height == 0

    rows = pl.DataFrame(
        {
            "month": ["2024-12"] * 5,
            "org_code": ["RA1", "RA2", "RA3", "RA4", "TAD"],
            "metric_id": ["OF0023"] * 5,
            "numerator": [10.0, 30.0, 5.0, 1.0, 7.0],
            "denominator": [20.0, 80.0, 10.0, 4.0, 9.0],
        }
    )
    result = aggregate_to_icb(rows, system.trust_icb)
    sums = result.values.select("icb_code", "providers", "numerator", "denominator", "value").rows()
    assert sums == [("QA1", "RA1,RA2", 40.0, 100.0, 40.0), ("QA2", "RA3,RA4", 6.0, 14.0, 100 * 6 / 14)]
    assert result.unmapped["org_code"].to_list() == ["TAD"]


def test_providers_with_figures_but_no_icb_are_summarised_per_period_and_metric() -> None:
    """Figures that reach no ICB are reported with the sums (which providers, how many, what they held), so a
    provider missing from the ODS list is seen rather than silently left out of its ICB."""
    rows = pl.DataFrame(
        {
            "month": ["2025-04", "2025-04", "2025-04", "2025-05"],
            "org_code": ["RA1", "TAD", "XX9", "TAD"],
            "metric_id": ["OF0011"] * 4,
            "numerator": [1.0, 2.0, 3.0, None],
            "denominator": [2.0, 4.0, 6.0, 5.0],
        }
    )
    result = aggregate_to_icb(rows, pl.DataFrame({"org_code": ["RA1"], "icb_code": ["QA1"]}))
    assert result.unmapped_summary().rows() == [
        ("2025-04", "OF0011", "TAD,XX9", 2, 5.0, 10.0),
        ("2025-05", "OF0011", "TAD", 1, 0.0, 0.0),
    ]
