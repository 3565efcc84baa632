"""The NOF dashboard CSV reader: both published layouts, the engine-input helpers and every malformed-file error.

The small files are written as NHS England writes theirs: UTF-8 with a byte-order mark and CRLF line ends.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import polars as pl
import pytest
from conftest import ACUTE_Q1, MHC_Q1, real_file

from npaf_pipeline.ruleset import RuleSet
from npaf_pipeline.sources.nof_csv import NofFileError, flags, metric_values, organisations, read_nof_csv

SEPT_HEADER = [
    "Region",
    "Trust_type",
    "Trust_subtype",
    "Trust_code",
    "Trust_name",
    "Domain",
    "Sub-domain",
    "Metric_ID",
    "Metric_description",
    "Reporting_date",
    "Units",
    "Value",
    "Median_value",
    "Lower_quartile",
    "Upper_quartile",
    "Rank",
]
LATER_HEADER = ["Quarter", *SEPT_HEADER]
ACUTE = ("Acute trust", "Acute - Large")
MHC = ("Mental health and community trust", "Community")
OLD_MHC = ("Non-acute hospital trust", "Mental Health and Learning Disability")
AMBULANCE = ("Ambulance trust", "Ambulance")


def row(
    code: str,
    metric: str,
    value: str,
    *,
    units: str = "percent",
    date: str = "Jun-25",
    rank: str = "",
    trust: tuple[str, str] = ACUTE,
    quarter: str | None = None,
    name: str | None = None,
) -> list[str]:
    """One data row; with ``quarter`` it has the later layout's leading Quarter column."""
    summary = metric.startswith(("OF4", "OF5"))
    cells = [
        "London",
        trust[0],
        trust[1],
        code,
        name or f"Trust {code}",
        "Summary" if summary else "Access to services",
        "Summary" if summary else "Elective care",
        metric,
        f"Metric {metric}",
        date,
        units,
        value,
        "" if summary else "2.4",
        "" if summary else "1.33",
        "" if summary else "3.32",
        rank,
    ]
    return cells if quarter is None else [quarter, *cells]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    """Write rows with CRLF line ends (and a BOM for the default encoding), like the published files."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def summary_rows(code: str, date: str = "Q1 2025/26", trust: tuple[str, str] = ACUTE) -> list[list[str]]:
    """The summary rows a Sept 2025 file carries for one trust (the flag rows have no reporting date)."""
    return [
        row(code, "OF5002", "2.1", units="score", date=date, rank="3.0", trust=trust),
        row(code, "OF5000", "2.0", units="segment", date=date, rank="2.0", trust=trust),
        row(code, "OF5004", "0.0", units="flag", date="", trust=trust),
    ]


def read_error(paths: Path | list[Path], quarter: str | None = None) -> str:
    """The message of the NofFileError that reading ``paths`` must raise."""
    with pytest.raises(NofFileError) as info:
        read_nof_csv(paths, quarter=quarter)
    return str(info.value)


# --- the two layouts --------------------------------------------------------------------------------------


def test_sept_2025_layout_infers_the_quarter_from_the_summary_rows(tmp_path: Path) -> None:
    """16 columns, no Quarter: the quarter comes from the OF4xxx/OF5xxx reporting date; BOM and CRLF are read."""
    rows = [
        row("T001", "OF0003", "4.01", rank="113.0"),
        row("T001", "OF1003", "3.35", units="score"),
        row("T001", "OF4000", "2.68", units="score", date="Q1 2025/26", rank="89.0"),
        *summary_rows("T001"),
        row("T002", "OF0003", "", rank=""),
    ]
    path = write_csv(tmp_path / "acute.csv", SEPT_HEADER, rows)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfRegion,") and raw.count(b"\r\n") == len(rows) + 1
    release = read_nof_csv(path)
    got = release.rows.sort("line")
    assert release.quarters == ["2025-26 Q1"]
    assert got.height == len(rows)
    assert got["line"].to_list() == list(range(2, len(rows) + 2))
    assert set(got["source_file"]) == {str(path)}
    assert set(got["source_sha256"]) == {hashlib.sha256(raw).hexdigest()}
    first = got.row(0, named=True)
    assert (first["region"], first["trust_type"], first["org_code"], first["metric_id"]) == (
        "London",
        "Acute trust",
        "T001",
        "OF0003",
    )
    assert (first["unit"], first["value"], first["median"], first["lower_quartile"], first["rank"]) == (
        "percent",
        4.01,
        2.4,
        1.33,
        113.0,
    )
    blank = got.filter(pl.col("org_code") == "T002").row(0, named=True)
    assert blank["value"] is None and blank["rank"] is None


@pytest.mark.parametrize("spelling", ["Q2 2025/26", "2025-26 Q2", "2025-07"])
def test_sept_2025_layout_takes_an_explicit_quarter(tmp_path: Path, spelling: str) -> None:
    """Any accepted spelling of the quarter names a file without a Quarter column; no summary rows are needed."""
    path = write_csv(tmp_path / "acute.csv", SEPT_HEADER, [row("T001", "OF0003", "1.5")])
    assert read_nof_csv(path, quarter=spelling).quarters == ["2025-26 Q2"]


def test_later_layout_reads_several_quarters_and_normalises_percent(tmp_path: Path) -> None:
    """17 columns with a leading Quarter; every quarter to date in one file; ``%`` is read as ``percent``."""
    rows = [
        row("R1A", "OF0005", "9.03", units="%", rank="33.0", trust=MHC, quarter="Q1 2025/26"),
        row("R1A", "OF0082", "5.5", units="%", trust=MHC, quarter="Q1 2025/26"),
        row("R1A", "OF0005", "8.50", units="%", rank="30.0", trust=MHC, quarter="Q2 2025/26"),
        row("R1A", "OF0084", "6.9", units="out of 10", trust=MHC, quarter="Q2 2025/26"),
    ]
    path = write_csv(tmp_path / "mhc.csv", LATER_HEADER, rows)
    release = read_nof_csv(path)
    assert release.quarters == ["2025-26 Q1", "2025-26 Q2"]
    got = release.rows.sort("line").select("quarter", "metric_id", "unit", "value", "line")
    assert got.rows() == [
        ("2025-26 Q1", "OF0005", "percent", 9.03, 2),
        ("2025-26 Q1", "OF0082", "percent", 5.5, 3),
        ("2025-26 Q2", "OF0005", "percent", 8.5, 4),
        ("2025-26 Q2", "OF0084", "out of 10", 6.9, 5),
    ]


def test_later_layout_quarter_argument_keeps_that_quarter_only(tmp_path: Path) -> None:
    """``quarter`` selects one quarter of a multi-quarter file, and a quarter the file lacks is an error."""
    rows = [
        row("R1A", "OF0005", "9.03", units="%", trust=MHC, quarter="Q1 2025/26"),
        row("R1A", "OF0005", "8.50", units="%", trust=MHC, quarter="Q2 2025/26"),
    ]
    path = write_csv(tmp_path / "mhc.csv", LATER_HEADER, rows)
    picked = read_nof_csv(path, quarter="2025-26 Q2")
    assert picked.rows.select("quarter", "value").rows() == [("2025-26 Q2", 8.5)]
    assert read_error(path, quarter="Q3 2025/26") == f"{path}: no rows for quarter Q3 2025/26"


def test_files_of_both_layouts_read_together(tmp_path: Path) -> None:
    """An acute Sept 2025 file and a later MH&C file give one release for the same quarter."""
    acute = write_csv(tmp_path / "acute.csv", SEPT_HEADER, [row("T001", "OF0003", "1.5"), *summary_rows("T001")])
    mhc = write_csv(
        tmp_path / "mhc.csv", LATER_HEADER, [row("R1A", "OF0005", "2.0", units="%", trust=MHC, quarter="Q1 2025/26")]
    )
    release = read_nof_csv([acute, mhc])
    assert release.quarters == ["2025-26 Q1"]
    counts = dict(release.rows.group_by("source_file").len().rows())
    assert counts == {str(acute): 4, str(mhc): 1}


# --- engine inputs ----------------------------------------------------------------------------------------


def test_metric_values_keep_raw_rows_and_score_only_metrics(tmp_path: Path, rs: RuleSet) -> None:
    """OF0xxx rows with a value, plus OF1035/OF1046/OF1067/OF1069 as OF0035/OF0046/OF0067/OF0069 in unit ``score``.

    Other score rows, domain and summary rows, and blank values are not metric values.
    """
    rows = [
        row("T001", "OF0003", "4.01", rank="113.0"),
        row("T001", "OF0013", "", rank=""),
        row("T001", "OF1003", "3.35", units="score"),
        row("T001", "OF1035", "2.0", units="score", date="2024"),
        row("T001", "OF1046", "3.0", units="score"),
        row("T001", "OF1067", "2.0", units="score"),
        row("T001", "OF1069", "1.0", units="score"),
        row("T001", "OF4000", "2.68", units="score", date="Q1 2025/26", rank="89.0"),
        *summary_rows("T001"),
    ]
    path = write_csv(tmp_path / "acute.csv", SEPT_HEADER, rows)
    got = metric_values(read_nof_csv(path), rs).sort("metric_id")
    assert got.select("quarter", "org_code", "metric_id", "value", "unit", "tiebreak_rank", "line").rows() == [
        ("2025-26 Q1", "T001", "OF0003", 4.01, "percent", 113.0, 2),
        ("2025-26 Q1", "T001", "OF0035", 2.0, "score", None, 5),
        ("2025-26 Q1", "T001", "OF0046", 3.0, "score", None, 6),
        ("2025-26 Q1", "T001", "OF0067", 2.0, "score", None, 7),
        ("2025-26 Q1", "T001", "OF0069", 1.0, "score", None, 8),
    ]
    assert got.filter(pl.col("metric_id") == "OF0035")["period"].item() == "2024"


def test_organisations_map_trust_types_including_the_old_spelling(tmp_path: Path, rs: RuleSet) -> None:
    """Every published trust-type label, including Sept 2025's "Non-acute hospital trust", maps to a rule-set key."""
    acute = write_csv(
        tmp_path / "sept.csv",
        SEPT_HEADER,
        [
            row("T001", "OF0003", "1.5", trust=ACUTE),
            row("T002", "OF0061", "6.5", trust=OLD_MHC),
            row("T002", "OF0084", "6.6", trust=OLD_MHC),
            row("T003", "OF0061", "6.1", trust=AMBULANCE),
            *summary_rows("T001"),
        ],
    )
    later = write_csv(
        tmp_path / "later.csv",
        LATER_HEADER,
        [
            row("T002", "OF0061", "6.4", trust=MHC, quarter="Q2 2025/26"),
            row("T004", "OF0061", "6.3", trust=MHC, quarter="Q2 2025/26"),
        ],
    )
    got = organisations(read_nof_csv([acute, later]), rs)
    assert got.select("quarter", "org_code", "trust_type", "org_type", "org_subtype").rows() == [
        ("2025-26 Q1", "T001", "Acute trust", "acute", "Acute - Large"),
        ("2025-26 Q1", "T002", "Non-acute hospital trust", "mhc", "Mental Health and Learning Disability"),
        ("2025-26 Q1", "T003", "Ambulance trust", "ambulance", "Ambulance"),
        ("2025-26 Q2", "T002", "Mental health and community trust", "mhc", "Community"),
        ("2025-26 Q2", "T004", "Mental health and community trust", "mhc", "Community"),
    ]


