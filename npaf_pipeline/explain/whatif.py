"""What-if: re-run one quarter from the published snapshot with some values changed; never writes anything.

Two answers. ``full`` re-runs the whole quarter through the engine: other organisations' rank-based scores and
the pooled cut-points move too, and the result lists every organisation whose scores, segment or rank moved.
``hold_population`` is the first-order answer of ``segment_distance``: only the changed organisation is
re-scored (by the engine's scorer, against the others' real values), everyone else's scores, the quarter's
cut-points, the override flag and the system tests are held.

A changed value carries no published tie-break rank (the rank NHS England published belongs to the old value).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from npaf_pipeline.engine import run
from npaf_pipeline.engine.aggregate import aggregate, build_items
from npaf_pipeline.engine.scoring import score_metrics
from npaf_pipeline.engine.segment import adjust_segments, final_segments, unadjusted_segments
from npaf_pipeline.explain.distance import SCORE_KEYS
from npaf_pipeline.explain.snapshot import SnapshotError, published_quarters, read_manifest, read_quarter
from npaf_pipeline.ruleset import load_ruleset
from npaf_pipeline.ruleset.model import Lookup, RuleSet


@dataclass(frozen=True)
class QuarterInputs:
    """Everything the engine needs to re-run one published quarter, and what was published for it."""

    quarter: str
    rs: RuleSet
    values: pl.DataFrame  # quarter, org_code, metric_id, value, unit, published_rank
    orgs: pl.DataFrame  # org_code, org_type
    flags: pl.DataFrame  # quarter, org_code, financial_override (null: recompute), intensive_support
    system_tests: pl.DataFrame | None  # quarter, org_code, test_id, failed
    org_seg: pl.DataFrame  # published organisation_segmentation (quarter_label)
    scores: pl.DataFrame  # published metric scores as the engine spells them (quarter, SCORE_KEYS...)


def load_quarter(out: Path, quarter: str, rs: RuleSet | None = None) -> QuarterInputs:
    """A published quarter's inputs and results, read from the snapshot at ``out``."""
    out = Path(out)
    org_seg = read_quarter(out, "organisation_segmentation", quarter)
    values = read_quarter(out, "metric_values", quarter)
    scores = read_quarter(out, "metric_scores", quarter)
    if org_seg is None or values is None or scores is None:
        known = ", ".join(published_quarters(out)) or "none"
        raise SnapshotError(f"{out}: quarter {quarter} is not published (published: {known})")
    if rs is None:
        rs = load_ruleset(read_manifest(out, quarter)["rule_set"]["id"])
    evidence = read_quarter(out, "system_considerations", quarter)
    return inputs_from_tables(quarter, rs, org_seg, values, scores, evidence)


def inputs_from_tables(
    quarter: str,
    rs: RuleSet,
    org_seg: pl.DataFrame,
    values: pl.DataFrame,
    scores: pl.DataFrame,
    evidence: pl.DataFrame | None = None,
) -> QuarterInputs:
    """:class:`QuarterInputs` from published-table frames of one quarter."""
    label = org_seg["quarter_label"][0] if org_seg.height else quarter
    engine_values = values.select(
        pl.lit(label).alias("quarter"), "org_code", "metric_id", "value", "unit", "published_rank"
    )
    orgs = pl.concat(
        [org_seg.select("org_code", "org_type"), scores.select("org_code", "org_type")], how="vertical_relaxed"
    ).unique("org_code", keep="first")
    flags = org_seg.select(
        pl.lit(label).alias("quarter"),
        "org_code",
        pl.when(pl.col("override_source") == "input").then(pl.col("override_flag")).alias("financial_override"),
        "intensive_support",
    )
    tests = None
    if evidence is not None and evidence.height:
        tests = evidence.select(
            pl.lit(label).alias("quarter"), pl.col("icb_code").alias("org_code"), "test_id", "failed"
        )
    engine_scores = scores.select(pl.lit(label).alias("quarter"), *SCORE_KEYS[1:])
    return QuarterInputs(label, rs, engine_values, orgs, flags, tests, org_seg, engine_scores)


