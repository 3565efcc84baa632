"""A plain pandas version of the NOF 2025/26 scoring and segmentation, written for clarity rather than speed.

It reads the same rule set as the engine and follows the methodology step by step: each metric is scored on its
own (continuous, gate, bands, provided score; competition ranks within the scoring population, equal displayed
values ordered by the published rank), the finance lookup and the HCAI mean make the items, items give the
average and domain scores, quarter by quarter the pooled quartiles (type 7) cut the average into segments
(a score equal to a cut goes to the better segment), the financial override caps at segment 3, the
intensive-support list gives segment 5, and the AMR rank orders segment then average within trust type.

It is the yardstick for the engine's speed and an independent check of its results; it has no likely ranges.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from npaf_pipeline.ruleset.model import Bands, Continuous, GateFail, GateMeet, Lookup, Metric, ProvidedScore, RuleSet

OPS = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def round_half_up(x: pd.Series, decimals: int) -> pd.Series:
    """Round half away from zero, as published figures are (with the engine's 1e-9 nudge for x.xx5 values)."""
    factor = 10.0**decimals
    nudged = x + np.sign(x) * 1e-9
    return np.sign(nudged) * np.floor(np.abs(nudged) * factor + 0.5) / factor


def competition_rank(df: pd.DataFrame, group_cols: list[str], key: str, tiebreak: str) -> pd.Series:
    """'1224' rank of ``key`` ascending within groups; equal keys of one trust type are ordered by ``tiebreak``.

    1 + the rows strictly better: a better key, or the same key, the same type and a smaller ``tiebreak``
    (a missing ``tiebreak`` orders nothing: that row ties with its equals).
    """
    better_key = df.groupby(group_cols)[key].rank(method="min") - 1
    same_type_better = df.groupby([*group_cols, key, "org_type"])[tiebreak].rank(method="min") - 1
    return 1 + better_key + same_type_better.fillna(0.0)


def score_metric(rows: pd.DataFrame, metric: Metric, method: object, rs: RuleSet) -> pd.DataFrame:
    """Scores of one metric (or of one unit variant of it) for every quarter."""
    rows = rows.copy()
    pop = ["quarter"] + (["org_type"] if metric.scoring_population == "same_type" else [])
    rows["key"] = -rows["value"] if metric.direction == "higher" else rows["value"]
    # the published within-type rank orders equal values of one trust type only
    rows["tb"] = rows["tiebreak_rank"] if rs.ranking.published_rank_tiebreak else np.nan
    rows["rank"] = np.nan
    if isinstance(method, Continuous):
        rows["rank"] = competition_rank(rows, pop, "key", "tb")
        n = rows.groupby(pop)["value"].transform("size")
        frac = np.where(n > 1, (rows["rank"] - 1) / (n - 1).where(n > 1, 1), 0.0)
        rows["score"] = method.best + (method.worst - method.best) * frac
    elif isinstance(method, GateFail | GateMeet):
        meets = OPS[method.standard.op](rows["value"], method.standard.value)
        if isinstance(method, GateFail):
            ranked, lo, hi, other = ~meets, method.fail_best, method.fail_worst, method.meet_score
        else:
            ranked, lo, hi, other = meets, method.meet_best, method.meet_worst, method.fail_score
        rows["score"] = float(other)
        inside = rows[ranked].copy()
        if len(inside):
            inside["rank"] = competition_rank(inside, pop, "key", "tb")
            k = inside.groupby(pop)["value"].transform("size")
            frac = np.where(k > 1, (inside["rank"] - 1) / (k - 1).where(k > 1, 1), 0.0)
            rows.loc[inside.index, "rank"] = inside["rank"]
            rows.loc[inside.index, "score"] = lo + (hi - lo) * frac
    elif isinstance(method, Bands):
        # the first band whose condition holds gives the score; a band without a condition catches the rest
        conditions = [
            np.ones(len(rows), dtype=bool) if band.op is None else OPS[band.op](rows["value"], band.value).to_numpy()
            for band in method.bands
        ]
        rows["score"] = np.select(conditions, [band.score for band in method.bands], default=np.nan)
    elif isinstance(method, ProvidedScore):
        rows["score"] = rows["value"]
    else:
        raise TypeError(f"{metric.id}: no scorer for {method!r}")
    rows["metric_id"] = metric.id
    return rows[["quarter", "org_code", "org_type", "metric_id", "value", "rank", "score"]]


def score_all(values: pd.DataFrame, orgs: pd.DataFrame, rs: RuleSet) -> pd.DataFrame:
    """Every metric's scores, the lookup composites last."""
    frame = values.merge(orgs[["org_code", "org_type"]], on="org_code", how="left")
    if "tiebreak_rank" not in frame:
        frame["tiebreak_rank"] = np.nan
    if "unit" not in frame:
        frame["unit"] = None
    parts = []
    for metric in rs.metrics:
        if isinstance(metric.method, Lookup):
            continue
        rows = frame[
            (frame["metric_id"] == metric.id) & frame["org_type"].isin(metric.org_types) & frame["value"].notna()
        ]
        variant_units = list(metric.unit_methods)
        main = rows[~rows["unit"].isin(variant_units)]
        if len(main):
            parts.append(score_metric(main, metric, metric.method, rs))
        for unit, method in metric.unit_methods.items():
            sub = rows[rows["unit"] == unit]
            if len(sub):
                parts.append(score_metric(sub, metric, method, rs))
    scores = pd.concat(parts, ignore_index=True)
    for metric in rs.metrics:
        if isinstance(metric.method, Lookup):
            scores = pd.concat([scores, lookup_scores(scores, metric)], ignore_index=True)
    return scores


def lookup_scores(scores: pd.DataFrame, metric: Metric) -> pd.DataFrame:
    """A score read from a table indexed by the (whole) scores of two input metrics."""
    assert isinstance(metric.method, Lookup)
    first, second = metric.method.inputs
    a = scores[scores["metric_id"] == first][["quarter", "org_code", "org_type", "score"]]
    b = scores[scores["metric_id"] == second][["quarter", "org_code", "score"]]
    both = a.merge(b, on=["quarter", "org_code"], suffixes=("_a", "_b"))
    both = both[both["org_type"].isin(metric.org_types)]
    table = np.array(metric.method.table, dtype=float)
    i = round_half_up(both["score_a"], 0).astype(int) - 1
    j = round_half_up(both["score_b"], 0).astype(int) - 1
    inside = (i >= 0) & (i < len(table)) & (j >= 0) & (j < len(table))
    score = np.full(len(both), np.nan)
    score[inside.to_numpy()] = table[i[inside], j[inside]]
    both = both.assign(score=score, metric_id=metric.id, value=np.nan, rank=np.nan)
    return both[["quarter", "org_code", "org_type", "metric_id", "value", "rank", "score"]]


def build_items(scores: pd.DataFrame, rs: RuleSet) -> pd.DataFrame:
    """Scored metrics rounded to their precision, composites (HCAI) averaged into one item."""
    meta = pd.DataFrame(
        {
            "metric_id": [m.id for m in rs.metrics],
            "role": [m.role for m in rs.metrics],
            "item_id": [m.item or m.id for m in rs.metrics],
            "domain": [m.domain for m in rs.metrics],
            "precision": [m.average_precision for m in rs.metrics],
        }
    )
    scored = scores.merge(meta, on="metric_id")
    scored = scored[(scored["role"] == "scored") & scored["score"].notna()].copy()
    for precision in scored["precision"].dropna().unique():
        rows = scored["precision"] == precision
        scored.loc[rows, "score"] = round_half_up(scored.loc[rows, "score"], int(precision))
    return scored.groupby(["quarter", "org_code", "org_type", "item_id", "domain"], as_index=False)["score"].mean()


def aggregate(items: pd.DataFrame, rs: RuleSet) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(average score per organisation, domain scores), both rounded half up to 2 dp."""
    agg = rs.aggregation
    org = items.groupby(["quarter", "org_code", "org_type"], as_index=False).agg(
        n_items=("score", "size"), average_score_raw=("score", "mean")
    )
    org["average_score"] = round_half_up(org["average_score_raw"], agg.average_precision)
    dom = items.groupby(["quarter", "org_code", "org_type", "domain"], as_index=False).agg(
        n_items=("score", "size"), score_raw=("score", "mean")
    )
    dom["score"] = round_half_up(dom["score_raw"], agg.domain_precision)
    return org, dom


def segment(org: pd.DataFrame, flags: pd.DataFrame | None, rs: RuleSet) -> pd.DataFrame:
    """Cut-points per quarter and population, segments 1-4, the override cap, segment 5 and the AMR rank."""
    org = org.copy()
    org["population"] = org["org_type"].map({t: p.id for p in rs.segmentation for t in p.org_types})
    for col in ("cut_1", "cut_2", "cut_3", "unadjusted_segment"):
        org[col] = np.nan
    for (_quarter, pop_id), group in org.dropna(subset=["population"]).groupby(["quarter", "population"]):
        pop = next(p for p in rs.segmentation if p.id == pop_id)
        scores = group["average_score"].dropna().to_numpy()
        cuts = [np.quantile(scores, p) for p in pop.probabilities]  # numpy's default is Hyndman-Fan type 7
        for i, cut in enumerate(cuts, start=1):
            org.loc[group.index, f"cut_{i}"] = cut
        average = group["average_score"]
        above = sum((average > c) if pop.boundary == "le" else (average >= c) for c in cuts)
        org.loc[group.index, "unadjusted_segment"] = 1 + above
    if flags is not None:
        org = org.merge(flags, on=["quarter", "org_code"], how="left")
    else:
        org["financial_override"] = None
        org["intensive_support"] = None
    override = org["financial_override"].fillna(False).astype(bool)
    support = org["intensive_support"].fillna(False).astype(bool)
    org["adjusted_segment"] = org["unadjusted_segment"]
    capped = override & org["unadjusted_segment"].notna()
    org.loc[capped, "adjusted_segment"] = np.maximum(org.loc[capped, "unadjusted_segment"], rs.override.cap_segment)
    org["final_segment"] = org["adjusted_segment"]
    org.loc[support & org["adjusted_segment"].notna(), "final_segment"] = rs.intensive_support.segment
    # league table: segment first, then the 2 dp average (below 10, so one number orders both)
    league_key = org["adjusted_segment"] * 10 + org["average_score"]
    org["amr_rank"] = league_key.groupby([org["quarter"], org["org_type"]]).rank(method="min")
    return org


def run(values: pd.DataFrame, orgs: pd.DataFrame, rs: RuleSet, flags: pd.DataFrame | None = None) -> dict:
    """Every stage for every quarter in ``values``: scores, items, domain scores and segmentation."""
    scores = score_all(values, orgs, rs)
    items = build_items(scores, rs)
    org, dom = aggregate(items, rs)
    seg = segment(org, flags, rs)
    return {"metric_scores": scores, "items": items, "domain_scores": dom, "segmentation": seg}
