"""NHS England's league-table CSV: both layouts, byte-order mark, ranges as text, quarantine and accounting."""

from __future__ import annotations

from pathlib import Path

import pytest

from npaf_pipeline.sources import nof_league_table
from npaf_pipeline.sources.base import SourceFileError

LATER = nof_league_table.COLUMNS
FIRST = ["Reporting_date", *LATER[1:]]
GOOD = [
    ["Q1 2025/26", "London", "Acute trust", "Acute - Specialist", "RP6", "Moorfields", "1.39", "1.2 to 1.89", "1.0",
     "No", "1.0", "1 to 11"],
    ["Q1 2025/26", "East of England", "Acute trust", "Acute - Small", "RCX", "King's Lynn", "3.35", "2.9 to 3.71",
     "4.0", "Yes", "134.0", "120 to 134"],
]  # fmt: skip


def _write(path: Path, header: list[str], rows: list[list[str]], bom: bool = False) -> Path:
    text = "\r\n".join(",".join(f'"{c}"' if "," in c else c for c in r) for r in [header, *rows]) + "\r\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


@pytest.mark.parametrize(("header", "bom"), [(LATER, False), (FIRST, True), (LATER, True)])
def test_both_layouts_with_or_without_a_bom_read_the_same(tmp_path: Path, header: list[str], bom: bool) -> None:
    path = _write(tmp_path / "league.csv", header, GOOD, bom)
    assert nof_league_table.is_league_table(path)
    got = nof_league_table.read([path])
    assert got.quarantine.is_empty()
    first = got.rows.filter(got.rows["org_code"] == "RP6").row(0, named=True)
    assert first["quarter"] == "2025-26 Q1"
    assert (first["average_score"], first["average_low"], first["average_high"]) == (1.39, 1.2, 1.89)
    assert (first["segment"], first["rank"], first["rank_low"], first["rank_high"]) == (1, 1, 1, 11)
    assert first["financial_deficit"] is False
    last = got.rows.filter(got.rows["org_code"] == "RCX").row(0, named=True)
    assert (last["segment"], last["financial_deficit"], last["rank_low"], last["rank_high"]) == (4, True, 120, 134)
    assert [(a.rows_read, a.rows_accepted, a.rows_quarantined) for a in got.accounts] == [(2, 2, 0)]


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        ("Likely_range_of_average_score", "1.2 - 1.89"),  # not 'a to b'
        ("Likely_range_of_average_score", "1.89 to 1.2"),  # ends reversed
        ("Likely_range_of_rank", "1 to 11.5"),  # a rank that is not whole
        ("Likely_range_of_rank", "0 to 11"),  # ranks start at 1
        ("Segment", "6.0"),
        ("Rank", "first"),
        ("Trust_in_financial_deficit", "maybe"),
        ("Quarter", "2025 Q1"),
        # digits other than 0-9 are no digits: quarantined like any other bad cell, never a bare conversion error
        ("Rank", "２.0"),
        ("Average_score", "３.35"),
        ("Average_score", "٣.35"),
        ("Segment", "４.0"),
        ("Likely_range_of_average_score", "２.9 to 3.71"),
        ("Likely_range_of_rank", "120 to １３４"),
        ("Quarter", "Q1 ２０２５/26"),
    ],
)
def test_a_malformed_cell_is_quarantined_with_file_row_column_and_rule(tmp_path: Path, column: str, cell: str) -> None:
    bad = list(GOOD[1])
    bad[LATER.index(column)] = cell
    path = _write(tmp_path / "league.csv", LATER, [GOOD[0], bad])
    got = nof_league_table.read([path])
    assert got.rows["org_code"].to_list() == ["RP6"]
    record = got.quarantine.row(0, named=True)
    assert (record["source_file"], record["source_row"], record["column"], record["value"]) == (
        str(path),
        3,
        column,
        cell,
    )
    assert record["reason"].startswith(f"{column} fails ")
    assert [(a.rows_read, a.rows_accepted, a.rows_quarantined) for a in got.accounts] == [(2, 1, 1)]


def test_the_first_release_quarter_column_is_named_as_in_its_file(tmp_path: Path) -> None:
    bad = list(GOOD[1])
    bad[0] = "sometime"
    got = nof_league_table.read([_write(tmp_path / "league.csv", FIRST, [GOOD[0], bad])])
    assert got.quarantine["column"].to_list() == ["Reporting_date"]


def test_a_trust_listed_twice_in_a_quarter_is_quarantined(tmp_path: Path) -> None:
    got = nof_league_table.read([_write(tmp_path / "league.csv", LATER, [GOOD[0], GOOD[0]])])
    assert got.rows.is_empty()
    assert set(got.quarantine["source_row"].to_list()) == {2, 3}


def test_a_row_with_the_wrong_number_of_fields_is_quarantined(tmp_path: Path) -> None:
    got = nof_league_table.read([_write(tmp_path / "league.csv", LATER, [GOOD[0], GOOD[1][:-2]])])
    assert got.rows["org_code"].to_list() == ["RP6"]
    assert got.quarantine.select("source_row", "check").rows() == [(3, "field_count")]


def test_a_file_that_is_not_a_league_table_is_refused_by_name(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "data.csv", ["Quarter", "Trust_code", "Metric_ID", "Value"], [["Q1 2025/26", "RP6", "OF0013", "1"]]
    )
    assert not nof_league_table.is_league_table(path)
    with pytest.raises(SourceFileError, match=r"data\.csv, row 1: not an NHS England NOF league table: missing column"):
        nof_league_table.read([path])
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\xef\xbb\xbf\r\n")
    with pytest.raises(SourceFileError, match="empty"):
        nof_league_table.read([empty])


@pytest.mark.parametrize(
    ("header", "named"), [([*LATER, "Average_score"], "Average_score"), ([*FIRST, " Rank"], "Rank")]
)
def test_a_header_naming_a_column_twice_is_refused(tmp_path: Path, header: list[str], named: str) -> None:
    """Which of two same-named columns holds the data cannot be told, so the file is refused naming the column."""
    path = _write(tmp_path / "league.csv", header, [[*GOOD[0], "3.35"]])
    with pytest.raises(SourceFileError) as info:
        nof_league_table.read([path])
    assert str(info.value) == f"{path}, row 1, column {named}: named more than once in the header"
