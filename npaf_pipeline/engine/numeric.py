"""Small numeric rules shared by the engine: rounding, sample quantiles, competition ranks, conditions."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence

import polars as pl

from npaf_pipeline.ruleset.model import AllOf, AnyOf, Compare, Condition

_OPS: dict[str, Callable[[object, object], object]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


def round_expr(expr: pl.Expr, decimals: int | None, mode: str = "half_up") -> pl.Expr:
    """Round as published figures are rounded (half away from zero by default); ``None`` leaves it alone.

    The 1e-9 nudge keeps x.xx5 values that binary floating point stores as x.xx4999… rounding up, as a
    spreadsheet would; averages of 2 dp scores never lie that close to a half otherwise.
    """
    if decimals is None:
        return expr
    if mode == "half_even":
        return expr.round(decimals, mode="half_to_even")
    return (expr + expr.sign() * 1e-9).round(decimals, mode="half_away_from_zero")


_FIXED_POINT = 2.0**46
"""Scores (1-4, a few dozen per mean) summed as integers in units of 2**-46: exact, so order-free."""


def exact_mean(expr: pl.Expr) -> pl.Expr:
    """Mean of scores that does not depend on the order of the rows (an aggregation for ``group_by``).

    Floating-point sums depend on the order of the terms, and a parallel group-by does not fix that order;
    summing the scores as fixed-point integers does. Quantising to 2**-46 moves a score by at most 7e-15,
    far below the 1e-9 rounding nudge, so published (rounded) figures are unaffected.
    """
    return exact_sum(expr) / expr.count().cast(pl.Float64)


def exact_sum(expr: pl.Expr) -> pl.Expr:
    """Sum of scores as fixed-point integers (see :func:`exact_mean`): the same whatever the row order."""
    fixed = (expr * _FIXED_POINT).round().cast(pl.Int64)
    return fixed.sum().cast(pl.Float64) / _FIXED_POINT


def round_value(value: float, decimals: int = 2) -> float:
    """Scalar twin of :func:`round_expr` (half away from zero)."""
    factor = 10.0**decimals
    return math.copysign(math.floor(abs(value) * factor + 0.5 + 1e-9) / factor, value)


def compare(expr: pl.Expr, op: str, value: float) -> pl.Expr:
    """``expr <op> value`` as a polars expression."""
    return _OPS[op](expr, pl.lit(value))  # type: ignore[return-value]


def condition_expr(cond: Condition, subject: pl.Expr | None = None) -> pl.Expr:
    """A condition tree as a boolean expression.

    Leaves naming a ``metric`` read column ``value__<metric>``, leaves naming a ``domain`` read
    ``domain__<domain>``; a bare leaf compares ``subject``. Missing inputs make a leaf false.
    """
    if isinstance(cond, Compare):
        if cond.metric:
            col = pl.col(f"value__{cond.metric}")
        elif cond.domain:
            col = pl.col(f"domain__{cond.domain}")
        elif subject is not None:
            col = subject
        else:
            raise ValueError("a condition without 'metric' or 'domain' needs a subject value")
        return compare(col, cond.op, cond.value).fill_null(False)
    if isinstance(cond, AnyOf):
        return pl.any_horizontal([condition_expr(c, subject) for c in cond.any])
    if isinstance(cond, AllOf):
        return pl.all_horizontal([condition_expr(c, subject) for c in cond.all])
    raise TypeError(f"not a condition: {cond!r}")


def condition_columns(cond: Condition | None) -> set[str]:
    """Column names a condition tree reads."""
    if cond is None:
        return set()
    if isinstance(cond, Compare):
        if cond.metric:
            return {f"value__{cond.metric}"}
        return {f"domain__{cond.domain}"} if cond.domain else set()
    children = cond.any if isinstance(cond, AnyOf) else cond.all
    return set().union(*(condition_columns(c) for c in children))


def hf_quantile(values: Sequence[float], p: float, method: int = 7) -> float:
    """Sample quantile of Hyndman & Fan (1996) type 1..9 (type 7 is Excel QUARTILE.INC and numpy's default)."""
    x = sorted(values)
    n = len(x)
    if n == 0:
        return math.nan
    fuzz = 4 * 2.220446049250313e-16
    if method in (1, 2, 3):
        m = -0.5 if method == 3 else 0.0
        np_m = n * p + m
        j = math.floor(np_m + fuzz)
        g = np_m - j
        if method == 1:
            gamma = 1.0 if g > fuzz else 0.0
        elif method == 2:
            gamma = 1.0 if g > fuzz else 0.5
        else:
            gamma = 0.0 if (abs(g) <= fuzz and j % 2 == 0) else 1.0
    elif 4 <= method <= 9:
        m = {4: 0.0, 5: 0.5, 6: p, 7: 1 - p, 8: (p + 1) / 3, 9: p / 4 + 3 / 8}[method]
        np_m = n * p + m
        j = math.floor(np_m + fuzz)
        gamma = np_m - j
        if abs(gamma) < fuzz:
            gamma = 0.0
    else:
        raise ValueError(f"quantile method must be 1..9, got {method}")
    lo = x[min(max(j, 1), n) - 1]
    hi = x[min(max(j + 1, 1), n) - 1]
    # lo + gamma * (hi - lo) returns lo exactly when the two order statistics are equal
    return lo + gamma * (hi - lo) if gamma and hi != lo else lo


def hf_quantiles(
    frame: pl.DataFrame, by: Sequence[str], column: str, probabilities: dict[str, float], method: int = 7
) -> pl.DataFrame:
    """:func:`hf_quantile` of ``column`` per group, for several probabilities: the same arithmetic, vectorised.

    Returns one row per group with ``n`` (non-null values) and one column per entry of ``probabilities``.
    The position arithmetic depends only on the group size, so each group's two order statistics are picked
    from its sorted values and combined with exactly the scalar version's floating-point operations.
    """
    if not 1 <= method <= 9:
        raise ValueError(f"quantile method must be 1..9, got {method}")
    grouped = (
        frame.group_by(list(by))
        .agg(pl.col(column).drop_nulls().sort().alias("_x"))
        .with_columns(pl.col("_x").list.len().cast(pl.Int64).alias("n"))
    )
    return grouped.with_columns(
        [_quantile_from_sorted(pl.col("_x"), pl.col("n"), p, method).alias(name) for name, p in probabilities.items()]
    ).drop("_x")


def _quantile_from_sorted(x: pl.Expr, count: pl.Expr, p: float, method: int) -> pl.Expr:
    fuzz = 4 * 2.220446049250313e-16
    n = count.cast(pl.Float64)
    if method in (1, 2, 3):
        np_m = n * p + (-0.5 if method == 3 else 0.0)
    else:
        m = {4: 0.0, 5: 0.5, 6: p, 7: 1 - p, 8: (p + 1) / 3, 9: p / 4 + 3 / 8}[method]
        np_m = n * p + m
    j = (np_m + fuzz).floor()
    g = np_m - j
    if method == 1:
        gamma = pl.when(g > fuzz).then(1.0).otherwise(0.0)
    elif method == 2:
        gamma = pl.when(g > fuzz).then(1.0).otherwise(0.5)
    elif method == 3:
        gamma = pl.when((g.abs() <= fuzz) & ((j % 2) == 0)).then(0.0).otherwise(1.0)
    else:
        gamma = pl.when(g.abs() < fuzz).then(0.0).otherwise(g)
    lo = x.list.get((j.clip(1.0, n) - 1).cast(pl.Int64), null_on_oob=True)
    hi = x.list.get(((j + 1).clip(1.0, n) - 1).cast(pl.Int64), null_on_oob=True)
    both = pl.when((gamma != 0) & (hi != lo)).then(lo + gamma * (hi - lo)).otherwise(lo)
    return pl.when(count == 0).then(pl.lit(float("nan"))).otherwise(both)


def competition_rank(key: pl.Expr, by: Sequence[str], tiebreak: pl.Expr | None = None) -> pl.Expr:
    """Competition ("1224") rank of ``key`` ascending within groups ``by``; ``tiebreak`` orders equal keys."""
    target = key if tiebreak is None else pl.struct(key.alias("k"), tiebreak.fill_null(0).alias("t"))
    return target.rank("min").over(list(by)).cast(pl.Int64)
