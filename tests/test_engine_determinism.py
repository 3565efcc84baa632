"""Same inputs in any row order give bit-identical results: the engine fixes every order that reaches a figure.

The engine no longer sorts its large frames, and a parallel group-by does not fix the order in which a
group's rows are met; averages are summed as fixed-point integers so that this order cannot reach a figure.
"""

from __future__ import annotations

import random

import polars as pl
from polars.testing import assert_frame_equal

from benchmarks.inputs import EngineInputs, scale_up
from npaf_pipeline.engine import EngineResult, run
from npaf_pipeline.engine.numeric import exact_mean
from npaf_pipeline.ruleset import RuleSet
from tests.test_benchmarks_quick import _sample_inputs


def _with_tiebreaks(data: EngineInputs) -> EngineInputs:
    """Give every value a within-type rank, as published files do, so the tie-break path runs too."""
    ranked = data.values.join(data.orgs, on="org_code").with_columns(
        pl.col("value").rank("ordinal").over("quarter", "metric_id", "org_type").cast(pl.Float64).alias("tiebreak_rank")
    )
    return EngineInputs(ranked.drop("org_type"), data.orgs, data.flags)


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    candidates = ("quarter", "population", "target", "org_type", "org_code", "metric_id", "item_id", "domain")
    keys = [c for c in (*candidates, "group_id", "score_id") if c in frame.columns]
    return frame.sort(keys)


def test_results_are_identical_whatever_the_row_order(rs: RuleSet) -> None:
    data = _with_tiebreaks(scale_up(_sample_inputs(rs), orgs_factor=3, quarters=2, rs=rs))
    first = run(data.values, data.orgs, rs, data.flags)
    values, orgs, flags = (f.sample(fraction=1.0, shuffle=True, seed=7) for f in (data.values, data.orgs, data.flags))
    second = run(values, orgs, rs, flags)
    for name in EngineResult.__dataclass_fields__:
        left, right = _sorted(getattr(first, name)), _sorted(getattr(second, name))
        assert left.height > 0 or name == "group_scores", name  # no domain groups in NOF 2025/26
        assert_frame_equal(left, right, check_exact=True)


def test_exact_mean_does_not_depend_on_the_order_of_terms() -> None:
    """The plain float mean of these terms changes with their order; the fixed-point mean does not."""
    rng = random.Random(58)  # a draw of 16 continuous-method scores whose float mean depends on their order
    terms = [1.0 + 3.0 * rng.randrange(200) / 199 for _ in range(16)]
    forward = pl.DataFrame({"g": [1] * len(terms), "s": terms})
    backward = pl.DataFrame({"g": [1] * len(terms), "s": terms[::-1]})
    plain = [f.group_by("g").agg(pl.col("s").mean())["s"][0] for f in (forward, backward)]
    exact = [f.group_by("g").agg(exact_mean(pl.col("s")))["s"][0] for f in (forward, backward)]
    assert plain[0] != plain[1]  # the problem exists for these terms
    assert exact[0] == exact[1]
    assert abs(exact[0] - sum(terms) / len(terms)) < 1e-13


def test_quarters_run_in_batches_give_the_results_of_one_pass(rs: RuleSet, monkeypatch) -> None:
    """A long range is scored in batches of quarters (bounded memory): every frame is the one-pass frame, row
    for row, and the frames one pass sorts stay sorted."""
    from npaf_pipeline.engine import pipeline

    data = _with_tiebreaks(scale_up(_sample_inputs(rs), orgs_factor=2, quarters=5, rs=rs))
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 10**9)
    whole = run(data.values, data.orgs, rs, data.flags)
    per_quarter = data.values.filter(pl.col("quarter") == data.values["quarter"].min()).height
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 2 * per_quarter)
    assert len(pipeline.quarter_batches(data.values, pipeline.BATCH_ROWS)) == 3
    batched = run(data.values, data.orgs, rs, data.flags)
    for name in EngineResult.__dataclass_fields__:
        left, right = getattr(whole, name), getattr(batched, name)
        assert left.height > 0 or name == "group_scores", name
        if name in ("segmentation", "cutpoints", "type_statistics", "group_scores"):
            assert_frame_equal(left, right, check_exact=True)  # sorted by quarter first: the same order
        assert_frame_equal(_sorted(left), _sorted(right), check_exact=True)