def _changed_values(inputs: QuarterInputs, org: str, changes: Mapping[str, float]) -> pl.DataFrame:
    known = set(inputs.values.filter(pl.col("org_code") == org)["metric_id"].to_list())
    missing = sorted(set(changes) - known)
    if missing:
        raise ValueError(f"{org} has no published value for {', '.join(missing)} in {inputs.quarter}")
    frame = inputs.values
    for metric_id, value in changes.items():
        here = (pl.col("org_code") == org) & (pl.col("metric_id") == metric_id)
        frame = frame.with_columns(
            pl.when(here).then(pl.lit(float(value))).otherwise(pl.col("value")).alias("value"),
            pl.when(here).then(None).otherwise(pl.col("published_rank")).alias("published_rank"),
        )
    return frame


def _lookup_closure(rs: RuleSet, metric_ids: set[str]) -> set[str]:
    """The changed metrics plus every input of a lookup that reads one of them."""
    out = set(metric_ids)
    for m in rs.metrics:
        if isinstance(m.method, Lookup) and out & set(m.method.inputs):
            out |= set(m.method.inputs)
    return out


@dataclass(frozen=True)
class OrgOutcome:
    org_code: str
    average_score_raw: float | None
    average_score: float | None
    unadjusted_segment: int | None
    adjusted_segment: int | None
    final_segment: int | None
    rank: int | None
    scores: pl.DataFrame  # metric_id, score (new)


def hold_population(inputs: QuarterInputs, org: str, changes: Mapping[str, float]) -> OrgOutcome:
    """First order: ``org`` re-scored with ``changes``; everyone else, the cut-points and the flags held."""
    rs = inputs.rs
    needed = _lookup_closure(rs, set(changes))
    values = _changed_values(inputs, org, changes).filter(pl.col("metric_id").is_in(list(needed)))
    rescored = score_metrics(values, inputs.orgs, rs).filter(pl.col("org_code") == org).select(SCORE_KEYS)
    mine = inputs.scores.filter(pl.col("org_code") == org)
    mine = pl.concat(
        [mine.filter(~pl.col("metric_id").is_in(rescored["metric_id"].to_list())), rescored], how="vertical_relaxed"
    )
    items = build_items(mine, rs)
    org_scores, _ = aggregate(items, rs)
    row = inputs.org_seg.filter(pl.col("org_code") == org)
    if row.is_empty():
        raise ValueError(f"{org} is not in {inputs.quarter}")
    cuts = row.select(
        pl.lit(inputs.quarter).alias("quarter"),
        pl.col("segmentation_population").alias("population"),
        pl.lit("overall").alias("target"),
        pl.lit(0, pl.Int64).alias("n"),
        pl.col("cutpoint_1_2").alias("cut_1"),
        pl.col("cutpoint_2_3").alias("cut_2"),
        pl.col("cutpoint_3_4").alias("cut_3"),
    )
    seg = unadjusted_segments(org_scores, cuts, rs)
    held_flags = row.select(
        pl.lit(inputs.quarter).alias("quarter"),
        "org_code",
        pl.col("override_flag").alias("financial_override"),
        "intensive_support",
    )
    tests = inputs.system_tests
    seg = final_segments(adjust_segments(seg, rs, held_flags, None, tests), rs, held_flags)
    if seg.is_empty():
        return OrgOutcome(org, None, None, None, None, None, None, mine.select("metric_id", "score"))
    out = seg.row(0, named=True)
    rank = _rank_among(inputs.org_seg, org, out["org_type"], out["adjusted_segment"], out["average_score"])
    return OrgOutcome(
        org,
        out["average_score_raw"],
        out["average_score"],
        out["unadjusted_segment"],
        out["adjusted_segment"],
        out["final_segment"],
        rank,
        mine.select("metric_id", "score").sort("metric_id"),
    )


def _rank_among(org_seg: pl.DataFrame, org: str, org_type: str, segment: int | None, average: float | None) -> int:
    """Competition rank within type by (adjusted segment, average) against the others as published."""
    if segment is None or average is None:
        return None  # type: ignore[return-value]
    others = org_seg.filter(
        (pl.col("org_type") == org_type) & (pl.col("org_code") != org) & pl.col("adjusted_segment").is_not_null()
    )
    better = others.filter(
        (pl.col("adjusted_segment") < segment)
        | ((pl.col("adjusted_segment") == segment) & (pl.col("average_score") < average))
    )
    return better.height + 1


