"""Likely ranges follow the rule set's own aggregation and adjustments, and the vectorised quantiles are exact."""

from __future__ import annotations

import math

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from npaf_pipeline.engine.bootstrap import likely_ranges
from npaf_pipeline.engine.numeric import hf_quantile, hf_quantiles
from npaf_pipeline.ruleset import load_ruleset

Q1 = "2025-26 Q1"
# constant within each domain, unequal item counts: the draft's weighted groups give 2.5, a plain item mean 2.0
DOMAIN_ITEMS = {"operating": [1.0, 1.0, 1.0], "finance": [3.0], "outcomes": [2.0, 2.0], "quality": [4.0]}


def _items(codes: list[str]) -> pl.DataFrame:
    rows = [
        (Q1, code, "icb", f"{domain}-{k}", domain, score)
        for code in codes
        for domain, scores in DOMAIN_ITEMS.items()
        for k, score in enumerate(scores)
    ]
    return pl.DataFrame(rows, schema=["quarter", "org_code", "org_type", "item_id", "domain", "score"], orient="row")


def _segmentation(failed: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "quarter": [Q1] * len(failed),
            "org_code": list(failed),
            "org_type": ["icb"] * len(failed),
            "population": ["icbs"] * len(failed),
            "cut_1": [2.0] * len(failed),
            "cut_2": [3.0] * len(failed),
            "cut_3": [3.5] * len(failed),
            "override_flag": [False] * len(failed),
            "system_tests_failed": list(failed.values()),
        }
    )


def test_draft_ranges_resample_within_domains_and_combine_by_weighted_groups() -> None:
    draft = load_ruleset("npaf-2025-26-draft")
    ranges = likely_ranges(_items(["QA1"]), _segmentation({"QA1": 0}), draft).row(0, named=True)
    # every replicate keeps each domain's mean, so the weighted average cannot move: 2.5, not the item mean 2.0
    assert (ranges["average_low"], ranges["average_high"]) == (2.5, 2.5)


def test_draft_ranks_apply_the_system_adjustment_in_every_replicate() -> None:
    """Two ICBs with identical items; QA2 failed a system test, so it is a segment worse in every replicate."""
    draft = load_ruleset("npaf-2025-26-draft")
    ranges = likely_ranges(_items(["QA1", "QA2"]), _segmentation({"QA1": 0, "QA2": 1}), draft)
    got = {r["org_code"]: (r["rank_low"], r["rank_high"]) for r in ranges.iter_rows(named=True)}
    assert got == {"QA1": (1, 1), "QA2": (2, 2)}


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(
        st.lists(st.one_of(st.none(), st.floats(-10, 10).map(lambda v: round(v, 2))), min_size=0, max_size=12),
        min_size=1,
        max_size=6,
    ),
    p=st.sampled_from([0.0, 0.1, 0.25, 1 / 3, 0.5, 0.75, 0.9, 1.0]),
    method=st.integers(1, 9),
)
def test_vectorised_quantiles_equal_the_scalar_definition_bit_for_bit(
    groups: list[list[float | None]], p: float, method: int
) -> None:
    rows = [(g, v) for g, values in enumerate(groups) for v in (values or [None])]
    frame = pl.DataFrame(rows, schema={"g": pl.Int64, "v": pl.Float64}, orient="row")
    got = dict(hf_quantiles(frame, ["g"], "v", {"q": p}, method).select("g", "q").iter_rows())
    for g, values in enumerate(groups):
        present = [v for v in values if v is not None]
        expected = hf_quantile(present, p, method)
        assert got[g] == expected or (math.isnan(got[g]) and math.isnan(expected)), (g, present)
