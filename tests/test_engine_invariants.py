"""Output invariants: what the engine's results must satisfy before a quarter is published."""

from __future__ import annotations

import polars as pl

from npaf_pipeline.engine.invariants import output_violations
from npaf_pipeline.engine.pipeline import aggregate_stage, score_stage, segment_stage
from npaf_pipeline.ruleset import RuleSet
from tests.test_benchmarks_quick import _sample_inputs


def _stages(rs: RuleSet) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    data = _sample_inputs(rs)
    scored = score_stage(data.values, data.orgs, rs)
    seg = segment_stage(aggregate_stage(scored.metric_scores, rs), data.values, rs, data.flags, with_ranges=False)
    return scored.metric_scores, seg.segmentation, data.orgs


def test_the_engines_results_hold_every_invariant(rs: RuleSet) -> None:
    scores, segmentation, orgs = _stages(rs)
    assert output_violations(scores, segmentation, orgs, rs).is_empty()


def test_metric_scores_without_their_ranks_are_refused(rs: RuleSet) -> None:
    # metric scores stored before the individual metric rank was one of their columns, or a rank gone missing
    scores, segmentation, orgs = _stages(rs)
    ranked = {m.id for m in rs.metrics if m.direction is not None and m.rank_by == "value"}
    expected = scores.filter(pl.col("metric_id").is_in(sorted(ranked)) & pl.col("value").is_not_null()).height
    found = output_violations(scores.drop("metric_rank"), segmentation, orgs, rs)
    rule = found.filter(pl.col("rule") == "individual metric ranks complete")
    assert expected > 0 and rule.height >= expected
    assert rule["detail"][0].endswith("has no rank within 1..n")
    one = scores.with_columns(
        pl.when(pl.int_range(pl.len()) == scores["metric_rank"].arg_max())
        .then(pl.col("metric_rank") + 10_000)
        .otherwise(pl.col("metric_rank"))
        .alias("metric_rank")
    )
    assert output_violations(one, segmentation, orgs, rs)["rule"].to_list() == ["individual metric ranks complete"]
