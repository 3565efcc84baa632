"""Canonical formats: metric values, override flags and the intensive-support list, as CSV and Parquet."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline.engine.segment import cutpoints, segment
from npaf_pipeline.sources import canonical
from npaf_pipeline.sources.base import SourceFileError, sha256_file
from schemas.common import METRIC_ID, NUMBER

HEADER = "quarter,org_code,metric_id,period,value,numerator,denominator,unit"
VALUES = [
    HEADER,
    "2025-26 Q1,RAA,OF0061,2024 staff survey,6.52,,,out of 10",
    "Q1 2025/26,RBB,OF0082,2025-04..2025-06,4.8,480,10000,percent",
    "2025-26 Q2,RAA,OF0061,2024 staff survey,6.60,,,out of 10",
]
KEYS = ["quarter", "org_code", "metric_id", "period", "value", "numerator", "denominator", "unit"]


def write(path: Path, lines: list[str], newline: str = "\n", encoding: str = "utf-8", end: bool = True) -> Path:
    path.write_bytes((newline.join(lines) + (newline if end else "")).encode(encoding))
    return path


def _account(result) -> tuple[int, int, int]:
    [a] = result.accounts
    return a.rows_read, a.rows_accepted, a.rows_quarantined


def _failures(result) -> set[tuple]:
    return set(result.quarantine.select("source_row", "column", "check", "value").iter_rows())


# --- metric values ----------------------------------------------------------------------------------------


def test_metric_values_from_csv_with_lineage(tmp_path: Path) -> None:
    path = write(tmp_path / "values.csv", VALUES, newline="\r\n")
    result = canonical.read([path])
    got = result.values.sort("quarter", "org_code").select(*KEYS, "source", "source_sha256", "source_row").rows()
    sha = sha256_file(path)
    assert got == [
        ("2025-26 Q1", "RAA", "OF0061", "2024 staff survey", 6.52, None, None, "out of 10", "canonical", sha, 2),
        ("2025-26 Q1", "RBB", "OF0082", "2025-04..2025-06", 4.8, 480.0, 10000.0, "percent", "canonical", sha, 3),
        ("2025-26 Q2", "RAA", "OF0061", "2024 staff survey", 6.6, None, None, "out of 10", "canonical", sha, 4),
    ]
    assert _account(result) == (3, 3, 0)


def test_parquet_gives_the_same_values_as_csv(tmp_path: Path) -> None:
    csv_values = canonical.read([write(tmp_path / "values.csv", VALUES)]).values
    frame = pl.DataFrame(
        {
            "quarter": ["2025-26 Q1", "Q1 2025/26", "2025-26 Q2"],
            "org_code": ["RAA", "RBB", "RAA"],
            "metric_id": ["OF0061", "OF0082", "OF0061"],
            "period": ["2024 staff survey", "2025-04..2025-06", "2024 staff survey"],
            "value": [6.52, 4.8, 6.6],
            "numerator": [None, 480, None],
            "denominator": [None, 10000, None],
            "unit": ["out of 10", "percent", "out of 10"],
        }
    )
    frame.write_parquet(tmp_path / "values.parquet")
    parquet_values = canonical.read([tmp_path / "values.parquet"]).values
    assert parquet_values.select(KEYS).sort(KEYS).equals(csv_values.select(KEYS).sort(KEYS))
    assert parquet_values.sort("quarter", "org_code")["source_row"].to_list() == [1, 2, 3]  # records, no header


def test_quarter_filter_and_units_from_the_rule_set(tmp_path: Path, rs) -> None:
    lines = [
        "quarter,org_code,metric_id,period,value",  # no unit column at all
        "2025-26 Q1,RAA,OF0061,2024 staff survey,6.52",
        "2025-26 Q2,RAA,OF0061,2024 staff survey,6.60",
        "2025-26 Q1,RAA,OF9999,2024 staff survey,1",  # not in the rule set: no unit to give it
    ]
    units = {m.id: m.unit for m in rs.metrics}
    result = canonical.read([write(tmp_path / "values.csv", lines)], quarters=["2025-26 Q1"], units=units)
    assert result.values.select("quarter", "metric_id", "unit").rows() == [("2025-26 Q1", "OF0061", units["OF0061"])]
    assert _failures(result) == {(4, "unit", "not_nullable", None)}
    assert _account(result) == (3, 2, 1)


def test_bad_values_are_quarantined_row_by_row(tmp_path: Path) -> None:
    lines = [
        HEADER,
        "2025-26 Q1,RAA,OF0013,Jun-25,101.5,,,percent",  # over 100: a rule-set range, screened after merging
        "2025-26 Q1,RBB,OF0082,2025-04..2025-06,4.8,480,-10000,percent",  # negative denominator
        "2025-27 Q1,RCC,OF0061,2024 survey,6.1,,,out of 10",  # not a financial year
        "2025-26 Q1,r0a,OF0061,2024 survey,6.1,,,out of 10",  # ill-formed ODS code
        "2025-26 Q1,RDD,OF61,2024 survey,6.1,,,out of 10",  # ill-formed metric id
        "2025-26 Q1,REE,OF0061,2024 survey,n/a,,,out of 10",  # not a number
        "2025-26 Q1,RFF,OF0061,2024 survey,6.1,,,out of ten",  # unknown unit
        "2025-26 Q1,RGG,OF0061,2024 survey,-,,,out of 10",  # '-': not available, accepted
        "2025-26 Q1,RHH,OF0061,2024 survey,6.1,,,out of 10",
        "Q1 2025/26,RHH,OF0061,2024 survey,6.3,,,out of 10",  # the same key in another spelling
    ]
    result = canonical.read([write(tmp_path / "values.csv", lines)])
    failures = _failures(result)
    assert not [f for f in failures if f[0] == 2]
    assert (3, "denominator", "non_negative", "-10000") in failures
    assert (4, "quarter", "financial_year_of_consecutive_years", "2025-27 Q1") in failures
    assert (5, "org_code", "str_matches('^[A-Z0-9]{3,6}$')", "r0a") in failures
    assert (6, "metric_id", f"str_matches('{METRIC_ID}')", "OF61") in failures
    assert (7, "value", f"str_matches('{NUMBER}')", "n/a") in failures
    assert (
        8,
        "unit",
        "isin(('percent', 'count', 'rate', 'mins', 'days', 'out of 10', 'percentage points', 'score'))",
        "out of ten",
    ) in failures
    assert {r for r, _, c, _ in failures if c == "multiple_fields_uniqueness"} == {10, 11}
    assert result.values.select("org_code", "value").rows() == [("RAA", 101.5), ("RGG", None)]
    assert _account(result) == (10, 2, 8)


def test_a_proportion_whose_value_numerator_and_denominator_disagree_is_quarantined(tmp_path: Path) -> None:
    """For a metric whose value is 100 x numerator / denominator (a percentage in [0, 100] in the rule set), a zero
    denominator, a numerator above the denominator, or a value off the ratio by more than one unit in its last
    written decimal place is quarantined; rounding to the place written (nearest, up or down) is not."""
    lines = [
        HEADER,
        "2025-26 Q1,RAA,OF0082,2025-04..2025-06,4.8,20000,10000,percent",  # more than all of it
        "2025-26 Q1,RBB,OF0082,2025-04..2025-06,4.8,0,0,percent",  # a share of nothing
        "2025-26 Q1,RCC,OF0082,2025-04..2025-06,48,480,10000,percent",  # 4.8 % written as 48
        "2025-26 Q1,RDD,OF0013,2025-04..2025-06,0.7321,7321,10000,percent",  # a fraction, not a percentage
        "2025-26 Q1,REE,OF0013,2025-04..2025-06,73.25,7321,10000,percent",  # 2 dp: 0.04 off
        "2025-26 Q1,RFF,OF0013,2025-04..2025-06,73.3,7321,10000,percent",  # 73.21 rounded up to 1 dp
        "2025-26 Q1,RGG,OF0013,2025-04..2025-06,73.2,7321,10000,percent",  # rounded down
        "2025-26 Q1,RHH,OF0013,2025-04..2025-06,73,7321,10000,percent",  # to a whole number
        "2025-26 Q1,RJJ,OF0013,2025-04..2025-06,7.321e1,7321,10000,percent",
        "2025-26 Q1,RKK,OF0013,2025-04..2025-06,-,7321,10000,percent",  # value not given: the counts still checked
        "2025-26 Q1,RLL,OF0013,2025-04..2025-06,-,0,0,percent",
        "2025-26 Q1,RMM,OF0086,2025-04..2025-06,480,480,100,percent",  # a cost index, not a share
        "2025-26 Q1,RNN,OF0048,2025-04..2025-06,12.5,25,2,rate",  # a rate, not a share
        "2025-26 Q1,RPP,OF0013,2025-04..2025-06,20000,20000,10000,count",  # a row in another unit
    ]
    result = canonical.read([write(tmp_path / "values.csv", lines)])
    failures = _failures(result)
    assert {(r, c, k) for r, c, k, _ in failures} == {
        (2, "numerator", "within_denominator"),
        (2, "value", "agrees_with_numerator_and_denominator"),
        (3, "denominator", "denominator_above_zero"),
        (4, "value", "agrees_with_numerator_and_denominator"),
        (5, "value", "agrees_with_numerator_and_denominator"),
        (6, "value", "agrees_with_numerator_and_denominator"),
        (12, "denominator", "denominator_above_zero"),
    }
    assert (4, "value", "agrees_with_numerator_and_denominator", "48") in failures
    reasons = dict(result.quarantine.select("source_row", "reason").iter_rows())
    assert reasons[4] == "value 48 is not 100 x 480 / 10000 = 4.8 to the 0 decimal place(s) it is written to"
    assert sorted(result.values["org_code"]) == ["RFF", "RGG", "RHH", "RJJ", "RKK", "RMM", "RNN", "RPP"]
    assert _account(result) == (14, 8, 6)
    # the metrics checked are the reader's to be told: none here, so nothing is quarantined for it
    assert canonical.read([tmp_path / "values.csv"], proportions=()).quarantine.is_empty()


def test_proportions_are_the_rule_sets_percentages_bounded_by_0_and_100(rs) -> None:
    """A metric is checked against its numerator and denominator only where the rule set makes it a share."""
    shares = canonical.proportion_metrics(rs)
    assert {"OF0013", "OF0023", "OF0082", "OF0005"} <= shares
    assert not shares & {"OF0086", "OF0085", "OF0079", "OF0081", "OF0106", "OF0017", "OF0048", "OF0025"}
    assert shares <= canonical.shipped_proportions()
    assert not canonical.shipped_proportions() & {"OF0201", "OF0207", "OF0202"}


def test_unreadable_metric_value_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match=r"missing column\(s\) value"):
        canonical.read([write(tmp_path / "no_value.csv", [line.rsplit(",", 4)[0] for line in VALUES])])
    with pytest.raises(SourceFileError, match="the file is empty"):
        canonical.read([write(tmp_path / "empty.csv", [" "], end=False)])
    with pytest.raises(SourceFileError, match=r"row 2: not UTF-8 text \(byte 0xe9\)"):
        canonical.read(
            [write(tmp_path / "cp.csv", [HEADER, "2025-26 Q1,RAA,OF0061,été,6.5,,,out of 10"], encoding="cp1252")]
        )
    with pytest.raises(SourceFileError, match="row 4: the file ends part-way through a row"):
        canonical.read([write(tmp_path / "cut.csv", [*VALUES[:3], "2025-26 Q2,RAA,OF00"], end=False)])
    pl.DataFrame({"quarter": ["2025-26 Q1"] * 100, "value": list(range(100))}).write_parquet(tmp_path / "whole.parquet")
    whole = (tmp_path / "whole.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SourceFileError, match="not a readable Parquet file"):
        canonical.read([tmp_path / "cut.parquet"])
    (tmp_path / "values.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with pytest.raises(SourceFileError, match="an Excel workbook or zip archive"):
        canonical.read([tmp_path / "values.xlsx"])


def test_ragged_row_is_quarantined_and_counted(tmp_path: Path) -> None:
    lines = [*VALUES, "2025-26 Q3,RAA,OF0061,2024 staff survey,6.7,,,out of 10,extra"]
    result = canonical.read([write(tmp_path / "values.csv", lines)])
    assert _failures(result) == {(5, None, "field_count", "9 fields")}
    assert _account(result) == (4, 3, 1)


def test_two_files_with_the_same_value_are_refused(tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", VALUES)
    second = write(tmp_path / "b.csv", [HEADER, VALUES[1]])
    with pytest.raises(SourceFileError, match=r"metric value 2025-26 Q1 RAA OF0061 is also given by .*b\.csv"):
        canonical.read([first, second])


# --- override flags and the intensive-support list --------------------------------------------------------


def test_override_flag_spellings(tmp_path: Path) -> None:
    lines = [
        "quarter,org_code,financial_override",
        "2025-26 Q1,RAA,1",
        "2025-26 Q1,RBB,0",
        "2025-26 Q1,RCC,TRUE",
        "2025-26 Q1,RDD,false",
        "Q1 2025/26,REE,Yes",
        "2025-26 Q1,RFF,no",
        "2025-26 Q1,RGG,",  # not supplied
        "2025-26 Q1,RHH,maybe",
        "2025-26 Q1,RAA,0",  # RAA twice: which is right?
    ]
    result = canonical.read_override_flags([write(tmp_path / "flags.csv", lines)])
    assert dict(result.frame.select("org_code", "financial_override").iter_rows()) == {
        "RBB": False,
        "RCC": True,
        "RDD": False,
        "REE": True,
        "RFF": False,
        "RGG": None,
    }
    assert result.frame.schema == {"quarter": pl.String, "org_code": pl.String, "financial_override": pl.Boolean}
    failures = set(result.quarantine.select("source_row", "check").iter_rows())
    assert (9, "str_matches('(?i)^(1|0|1\\.0|0\\.0|true|false|yes|no)$')") in failures
    assert {(2, "multiple_fields_uniqueness"), (10, "multiple_fields_uniqueness")} <= failures
    [a] = result.accounts
    assert (a.rows_read, a.rows_accepted, a.rows_quarantined) == (9, 6, 3)


def test_intensive_support_as_a_plain_list_or_with_a_flag(tmp_path: Path) -> None:
    listed = canonical.read_intensive_support([write(tmp_path / "rsp.csv", ["quarter,org_code", "2025-26 Q1,RAA"])])
    assert listed.frame.rows() == [("2025-26 Q1", "RAA", True)]
    flagged = canonical.read_intensive_support(
        [write(tmp_path / "rsp2.csv", ["quarter,org_code,intensive_support", "2025-26 Q2,RAA,no", "2025-26 Q2,RBB,1"])]
    )
    assert flagged.frame.rows() == [("2025-26 Q2", "RAA", False), ("2025-26 Q2", "RBB", True)]
    with pytest.raises(SourceFileError, match=r"missing column\(s\) org_code"):
        canonical.read_intensive_support([write(tmp_path / "bad.csv", ["quarter,trust", "2025-26 Q1,RAA"])])


@pytest.mark.parametrize(
    "header", ["Intensive Support", "intensive-support", "in_intensive_support", "rsp", "intensive_support,Flag"]
)
@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_an_intensive_support_column_the_reader_does_not_know_refuses_the_file(
    tmp_path: Path, header: str, kind: str
) -> None:
    """Only a file whose columns are all known is read: a misspelled flag column would make the file a plain list,
    every row (those saying no too) in the programme. The error names the file, the column and the columns
    accepted."""
    names = ["quarter", "org_code", *header.split(",")]
    rows = [["2025-26 Q1", "RAA", *["no"] * (len(names) - 2)], ["2025-26 Q1", "RBB", *["yes"] * (len(names) - 2)]]
    if kind == "csv":
        path = write(tmp_path / "rsp.csv", [",".join(names), *(",".join(r) for r in rows)])
    else:
        path = tmp_path / "rsp.parquet"
        pl.DataFrame(rows, schema=names, orient="row").write_parquet(path)
    unknown = names[-1]
    with pytest.raises(SourceFileError) as err:
        canonical.read_intensive_support([path])
    text = str(err.value)
    assert text.startswith(f"{path}{', row 1' if kind == 'csv' else ''}, column {unknown}: ")
    assert f"{unknown!r}" in text and "accepts are quarter, org_code, intensive_support, note" in text


def test_an_intensive_support_file_with_only_known_columns_is_read(tmp_path: Path) -> None:
    """A note column and stray empty columns are not columns the reader has to know."""
    lines = ["quarter,org_code,intensive_support,note,", "2025-26 Q1,RAA,no,left in June,", "2025-26 Q1,RBB,yes,,"]
    result = canonical.read_intensive_support([write(tmp_path / "rsp.csv", lines)])
    assert result.frame.rows() == [("2025-26 Q1", "RAA", False), ("2025-26 Q1", "RBB", True)]
    listed = write(tmp_path / "list.csv", ["Quarter , ORG_CODE,Note", "2025-26 Q1,RAA,"])
    assert canonical.read_intensive_support([listed]).frame.rows() == [("2025-26 Q1", "RAA", True)]


def test_flags_frame_is_what_segmentation_reads(tmp_path: Path, rs) -> None:
    override = canonical.read_override_flags(
        [
            write(
                tmp_path / "flags.csv", ["quarter,org_code,financial_override", "2025-26 Q1,R01,yes", "2025-26 Q1,R02,"]
            )
        ]
    ).frame
    support = canonical.read_intensive_support(
        [write(tmp_path / "rsp.csv", ["quarter,org_code", "2025-26 Q1,R08"])]
    ).frame
    flags = canonical.segment_flags(override, support)
    assert flags.schema == {
        "quarter": pl.String,
        "org_code": pl.String,
        "financial_override": pl.Boolean,
        "intensive_support": pl.Boolean,
    }
    assert flags.rows() == [
        ("2025-26 Q1", "R01", True, False),
        ("2025-26 Q1", "R02", None, False),
        ("2025-26 Q1", "R08", None, True),
    ]

    scores = pl.DataFrame(
        {
            "quarter": ["2025-26 Q1"] * 8,
            "org_code": [f"R{i:02d}" for i in range(1, 9)],
            "org_type": ["acute"] * 8,
            "n_items": [10] * 8,
            "average_score_raw": [1.2, 1.5, 1.9, 2.2, 2.5, 2.9, 3.3, 3.6],
        }
    ).with_columns(pl.col("average_score_raw").alias("average_score"))
    seg = segment(scores, cutpoints(scores, None, rs), rs, flags=flags)
    final = dict(seg.select("org_code", "final_segment").iter_rows())
    unadjusted = dict(seg.select("org_code", "unadjusted_segment").iter_rows())
    assert unadjusted["R01"] == 1 and final["R01"] == 3  # override caps segment 1 at 3
    assert unadjusted["R08"] == 4 and final["R08"] == 5  # intensive support
    assert final["R02"] == unadjusted["R02"]  # no flag supplied: nothing applied
