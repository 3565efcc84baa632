"""Step 1: metric values -> metric scores (1 best .. 4 worst), every quarter at once.

Input ``values``: quarter, org_code, metric_id, value, unit (optional), tiebreak_rank or published_rank
(optional: NHS England's within-type rank, used only to order equal displayed values).
Input ``orgs``: org_code, org_type.
"""

from __future__ import annotations

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
    """Score every metric of the rule set, for every quarter present, in one pass per metric."""
    require_columns(values, ["quarter", "org_code", "metric_id", "value"], "metric values")
    frame = _prepare(values, orgs)
    parts: list[pl.DataFrame] = []
    for metric in rs.metrics:
        if isinstance(metric.method, Lookup):
            continue
        rows = frame.filter(
            (pl.col("metric_id") == metric.id)
            & pl.col("org_type").is_in(metric.org_types)
            & pl.col("value").is_not_null()
        )
        if rows.height:
            parts.append(_score_metric(rows, metric, rs))
    scored = _concat(parts)
    lookups = [_score_lookup(scored, m) for m in rs.metrics if isinstance(m.method, Lookup)]
    return _concat([scored, *lookups]).sort(["quarter", "metric_id", "org_code"])


def score_lookup_from(scores: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """Lookup composites (e.g. combined finance) from already-computed or published input scores."""
    return _concat([_score_lookup(scores, m) for m in rs.metrics if isinstance(m.method, Lookup)])


# --- internals --------------------------------------------------------------------------------------------


def _prepare(values: pl.DataFrame, orgs: pl.DataFrame) -> pl.DataFrame:
    frame = values
    if "tiebreak_rank" not in frame.columns and "published_rank" in frame.columns:
        frame = frame.rename({"published_rank": "tiebreak_rank"})  # canonical metric values spell it so
    if "unit" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("unit"))
    if "tiebreak_rank" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("tiebreak_rank"))
    frame = frame.with_columns(pl.col("value").cast(pl.Float64), pl.col("tiebreak_rank").cast(pl.Float64))
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


def _score_metric(rows: pl.DataFrame, metric: Metric, rs: RuleSet) -> pl.DataFrame:
    """Split rows by unit variant, then score each variant in its own population."""
    variant_units = list(metric.unit_methods)
    parts = []
    main = rows.filter(~pl.col("unit").is_in(variant_units).fill_null(False)) if variant_units else rows
    if main.height:
        parts.append(_apply(main, metric, metric.method, "main", rs))
    for unit, method in metric.unit_methods.items():
        sub = rows.filter(pl.col("unit") == unit)
        if sub.height:
            parts.append(_apply(sub, metric, method, f"unit={unit}", rs))
    return _concat(parts)


def _apply(rows: pl.DataFrame, metric: Metric, method: object, variant: str, rs: RuleSet) -> pl.DataFrame:
    pop_cols = ["quarter"] + (["org_type"] if metric.scoring_population == "same_type" else [])
    pop_label = (
        pl.concat_str([pl.lit(f"{variant}:"), pl.col("org_type")])
        if metric.scoring_population == "same_type"
        else pl.lit(f"{variant}:all")
    )
    # "better" sorts first: negate higher-is-better values
    key = pl.col("value") if metric.direction != "higher" else -pl.col("value")
    tiebreak = _tiebreak(pop_cols) if rs.ranking.published_rank_tiebreak else None
    base = rows.with_columns(
        pl.lit(metric.score_id).alias("score_id"),
        pl.lit(_family(method)).alias("method"),
        pop_label.alias("population"),
        pl.len().over(pop_cols).cast(pl.Int64).alias("population_size"),
    )
    if isinstance(method, Continuous):
        n = pl.col("population_size")
        rank = competition_rank(key, pop_cols, tiebreak)
        frac = pl.when(n > 1).then((pl.col("rank") - 1) / (n - 1)).otherwise(0.0)
        return base.with_columns(rank.alias("rank")).with_columns(
            (method.best + (method.worst - method.best) * frac).alias("score")
        )
    if isinstance(method, GateFail | GateMeet):
        meets = compare(pl.col("value"), method.standard.op, method.standard.value)
        ranked_group = ~meets if isinstance(method, GateFail) else meets
        grp = [*pop_cols, "_ranked"]
        ranked = base.with_columns(ranked_group.alias("_ranked"))
        ranked = ranked.with_columns(
            competition_rank(key, grp, tiebreak).alias("rank"),
            pl.len().over(grp).cast(pl.Int64).alias("_k"),
        )
        if isinstance(method, GateFail):
            lo, hi, other = method.fail_best, method.fail_worst, method.meet_score
        else:
            lo, hi, other = method.meet_best, method.meet_worst, method.fail_score
        frac = pl.when(pl.col("_k") > 1).then((pl.col("rank") - 1) / (pl.col("_k") - 1)).otherwise(0.0)
        return ranked.with_columns(
            pl.when(pl.col("_ranked")).then(lo + (hi - lo) * frac).otherwise(pl.lit(other)).alias("score"),
            pl.when(pl.col("_ranked")).then(pl.col("rank")).otherwise(None).alias("rank"),
        )
    if isinstance(method, Bands):
        expr: pl.Expr = pl.lit(None, dtype=pl.Float64)
        for band in reversed(method.bands):
            if band.op is None:
                expr = pl.lit(band.score)
            else:
                expr = pl.when(compare(pl.col("value"), band.op, band.value)).then(band.score).otherwise(expr)
        return base.with_columns(expr.cast(pl.Float64).alias("score"), pl.lit(None, pl.Int64).alias("rank"))
    if isinstance(method, ProvidedScore):
        if method.allowed is not None:
            bad = base.filter(~pl.col("value").is_in(method.allowed))
            if bad.height:
                sample = bad.select("quarter", "org_code", "value").head(5).rows()
                raise ScoringInputError(
                    f"{metric.id}: {bad.height} value(s) outside the allowed scores {method.allowed}, e.g. {sample}"
                )
        return base.with_columns(pl.col("value").alias("score"), pl.lit(None, pl.Int64).alias("rank"))
    raise TypeError(f"{metric.id}: no scorer for method {method!r}")


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


def _tiebreak(pop_cols: list[str]) -> pl.Expr:
    """The published within-type rank, used only where every organisation sharing the value is of one type.

    A within-type rank cannot order an acute and a mental health trust that show the same value, so such a
    group stays tied (the most likely reading when values are truly equal).
    """
    mixed = pl.col("org_type").n_unique().over([*pop_cols, "value"]) > 1
    return pl.when(mixed).then(None).otherwise(pl.col("tiebreak_rank"))


def _family(method: object) -> str:
    return getattr(method, "family", type(method).__name__)