def test_flags_read_override_and_intensive_support_and_are_null_when_absent(tmp_path: Path) -> None:
    """OF5004 is the financial override, OF5007 intensive support; a flag row that is not published is null."""
    q1, q2 = "Q1 2025/26", "Q2 2025/26"
    rows = [
        row("T001", "OF5004", "1.0", units="flag", date="", quarter=q1),
        row("T001", "OF5007", "0.0", units="flag", date="", quarter=q1),
        row("T002", "OF5004", "0.0", units="flag", date="", quarter=q1),
        row("T002", "OF5007", "1.0", units="flag", date="", quarter=q1),
        row("T003", "OF5004", "1.0", units="flag", date="", quarter=q1),
        # from Q3 2025/26 OF5007 is no longer published; here Q2 already lacks it
        row("T001", "OF5004", "0.0", units="flag", date="", quarter=q2),
        row("T002", "OF5007", "1.0", units="flag", date="", quarter=q2),
    ]
    got = flags(read_nof_csv(write_csv(tmp_path / "f.csv", LATER_HEADER, rows)))
    assert got.rows() == [
        ("2025-26 Q1", "T001", True, False),
        ("2025-26 Q1", "T002", False, True),
        ("2025-26 Q1", "T003", True, None),
        ("2025-26 Q2", "T001", False, None),
        ("2025-26 Q2", "T002", None, True),
    ]
    assert got.columns == ["quarter", "org_code", "financial_override", "intensive_support"]


