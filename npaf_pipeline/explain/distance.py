"""Distance to the neighbouring segments: in score points, and for each metric in its own unit.

``value_for_better`` is first order: the organisation re-scored on that one metric against the real values of the
others (:mod:`npaf_pipeline.explain.families`), every other organisation's scores and the quarter's cut-points
held, and its average recomputed by the engine's own item and average functions. It is the least improvement, on
the metric's display grid, that moves the unadjusted segment to the next better one; a value one display step
short does not. Candidates are the values where the score can change (the others' values, the standard, band
edges) snapped to the grid, and the engine is asked about them by bisection, all pairs at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from npaf_pipeline.engine.aggregate import aggregate, build_items
from npaf_pipeline.engine.scoring import score_lookup_from
from npaf_pipeline.engine.segment import unadjusted_segments
from npaf_pipeline.explain.families import Family, GroupScorer, display, snap
from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.ruleset.model import Lookup, RuleSet

SCORE_KEYS = ["quarter", "org_code", "org_type", "metric_id", "score"]

OVERRIDE_NOTE = "override caps the segment at {cap}: lifting it is a finance matter, not a metric one"
SUPPORT_NOTE = "segment {segment} is a support decision"


def feeding_metrics(rs: RuleSet) -> set[str]:
    """Metrics whose value moves the average: scored metrics and the inputs of scored lookups (not lookups)."""
    lookups = [m for m in rs.metrics if isinstance(m.method, Lookup)]
    direct = {m.id for m in rs.metrics if m.role == "scored" and not isinstance(m.method, Lookup)}
    return direct | {i for m in lookups if m.role == "scored" for i in m.method.inputs}


def display_decimals(rs: RuleSet, metric_id: str, unit: str | None) -> int:
    metric = rs.metric(metric_id)
    return metric.unit_display_precision.get(unit or "", metric.display_precision)


def variant_of(population: str | None) -> str:
    """The unit variant of a scoring-population label (``main:acute`` -> '', ``unit=count:acute`` -> 'count')."""
    head = (population or "main").split(":", 1)[0]
    return head.removeprefix("unit=") if head.startswith("unit=") else ""


def org_segments(scenarios: pl.DataFrame, scores: pl.DataFrame, cuts: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """The unadjusted segment of each scenario: an organisation with one metric's score replaced.

    ``scenarios``: sid, quarter, org_code, metric_id (changed), new_score. ``scores``: engine metric scores
    (SCORE_KEYS) of the scenarios' quarters. Lookup composites are recomputed from their (possibly changed)
    inputs, then the engine's own items, average and cut-point rule apply, each scenario against its own quarter's
    cut-points. Returns sid, average_score_raw, average_score, unadjusted_segment.
    """
    lookups = [m.id for m in rs.metrics if isinstance(m.method, Lookup)]
    rows = (
        scores.join(scenarios.rename({"metric_id": "_changed"}), on=["quarter", "org_code"], how="inner")
        .with_columns(
            pl.when(pl.col("metric_id") == pl.col("_changed"))
            .then(pl.col("new_score"))
            .otherwise(pl.col("score"))
            .alias("score"),
            pl.col("sid").alias("org_code"),
        )
        .select(SCORE_KEYS)
    )
    base = rows.filter(~pl.col("metric_id").is_in(lookups))
    frames = [base]
    if lookups:
        frames.append(score_lookup_from(base, rs).select(SCORE_KEYS))
    items = build_items(pl.concat(frames, how="vertical_relaxed"), rs)
    org_scores, _ = aggregate(items, rs)
    seg = unadjusted_segments(org_scores, cuts, rs)
    return seg.select(pl.col("org_code").alias("sid"), "average_score_raw", "average_score", "unadjusted_segment")


@dataclass
class _Pair:
    quarter: str
    org_code: str
    metric_id: str
    target: int
    values: np.ndarray  # candidate values, least improvement first
    scores: np.ndarray


def _grid(family: Family, values: np.ndarray, decimals: int) -> np.ndarray:
    """The grid values where a score on this metric can change, for any organisation of the group: the allowed
    grid points at and one step beyond every breakpoint of all the group's values, least improvement first.

    One organisation's breakpoints are those of the others, a subset of these; the extra points (at its own value
    and one step beyond it) are scored like every other candidate, and only the least improving value of each
    better score is kept, so they cannot change an answer."""
    step = 10.0**-decimals
    g0 = snap(family.breakpoints(values), decimals, family.sign)
    grid = np.unique(np.concatenate([g0, np.round(g0 - family.sign * step, decimals)]))
    grid = grid[family.allowed(grid)]
    return grid[np.argsort(-(grid * family.sign), kind="stable")]


@dataclass(frozen=True)
class _GridScores:
    """A group's grid (least improvement first), its keys negated (ascending, for ``searchsorted``) and the score
    at each grid point for one size of the group ranked in (:meth:`GroupScorer.group_sizes`)."""

    grid: np.ndarray
    neg_keys: np.ndarray
    scores: np.ndarray


def _candidates(grid: _GridScores, sign: float, current: float, current_score: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid values that improve on ``current`` where the score changes, least improvement first, with the score
    at each (only the least improving value of each new, better score is kept)."""
    start = np.searchsorted(grid.neg_keys, -current * sign, side="right")  # keys fall along the grid
    cand, scores = grid.grid[start:], grid.scores[start:]
    if cand.size == 0:
        return cand, cand
    best_so_far = np.minimum.accumulate(scores)
    keep = np.concatenate([[True], best_so_far[1:] < best_so_far[:-1]])
    keep &= best_so_far < current_score
    return cand[keep], scores[keep]


