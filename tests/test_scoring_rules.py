"""Hand-worked examples of every scoring rule (methodology §1.3-1.4), on the shipped nof-2025-26 rule set."""

from __future__ import annotations

import polars as pl
import pytest

from npaf_pipeline.engine.aggregate import aggregate, build_items
from npaf_pipeline.engine.frames import EngineInputError
from npaf_pipeline.engine.scoring import ScoringInputError, score_metrics
from tests.engine_frames import orgs, scores_of, values

ACUTE4 = orgs({"RA1": "acute", "RA2": "acute", "RA3": "acute", "RA4": "acute"})


def test_continuous_competition_ranks_with_ties(rs) -> None:
    # higher is better: 90 best (rank 1), two at 80 share rank 2, 70 is rank 4 of N = 4
    v = values([("RA1", "OF0023", 90.0), ("RA2", "OF0023", 80.0), ("RA3", "OF0023", 80.0), ("RA4", "OF0023", 70.0)])
    s = score_metrics(v, ACUTE4, rs)
    assert scores_of(s, "OF0023") == {"RA1": 1.0, "RA2": 2.0, "RA3": 2.0, "RA4": 4.0}
    assert s.filter(pl.col("org_code") == "RA4")["rank"].item() == 4


def test_continuous_lower_is_better_and_missing_values_are_not_ranked(rs) -> None:
    v = values([("RA1", "OF0014", 5.0), ("RA2", "OF0014", 1.0), ("RA3", "OF0014", None), ("RA4", "OF0014", 3.0)])
    s = score_metrics(v, ACUTE4, rs)
    # N = 3 reporting: 1.0 best, 3.0 middle (1 + 3 * 1/2), 5.0 worst
    assert scores_of(s, "OF0014") == {"RA2": 1.0, "RA4": 2.5, "RA1": 4.0}
    assert s.filter(pl.col("metric_id") == "OF0014")["population_size"].unique().to_list() == [3]


def test_population_of_one_scores_best(rs) -> None:
    s = score_metrics(values([("RA1", "OF0025", 3.4)]), ACUTE4, rs)
    assert scores_of(s, "OF0025") == {"RA1": 1.0}


def test_published_rank_orders_equal_displayed_values(rs) -> None:
    # equal 2 dp values, full precision known only through the published within-type rank
    v = values(
        [("RA1", "OF0061", 6.5, None, 2.0), ("RA2", "OF0061", 6.5, None, 1.0), ("RA3", "OF0061", 6.0, None, 3.0)]
    )
    assert scores_of(score_metrics(v, ACUTE4, rs), "OF0061") == {"RA2": 1.0, "RA1": 2.5, "RA3": 4.0}


def test_pooled_metric_ties_across_types_stay_tied(rs) -> None:
    mixed = orgs({"RA1": "acute", "RM1": "mhc", "RA2": "acute"})
    v = values(
        [("RA1", "OF0005", 0.5, None, 7.0), ("RM1", "OF0005", 0.5, None, 2.0), ("RA2", "OF0005", 0.9, None, 9.0)]
    )
    s = score_metrics(v, mixed, rs)
    assert scores_of(s, "OF0005") == {"RA1": 1.0, "RM1": 1.0, "RA2": 4.0}
    assert s["population"].unique().to_list() == ["main:all"]


def test_same_type_population_ranks_each_type_separately(rs) -> None:
    mixed = orgs({"RA1": "acute", "RA2": "acute", "RM1": "mhc", "RM2": "mhc"})
    v = values([("RA1", "OF0084", 7.0), ("RA2", "OF0084", 6.0), ("RM1", "OF0084", 5.0), ("RM2", "OF0084", 4.0)])
    assert scores_of(score_metrics(v, mixed, rs), "OF0084") == {"RA1": 1.0, "RA2": 4.0, "RM1": 1.0, "RM2": 4.0}


def test_gate_fail_meeters_score_one_and_failers_are_ranked(rs) -> None:
    # OF0013 meets at >= 78 (78.0 exactly meets); K = 3 failers spread over 2.00..4.00
    v = values([("RA1", "OF0013", 78.0), ("RA2", "OF0013", 77.9), ("RA3", "OF0013", 60.0), ("RA4", "OF0013", 70.0)])
    assert scores_of(score_metrics(v, ACUTE4, rs), "OF0013") == {"RA1": 1.0, "RA2": 2.0, "RA4": 3.0, "RA3": 4.0}