# --- malformed files --------------------------------------------------------------------------------------


def test_missing_columns_are_named(tmp_path: Path) -> None:
    """A file lacking required columns is refused on line 1, naming the missing and the found columns."""
    header = [c for c in SEPT_HEADER if c not in ("Units", "Rank")]
    rows = [[c for c, h in zip(row("T001", "OF0003", "1.5"), SEPT_HEADER, strict=True) if h in header]]
    path = write_csv(tmp_path / "cols.csv", header, rows)
    assert read_error(path) == (
        f"{path}, line 1: not a NOF dashboard CSV: missing column(s) Units, Rank (found: {', '.join(header)})"
    )


def test_non_numeric_value_names_line_and_column(tmp_path: Path) -> None:
    """The line is the physical line in the file: blank lines count."""
    rows = [row("T001", "OF0003", "1.5"), [], row("T002", "OF0003", "n/a"), *summary_rows("T001")]
    path = write_csv(tmp_path / "value.csv", SEPT_HEADER, rows)
    assert read_error(path) == f"{path}, line 4, column Value: 'n/a' is not a number"


def test_non_numeric_rank_names_its_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "rank.csv", SEPT_HEADER, [row("T001", "OF0003", "1.5", rank="first")])
    assert read_error(path, quarter="2025-26 Q1") == f"{path}, line 2, column Rank: 'first' is not a number"


