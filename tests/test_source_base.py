"""The shared adapter machinery: validation into quarantine, and the rows-read invariant."""

from __future__ import annotations

import polars as pl
import pytest

from npaf_pipeline.sources.base import AccountingError, FileAccount, SourceFileError, finish

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