def test_gate_fail_strict_standard_and_a_single_failer(rs) -> None:
    # OF0003 meets when < 1 %: exactly 1.00 fails; one failer alone scores 2.00
    v = values([("RA1", "OF0003", 0.99), ("RA2", "OF0003", 1.0), ("RA3", "OF0003", 0.2)])
    assert scores_of(score_metrics(v, ACUTE4, rs), "OF0003") == {"RA1": 1.0, "RA2": 2.0, "RA3": 1.0}


def test_gate_meet_failers_score_four_and_meeters_are_ranked(rs) -> None:
    v = values([("RA1", "OF0057", 69.9), ("RA2", "OF0057", 70.0), ("RA3", "OF0057", 90.0), ("RA4", "OF0057", 80.0)])
    assert scores_of(score_metrics(v, ACUTE4, rs), "OF0057") == {"RA1": 4.0, "RA3": 1.0, "RA4": 2.0, "RA2": 3.0}


@pytest.mark.parametrize(
    ("value", "score"),
    [(0.5, 1), (0.0, 1), (-0.01, 2), (-0.99, 2), (-1.0, 3), (-1.97, 3), (-2.0, 4), (-2.03, 4)],
)
def test_planned_surplus_deficit_band_edges(rs, value: float, score: int) -> None:
    assert scores_of(score_metrics(values([("RA1", "OF0079", value)]), ACUTE4, rs), "OF0079") == {"RA1": score}


@pytest.mark.parametrize(
    ("value", "score"), [(0.0, 1), (-0.01, 2), (-0.48, 2), (-0.5, 3), (-0.95, 3), (-1.0, 4), (-1.01, 4)]
)
def test_variance_to_plan_band_edges(rs, value: float, score: int) -> None:
    assert scores_of(score_metrics(values([("RA1", "OF0081", value)]), ACUTE4, rs), "OF0081") == {"RA1": score}


# plan score (row) x variance score (column) -> combined finance score, as published (methodology §1.3)
FINANCE_LOOKUP = {(1, 1): 1, (1, 2): 1, (1, 3): 2, (1, 4): 3, (2, 1): 2, (2, 2): 2, (2, 3): 3, (2, 4): 4,
                  (3, 1): 2, (3, 2): 3, (3, 3): 3, (3, 4): 4, (4, 1): 2, (4, 2): 3, (4, 3): 4, (4, 4): 4}  # fmt: skip
PLAN_VALUE = {1: 0.5, 2: -0.5, 3: -1.5, 4: -2.5}
VARIANCE_VALUE = {1: 0.1, 2: -0.2, 3: -0.7, 4: -1.5}


def test_every_cell_of_the_finance_lookup(rs) -> None:
    rows, types = [], {}
    for (plan, variance), _ in FINANCE_LOOKUP.items():
        code = f"F{plan}{variance}"
        types[code] = "mhc"
        rows += [(code, "OF0079", PLAN_VALUE[plan]), (code, "OF0081", VARIANCE_VALUE[variance])]
    scores = scores_of(score_metrics(values(rows), orgs(types), rs), "OF0080")
    assert scores == {f"F{p}{v}": float(expected) for (p, v), expected in FINANCE_LOOKUP.items()}


def test_hcai_count_trusts_are_banded_and_rate_trusts_gated_among_themselves(rs) -> None:
    types = {f"RA{i}": "acute" for i in range(1, 8)}
    v = values(
        [("RA1", "OF0048", 0.0, "count"), ("RA2", "OF0048", 1.0, "count"), ("RA3", "OF0048", 2.0, "count"),
         ("RA4", "OF0048", 5.0, "count"), ("RA5", "OF0048", 0.9, "rate"), ("RA6", "OF0048", 1.2, "rate"),
         ("RA7", "OF0048", 1.5, "rate")]
    )  # fmt: skip
    s = score_metrics(v, orgs(types), rs)
    assert scores_of(s, "OF0048") == {
        "RA1": 1.0,
        "RA2": 2.0,
        "RA3": 3.0,
        "RA4": 4.0,
        "RA5": 1.0,
        "RA6": 2.0,
        "RA7": 4.0,
    }
    assert set(s["population"]) == {"unit=count:acute", "main:acute"}


