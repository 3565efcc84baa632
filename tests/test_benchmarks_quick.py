"""The benchmarks' pandas reference gives the engine's results, field by field (a correctness check, not a timer)."""

from __future__ import annotations

import polars as pl

from benchmarks import pandas_reference
from benchmarks.equivalence import compare, describe, engine_tables, reference_tables
from benchmarks.inputs import EngineInputs, scale_up
from npaf_pipeline.engine import run
from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.ruleset import RuleSet
from npaf_pipeline.sample.canonical import intensive_support, override_flags
from npaf_pipeline.sample.model import targets
from npaf_pipeline.sample.organisations import build_population

SEED = 11


def _sample_inputs(rs: RuleSet) -> EngineInputs:
    """One quarter of the 40 synthetic trusts, with override flags and the intensive-support list."""
    pop = build_population(SEED, 1, rs)
    frame = targets(pop, [parse_quarter("2025-26 Q1")], SEED, rs)
    values = frame.select(
        "quarter", "org_code", "metric_id", "value", "unit", pl.lit(None, pl.Float64).alias("tiebreak_rank")
    )
    orgs = pl.DataFrame(
        {"org_code": [o.code for o in pop.organisations], "org_type": [o.org_type for o in pop.organisations]}
    )
    support = set(intensive_support(pop, SEED))
    flags = override_flags(frame).with_columns(pl.col("org_code").is_in(sorted(support)).alias("intensive_support"))
    return EngineInputs(values, orgs, flags)


def test_pandas_reference_matches_the_engine(rs: RuleSet) -> None:
    data = scale_up(_sample_inputs(rs), orgs_factor=3, quarters=3, rs=rs)
    engine = run(data.values, data.orgs, rs, data.flags, with_ranges=False)
    reference = pandas_reference.run(data.values.to_pandas(), data.orgs.to_pandas(), rs, data.flags.to_pandas())
    report = compare(engine_tables(engine), reference_tables(reference))
    assert report["identical"], describe(report)
    seg = report["tables"]["segmentation"]
    assert seg["rows_engine"] == seg["rows_reference"] == data.orgs.height * 3  # organisations x quarters
    assert engine.segmentation["final_segment"].n_unique() >= 4
