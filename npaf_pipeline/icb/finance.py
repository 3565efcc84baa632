"""System test 6: the system's forecast deficit, from a system finance input or its providers summed.

Finance rows: quarter, org_code, income, planned_surplus, forecast_surplus (one currency unit throughout, e.g.
£000; a deficit is negative). A row whose org_code is an ICB under assessment is that system's own total and is
used as it is; other rows are providers, summed to their ICB (amounts summed, never percentages averaged). An
ICB with a system row never has providers added to it.

- forecast position ``= 100 * forecast_surplus / income`` (negative: a deficit; the sign of OF0079);
- variance to plan ``= 100 * (forecast_surplus - planned_surplus) / income`` (negative: behind plan; as OF0081).

Failed: a forecast deficit over ``deficit_over`` % of income; or a deficit of at most that size with the forecast
more than ``off_plan_over`` % of income behind plan. Both comparisons are strict ("over", "more than").
"""

from __future__ import annotations

import polars as pl

from npaf_pipeline.engine.frames import require_columns

FINANCE_COLUMNS = ["quarter", "org_code", "income", "planned_surplus", "forecast_surplus"]
_AMOUNTS = ["income", "planned_surplus", "forecast_surplus"]


def system_finance(finance: pl.DataFrame, trust_icb: pl.DataFrame | None, icbs: list[str]) -> pl.DataFrame:
    """quarter, icb_code, income, planned_surplus, forecast_surplus, basis, complete."""
    require_columns(finance, FINANCE_COLUMNS, "finance")
    rows = finance.select(FINANCE_COLUMNS).with_columns(pl.col(_AMOUNTS).cast(pl.Float64))
    is_icb = pl.col("org_code").is_in(icbs)
    system = rows.filter(is_icb).select(
        "quarter",
        pl.col("org_code").alias("icb_code"),
        *_AMOUNTS,
        pl.lit("system finance input").alias("basis"),
        pl.all_horizontal(pl.col(_AMOUNTS).is_not_null()).alias("complete"),
    )
    if trust_icb is None:
        return system
    providers = rows.filter(~is_icb).join(trust_icb.select("org_code", "icb_code"), on="org_code", how="inner")
    whole = pl.all_horizontal(pl.col(_AMOUNTS).is_not_null())
    summed = providers.group_by("quarter", "icb_code").agg(
        *[pl.col(c).sum() for c in _AMOUNTS],
        pl.format("finance of {} provider(s) summed: {}", pl.len(), pl.col("org_code").sort().str.join(",")).alias(
            "basis"
        ),
        whole.all().alias("complete"),
    )
    summed = summed.join(system.select("quarter", "icb_code"), on=["quarter", "icb_code"], how="anti")
    return pl.concat([system, summed.select(system.columns)], how="vertical_relaxed")


def deficit_results(totals: pl.DataFrame, deficit_over: float, off_plan_over: float) -> pl.DataFrame:
    """Per (quarter, ICB): status, failed, evidence, basis and the numbers (position %, variance %, amounts)."""
    income = pl.col("income")
    position = 100 * pl.col("forecast_surplus") / income
    variance = 100 * (pl.col("forecast_surplus") - pl.col("planned_surplus")) / income
    usable = pl.col("complete") & (income > 0)
    frame = totals.with_columns(
        pl.when(usable).then(position).otherwise(None).alias("value"),
        pl.when(usable).then(variance).otherwise(None).alias("off_plan_percent"),
    )
    big = pl.col("value") < -deficit_over
    off_plan = (pl.col("value") < 0) & (pl.col("off_plan_percent") < -off_plan_over)
    failed = big | off_plan
    status = pl.when(pl.col("value").is_null()).then(pl.lit("not_assessed"))
    status = status.when(failed).then(pl.lit("failed")).otherwise(pl.lit("passed"))
    numbers = pl.format(
        "forecast {} of income {} ({}%); plan {} ({}% variance to plan)",
        pl.col("forecast_surplus").round(1),
        income.round(1),
        pl.col("value").round(2),
        pl.col("planned_surplus").round(1),
        pl.col("off_plan_percent").round(2),
    )
    why = (
        pl.when(big)
        .then(pl.lit(f"deficit over {deficit_over:g}% of income: "))
        .when(off_plan)
        .then(pl.lit(f"deficit of at most {deficit_over:g}% but more than {off_plan_over:g}% behind plan: "))
        .otherwise(pl.lit("no deficit over the limits: "))
    )
    missing = (
        pl.when(~pl.col("complete"))
        .then(pl.lit("not assessed: income, plan or forecast missing"))
        .otherwise(pl.lit("not assessed: income is not positive"))
    )
    evidence = pl.when(pl.col("value").is_null()).then(missing).otherwise(pl.concat_str([why, numbers]))
    return frame.select(
        "quarter",
        "icb_code",
        status.alias("status"),
        (status == "failed").alias("failed"),
        evidence.alias("evidence"),
        "basis",
        "value",
        pl.lit(-deficit_over).alias("cut_point"),
        (-pl.col("forecast_surplus")).alias("numerator"),
        income.alias("denominator"),
        "off_plan_percent",
    )
