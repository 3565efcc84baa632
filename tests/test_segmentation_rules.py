"""Hand-worked examples of segmentation, override, segment 5, league ranks and likely ranges (§1.5-1.8)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from npaf_pipeline.engine.bootstrap import likely_ranges
from npaf_pipeline.engine.league import league_ranks
from npaf_pipeline.engine.numeric import hf_quantile, round_expr, round_value
from npaf_pipeline.engine.segment import cutpoints, segment
from npaf_pipeline.ruleset.load import parse_ruleset
from tests.engine_frames import Q1

NUMPY_METHOD = {
    1: "inverted_cdf",
    2: "averaged_inverted_cdf",
    3: "closest_observation",
    4: "interpolated_inverted_cdf",
    5: "hazen",
    6: "weibull",
    7: "linear",
    8: "median_unbiased",
    9: "normal_unbiased",
}


@pytest.mark.parametrize("method", range(1, 10))
@pytest.mark.parametrize("n", [1, 2, 5, 8, 195])
def test_quantile_types_agree_with_numpy(method: int, n: int) -> None:
    data = np.round(np.random.default_rng(n).uniform(1, 4, n), 2).tolist()
    for p in (0.25, 0.5, 0.75):
        assert hf_quantile(data, p, method) == pytest.approx(np.quantile(data, p, method=NUMPY_METHOD[method]))


def test_published_rounding_is_half_up() -> None:
    frame = pl.DataFrame({"x": [2.125, 2.675, 1.005, 2.115, -1.125, 3.0]})
    assert frame.select(round_expr(pl.col("x"), 2))["x"].to_list() == [2.13, 2.68, 1.01, 2.12, -1.13, 3.0]
    assert round_value(2.345) == 2.35
    assert frame.select(round_expr(pl.col("x"), None))["x"].to_list() == frame["x"].to_list()


def _org_scores(averages: dict[str, float], org_type: str = "acute") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "quarter": [Q1] * len(averages),
            "org_code": list(averages),
            "org_type": [org_type] * len(averages),
            "n_items": [10] * len(averages),
            "average_score_raw": list(averages.values()),
            "average_score": list(averages.values()),
        }
    )


AVERAGES = {"A": 1.5, "B": 1.8, "C": 2.0, "D": 2.0, "E": 2.2, "F": 2.5, "G": 2.9, "H": 3.1}


def test_pooled_quartiles_with_le_keep_ties_at_a_cut_together(rs) -> None:
    scores = _org_scores(AVERAGES)
    cuts = cutpoints(scores, None, rs).row(0, named=True)
    # type 7 over 8 values: P25 = 1.8 + 0.75 * 0.2 = 1.95, P50 = 2.1, P75 = 2.6
    assert (cuts["cut_1"], cuts["cut_2"], cuts["cut_3"]) == pytest.approx((1.95, 2.1, 2.6))
    seg = segment(scores, cutpoints(scores, None, rs), rs)
    assert dict(seg.select("org_code", "unadjusted_segment").iter_rows()) == {
        "A": 1, "B": 1, "C": 2, "D": 2, "E": 3, "F": 3, "G": 4, "H": 4,
    }  # fmt: skip
    # a score exactly on a cut stays below it with '<='
    on_cut = _org_scores({"A": 1.0, "B": 2.0, "C": 2.0, "D": 2.0, "E": 3.0})
    seg = segment(on_cut, cutpoints(on_cut, None, rs), rs)
    assert seg.filter(pl.col("org_code") == "B")["unadjusted_segment"].item() == 1


def test_improvement_needed_to_reach_the_next_segment(rs) -> None:
    scores = _org_scores(AVERAGES)
    seg = segment(scores, cutpoints(scores, None, rs), rs)
    gap = dict(seg.select("org_code", "improvement_to_next_segment").iter_rows())
    assert gap["A"] == 0.0
    assert gap["C"] == pytest.approx(2.0 - 1.95)
    assert gap["H"] == pytest.approx(3.1 - 2.6)


def _flags(rows: dict[str, tuple[bool | None, bool]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "quarter": [Q1] * len(rows),
            "org_code": list(rows),
            "financial_override": [v[0] for v in rows.values()],
            "intensive_support": [v[1] for v in rows.values()],
        },
        schema_overrides={"financial_override": pl.Boolean},
    )


def test_override_caps_at_three_and_segment_five_comes_from_the_list(rs) -> None:
    scores = _org_scores(AVERAGES)
    flags = _flags({"A": (True, False), "C": (True, True), "G": (True, False), "H": (False, True), "B": (None, False)})
    seg = {r["org_code"]: r for r in segment(scores, cutpoints(scores, None, rs), rs, flags).iter_rows(named=True)}
    assert (seg["A"]["unadjusted_segment"], seg["A"]["adjusted_segment"], seg["A"]["final_segment"]) == (1, 3, 3)
    assert (seg["C"]["adjusted_segment"], seg["C"]["final_segment"]) == (3, 5)
    assert (seg["G"]["adjusted_segment"], seg["G"]["final_segment"]) == (4, 4)
    assert (seg["H"]["adjusted_segment"], seg["H"]["final_segment"]) == (4, 5)
    # a flag that was not supplied is recorded as missing and does not cap
    assert seg["B"]["override_source"] == "missing" and seg["B"]["adjusted_segment"] == 1
    assert seg["A"]["override_source"] == "input"


def test_proxy_override_only_as_an_explicit_fallback_recorded_per_organisation(rs) -> None:
    raw = rs.model_dump(mode="json", exclude_none=True)
    raw["override"]["source"] = "input_else_proxy"
    fallback = parse_ruleset(raw)
    scores = _org_scores({"A": 1.5, "B": 1.6, "C": 2.5, "D": 3.0})
    flags = _flags({"A": (False, False)})
    wide = pl.DataFrame(
        {
            "quarter": [Q1] * 3,
            "org_code": ["A", "B", "C"],
            "value__OF0079": [-1.0, -0.5, 0.0],
            "value__OF0081": [0.0] * 3,
        }
    )
    seg = segment(scores, cutpoints(scores, None, fallback), fallback, flags, wide)
    got = {r["org_code"]: (r["override_source"], r["override_flag"]) for r in seg.iter_rows(named=True)}
    # A: the input says no (although its plan is a deficit); B: no input, proxy says deficit; C, D: proxy no
    assert got == {"A": ("input", False), "B": ("proxy", True), "C": ("proxy", False), "D": ("proxy", False)}


def test_amr_rank_by_adjusted_segment_then_two_dp_average_with_competition_ties(rs) -> None:
    seg = pl.DataFrame(
        {
            "quarter": [Q1] * 6,
            "org_code": ["A", "B", "C", "D", "E", "M"],
            "org_type": ["acute"] * 5 + ["mhc"],
            "adjusted_segment": [3, 1, 1, 3, 4, 1],
            "average_score": [1.5, 1.9, 1.9, 2.4, 2.1, 3.0],
        }
    )
    ranked = dict(league_ranks(seg, rs).select("org_code", "amr_rank").iter_rows())
    # B and C tie (1, 1.90) -> 1, 1; A (flagged to 3) ranks below every segment 1-2 trust; M is its own table
    assert ranked == {"B": 1, "C": 1, "A": 3, "D": 4, "E": 5, "M": 1}


def test_domain_segments_use_the_same_pooled_rule(rs) -> None:
    scores = _org_scores(AVERAGES)
    domain = scores.select(
        "quarter", "org_code", "org_type", pl.lit("access").alias("domain"), pl.col("average_score").alias("score")
    )
    cuts = cutpoints(scores, domain, rs)
    assert cuts.filter(pl.col("target") == "access").select("cut_1", "cut_2", "cut_3").row(0) == pytest.approx(
        (1.95, 2.1, 2.6)
    )


def _items(per_org: dict[str, list[float]], quarter: str = Q1) -> pl.DataFrame:
    rows = [(quarter, org, "acute", f"I{i}", "d", s) for org, scores in per_org.items() for i, s in enumerate(scores)]
    return pl.DataFrame(
        rows,
        schema={"quarter": pl.String, "org_code": pl.String, "org_type": pl.String, "item_id": pl.String,
                "domain": pl.String, "score": pl.Float64},
        orient="row",
    )  # fmt: skip


def test_likely_ranges_are_seeded_contain_the_average_and_do_not_depend_on_other_quarters(rs) -> None:
    per_org = {
        "A": [1.0, 1.2, 1.5, 2.0, 1.1],
        "B": [2.0, 2.5, 3.0, 2.2, 1.8],
        "C": [3.0, 3.5, 4.0, 2.9, 3.3],
        "D": [2.0, 2.0, 2.0, 2.0],
    }
    items = _items(per_org)
    averages = {k: round(sum(v) / len(v), 2) for k, v in per_org.items()}
    scores = _org_scores(averages)
    seg = league_ranks(segment(scores, cutpoints(scores, None, rs), rs), rs)
    first = likely_ranges(items, seg, rs)
    again = likely_ranges(items, seg, rs)
    assert first.equals(again)
    for row in first.iter_rows(named=True):
        assert row["average_low"] <= averages[row["org_code"]] <= row["average_high"]
        assert 1 <= row["rank_low"] <= row["rank_high"] <= 4
    d = first.filter(pl.col("org_code") == "D").row(0, named=True)
    assert d["average_low"] == d["average_high"] == 2.0  # identical items: no uncertainty
    q2_items = pl.concat([items, _items(per_org, "2025-26 Q2")])
    q2_seg = pl.concat([seg, seg.with_columns(pl.lit("2025-26 Q2").alias("quarter"))])
    both = likely_ranges(q2_items, q2_seg, rs)
    assert both.filter(pl.col("quarter") == Q1).equals(first)