@pytest.mark.parametrize("cell", ["NaN", "inf"])
def test_nan_and_infinity_are_not_numbers(tmp_path: Path, cell: str) -> None:
    path = write_csv(tmp_path / "nan.csv", SEPT_HEADER, [row("T001", "OF0003", cell)])
    assert read_error(path, quarter="2025-26 Q1") == f"{path}, line 2, column Value: {cell!r} is not a number"


def test_truncated_row_names_the_line(tmp_path: Path) -> None:
    """A row with fewer fields than the header is refused, not padded."""
    rows = [row("T001", "OF0003", "1.5"), row("T002", "OF0003", "1.7")[:10], *summary_rows("T001")]
    path = write_csv(tmp_path / "short.csv", SEPT_HEADER, rows)
    assert read_error(path) == f"{path}, line 3: 10 fields where the header has 16 (truncated or shifted row)"


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n"], ids=["zero-bytes", "bom-only", "blank-lines"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    assert read_error(path) == f"{path}: the file is empty"


def test_header_without_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "header.csv", LATER_HEADER, [[], []])
    assert read_error(path) == f"{path}: a header but no data rows"


@pytest.mark.parametrize("metric", ["OF123", "XF0001", "of0003", ""])
def test_invalid_metric_id(tmp_path: Path, metric: str) -> None:
    rows = [row("T001", "OF0003", "1.5", quarter="Q1 2025/26"), row("T001", metric, "1.5", quarter="Q1 2025/26")]
    path = write_csv(tmp_path / "metric.csv", LATER_HEADER, rows)
    assert read_error(path) == (f"{path}, line 3, column Metric_ID: {metric!r} is not a NOF metric id (OFnnnn)")


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("Q5 2025/26", "'Q5 2025/26' is not a quarter"),
        ("", "'' is not a quarter"),
        ("Q1 2025/27", "financial year 2025/27 does not span consecutive years"),
    ],
)
def test_invalid_quarter(tmp_path: Path, cell: str, problem: str) -> None:
    rows = [row("T001", "OF0003", "1.5", quarter="Q1 2025/26"), row("T001", "OF0013", "75.0", quarter=cell)]
    path = write_csv(tmp_path / "quarter.csv", LATER_HEADER, rows)
    message = read_error(path)
    assert message.startswith(f"{path}, line 3, column Quarter: ")
    assert problem in message


def test_summary_rows_naming_two_quarters_ask_for_an_explicit_quarter(tmp_path: Path) -> None:
    rows = [row("T001", "OF0003", "1.5"), *summary_rows("T001"), *summary_rows("T002", date="Q2 2025/26")]
    path = write_csv(tmp_path / "two.csv", SEPT_HEADER, rows)
    assert read_error(path) == (
        f"{path}: no Quarter column and the summary rows name ['Q1 2025/26', 'Q2 2025/26']; "
        "give the quarter explicitly (e.g. --quarter '2025-26 Q1')"
    )
    assert read_nof_csv(path, quarter="Q2 2025/26").quarters == ["2025-26 Q2"]


