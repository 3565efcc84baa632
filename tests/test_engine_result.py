"""``run`` holds its frames compact (a long range in less memory); ``as_text`` gives them back as the stages do."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from benchmarks.inputs import scale_up
from npaf_pipeline.engine import EngineResult, run
from npaf_pipeline.engine.pipeline import _compact, _concat, aggregate_stage, compact_dtype, score_stage, segment_stage
from npaf_pipeline.ruleset import RuleSet
from tests.test_benchmarks_quick import _sample_inputs
from tests.test_engine_determinism import _sorted


def test_run_returns_compact_frames_that_read_back_as_the_stages_frames(rs: RuleSet) -> None:
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
        assert all(isinstance(compact.schema[c], pl.Categorical) for c in strings), name
        whole = [c for c, t in expected.schema.items() if t == pl.Int64]
        assert all(compact.schema[c] == pl.Int32 for c in whole), name
        assert pl.String not in compact.schema.values() and pl.Int64 not in compact.schema.values(), name
        assert_frame_equal(_sorted(getattr(text, name)), _sorted(expected), check_exact=True)  # group-by order varies
    # the keys of small vocabularies take 1 or 2 bytes a cell, organisation codes 4
    codes = result.metric_scores.select(pl.col(pl.Categorical).to_physical()).schema
    assert codes["quarter"] == pl.UInt8 and codes["metric_id"] == pl.UInt16 and codes["org_code"] == pl.UInt32
    # what a reader does with the compact frames reads the text: filters, sorts and group-bys
    quarter = data.values["quarter"].min()
    one = result.segmentation.filter(pl.col("quarter") == quarter).sort("org_code")
    assert one["org_code"].to_list() == sorted(seg.segmentation.filter(pl.col("quarter") == quarter)["org_code"])
    assert result.as_categorical().as_text().segmentation.equals(text.segmentation)
    metric = text.metric_scores["metric_id"][0]
    chosen = result.metric_scores.filter(pl.col("metric_id").is_in([metric, "no such metric"]))
    assert chosen.height == (text.metric_scores["metric_id"] == metric).sum() > 0
    # the metric ranks are a column of the scores, null where the rule set does not rank the metric
    ranked = {m.id for m in rs.metrics if m.direction is not None}
    unranked = result.metric_scores.filter(~pl.col("metric_id").is_in(sorted(ranked)))
    assert unranked.height and unranked["metric_rank"].null_count() == unranked.height
    assert result.metric_scores.filter(pl.col("metric_id").is_in(sorted(ranked)))["metric_rank"].min() == 1


def test_a_vocabulary_that_outgrows_its_codes_takes_four_byte_codes_with_the_same_text() -> None:
    # "target" has 1-byte codes: 300 new values cannot all have one, in this process or any
    many = pl.DataFrame({"target": [f"t{i:03d}" for i in range(300)], "n": list(range(300))})
    few = pl.DataFrame({"target": ["segment_1"], "n": [1]})
    narrow, wide = _compact(few), _compact(many)
    assert wide.schema["target"] == pl.Categorical() and narrow.schema["target"] == compact_dtype("target")
    assert wide.schema["n"] == pl.Int32
    joined = _concat([narrow, wide])  # batches of either kind concatenate, as text they were
    assert joined.schema["target"] == pl.Categorical()
    assert joined["target"].cast(pl.String).to_list() == ["segment_1", *many["target"].to_list()]


def test_a_whole_number_beyond_32_bits_is_refused_not_wrapped() -> None:
    with pytest.raises(pl.exceptions.InvalidOperationError):
        _compact(pl.DataFrame({"rank": [2**40]}))
