"""Explanation tables on NHS England's real Q1 2025/26 release (acute + MH&C files, 195 trusts).

The property test runs over every trust not in segment 1 and every metric that can close the gap alone: the value
segment_distance states, fed back through the what-if with the population held, lands the trust exactly in the
stated segment (the next better one), and a value one display step short leaves it where it is.
"""

from __future__ import annotations

import polars as pl
import pytest

from npaf_pipeline.engine import run
from npaf_pipeline.explain.whatif import QuarterInputs, hold_population, load_quarter
from npaf_pipeline.publish import publish_quarters
from npaf_pipeline.ruleset.model import ProvidedScore, RuleSet
from npaf_pipeline.sources import nof_csv

Q1 = "2025-26 Q1"


@pytest.fixture(scope="module")
def snapshot(q1_files, rs, tmp_path_factory: pytest.TempPathFactory):
    release = nof_csv.read_nof_csv(q1_files)
    values, orgs = nof_csv.metric_values(release, rs), nof_csv.organisations(release, rs)
    result = run(values, orgs, rs, nof_csv.flags(release))
    out = tmp_path_factory.mktemp("explain-real") / "output"
    publish_quarters(result, orgs, values, rs, out, acceptance=False)
    return out


@pytest.fixture(scope="module")
def inputs(snapshot) -> QuarterInputs:
    return load_quarter(snapshot, Q1)


def _read(out, table: str) -> pl.DataFrame:
    return pl.read_parquet(out / table / "fy=2025-26" / "quarter=Q1")


def test_drivers_add_up_to_every_trusts_average(snapshot) -> None:
    seg = _read(snapshot, "organisation_segmentation")
    drivers = _read(snapshot, "segment_explanation")
    assert drivers["org_code"].n_unique() == seg.height == 195
    sums = drivers.group_by("org_code").agg(
        pl.col("contribution").sum().alias("c"),
        pl.col("pull_vs_type_mean").sum().alias("t"),
        pl.col("pull_vs_cut_above").sum().alias("a"),
        pl.col("type_mean_average").first(),
        pl.col("cut_above").first(),
        pl.len().alias("n"),
    )
    joined = seg.join(sums, on="org_code")
    assert (joined["n"] == joined["n_items"]).all()
    assert ((joined["c"] - joined["average_score_raw"]).abs() <= 1e-9).all()
    assert ((joined["t"] - (joined["average_score_raw"] - joined["type_mean_average"])).abs() <= 1e-9).all()
    above = joined.filter(pl.col("unadjusted_segment") > 1)
    assert ((above["a"] - (above["average_score_raw"] - above["cut_above"])).abs() <= 1e-9).all()
    # rank 1 pulls most towards worse
    top = drivers.filter(pl.col("driver_rank") == 1).join(
        drivers.group_by("org_code").agg(pl.col("pull_vs_type_mean").max().alias("m")), on="org_code"
    )
    assert (top["pull_vs_type_mean"] == top["m"]).all()


def _short(rs: RuleSet, row: dict) -> float:
    """The stated value one display step short (towards worse); for a provided score, the next worse score."""
    metric = rs.metric(row["metric_id"])
    method = metric.method
    if isinstance(method, ProvidedScore):
        return min(a for a in (method.allowed or [1.0, 2.0, 3.0, 4.0]) if a > row["value_for_better"])
    step = 10.0 ** -row["display_decimals"]
    worse = -step if metric.direction == "higher" else step
    return round(row["value_for_better"] + worse, row["display_decimals"])


def test_stated_values_move_each_trust_exactly_into_the_next_segment(snapshot, inputs, rs) -> None:
    dist = _read(snapshot, "segment_distance")
    closing = dist.filter(pl.col("can_close_alone"))
    segmented = dist.filter(pl.col("unadjusted_segment") > 1)
    # every trust not in segment 1 and every metric of it is answered one way or the other
    assert segmented["can_close_alone"].null_count() == 0
    assert (
        segmented["org_code"].n_unique() == 195 - dist.filter(pl.col("unadjusted_segment") == 1)["org_code"].n_unique()
    )
    assert closing.height > 300
    failures = []
    for r in closing.iter_rows(named=True):
        decimals = r["display_decimals"]
        assert round(r["value_for_better"], decimals) == r["value_for_better"]
        reached = hold_population(inputs, r["org_code"], {r["metric_id"]: r["value_for_better"]})
        short = hold_population(inputs, r["org_code"], {r["metric_id"]: _short(rs, r)})
        target = r["unadjusted_segment"] - 1
        if not (
            reached.unadjusted_segment == r["segment_reached"] == target
            and short.unadjusted_segment == r["unadjusted_segment"]
        ):
            failures.append((r["org_code"], r["metric_id"], r["value_for_better"], reached, short))
    assert failures == []


def test_metrics_that_cannot_close_the_gap_do_not_at_their_best_value(snapshot, inputs, rs) -> None:
    """A systematic sample (every 6th row) of the 'cannot close alone' answers, at the best value in the scoring
    population or the standard, whichever is better."""
    dist = _read(snapshot, "segment_distance").filter(~pl.col("can_close_alone")).sort("org_code", "metric_id")
    values = inputs.values
    checked = 0
    for r in dist.gather_every(6).iter_rows(named=True):
        metric = rs.metric(r["metric_id"])
        if metric.direction is None:
            continue
        pool = values.filter((pl.col("metric_id") == r["metric_id"]) & pl.col("unit").eq_missing(r["unit"]))["value"]
        best = pool.max() if metric.direction == "higher" else pool.min()
        standard = getattr(metric.method, "standard", None)
        if standard is not None:
            best = max(best, standard.value) if metric.direction == "higher" else min(best, standard.value)
        low, high = metric.valid_range or (None, None)
        best = min(best, high) if high is not None else best
        best = max(best, low) if low is not None else best
        outcome = hold_population(inputs, r["org_code"], {r["metric_id"]: best})
        assert outcome.unadjusted_segment == r["unadjusted_segment"], (r["org_code"], r["metric_id"], best)
        checked += 1
    assert checked > 100


def test_override_and_segment_5_are_noted(snapshot) -> None:
    dist = _read(snapshot, "segment_distance")
    seg = _read(snapshot, "organisation_segmentation")
    capped = seg.filter(pl.col("override_flag") & (pl.col("adjusted_segment") > pl.col("system_adjusted_segment")))
    assert capped.height > 0
    rows = dist.filter(pl.col("org_code").is_in(capped["org_code"].to_list()))
    assert rows["override_capped"].all()
    assert rows["note"].str.contains("override caps the segment at 3: lifting it is a finance matter").all()
    assert (rows["segment_without_override"] < rows["adjusted_segment"]).all()
    support = dist.filter(pl.col("final_segment") == 5)
    assert support.height > 0 and support["note"].str.contains("segment 5 is a support decision").all()