def test_no_summary_rows_and_no_quarter_asks_for_an_explicit_quarter(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "none.csv", SEPT_HEADER, [row("T001", "OF0003", "1.5")])
    assert read_error(path) == (
        f"{path}: no Quarter column and the summary rows name no quarter; "
        "give the quarter explicitly (e.g. --quarter '2025-26 Q1')"
    )


@pytest.mark.parametrize(("char", "byte"), [("£", "0xa3"), ("é", "0xe9")])
def test_cp1252_bytes_are_rejected_with_their_line(tmp_path: Path, char: str, byte: str) -> None:
    rows = [
        row("T001", "OF0003", "1.5"),
        row("T002", "OF0003", "1.7", name=f"H{char}pital {char}5m"),
        *summary_rows("T001"),
    ]
    path = write_csv(tmp_path / "cp1252.csv", SEPT_HEADER, rows, encoding="cp1252")
    assert read_error(path) == f"{path}, line 3: not UTF-8 text (byte {byte}); NOF files are UTF-8"


def test_conflicting_values_in_two_files_name_both_files_and_lines(tmp_path: Path) -> None:
    """The same (quarter, trust, metric) with two different values in two files is an error naming both."""
    q1 = "Q1 2025/26"
    first = write_csv(
        tmp_path / "first.csv",
        LATER_HEADER,
        [row("T001", "OF0013", "75.0", quarter=q1), row("T001", "OF0003", "1.5", quarter=q1)],
    )
    second = write_csv(tmp_path / "second.csv", LATER_HEADER, [row("T001", "OF0003", "2.5", quarter=q1)])
    assert read_error([first, second]) == (
        "1 (quarter, trust, metric) published twice with different values, e.g. "
        f"2025-26 Q1 T001 OF0003: {first}, line 3; {second}, line 2"
    )


def test_identical_repeats_across_files_are_kept_once(tmp_path: Path) -> None:
    """Overlapping releases repeat rows; identical repeats are accepted and kept once."""
    q1, q2 = "Q1 2025/26", "Q2 2025/26"
    shared = row("T001", "OF0003", "1.5", rank="4.0", quarter=q1)
    first = write_csv(tmp_path / "q1.csv", LATER_HEADER, [shared, row("T002", "OF0003", "2.0", quarter=q1)])
    second = write_csv(tmp_path / "q1-q2.csv", LATER_HEADER, [shared, row("T001", "OF0003", "1.4", quarter=q2)])
    rows = read_nof_csv([first, second]).rows
    assert rows.select("quarter", "org_code", "value").sort("quarter", "org_code").rows() == [
        ("2025-26 Q1", "T001", 1.5),
        ("2025-26 Q1", "T002", 2.0),
        ("2025-26 Q2", "T001", 1.4),
    ]


def test_unreadable_and_missing_inputs(tmp_path: Path) -> None:
    assert read_error([]) == "no NOF CSV files given"
    missing = tmp_path / "absent.csv"
    assert read_error(missing) == f"{missing}: cannot read the file (No such file or directory)"


def test_unknown_trust_type_is_refused_for_organisations(tmp_path: Path, rs: RuleSet) -> None:
    path = write_csv(
        tmp_path / "type.csv",
        LATER_HEADER,
        [row("T001", "OF0003", "1.5", quarter="Q1 2025/26", trust=("Foundation trust", "Acute - Large"))],
    )
    with pytest.raises(NofFileError, match=re.escape("trust type(s) ['Foundation trust'] are not organisation types")):
        organisations(read_nof_csv(path), rs)


def test_unknown_trust_type_error_names_file_and_line(tmp_path: Path, rs: RuleSet) -> None:
    rows = [
        row("T001", "OF0003", "1.5", quarter="Q1 2025/26"),
        row("T002", "OF0003", "1.5", quarter="Q1 2025/26", trust=("Foundation trust", "Acute - Large")),
    ]
    path = write_csv(tmp_path / "type.csv", LATER_HEADER, rows)
    with pytest.raises(NofFileError) as info:
        organisations(read_nof_csv(path), rs)
    assert f"{path}, line 3" in str(info.value)


