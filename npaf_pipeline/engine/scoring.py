"""Step 1: metric values -> metric scores (1 best .. 4 worst), every quarter at once.

Input ``values``: quarter, org_code, metric_id, value, unit (optional), tiebreak_rank or published_rank
(optional: NHS England's within-type rank, used only to order equal displayed values).
Input ``orgs``: org_code, org_type.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from npaf_pipeline.engine.frames import attach_org_type, require_columns
from npaf_pipeline.engine.numeric import compare, competition_rank
from npaf_pipeline.ruleset.model import (
    Bands,
    Continuous,
    GateFail,
    GateMeet,
    Lookup,
    Metric,
    ProvidedScore,
    RuleSet,
)

SCORE_COLUMNS = [
    "quarter",
    "org_code",
    "org_type",
    "metric_id",
    "score_id",
    "value",
    "unit",
    "method",
    "population",
    "population_size",
    "rank",
    "score",
]


class ScoringInputError(ValueError):
    """Values that no rule can score (e.g. a provided score outside its allowed set)."""


def score_metrics(values: pl.DataFrame, orgs: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """Score every metric of the rule set, for every quarter present, in one pass over all rows.

    Each (metric, unit variant) contributes one row of scoring parameters; the values are joined to them and
    every population is ranked in the same window expression, so the cost does not grow with the number of
    metrics. Rows come back in no particular order (publishing sorts).
    """
    require_columns(values, ["quarter", "org_code", "metric_id", "value"], "metric values")
    return score_prepared(prepare_values(values, orgs), rs)


def score_prepared(frame: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """:func:`score_metrics` on values that already carry ``org_type``, ``unit`` and ``tiebreak_rank``."""
    params = _parameters(rs)
    if params.height == 0:
        return _empty()
    rows = _attach_parameters(frame.filter(pl.col("value").is_not_null()), params, rs)
    scored = _score_rows(rows, rs) if rows.height else _empty()
    lookups = [_score_lookup(scored, m) for m in rs.metrics if isinstance(m.method, Lookup)]
    return _concat([scored, *lookups])


def score_lookup_from(scores: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """Lookup composites (e.g. combined finance) from already-computed or published input scores."""
    return _concat([_score_lookup(scores, m) for m in rs.metrics if isinstance(m.method, Lookup)])


# --- internals --------------------------------------------------------------------------------------------


def prepare_values(values: pl.DataFrame, orgs: pl.DataFrame) -> pl.DataFrame:
    """Values with ``unit`` and ``tiebreak_rank`` columns (null when absent) and the organisation type."""
    frame = values
    if "tiebreak_rank" not in frame.columns and "published_rank" in frame.columns:
        frame = frame.rename({"published_rank": "tiebreak_rank"})  # canonical metric values spell it so
    if "unit" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("unit"))
    if "tiebreak_rank" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("tiebreak_rank"))
    frame = frame.select(
        "quarter",
        "org_code",
        "metric_id",
        pl.col("value").cast(pl.Float64),
        pl.col("unit").cast(pl.String),
        pl.col("tiebreak_rank").cast(pl.Float64),
    )
    return attach_org_type(frame, orgs)


def _empty() -> pl.DataFrame:
    schema = {
        "quarter": pl.String,
        "org_code": pl.String,
        "org_type": pl.String,
        "metric_id": pl.String,
        "score_id": pl.String,
        "value": pl.Float64,
        "unit": pl.String,
        "method": pl.String,
        "population": pl.String,
        "population_size": pl.Int64,
        "rank": pl.Int64,
        "score": pl.Float64,
    }
    return pl.DataFrame(schema=schema)


def _concat(parts: list[pl.DataFrame]) -> pl.DataFrame:
    parts = [p.select(SCORE_COLUMNS) for p in parts if p.height]
    return pl.concat(parts, how="vertical_relaxed") if parts else _empty()


_OP_CODES = {">=": 0, ">": 1, "<=": 2, "<": 3, "==": 4, "!=": 5}
_KIND = {"ranked": 0, "bands": 1, "provided": 2}


def _parameters(rs: RuleSet) -> pl.DataFrame:
    """One row per (metric, organisation type, unit variant) that the rule set scores (lookups aside)."""
    rows = []
    for metric in rs.metrics:
        if isinstance(metric.method, Lookup):
            continue
        for variant, method in _methods(metric):
            label = f"unit={variant}" if variant else "main"
            kind, lo, hi, other, gate_op, gate_value, ranked_when = _method_parameters(metric, method)
            for org_type in metric.org_types:
                pop = org_type if metric.scoring_population == "same_type" else "all"
                sign = -1.0 if metric.direction == "higher" else 1.0
                head = (metric.id, org_type, variant, metric.score_id, _family(method), f"{label}:{pop}", pop)
                rows.append((*head, sign, kind, lo, hi, other, gate_op, gate_value, ranked_when))
    schema = {
        "metric_id": pl.String,
        "org_type": pl.String,
        "_variant": pl.String,
        "score_id": pl.String,
        "method": pl.String,
        "population": pl.String,
        "_pop": pl.String,
        "_sign": pl.Float64,
        "_kind": pl.Int8,
        "_lo": pl.Float64,
        "_hi": pl.Float64,
        "_other": pl.Float64,
        "_gate_op": pl.Int8,
        "_gate_value": pl.Float64,
        "_ranked_when": pl.Boolean,
    }
    params = pl.DataFrame(rows, schema=schema, orient="row")
    # integer ids of populations and organisation types: window expressions over one integer run fastest
    return params.with_columns(
        pl.struct("metric_id", "_variant", "_pop").rank("dense").cast(pl.Int64).alias("_pset"),
        pl.col("org_type").rank("dense").cast(pl.Int64).alias("_tidx"),
    )


def _attach_parameters(frame: pl.DataFrame, params: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """Each value row with its (metric, organisation type, unit variant) scoring parameters; others dropped.

    The parameters are looked up by a dense integer slot rather than joined on text keys: the same result as
    an inner join on ``metric_id``, ``org_type`` and the variant, without hashing millions of strings.
    """
    metric_ids = sorted(set(params["metric_id"].to_list()))
    org_types = sorted(set(params["org_type"].to_list()))
    variants = sorted(set(params["_variant"].to_list()))  # "" (the main method) sorts first
    n_types, n_variants = len(org_types), len(variants)
    variant: pl.Expr = pl.lit(0, pl.Int64)
    for metric in rs.metrics:
        for unit in metric.unit_methods:
            here = (pl.col("metric_id") == metric.id) & (
                pl.col("unit").str.strip_chars().str.to_lowercase() == unit.lower()
            )
            variant = pl.when(here).then(pl.lit(variants.index(unit), pl.Int64)).otherwise(variant)
    m_idx = pl.col("metric_id").replace_strict(metric_ids, range(len(metric_ids)), default=None, return_dtype=pl.Int64)
    t_idx = pl.col("org_type").replace_strict(org_types, range(n_types), default=None, return_dtype=pl.Int64)
    slot = np.full(len(metric_ids) * n_types * n_variants, -1, dtype=np.int64)
    for i, (m, t, v) in enumerate(params.select("metric_id", "org_type", "_variant").iter_rows()):
        slot[(metric_ids.index(m) * n_types + org_types.index(t)) * n_variants + variants.index(v)] = i
    keyed = frame.with_columns(((m_idx * n_types + t_idx) * n_variants + variant).alias("_slot")).drop_nulls("_slot")
    found = slot[keyed["_slot"].to_numpy()]
    keep = found >= 0
    keyed = keyed.drop("_slot").filter(pl.Series(keep))
    looked_up = params.drop("metric_id", "org_type")[found[keep]]
    return pl.concat([keyed, looked_up], how="horizontal")


def _methods(metric: Metric) -> list[tuple[str, object]]:
    """(variant, method) pairs of a metric: ``""`` for its main method, then each unit that has its own."""
    return [("", metric.method), *metric.unit_methods.items()]


def _method_parameters(
    metric: Metric, method: object
) -> tuple[int, float | None, float | None, float | None, int | None, float | None, bool | None]:
    """(kind, lo, hi, other score, gate operator, gate value, rank those meeting the gate?) of one method."""
    if isinstance(method, Continuous):
        return _KIND["ranked"], method.best, method.worst, None, None, None, None
    ranked = _KIND["ranked"]
    if isinstance(method, GateFail):
        op, std = _OP_CODES[method.standard.op], method.standard.value
        return ranked, method.fail_best, method.fail_worst, method.meet_score, op, std, False
    if isinstance(method, GateMeet):
        op, std = _OP_CODES[method.standard.op], method.standard.value
        return ranked, method.meet_best, method.meet_worst, method.fail_score, op, std, True
    if isinstance(method, Bands):
        return _KIND["bands"], None, None, None, None, None, None
    if isinstance(method, ProvidedScore):
        return _KIND["provided"], None, None, None, None, None, None
    raise TypeError(f"{metric.id}: no scorer for method {method!r}")


def _gate_meets() -> pl.Expr:
    """``value <op> standard`` with the operator held per row as a code."""
    value, std, op = pl.col("value"), pl.col("_gate_value"), pl.col("_gate_op")
    tests = [value >= std, value > std, value <= std, value < std, value == std, value != std]
    expr: pl.Expr = pl.lit(None, pl.Boolean)
    for code, test in reversed(list(enumerate(tests))):
        expr = pl.when(op == code).then(test).otherwise(expr)
    return expr


def _band_scores(rs: RuleSet) -> pl.Expr:
    """The score of every banded (metric, variant), as one expression over all rows."""
    expr: pl.Expr = pl.lit(None, pl.Float64)
    for metric in rs.metrics:
        for variant, method in _methods(metric):
            if not isinstance(method, Bands):
                continue
            chain: pl.Expr = pl.lit(None, dtype=pl.Float64)
            for band in reversed(method.bands):
                if band.op is None:
                    chain = pl.lit(band.score, pl.Float64)
                else:
                    chain = pl.when(compare(pl.col("value"), band.op, band.value)).then(band.score).otherwise(chain)
            here = (pl.col("metric_id") == metric.id) & (pl.col("_variant") == variant)
            expr = pl.when(here).then(chain.cast(pl.Float64)).otherwise(expr)
    return expr


def _check_provided(rows: pl.DataFrame, rs: RuleSet) -> None:
    bad: pl.Expr = pl.lit(False)
    for metric in rs.metrics:
        for variant, method in _methods(metric):
            if isinstance(method, ProvidedScore) and method.allowed is not None:
                here = (pl.col("metric_id") == metric.id) & (pl.col("_variant") == variant)
                bad = pl.when(here).then(~pl.col("value").is_in(method.allowed)).otherwise(bad)
    offending = rows.filter((pl.col("_kind") == _KIND["provided"]) & bad)
    if offending.height:
        for metric_id, group in offending.group_by("metric_id", maintain_order=True):
            method = rs.metric(str(metric_id[0])).method
            allowed = getattr(method, "allowed", None)
            sample = group.select("quarter", "org_code", "value").head(5).rows()
            raise ScoringInputError(
                f"{metric_id[0]}: {group.height} value(s) outside the allowed scores {allowed}, e.g. {sample}"
            )


def _score_rows(rows: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """Rank, gate, band or pass through every joined row in one set of window expressions."""
    _check_provided(rows, rs)
    quarters = sorted(rows["quarter"].unique().to_list())
    n_sets = int(rows["_pset"].max() or 0) + 1
    q_idx = pl.col("quarter").replace_strict(quarters, range(len(quarters)), return_dtype=pl.Int64)
    ranked = pl.col("_kind") == _KIND["ranked"]
    # gates rank only one side of the standard; continuous metrics rank everyone
    in_ranking = ranked & pl.when(pl.col("_ranked_when").is_null()).then(True).otherwise(
        _gate_meets() == pl.col("_ranked_when")
    )
    frame = rows.with_columns(
        (q_idx * n_sets + pl.col("_pset")).alias("_p"),  # the scoring population: quarter x metric x variant x pop
        in_ranking.alias("_ranked"),
        (pl.col("value") * pl.col("_sign")).alias("_key"),
    ).with_columns(
        pl.len().over("_p").cast(pl.Int64).alias("population_size"),
        (pl.col("_p") * 2 + pl.col("_ranked").cast(pl.Int64)).alias("_g"),
    )
    use_tiebreak = rs.ranking.published_rank_tiebreak and frame["tiebreak_rank"].null_count() < frame.height
    frame = frame.with_columns(
        (_tiebroken_rank() if use_tiebreak else competition_rank(pl.col("_key"), ["_g"])).alias("_rank"),
        pl.len().over("_g").cast(pl.Int64).alias("_k"),
    )
    frac = pl.when(pl.col("_k") > 1).then((pl.col("_rank") - 1) / (pl.col("_k") - 1)).otherwise(0.0)
    score = (
        pl.when(pl.col("_ranked"))
        .then(pl.col("_lo") + (pl.col("_hi") - pl.col("_lo")) * frac)
        .when(ranked)
        .then(pl.col("_other"))
        .when(pl.col("_kind") == _KIND["bands"])
        .then(_band_scores(rs))
        .otherwise(pl.col("value"))
    )
    return frame.with_columns(
        score.alias("score"),
        pl.when(pl.col("_ranked")).then(pl.col("_rank")).otherwise(None).alias("rank"),
    )


def _score_lookup(scores: pl.DataFrame, metric: Metric) -> pl.DataFrame:
    assert isinstance(metric.method, Lookup)
    first, second = metric.method.inputs
    table = pl.DataFrame(
        [
            (float(i + 1), float(j + 1), float(v))
            for i, row in enumerate(metric.method.table)
            for j, v in enumerate(row)
        ],
        schema={"_a": pl.Float64, "_b": pl.Float64, "score": pl.Float64},
        orient="row",
    )
    a = scores.filter(pl.col("metric_id") == first).select(
        "quarter", "org_code", "org_type", pl.col("score").round(0).alias("_a")
    )
    b = scores.filter(pl.col("metric_id") == second).select("quarter", "org_code", pl.col("score").round(0).alias("_b"))
    joined = a.join(b, on=["quarter", "org_code"], how="inner").filter(pl.col("org_type").is_in(metric.org_types))
    return joined.join(table, on=["_a", "_b"], how="left").with_columns(
        pl.lit(metric.id).alias("metric_id"),
        pl.lit(metric.score_id).alias("score_id"),
        pl.lit(None, pl.Float64).alias("value"),
        pl.lit("score").alias("unit"),
        pl.lit("lookup").alias("method"),
        pl.lit(f"lookup:{first}x{second}").alias("population"),
        pl.lit(None, pl.Int64).alias("population_size"),
        pl.lit(None, pl.Int64).alias("rank"),
    )


def _tiebroken_rank() -> pl.Expr:
    """Competition rank with NHS England's published within-type rank ordering equal displayed values.

    A trust's rank is 1 + the number of trusts of its population that are strictly better: a better value,
    or the same displayed value, the same trust type and a better published rank. The published rank is
    within type, so it orders trusts of one type only: two trusts of different types showing the same value
    are tied with each other, while trusts of the same type in that group keep their published order. A
    trust with no published rank is tied with every trust showing its value (it is never put ahead of a
    ranked trust, and no ranked trust is put ahead of it).
    """
    better_value = competition_rank(pl.col("_key"), ["_g"]) - 1
    ranked = pl.col("tiebreak_rank").is_not_null()
    same_type_better = pl.col("tiebreak_rank").rank("min").over("_g", "_key", "_tidx").cast(pl.Int64) - 1
    return 1 + better_value + pl.when(ranked).then(same_type_better).otherwise(0)


def _family(method: object) -> str:
    return getattr(method, "family", type(method).__name__)
