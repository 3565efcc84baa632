"""Issue 11.5: quarantined rows are counted by (file, row): two files failing at the same row number count two."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from assets.checks import contract_check
from npaf_pipeline.sources import ae_monthly, canonical
from npaf_pipeline.sources.base import quarantined_rows
from tests import test_source_ae_monthly as ae_t
from tests import test_source_canonical as can_t


def _ae(tmp: Path) -> object:
    """Two of a quarter's monthly files each with a negative count on row 2."""
    files = ae_t._quarter(
        tmp,
        {month: [ae_t._row(month, "RAA", over_4h_type1=-1), ae_t._row(month, "RBB")] for month in ("APRIL", "MAY")},
    )
    return ae_monthly.read(files)


def _canonical(tmp: Path) -> object:
    """Two metric-value files each with an ill-formed code on row 2 (and two failures on row 3 of the second)."""
    first = can_t.write(tmp / "a.csv", [can_t.HEADER, "2025-26 Q1,r0a,OF0061,2024 survey,6.1,,,out of 10"])
    second = can_t.write(
        tmp / "b.csv",
        [
            can_t.HEADER,
            "2025-26 Q1,r0b,OF0061,2024 survey,6.1,,,out of 10",
            "2025-27 Q1,RCC,OF61,2024 survey,6.1,,,out of 10",
        ],
    )
    return canonical.read([first, second])


def _flags(tmp: Path) -> object:
    lines = "quarter,org_code,intensive_support\n2025-26 Q1,RAA,maybe\n"
    (tmp / "a.csv").write_text(lines)
    (tmp / "b.csv").write_text(lines.replace("RAA", "RBB"))
    return canonical.read_intensive_support([tmp / "a.csv", tmp / "b.csv"])


CASES: dict[str, tuple[Callable[[Path], object], int]] = {"ae_monthly": (_ae, 2), "canonical": (_canonical, 3)}
CASES["intensive_support"] = (_flags, 2)


@pytest.mark.parametrize("source", CASES)
def test_rows_failing_at_the_same_number_in_two_files_count_twice(tmp_path: Path, source: str) -> None:
    build, expected = CASES[source]
    result = build(tmp_path)
    assert sorted(set(result.quarantine["source_row"].to_list()))[:1] == [2]  # the same row number in both files
    assert quarantined_rows(result.quarantine) == expected
    assert sum(a.rows_quarantined for a in result.accounts) == expected
    check = contract_check("pandera_contract", result.quarantine, result.accounts, True, len(result.accounts))
    meta = {k: v.value for k, v in check.metadata.items()}
    assert meta["rows_quarantined"] == expected
    assert meta["rows_read"] == meta["rows_accepted"] + meta["rows_quarantined"]
    assert meta["accounting_problems"] == "none" and not check.passed
