"""The benchmarks' pandas reference gives the engine's results, field by field (a correctness check, not a timer)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

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


@pytest.mark.real_data
def test_the_suite_measures_with_pyperf_and_reports_every_target(tmp_path: Path) -> None:
    """The smallest engine size through pyperf's worker processes, the equivalence check and the page."""
    import pyperf

    from benchmarks import plan, report
    from benchmarks.__main__ import run_engine

    extra: dict = {"started": "now", "libraries": {}, "engine_inputs": {}, "equivalence": {}, "ingest_files": {}}
    extra["backfills"] = {}
    runs = {"engine": (1, 2), "pandas": (1, 1), "engine_ranges": (1, 1), "engine_ranges_mc1000": (1, 1)}
    size = plan.Size(1, 1, runs)
    run_engine(tmp_path / "work", tmp_path / "engine.json", [size], extra)
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    suite = pyperf.BenchmarkSuite.load(str(tmp_path / "engine.json"))
    engine = suite.get_benchmark("engine x1_q1")
    assert len(engine.get_values()) == 2 and all(v > 0 for v in engine.get_values())
    run = engine.get_runs()[0].get_metadata()
    assert run["mem_max_rss"] / 2**20 > run["npaf_rss_start_mb"] > 0
    assert extra["equivalence"]["x1_q1"]["identical"]
    page = report.write(tmp_path, tmp_path / "performance.md", tmp_path / "plots")
    text = page.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and line.split("|")[1].strip().isdigit()]
    assert [int(line.split("|")[1]) for line in rows] == [1, 2, 3, 4, 5, 6]
    assert "| ×1 × 1 q | 205 | 3,343 |" in text
    # the exact bootstrap's cost beside the 1,000-replicate one's, measured in the same run (target 2)
    target_2 = next(line for line in rows if line.split("|")[1].strip() == "2")
    assert "1,000 replicates side by side" in target_2 and "the exact bootstrap" in target_2
    assert "The 1,000-replicate bootstrap in place of the exact one, side by side at ×1 × 1 q" in text
    assert (tmp_path / "plots" / "engine.png").stat().st_size > 0


def test_the_stack_floor_runs_the_real_jobs_steps_and_checks_as_no_ops() -> None:
    """Target 1's floor is Dagster running ``quarterly_pipeline`` itself, only with nothing done in its steps."""
    import subprocess
    import sys

    from assets.definitions import build_definitions

    defs = build_definitions()
    steps = {node.name for node in defs.resolve_job_def("quarterly_pipeline").graph.nodes}
    checks = defs.resolve_asset_graph().asset_check_keys
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.stack_floor", "2025-26 Q1", "2025-26 Q2"],
        capture_output=True,
        text=True,
        check=True,
    )
    floor = json.loads(done.stdout)
    assert floor["success"] and floor["seconds"] > 0
    assert floor["steps"] == len(steps) >= 20
    assert floor["check_evaluations"] == len(checks) > 0