# --- real data ------------------------------------------------------------------------------------------


@pytest.mark.real_data
def test_real_q1_files(rs: RuleSet) -> None:
    """NHS England's Q1 2025/26 files: every row read, with its line and the file's SHA-256."""
    acute, mhc = real_file(ACUTE_Q1), real_file(MHC_Q1)
    release = read_nof_csv([acute, mhc])
    rows = release.rows
    assert release.quarters == ["2025-26 Q1"]
    counts = dict(rows.group_by("source_file").len().rows())
    assert counts == {str(acute): 7265, str(mhc): 2242}
    assert rows["org_code"].n_unique() == 195
    assert organisations(release, rs).height == 195
    assert rows["line"].null_count() == 0
    for path, n in ((acute, 7265), (mhc, 2242)):
        assert sorted(rows.filter(pl.col("source_file") == str(path))["line"]) == list(range(2, n + 2))
    shas = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in (acute, mhc)}
    assert dict(rows.select("source_file", "source_sha256").unique().rows()) == shas
    assert rows["source_sha256"].null_count() == 0
    # the MH&C file spells percent "%": read as "percent", like the acute file
    assert "percent" in set(rows.filter(pl.col("source_file") == str(mhc))["unit"])
    assert "%" not in set(rows["unit"])


# --- flags, trust classes, organisation codes, headers and digits ------------------------------------------


@pytest.mark.parametrize("metric", ["OF5004", "OF5007"])
@pytest.mark.parametrize("cell", ["2.0", "0.5", "-1", "10", "1.5", "0,0"])
def test_a_flag_other_than_0_or_1_is_refused_with_its_line(tmp_path: Path, metric: str, cell: str) -> None:
    """A financial-override or intensive-support flag is 0 or 1: anything else would be read as "not set"."""
    rows = [row("T001", "OF5004", "1.0", units="flag", date=""), row("T002", metric, cell, units="flag", date="")]
    path = write_csv(tmp_path / "flag.csv", SEPT_HEADER, rows)
    message = read_error(path, quarter="2025-26 Q1")
    assert message.startswith(f"{path}, line 3, column Value: {cell!r} is not ")


@pytest.mark.parametrize(("cell", "flag"), [("0", False), ("1", True), ("0.0", False), ("1.0", True), ("", None)])
def test_flags_are_read_as_written(tmp_path: Path, cell: str, flag: bool | None) -> None:
    """``0``, ``1``, ``0.0`` and ``1.0`` are the flag's spellings; a blank flag is not published."""
    rows = [row("T001", "OF5004", cell, units="flag", date=""), row("T001", "OF5007", cell, units="flag", date="")]
    got = flags(read_nof_csv(write_csv(tmp_path / "flag.csv", SEPT_HEADER, rows), quarter="2025-26 Q1"))
    assert got.rows() == [("2025-26 Q1", "T001", flag, flag)]


@pytest.mark.parametrize("column", ["trust type", "trust subtype"])
def test_a_trust_given_two_trust_classes_is_refused_naming_both(tmp_path: Path, column: str) -> None:
    """Type and subtype place a trust in its peer group: one stray row must not move it, so two in a quarter stop.

    The error names the trust, both labels and a file and line for each, across the files read together.
    """
    other = ("Mental health and community trust", "Acute - Large") if column == "trust type" else ("Acute trust", "X")
    q1 = "Q1 2025/26"
    first = write_csv(
        tmp_path / "first.csv",
        LATER_HEADER,
        [row("R0A", "OF0003", "1.5", quarter=q1), row("R0A", "OF0013", "70.0", quarter=q1)],
    )
    second = write_csv(
        tmp_path / "second.csv",
        LATER_HEADER,
        [row("R0B", "OF0003", "1.5", quarter=q1), row("R0A", "OF0061", "6.5", trust=other, quarter=q1)],
    )
    label = {"trust type": (ACUTE[0], other[0]), "trust subtype": (ACUTE[1], other[1])}[column]
    expected = (
        f"trust R0A has two {column}s in 2025-26 Q1: {label[0]!r} ({first}, line 2) and {label[1]!r} ({second}, line 3)"
    )
    assert read_error([first, second]) == expected
    assert read_error(write_csv(tmp_path / "one.csv", LATER_HEADER, [*_rows_of(first), *_rows_of(second)])).startswith(
        "trust R0A has two"
    )


