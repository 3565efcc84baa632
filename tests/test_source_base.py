"""The shared adapter machinery: validation into quarantine, and the rows-read invariant."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pandera.polars as pa
import polars as pl
import pytest
import xlsxwriter

from npaf_pipeline.sources import ae_monthly, base, rtt_full
from npaf_pipeline.sources.base import AccountingError, FileAccount, SourceFileError, combine, finish, finish_by_file
from npaf_pipeline.sources.raw import (
    WHITESPACE,
    open_workbook,
    published_names,
    read_sheet,
    sheet_rows,
    sheets_rows,
)
from schemas.ae_monthly import AeMonthlyRow
from schemas.canonical import MetricValues, empty_quarantine
from schemas.chs_waiting_lists import ChsOrganisation, ChsServiceWaits
from schemas.rtt_full import RttFullRaw

SHA = "0" * 64


def _values(**overrides: list) -> pl.DataFrame:
    base = {
        "quarter": ["2025-26 Q1", "2025-26 Q1", "2025-26 Q1"],
        "org_code": ["RAA", "bad code", "RCC"],
        "metric_id": ["OF0013", "OF0013", "OF0013"],
        "period": ["2025-04..2025-06"] * 3,
        "value": [80.0, 70.0, 60.0],
        "numerator": [80.0, 70.0, 60.0],
        "denominator": [100.0, 100.0, -5.0],
        "unit": ["percent"] * 3,
        "source": ["ae_monthly"] * 3,
        "source_file": ["f.csv"] * 3,
        "source_sha256": [SHA] * 3,
        "source_row": [2, 3, 4],
    }
    base.update(overrides)
    return pl.DataFrame(base)


def test_bad_rows_are_quarantined_with_row_column_and_rule() -> None:
    result = finish("ae_monthly", "f.csv", SHA, rows_read=3, values=_values())
    assert result.values["org_code"].to_list() == ["RAA"]
    q = result.quarantine.sort("source_row")
    assert q["source_row"].to_list() == [3, 4]
    assert q["column"].to_list() == ["org_code", "denominator"]
    assert "str_matches" in q["check"][0] and "greater_than_or_equal_to" in q["check"][1]
    assert q["value"].to_list() == ["bad code", "-5.0"]
    account = result.accounts[0]
    assert (account.rows_read, account.rows_accepted, account.rows_quarantined) == (3, 1, 2)


def test_duplicate_keys_quarantine_every_copy() -> None:
    values = _values(org_code=["RAA", "RAA", "RCC"], denominator=[100.0, 100.0, 100.0])
    result = finish("ae_monthly", "f.csv", SHA, rows_read=3, values=values)
    assert result.values["org_code"].to_list() == ["RCC"]
    assert set(result.quarantine["source_row"].to_list()) == {2, 3}


def test_rows_lost_between_read_and_output_fail_the_accounting() -> None:
    with pytest.raises(AccountingError, match="4 rows read but 1 accepted"):
        finish("ae_monthly", "f.csv", SHA, rows_read=4, values=_values())
    FileAccount("s", "p", SHA, 2, 1, 1).check()


def test_source_file_error_names_file_row_and_column() -> None:
    err = SourceFileError("landing/ae/x.csv", "not a number", row=7, column="Value")
    assert str(err) == "landing/ae/x.csv, row 7, column Value: not a number"


# --- screening: validate_rows gives what pandera alone gives ------------------------------------------------

TEXT_POOL = [None, "", "-", "abc", "-5", "+5", "1.5", "05", "1,234", " 5", "0", "7", "RAA", "r-x 1", "Part_9",
             "Part_2", "Part_2A", "C_999", "X02", "RTT-May-2025", "MSitAE-MAY-2025", "National", "Provider", "ICB",
             "2025-26 Q1", "OF0013", "0" * 64, "12a", "9" * 20, "Incomplete Pathways with DTA"]  # fmt: skip
INT_POOL = [None, -1, 0, 5, 250, 10**12]
FLOAT_POOL = [None, -5.0, 0.0, 1.5, float("nan"), float("inf"), 150.0]


def _mutants(frame: pl.DataFrame, seed: int, trials: int, keep: tuple[str, ...] = ()) -> list[pl.DataFrame]:
    """Copies of ``frame`` with a few cells changed (values that break or nearly break checks) or rows repeated."""
    rng = random.Random(seed)
    out = []
    columns = [c for c in frame.columns if c not in keep]
    for _ in range(trials):
        data = frame.to_dict(as_series=False)
        for _ in range(rng.randint(1, 4)):
            column, row = rng.choice(columns), rng.randrange(frame.height)
            dtype = frame.schema[column]
            pool = INT_POOL if dtype.is_integer() else FLOAT_POOL if dtype.is_float() else TEXT_POOL
            data[column][row] = rng.choice([*pool, data[column][rng.randrange(frame.height)]])
        mutant = pl.DataFrame(data, schema=frame.schema)
        if rng.random() < 0.3:
            mutant = pl.concat([mutant, mutant[rng.randrange(frame.height)]])
        out.append(mutant)
    return out


def _outcome(call):
    try:
        return call()
    except SourceFileError as exc:
        return str(exc)


def _assert_same_as_pandera(frame: pl.DataFrame, model, **kw) -> None:
    where = {"source": "s", "path": "f.csv", "sha256": SHA, **kw}

    def pandera_alone():
        bad, records = base._pandera_records(
            frame, model, where["source"], where["path"], where["sha256"], kw.get("row_column", "source_row"),
            kw.get("column_names"),
        )  # fmt: skip
        accepted = frame.with_row_index("_i").filter(~pl.col("_i").is_in(bad.implode())).drop("_i")
        return accepted, records

    expected = _outcome(pandera_alone)
    got = _outcome(lambda: base.validate_rows(frame, model, **where))
    if isinstance(expected, str) or isinstance(got, str):
        assert got == expected
        return
    assert got[0].equals(expected[0]), "accepted rows differ"
    assert got[1].equals(expected[1]), f"quarantine differs:\n{got[1]}\n{expected[1]}"


def test_screened_validation_gives_what_pandera_gives_on_metric_values() -> None:
    frame = _canonical_values()
    assert base.screen_rows(frame, MetricValues) is not None  # the quick path is really taken
    for mutant in _mutants(frame, seed=1, trials=40, keep=("published_rank",)):
        _assert_same_as_pandera(mutant, MetricValues)


def test_screened_validation_gives_what_pandera_gives_on_rtt_rows(tmp_path) -> None:
    from tests.test_source_rtt_full import write_rtt

    frame = rtt_full._read_csv(write_rtt(tmp_path / "rtt.csv"))
    assert base.screen_rows(frame, RttFullRaw) is not None
    for mutant in _mutants(frame, seed=2, trials=12, keep=("source_row",)):
        _assert_same_as_pandera(mutant, RttFullRaw)


@pytest.mark.parametrize("by_range", [False, True], ids=["distinct values", "whole-number range"])
def test_stacking_the_alike_band_columns_screens_every_row_as_the_whole_model_does(
    tmp_path, monkeypatch, by_range
) -> None:
    from tests.test_source_rtt_full import write_rtt

    # the counts read as integers are screened by their range (every whole number between the least and the
    # greatest) when it is narrow enough, else by their distinct values: both must find what pandera finds
    monkeypatch.setattr(base, "RANGE_PER_CELL", 0 if by_range else base.RANGE_MOST + 1)

    frame = rtt_full._read_csv(write_rtt(tmp_path / "rtt.csv"))
    typed = frame.with_columns(pl.col(c).cast(pl.Int64, strict=False) for c in rtt_full.COUNTS)
    mixed = frame.with_columns(pl.col(c).cast(pl.Int64, strict=False) for c in rtt_full.COUNTS[::2])  # text and ints
    held, _ = base._values_held(typed, tuple(rtt_full.COUNTS))
    assert (len(held) == 1) == by_range  # one range for every column, or each column's distinct values
    mutants = [
        *_mutants(frame, seed=6, trials=14, keep=("source_row",)),
        *_mutants(typed, seed=7, trials=10),
        *_mutants(mixed, seed=8, trials=8),
    ]
    damaged = [*_damaged_totals(frame), *_damaged_totals(typed)]
    for mutant in damaged:  # each really fails, on its total's row only
        parsed = [c for c in rtt_full.COUNTS if mutant.schema[c].is_integer()]
        assert base.failing(base.screen_rows(mutant, RttFullRaw, parsed=parsed, uniform=rtt_full.COUNTS)).sum() == 1
    mutants += damaged
    stacked_something = 0
    for mutant in [frame, typed, mixed, *mutants]:
        parsed = [c for c in rtt_full.COUNTS if mutant.schema[c].is_integer()]
        whole = base.screen_rows(mutant, RttFullRaw, parsed=parsed)
        # the bands alone, and the totals with them (the bands' checks, plus their own kept in the rest)
        for uniform in (rtt_full.BANDS, rtt_full.COUNTS):
            stacked = base.screen_rows(mutant, RttFullRaw, parsed=parsed, uniform=uniform)
            assert (whole is None) == (stacked is None)
            if whole is not None and stacked is not None:
                assert stacked.equals(whole)
                stacked_something += int(base.failing(whole).any())
    assert stacked_something >= 10  # rows failing on band cells and on other columns, not only clean frames


def _damaged_totals(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """The totals broken in each way their checks catch: a blank Total All, totals that do not add up, a negative."""
    typed = frame.schema["Total"].is_integer()

    def cell(value: int | None) -> int | str | None:
        return value if typed or value is None else str(value)

    def at(row: int, column: str, value: int | None) -> pl.DataFrame:
        return frame.with_columns(
            pl.when(pl.int_range(pl.len()) == row).then(pl.lit(cell(value))).otherwise(pl.col(column)).alias(column)
        )

    total = int(frame["Total All"][1])
    return [
        at(0, "Total All", None),
        at(1, "Total All", total + 1),
        at(1, "Total", total + 1),
        at(2, "Patients with unknown clock start date", -1),
        at(2, "Total", 10**16),
    ]


def test_a_column_not_declared_like_the_first_is_not_stacked() -> None:
    # Total All refuses a blank that the bands allow: stacked first, its declaration would be the bands' stricter
    with pytest.raises(ValueError, match="not declared like"):
        base._split_schema(RttFullRaw, ("Total All", *rtt_full.BANDS), pl.Int64)
    with pytest.raises(ValueError, match="not declared like"):  # a text column shares none of the counts' checks
        base._split_schema(RttFullRaw, (*rtt_full.BANDS, "Period"), pl.Int64)
    rest, _ = base._split_schema(RttFullRaw, tuple(rtt_full.COUNTS), pl.Int64)
    kept = {c: [check.name for check in rest.columns[c].checks] for c in rtt_full.COUNTS if c in rest.columns}
    # a column left nothing of its own to check (the bands, the unknown clock starts) is the stacked cells' alone
    assert kept == {"Total": ["total_is_sum_of_bands"], "Total All": ["total_all_is_bands_plus_unknown_start"]}
    assert not rest.columns["Total All"].nullable and rest.columns["Total"].nullable


def test_screened_validation_gives_what_pandera_gives_on_ae_rows(tmp_path) -> None:
    from tests.test_source_ae_monthly import _row, _write

    rows = [_row("APRIL", org) for org in ("RAA", "RBB", "RCC", "RDD")]
    parsed = ae_monthly._parse(_write(tmp_path / "a.csv", rows))
    frame = ae_monthly._frame([parsed]).drop(ae_monthly.FILE)
    assert base.screen_rows(frame, AeMonthlyRow) is not None
    names = published_names(parsed.header, parsed.keep)
    for mutant in _mutants(frame, seed=3, trials=30, keep=("source_row",)):
        _assert_same_as_pandera(mutant, AeMonthlyRow, column_names=names)


def test_screened_validation_gives_what_pandera_gives_on_chs_rows() -> None:
    orgs = pl.DataFrame(
        {
            "source_row": [6, 7, 8, 9, 10],
            "org_type": ["National", "Region", "ICB", "Provider", "Provider"],
            "org_code": [None, "Y56", "QMJ", "RAA", "RBB"],
            "org_name": ["England", "LONDON", "NCL", "A", "B"],
        }
    )
    counts = {
        "total": ["300", "50", None, "1,200"],
        "over_52_104": ["14", "5", None, "3"],
        "over_104": ["1", None, None, "0"],
    }
    waits = pl.DataFrame(
        {
            "cell": [0, 1, 2, 3],
            "source_row": [6, 6, 7, 7],
            "org_type": ["National", "National", "Region", "Region"],
            "service": ["(A) Audiology", "(CYP) Audiology"] * 2,
        }
    ).with_columns(
        *[pl.Series(c + "_text", v, pl.String) for c, v in counts.items()],
        *[pl.Series(c, v, pl.String).str.replace_all(",", "").cast(pl.Int64) for c, v in counts.items()],
    )
    waits = waits.with_columns(
        pl.when(pl.col("over_52_104").is_null() & pl.col("over_104").is_null())
        .then(None)
        .otherwise(pl.sum_horizontal("over_52_104", "over_104"))
        .alias("over_52_weeks")
    )
    assert base.screen_rows(orgs, ChsOrganisation) is not None
    assert base.screen_rows(waits, ChsServiceWaits) is not None
    for mutant in _mutants(orgs, seed=4, trials=30, keep=("source_row",)):
        _assert_same_as_pandera(mutant, ChsOrganisation)
    for mutant in _mutants(waits, seed=5, trials=30, keep=("cell", "source_row")):
        _assert_same_as_pandera(mutant, ChsServiceWaits, row_column="cell")


def test_a_frame_that_cannot_be_screened_is_validated_by_pandera() -> None:
    class Counts(pa.DataFrameModel):
        n: int = pa.Field(ge=0)

    frame = pl.DataFrame({"n": ["1", "2"], "source_row": [2, 3]})  # text where numbers belong: no row to blame
    assert base.screen_rows(frame, Counts) is None
    _assert_same_as_pandera(frame, Counts)


def test_the_screen_answers_for_each_row_what_pandera_finds() -> None:
    # a quarter that is none, and the third row repeating the first's key
    frame = _canonical_values().with_columns(pl.Series("quarter", ["2025-26 Q1", "Q5", "2025-26 Q1"]))
    frame = frame.with_columns(pl.Series("org_code", ["RAA", "RBB", "RAA"]))
    pandera_bad = base._pandera_records(frame, MetricValues, "s", "f.csv", SHA, "source_row", None)[0]
    screen = base.screen_rows(frame, MetricValues)
    assert screen is not None
    assert base.failing(screen).arg_true().to_list() == sorted(pandera_bad.to_list()) == [0, 1, 2]


def test_finishing_files_together_gives_what_finishing_each_gives() -> None:
    values = pl.concat(
        [
            _values(org_code=["RAA", "RBB", "RCC"], denominator=[100.0] * 3, source_file=["a.csv"] * 3),
            _values(org_code=["RDD", "REE", "RFF"], denominator=[100.0] * 3, source_file=["b.csv"] * 3),
        ]
    )
    files = [(Path("b.csv"), SHA, 4, empty_quarantine(), 4), (Path("a.csv"), SHA, 3, empty_quarantine(), 3)]
    together = finish_by_file("s", values, files)
    own = [(p, n, values.filter(pl.col("source_file") == str(p)), q, k) for p, _, n, q, k in files]
    one_by_one = combine([finish("s", p, SHA, n, v, q, rows_accepted=k) for p, n, v, q, k in own], "s")
    assert together.values.equals(one_by_one.values) and together.quarantine.equals(one_by_one.quarantine)
    assert together.accounts == one_by_one.accounts
    # a bad value anywhere: file by file, as before
    bad = values.with_columns(
        pl.when(pl.col("org_code") == "REE").then(-1.0).otherwise("denominator").alias("denominator")
    )
    files = [(Path("a.csv"), SHA, 3, empty_quarantine(), 3), (Path("b.csv"), SHA, 3, empty_quarantine(), 2)]
    result = finish_by_file("s", bad, files)
    assert result.quarantine["source_row"].to_list() == [3] and result.values.height == 5


def test_trimming_in_polars_is_trimming_in_python() -> None:
    python = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert python == WHITESPACE


def test_a_sheet_read_from_an_open_workbook_is_the_sheet_read_from_the_file(tmp_path) -> None:
    path = tmp_path / "book.xlsx"
    with xlsxwriter.Workbook(path) as book:
        book.add_worksheet("Empty")
        sparse = book.add_worksheet("Sparse")
        sparse.write(3, 2, "x")
        sparse.write(5, 0, 1.5)
        sparse.write(6, 1, "")
        book.add_worksheet("Header").write_row(0, 0, ["a", "b"])
    opened = open_workbook(path)
    for sheet in (None, "Empty", "Sparse", "Header"):
        direct, from_book = read_sheet(path, sheet), read_sheet(path, sheet, book=opened)
        assert direct.equals(from_book) and direct.schema == from_book.schema, sheet


def test_sheets_trimmed_together_are_each_sheet_trimmed_alone() -> None:
    cells = ["  a ", "-", "", " \u2014 ", None, "b", "\xa0", "12", " 3 ", "\u2013"]
    rng = random.Random(11)

    def sheet(rows: int, width: int) -> pl.DataFrame:
        return pl.DataFrame({f"column_{i + 1}": [rng.choice(cells) for _ in range(rows)] for i in range(width)})

    blank = pl.DataFrame({"column_1": ["h", "-", " ", None], "column_2": ["k", None, "", "\u2013"]})
    numbers = sheet(6, 3).with_columns(pl.Series("column_2", [1.0, None, 2.0, None, 3.0, 4.0]))
    sheets = [
        (sheet(30, 5), 2, {0: "code", 1: "name", 3: "(A) one"}),
        (sheet(12, 4), 0, {0: "code", 2: "(A) two"}),  # other columns than the first sheet
        (blank, 0, {0: "code", 1: "name"}),  # nothing below the header: no rows
        (sheet(25, 5), 4, {4: "code", 0: "name", 3: "(A) one"}),
    ]
    together = sheets_rows(sheets)
    for (frame, at, keep), got in zip(sheets, together, strict=True):
        alone = sheet_rows(frame, at, keep)
        assert got.equals(alone) and got.schema == alone.schema
    assert min(frame.height for frame in together[:2]) > 0 and together[2].height == 0
    # a column that is not text cannot be trimmed: the sheet is read alone, and fails as it would alone
    with pytest.raises(pl.exceptions.SchemaError) as alone:
        sheet_rows(numbers, 1, {0: "code", 1: "count"})
    with pytest.raises(pl.exceptions.SchemaError) as batch:
        sheets_rows([sheets[0], (numbers, 1, {0: "code", 1: "count"})])
    assert str(batch.value) == str(alone.value)


def _canonical_values() -> pl.DataFrame:
    return _values(denominator=[100.0, 100.0, 100.0], org_code=["RAA", "RBB", "RCC"]).with_columns(
        pl.lit(None, pl.Float64).alias("published_rank")
    )