def test_provided_scores_are_checked_against_their_allowed_set(rs) -> None:
    s = score_metrics(values([("RA1", "OF0046", 2.0)]), ACUTE4, rs)
    assert scores_of(s, "OF0046") == {"RA1": 2.0}
    with pytest.raises(ScoringInputError, match=r"OF0046: 1 value\(s\) outside the allowed scores"):
        score_metrics(values([("RA1", "OF0046", 4.0)]), ACUTE4, rs)


def test_values_for_organisations_missing_from_the_reference_are_an_error(rs) -> None:
    with pytest.raises(EngineInputError, match=r"not in the organisation reference: \['ZZZ'\]"):
        score_metrics(values([("ZZZ", "OF0023", 50.0)]), ACUTE4, rs)


def test_average_counts_hcai_once_and_finance_once(rs) -> None:
    v = values(
        [("RA1", "OF0020", 0.0, "count"), ("RA1", "OF0048", 1.5, "rate"), ("RA1", "OF0088", 0.5, "rate"),
         ("RA1", "OF0079", -1.5), ("RA1", "OF0081", 0.1), ("RA1", "OF0061", 7.0),
         ("RA2", "OF0020", 3.0, "count"), ("RA2", "OF0048", 0.5, "rate"), ("RA2", "OF0088", 0.5, "rate"),
         ("RA2", "OF0079", 0.0), ("RA2", "OF0081", 0.0), ("RA2", "OF0061", 6.0)]
    )  # fmt: skip
    items = build_items(score_metrics(v, ACUTE4, rs), rs)
    ra1 = {r["item_id"]: r["score"] for r in items.filter(pl.col("org_code") == "RA1").iter_rows(named=True)}
    # HCAI: MRSA 0 cases meets (1), E. coli rate 1.5 the only failer (2), C. diff meets (1) -> mean 4/3
    # finance: plan -1.5 -> 3, variance 0.1 -> 1, lookup (3, 1) -> 2; staff survey best of two -> 1
    assert set(ra1) == {"HCAI", "OF0080", "OF0061"}
    assert ra1["HCAI"] == pytest.approx(4 / 3)
    assert ra1["OF0080"] == 2.0 and ra1["OF0061"] == 1.0
    org_scores, domains = aggregate(items, rs)
    row = org_scores.filter(pl.col("org_code") == "RA1").row(0, named=True)
    assert row["n_items"] == 3
    assert row["average_score_raw"] == pytest.approx((4 / 3 + 2 + 1) / 3)
    assert row["average_score"] == 1.44  # 1.4444 to 2 dp
    safety = domains.filter((pl.col("org_code") == "RA1") & (pl.col("domain") == "safety"))["score"].item()
    assert safety == pytest.approx(round((4 / 3 + 1) / 2, 2))


def test_scores_enter_averages_at_the_metric_precision(rs) -> None:
    # N = 10: the second-best trust scores 1 + 3/9 = 1.333...; OF0023 enters averages at 2 dp, OF0085 unrounded
    types = {f"RA{i:02d}": "acute" for i in range(1, 11)}
    rows = [(f"RA{i:02d}", metric, 100.0 - i) for i in range(1, 11) for metric in ("OF0023", "OF0085")]
    items = build_items(score_metrics(values(rows), orgs(types), rs), rs)
    ra2 = {r["item_id"]: r["score"] for r in items.filter(pl.col("org_code") == "RA02").iter_rows(named=True)}
    assert ra2["OF0023"] == 1.33
    assert ra2["OF0085"] == pytest.approx(4 / 3, abs=1e-12)
    org_scores, _ = aggregate(items, rs)
    assert org_scores.filter(pl.col("org_code") == "RA02")["average_score_raw"].item() == pytest.approx(
        (1.33 + 4 / 3) / 2
    )