def _rows_of(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))[1:]


def test_a_trust_may_change_type_label_between_quarters(tmp_path: Path, rs: RuleSet) -> None:
    """One label per trust and quarter: a later quarter may spell the type anew (Sept 2025's old MH&C label)."""
    rows = [
        row("T002", "OF0061", "6.5", trust=OLD_MHC, quarter="Q1 2025/26"),
        row("T002", "OF0061", "6.4", trust=MHC, quarter="Q2 2025/26"),
    ]
    got = organisations(read_nof_csv(write_csv(tmp_path / "q.csv", LATER_HEADER, rows)), rs)
    assert got.select("quarter", "org_type").rows() == [("2025-26 Q1", "mhc"), ("2025-26 Q2", "mhc")]


@pytest.mark.parametrize("code", ["r1f", "R1F.", "R-1F", "R1FXXXX"])
def test_an_ill_formed_code_makes_no_organisation_and_no_flag(tmp_path: Path, rs: RuleSet, code: str) -> None:
    """A code that is not an ODS code is nobody: no organisation, no flag (the landing source quarantines the row)."""
    q1 = "Q1 2025/26"
    rows = [
        row("R1F", "OF0003", "1.5", quarter=q1),
        row("R1F", "OF5007", "0.0", units="flag", date="", quarter=q1),
        row(code, "OF5004", "1.0", units="flag", date="", quarter=q1),
        row(code, "OF0013", "70.0", quarter=q1),
    ]
    release = read_nof_csv(write_csv(tmp_path / "code.csv", LATER_HEADER, rows))
    assert organisations(release, rs)["org_code"].to_list() == ["R1F"]
    assert flags(release).rows() == [("2025-26 Q1", "R1F", None, False)]


@pytest.mark.parametrize(("extra", "named"), [("Value", "Value"), (" Trust_code ", "Trust_code"), ("Rank", "Rank")])
def test_a_header_naming_a_column_twice_is_refused(tmp_path: Path, extra: str, named: str) -> None:
    """Which of two same-named columns holds the data cannot be told, so the file is refused naming the column."""
    rows = [[*row("T001", "OF0003", "1.5"), "999"]]
    path = write_csv(tmp_path / "twice.csv", [*SEPT_HEADER, extra], rows)
    assert (
        read_error(path, quarter="2025-26 Q1") == f"{path}, line 1, column {named}: named more than once in the header"
    )


def test_stray_unnamed_columns_are_not_a_repeated_header(tmp_path: Path) -> None:
    """Empty header cells (trailing commas) name no column, so two of them are not a column named twice."""
    path = write_csv(tmp_path / "stray.csv", [*SEPT_HEADER, "", ""], [[*row("T001", "OF0003", "1.5"), "", ""]])
    assert read_nof_csv(path, quarter="2025-26 Q1").rows["value"].to_list() == [1.5]


@pytest.mark.parametrize(
    ("column", "cell"),
    [("Metric_ID", "OF０００３"), ("Metric_ID", "OF٠٠٠٣"), ("Value", "１.5"), ("Rank", "１２")],
)
def test_digits_other_than_0_to_9_are_refused_with_line_and_column(tmp_path: Path, column: str, cell: str) -> None:
    """Only ASCII digits are digits: full-width or Arabic-Indic digits make no metric id and no number."""
    cells = row("T001", "OF0003", "1.5", rank="3.0")
    cells[SEPT_HEADER.index(column)] = cell
    path = write_csv(tmp_path / "digits.csv", SEPT_HEADER, [row("T001", "OF0013", "70.0"), cells])
    assert read_error(path, quarter="2025-26 Q1").startswith(f"{path}, line 3, column {column}: {cell!r} is not a ")


def test_a_quarter_in_other_digits_is_not_a_quarter(tmp_path: Path) -> None:
    """Summary rows dated in full-width digits name no quarter: the file asks for one rather than reading it."""
    path = write_csv(
        tmp_path / "q.csv", SEPT_HEADER, [row("T001", "OF0003", "1.5"), *summary_rows("T001", "Q1 ２０２５/２６")]
    )
    assert "summary rows name no quarter" in read_error(path)