@dataclass(frozen=True)
class FullOutcome:
    org: OrgOutcome
    segmentation: pl.DataFrame  # the re-run, every organisation, with previous (published) values beside
    scores: pl.DataFrame  # metric scores that moved: org_code, metric_id, published_score, score
    movers: pl.DataFrame  # organisations whose score, segment or rank moved (the changed one included)


NOT_AS_PUBLISHED = (
    ~pl.col("adjusted_segment").eq_missing(pl.col("published_segment"))
    | ~pl.col("final_segment").eq_missing(pl.col("published_final_segment"))
    | ~pl.col("amr_rank").eq_missing(pl.col("published_rank"))
)
"""A re-run organisation whose segment, final segment or rank differs from what was published."""


def published_outcomes(org_seg: pl.DataFrame) -> pl.DataFrame:
    """The published segment, final segment and rank of each organisation, named to sit beside a re-run's."""
    return org_seg.select(
        "org_code",
        pl.col("adjusted_segment").alias("published_segment"),
        pl.col("final_segment").alias("published_final_segment"),
        pl.col("amr_rank").alias("published_rank"),
    )


def full(inputs: QuarterInputs, org: str, changes: Mapping[str, float], with_ranges: bool = True) -> FullOutcome:
    """The whole quarter re-run with ``changes``: everyone's scores, the cut-points and ranks move as they would."""
    values = _changed_values(inputs, org, changes) if changes else inputs.values
    result = run(values, inputs.orgs, inputs.rs, inputs.flags, inputs.system_tests, with_ranges=with_ranges).as_text()
    seg = result.segmentation
    published = published_outcomes(inputs.org_seg).with_columns(
        inputs.org_seg["average_score"].alias("published_average")
    )
    keep = ["org_code", "org_type", "average_score_raw", "average_score", "unadjusted_segment"]
    keep += ["adjusted_segment", "final_segment", "amr_rank", "cut_1", "cut_2", "cut_3"]
    keep += [c for c in ("average_low", "average_high", "rank_low", "rank_high") if c in seg.columns]
    joined = seg.select(keep).join(published, on="org_code", how="left")
    moved_scores = (
        result.metric_scores.select("org_code", "metric_id", "score")
        .join(
            inputs.scores.select("org_code", "metric_id", pl.col("score").alias("published_score")),
            on=["org_code", "metric_id"],
            how="full",
            coalesce=True,
        )
        .filter(~pl.col("score").eq_missing(pl.col("published_score")))
        .select("org_code", "metric_id", "published_score", "score")
        .sort("org_code", "metric_id")
    )
    score_counts = moved_scores.group_by("org_code").agg(pl.len().cast(pl.Int64).alias("scores_moved"))
    movers = (
        joined.join(score_counts, on="org_code", how="left")
        .with_columns(pl.col("scores_moved").fill_null(0))
        .filter((pl.col("scores_moved") > 0) | NOT_AS_PUBLISHED | (pl.col("org_code") == org))
        .sort("org_code")
    )
    mine = joined.filter(pl.col("org_code") == org)
    if mine.is_empty():
        raise ValueError(f"{org} is not in {inputs.quarter}")
    r = mine.row(0, named=True)
    org_out = OrgOutcome(
        org,
        r["average_score_raw"],
        r["average_score"],
        r["unadjusted_segment"],
        r["adjusted_segment"],
        r["final_segment"],
        r["amr_rank"],
        result.metric_scores.filter(pl.col("org_code") == org).select("metric_id", "score").sort("metric_id"),
    )
    return FullOutcome(org_out, joined.sort("org_code"), moved_scores, movers)


def what_if(
    out: Path, quarter: str, org: str, changes: Mapping[str, float], hold: bool = False
) -> OrgOutcome | FullOutcome:
    """The what-if of ``npaf what-if``: read the snapshot, re-run, return the outcome (nothing is written)."""
    inputs = load_quarter(Path(out), quarter)
    return hold_population(inputs, org, changes) if hold else full(inputs, org, changes)
