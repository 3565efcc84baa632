"""``run`` holds its text columns as categoricals (a long range in less memory); ``as_text`` gives them back."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from benchmarks.inputs import scale_up
from npaf_pipeline.engine import EngineResult, run
from npaf_pipeline.engine.pipeline import aggregate_stage, score_stage, segment_stage
from npaf_pipeline.ruleset import RuleSet
from tests.test_benchmarks_quick import _sample_inputs
from tests.test_engine_determinism import _sorted


def test_run_returns_categorical_text_that_reads_back_as_the_stages_text(rs: RuleSet) -> None:
    data = scale_up(_sample_inputs(rs), orgs_factor=2, quarters=2, rs=rs)
    result = run(data.values, data.orgs, rs, data.flags)
    scored = score_stage(data.values, data.orgs, rs)
    agg = aggregate_stage(scored.metric_scores, rs)
    seg = segment_stage(agg, data.values, rs, data.flags)
    stages = {**scored.__dict__, **agg.__dict__, **seg.__dict__}
    text = result.as_text()
    for name in EngineResult.__dataclass_fields__:
        compact, expected = getattr(result, name), stages[name]
        strings = [c for c, t in expected.schema.items() if t == pl.String]
        assert strings, name  # every frame has text keys
        assert all(compact.schema[c] == pl.Categorical for c in strings), name
        assert pl.String not in compact.schema.values(), name
        assert_frame_equal(_sorted(getattr(text, name)), _sorted(expected), check_exact=True)  # group-by order varies
    # what a reader does with the compact frames reads the text: filters, sorts and group-bys
    quarter = data.values["quarter"].min()
    one = result.segmentation.filter(pl.col("quarter") == quarter).sort("org_code")
    assert one["org_code"].to_list() == sorted(seg.segmentation.filter(pl.col("quarter") == quarter)["org_code"])
    assert result.as_categorical().as_text().segmentation.equals(text.segmentation)