def segment_distance(
    metric_scores: pl.DataFrame, cutpoints: pl.DataFrame, org_seg: pl.DataFrame, rs: RuleSet
) -> pl.DataFrame:
    """One row per quarter, segmented organisation and metric that feeds its average (see module docstring).

    The candidates of every quarter are bisected together, so each bisection step is one call of the engine's
    stages for the whole run rather than one per quarter.
    """
    scores_of = {q: f for (q,), f in metric_scores.partition_by("quarter", as_dict=True).items()}
    orgs_of = {q: f for (q,), f in org_seg.partition_by("quarter_label", as_dict=True).items()}
    empty = org_seg.clear()
    quarters = [
        (
            quarter,
            *_quarter_candidates(quarter, scores_of[quarter], orgs_of.get(parse_quarter(quarter).label, empty), rs),
        )
        for quarter in sorted(scores_of)
    ]
    pairs = [pair for _, _, _, quarter_pairs in quarters for pair in quarter_pairs]
    found = _bisect(pairs, metric_scores.select(SCORE_KEYS), cutpoints, rs)
    parts = []
    for quarter, orgs, frame, _ in quarters:
        if frame is None:
            continue
        result = pl.DataFrame(
            [row[1:] for row in found if row[0] == quarter],
            schema={
                "org_code": pl.String,
                "metric_id": pl.String,
                "value_for_better": pl.Float64,
                "score_for_better": pl.Float64,
                "segment_reached": pl.Int64,
                "_has_candidates": pl.Boolean,
            },
            orient="row",
        )
        parts.append(_finish(frame.join(result, on=["org_code", "metric_id"], how="left"), orgs, rs))
    parts = [p for p in parts if p.height]
    return (
        pl.concat(parts, how="vertical_relaxed").sort("quarter_label", "org_code", "metric_id") if parts else _empty()
    )


def _quarter_candidates(
    quarter: str, scores: pl.DataFrame, org_seg: pl.DataFrame, rs: RuleSet
) -> tuple[pl.DataFrame, pl.DataFrame | None, list[_Pair]]:
    """(segmented organisations, one row per organisation and feeding metric, pairs to bisect) of one quarter,
    from its metric scores and its organisations' segmentation."""
    orgs = org_seg.filter(pl.col("unadjusted_segment").is_not_null())
    if orgs.is_empty():
        return orgs, None, []
    feeds = feeding_metrics(rs)
    rows = scores.filter(
        pl.col("metric_id").is_in(list(feeds)) & pl.col("value").is_not_null() & pl.col("score").is_not_null()
    )
    segment_of = dict(zip(orgs["org_code"].to_list(), orgs["unadjusted_segment"].to_list(), strict=True))
    pairs: list[_Pair] = []
    meta: list[dict[str, object]] = []
    for (metric_id, population), group in rows.group_by("metric_id", "population", maintain_order=True):
        metric = rs.metric(str(metric_id))
        family = Family.of(metric, variant_of(str(population)))
        codes = group["org_code"].to_list()
        values = group["value"].to_numpy().astype(np.float64)
        units = group["unit"].to_list()
        group_scores = group["score"].to_list()
        scorer = GroupScorer(family, values) if family is not None else None
        sizes = scorer.group_sizes() if scorer is not None else np.zeros(0, dtype=np.int64)
        current = {k: scorer.scores(values, k) for k in map(int, np.unique(sizes))} if scorer is not None else {}
        decimals_of = {unit: display_decimals(rs, str(metric_id), unit) for unit in set(units)}
        grids: dict[int, np.ndarray] = {}  # per display precision (a unit variant may have its own)
        scored: dict[tuple[int, int], _GridScores] = {}  # per display precision and size of the group ranked in
        for i, code in enumerate(codes):
            seg = segment_of.get(code)
            if seg is None:
                continue
            decimals = decimals_of[units[i]]
            row = {
                "org_code": code,
                "metric_id": metric_id,
                "metric_name": metric.name,
                "unit": units[i],
                "value": float(values[i]),
                "score": float(group_scores[i]),
                "_decimals": decimals,
                "_family": family is not None,
            }
            meta.append(row)
            if seg > 1 and scorer is not None:
                k, sign = int(sizes[i]), scorer.family.sign
                if decimals not in grids:
                    grids[decimals] = _grid(scorer.family, values, decimals)
                if (decimals, k) not in scored:
                    grid = grids[decimals]
                    scored[decimals, k] = _GridScores(grid, -(grid * sign), scorer.scores(grid, k))
                now = float(current[k][i])  # its score at its own value, against the others
                cand, cand_scores = _candidates(scored[decimals, k], sign, float(values[i]), now)
                pairs.append(_Pair(quarter, code, str(metric_id), seg - 1, cand, cand_scores))
    if not meta:
        return orgs, None, []
    return orgs, pl.DataFrame(meta, schema_overrides={"value": pl.Float64, "score": pl.Float64}), pairs


