"""Edge cases of the scoring method, each worked from the method (methodology §1.3) rather than from a file.

Competition rank: a trust's rank is 1 + the number of trusts in its scoring population that are strictly
better. Between equal displayed values the published within-type rank decides, but only between trusts of
the same type that both have one; a continuous score is then 1 + 3 (rank - 1) / (N - 1).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from npaf_pipeline.engine.scoring import score_metrics
from npaf_pipeline.screening import COUNT_NOT_WHOLE, NOT_SCORED_FOR_TYPE, OUT_OF_RANGE, screen_values
from npaf_pipeline.sources.nof_csv import LAYOUT, normalise_unit, read_nof_csv
from tests.engine_frames import orgs, scores_of, values


def continuous(rank: int, n: int) -> float:
    return 1 + 3 * (rank - 1) / (n - 1)


def test_pooled_equal_values_keep_the_published_order_within_each_type(rs) -> None:
    """(a) OF0005 pools acute and MH&C trusts; three show 0.5: two acute (published ranks 1 and 2), one MH&C."""
    types = {"RA1": "acute", "RA2": "acute", "RA3": "acute", "RM1": "mhc", "RM2": "mhc"}
    v = values(
        [("RM2", "OF0005", 0.1, None, 1.0), ("RA1", "OF0005", 0.5, None, 1.0), ("RA2", "OF0005", 0.5, None, 2.0),
         ("RM1", "OF0005", 0.5, None, 2.0), ("RA3", "OF0005", 0.9, None, 3.0)]
    )  # fmt: skip
    got = scores_of(score_metrics(v, orgs(types), rs), "OF0005")
    # better than RA2: RM2 (value) and RA1 (same type, better published rank); RM1 is not better than anyone
    # at 0.5, nor is anyone of the other type better than it
    expected = {"RM2": 1, "RA1": 2, "RM1": 2, "RA2": 3, "RA3": 5}
    assert got == pytest.approx({k: continuous(r, 5) for k, r in expected.items()})


def test_a_blank_published_rank_never_beats_a_ranked_equal(rs) -> None:
    """(b) OF0061 (higher is better, within type): RA1 has no published rank among three equal values."""
    types = {"RA1": "acute", "RA2": "acute", "RA3": "acute", "RA4": "acute"}
    v = values(
        [("RA1", "OF0061", 6.5, None, None), ("RA2", "OF0061", 6.5, None, 1.0), ("RA3", "OF0061", 6.5, None, 2.0),
         ("RA4", "OF0061", 6.0, None, 4.0)]
    )  # fmt: skip
    got = scores_of(score_metrics(v, orgs(types), rs), "OF0061")
    # the blank is tied with its equals: nobody at 6.5 is better than it and it is better than nobody
    expected = {"RA1": 1, "RA2": 1, "RA3": 2, "RA4": 4}
    assert got == pytest.approx({k: continuous(r, 4) for k, r in expected.items()})


def test_units_match_whatever_their_case(rs) -> None:
    """(c) An HCAI count published as ``Count`` is banded, and the rate trusts are gated among themselves only."""
    types = {f"RA{i}": "acute" for i in range(1, 5)}
    v = values(
        [("RA1", "OF0048", 2.0, "Count"), ("RA2", "OF0048", 0.9, "rate"), ("RA3", "OF0048", 1.2, " Rate"),
         ("RA4", "OF0048", 1.5, "rate")]
    )  # fmt: skip
    got = scores_of(score_metrics(v, orgs(types), rs), "OF0048")
    # count band: 2 cases -> 3; rates: 0.9 meets (1.00), failers 1.2 and 1.5 ranked 2 + 2 (r - 1) / (K - 1), K = 2
    assert got == {"RA1": 3.0, "RA2": 1.0, "RA3": 2.0, "RA4": 4.0}


@pytest.mark.parametrize(
    ("published", "unit"),
    [("Count", "count"), ("COUNT ", "count"), ("%", "percent"), ("Percent", "percent"), ("Out  of 10", "out of 10")],
)
def test_units_are_normalised_on_reading(published: str, unit: str) -> None:
    assert normalise_unit(published) == unit


def test_the_nof_reader_normalises_units(tmp_path: Path) -> None:
    row = ["Q1 2025/26", "London", "Acute trust", "Acute - Small", "RA1", "Trust A", "Patient safety", "HCAI",
           "OF0048", "E. coli", "Q1 2025/26", "Count", "2", "", "", "", "5.0"]  # fmt: skip
    path = tmp_path / "nof.csv"
    path.write_text(",".join(LAYOUT) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    assert read_nof_csv(path).rows["unit"].to_list() == ["count"]


def _canonical(rows: list[tuple[str, str, float, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [("2025-26 Q1", org, metric, value, unit, "canonical", "v.csv", "0" * 64, i + 2)
         for i, (org, metric, value, unit) in enumerate(rows)],
        schema={"quarter": pl.String, "org_code": pl.String, "metric_id": pl.String, "value": pl.Float64,
                "unit": pl.String, "source": pl.String, "source_file": pl.String, "source_sha256": pl.String,
                "source_row": pl.Int64},
        orient="row",
    )  # fmt: skip


ORGS = pl.DataFrame({"quarter": ["2025-26 Q1"] * 2, "org_code": ["RAA", "RMM"], "org_type": ["acute", "mhc"]})


def test_a_value_for_a_type_the_metric_does_not_score_is_set_aside_with_a_reason(rs) -> None:
    """(d) OF0013 (A&E 4 hours) is scored for acute trusts only."""
    assert "mhc" not in rs.metric("OF0013").org_types
    accepted, aside = screen_values(
        _canonical([("RAA", "OF0013", 75.0, "percent"), ("RMM", "OF0013", 80.0, "percent")]), ORGS, rs
    )
    assert accepted["org_code"].to_list() == ["RAA"]
    row = aside.row(0, named=True)
    assert (row["check"], row["column"], row["value"], row["source_row"]) == (NOT_SCORED_FOR_TYPE, "org_type", "mhc", 3)
    assert "OF0013 is not scored for organisation type mhc" in row["reason"]


# a negative count is already outside OF0048's declared valid range, which is checked first
@pytest.mark.parametrize(("count", "check"), [(1.5, COUNT_NOT_WHOLE), (0.25, COUNT_NOT_WHOLE), (-1.0, OUT_OF_RANGE)])
def test_a_count_that_is_not_a_whole_number_or_is_negative_is_quarantined(rs, count: float, check: str) -> None:
    """(e) The count bands of OF0048 score 0, 1, 2, 3+ cases; a fraction or a negative count has no band."""
    rows = [("RAA", "OF0048", count, "Count"), ("RAA", "OF0088", 3.0, "count"), ("RAA", "OF0020", 1.3, "rate")]
    accepted, aside = screen_values(_canonical(rows), ORGS, rs)
    assert sorted(accepted["metric_id"].to_list()) == ["OF0020", "OF0088"]  # whole counts and rates pass
    assert aside.select("check", "column", "metric_id", "source_row").rows() == [(check, "value", "OF0048", 2)]


def test_a_negative_count_without_a_declared_range_is_quarantined(rs) -> None:
    """(e) Without a valid range the count rule alone catches a negative count."""
    bare = rs.model_copy(
        update={"metrics": [m.model_copy(update={"valid_range": None}) if m.id == "OF0020" else m for m in rs.metrics]}
    )
    accepted, aside = screen_values(_canonical([("RAA", "OF0020", -2.0, "count")]), ORGS, bare)
    assert accepted.is_empty()
    assert aside.select("check", "value").rows() == [(COUNT_NOT_WHOLE, "-2.0")]
    assert "not a whole number >= 0" in aside["reason"].item()