def _bisect(pairs: list[_Pair], scores: pl.DataFrame, cuts: pl.DataFrame, rs: RuleSet) -> list[tuple]:
    """For each pair, the least-improving candidate that reaches its target segment (None when none does)."""
    out: list[tuple] = []
    live = [p for p in pairs if p.values.size]
    for p in pairs:
        if not p.values.size:
            out.append((p.quarter, p.org_code, p.metric_id, None, None, None, False))
    if not live:
        return out
    best = _segments(live, [p.values.size - 1 for p in live], scores, cuts, rs)
    lo = [-1] * len(live)
    hi = [p.values.size - 1 if best[i] is not None and best[i] <= p.target else None for i, p in enumerate(live)]
    while True:
        todo = [i for i in range(len(live)) if hi[i] is not None and hi[i] - lo[i] > 1]
        if not todo:
            break
        mids = [(lo[i] + hi[i]) // 2 for i in todo]
        segs = _segments([live[i] for i in todo], mids, scores, cuts, rs)
        for i, mid, seg in zip(todo, mids, segs, strict=True):
            if seg is not None and seg <= live[i].target:
                hi[i] = mid
            else:
                lo[i] = mid
    reached = _segments(
        [live[i] for i in range(len(live)) if hi[i] is not None],
        [h for h in hi if h is not None],
        scores,
        cuts,
        rs,
    )
    it = iter(reached)
    for i, p in enumerate(live):
        if hi[i] is None:
            out.append((p.quarter, p.org_code, p.metric_id, None, None, None, True))
        else:
            out.append(
                (p.quarter, p.org_code, p.metric_id, float(p.values[hi[i]]), float(p.scores[hi[i]]), next(it), True)
            )
    return out


def _segments(pairs: list[_Pair], index: list[int], scores: pl.DataFrame, cuts: pl.DataFrame, rs: RuleSet) -> list:
    if not pairs:
        return []
    scenarios = pl.DataFrame(
        {
            "sid": [f"{i}" for i in range(len(pairs))],
            "quarter": [p.quarter for p in pairs],
            "org_code": [p.org_code for p in pairs],
            "metric_id": [p.metric_id for p in pairs],
            "new_score": [float(p.scores[j]) for p, j in zip(pairs, index, strict=True)],
        }
    )
    seg = org_segments(scenarios, scores, cuts, rs)
    by_sid = dict(zip(seg["sid"].to_list(), seg["unadjusted_segment"].to_list(), strict=True))
    return [by_sid.get(f"{i}") for i in range(len(pairs))]


def _finish(frame: pl.DataFrame, orgs: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    precision = rs.aggregation.average_precision
    unit_step = 10.0**-precision
    org = orgs.select(
        "fy",
        "quarter",
        "quarter_label",
        "org_code",
        "org_type",
        "unadjusted_segment",
        "adjusted_segment",
        "final_segment",
        "average_score",
        "system_adjusted_segment",
        "override_flag",
        "cutpoint_1_2",
        "cutpoint_2_3",
        "cutpoint_3_4",
        "segmentation_population",
    )
    le = {p.id: p.boundary == "le" for p in rs.segmentation}
    seg = pl.col("unadjusted_segment")
    cut_above = (
        pl.when(seg == 2).then("cutpoint_1_2").when(seg == 3).then("cutpoint_2_3").when(seg == 4).then("cutpoint_3_4")
    )
    cut_below = (
        pl.when(seg == 1).then("cutpoint_1_2").when(seg == 2).then("cutpoint_2_3").when(seg == 3).then("cutpoint_3_4")
    )
    is_le = pl.col("segmentation_population").replace_strict(le, default=True, return_dtype=pl.Boolean)
    to_better = pl.col("average_score") - cut_above + pl.when(is_le).then(0.0).otherwise(unit_step)
    to_worse = cut_below - pl.col("average_score") + pl.when(is_le).then(unit_step).otherwise(0.0)
    org = org.with_columns(
        to_better.round(6).alias("points_to_better"),
        to_worse.round(6).alias("points_to_worse"),
        (pl.col("override_flag") & (pl.col("adjusted_segment") > pl.col("system_adjusted_segment"))).alias(
            "override_capped"
        ),
        pl.col("system_adjusted_segment").alias("segment_without_override"),
    )
    frame = frame.join(org, on="org_code", how="inner")
    cap = rs.override.cap_segment
    support = rs.intensive_support.segment
    rows = []
    for r in frame.iter_rows(named=True):
        notes: list[str] = []
        can: bool | None
        if r["unadjusted_segment"] == 1:
            can = None
            notes.append("already in segment 1")
        elif not r["_family"]:
            can = False
            notes.append("cannot close the gap alone: the metric's scoring cannot be re-run on one value")
        elif r["value_for_better"] is None:
            can = False
            notes.append(
                "cannot close the gap alone" + ("" if r["_has_candidates"] else ": no better score is possible")
            )
        else:
            can = True
            reached = r["segment_reached"]
            if reached is not None and reached < r["unadjusted_segment"] - 1:
                notes.append(f"jumps to segment {reached}")
            else:
                notes.append(f"reaches segment {reached}")
        if r["override_flag"] and (r["override_capped"] or (r["unadjusted_segment"] or 0) - 1 < cap):
            notes.append(OVERRIDE_NOTE.format(cap=cap))
        if r["final_segment"] == support:
            notes.append(SUPPORT_NOTE.format(segment=support))
        value_for_better = r["value_for_better"]
        if value_for_better is not None:
            value_for_better = display(value_for_better, r["_decimals"])
        rows.append((r["org_code"], r["metric_id"], can, "; ".join(notes), value_for_better))
    extra = pl.DataFrame(
        rows,
        schema={
            "org_code": pl.String,
            "metric_id": pl.String,
            "can_close_alone": pl.Boolean,
            "note": pl.String,
            "_vfb": pl.Float64,
        },
        orient="row",
    )
    frame = frame.join(extra, on=["org_code", "metric_id"], how="left")
    return frame.select(
        "fy",
        "quarter",
        "quarter_label",
        "org_code",
        "org_type",
        "unadjusted_segment",
        "adjusted_segment",
        "final_segment",
        "average_score",
        pl.when(pl.col("unadjusted_segment") > 1).then(pl.col("points_to_better")).alias("points_to_better"),
        "points_to_worse",
        "metric_id",
        "metric_name",
        "unit",
        "value",
        pl.col("_vfb").alias("value_for_better"),
        "can_close_alone",
        "note",
        "override_capped",
        "segment_without_override",
        "score",
        "score_for_better",
        "segment_reached",
        pl.col("_decimals").cast(pl.Int64).alias("display_decimals"),
    )


def _empty() -> pl.DataFrame:
    schema = {c: pl.String for c in ("fy", "quarter", "quarter_label", "org_code", "org_type")}
    schema |= {c: pl.Int64 for c in ("unadjusted_segment", "adjusted_segment", "final_segment")}
    schema |= {"average_score": pl.Float64, "points_to_better": pl.Float64, "points_to_worse": pl.Float64}
    schema |= {"metric_id": pl.String, "metric_name": pl.String, "unit": pl.String, "value": pl.Float64}
    schema |= {"value_for_better": pl.Float64, "can_close_alone": pl.Boolean, "note": pl.String}
    schema |= {"override_capped": pl.Boolean, "segment_without_override": pl.Int64}
    schema |= {"score": pl.Float64, "score_for_better": pl.Float64, "segment_reached": pl.Int64}
    schema |= {"display_decimals": pl.Int64}
    return pl.DataFrame(schema=schema)
