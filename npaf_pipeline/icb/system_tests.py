"""The system-consideration tests of a rule set's ``system_adjustment``, per ICB and quarter, with their evidence.

Every (quarter, ICB, test) gets one evidence row whose ``status`` is ``failed``, ``passed`` or ``not_assessed``
(an input missing, a month missing: never counted as failed), with the reason in words and the numbers behind
it. ``SystemTestResult.tests`` is the frame ``engine.segment.adjust_segments(system_tests=...)`` reads.

Test kinds (``SystemTest.kind``) and their inputs (:class:`SystemInputs`):

- ``input_flag``: a list per test id (quarter, icb_code, optional ``listed``); listed ICBs fail;
- ``lowest_quartile_every_month``: monthly provider numerators and denominators summed to ICBs; failed when the
  ICB is in the lowest quartile of ICBs in every month of the quarter (``params.metric``,
  ``params.lag_quarters``: 0 = the assessed quarter's own three months);
- ``lowest_quartile`` / ``highest_quartile``: ICB-level values in the canonical metric-values format
  (``params.metric``);
- ``deficit``: system finance, or provider finance summed to the ICB (``params.deficit_over``,
  ``params.off_plan_over``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from npaf_pipeline.icb.aggregate import aggregate_to_icb
from npaf_pipeline.icb.finance import deficit_results, system_finance
from npaf_pipeline.icb.quartiles import quartile_membership
from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.ruleset.model import RuleSet, SystemAdjustment, SystemTest

EVIDENCE_SCHEMA: dict[str, pl.DataType] = {
    "quarter": pl.String(),
    "icb_code": pl.String(),
    "test_id": pl.String(),
    "test_name": pl.String(),
    "kind": pl.String(),
    "status": pl.String(),
    "failed": pl.Boolean(),
    "evidence": pl.String(),
    "basis": pl.String(),
    "value": pl.Float64(),
    "cut_point": pl.Float64(),
    "population": pl.Int64(),
    "months_assessed": pl.Int64(),
    "months_in_quartile": pl.Int64(),
    "numerator": pl.Float64(),
    "denominator": pl.Float64(),
    "off_plan_percent": pl.Float64(),
}
MONTHLY_SCHEMA: dict[str, pl.DataType] = {
    "quarter": pl.String(),
    "icb_code": pl.String(),
    "test_id": pl.String(),
    "month": pl.String(),
    "numerator": pl.Float64(),
    "denominator": pl.Float64(),
    "value": pl.Float64(),
    "n_providers": pl.Int64(),
    "providers": pl.String(),
    "incomplete_providers": pl.String(),
    "cut_point": pl.Float64(),
    "population": pl.Int64(),
    "in_quartile": pl.Boolean(),
    "note": pl.String(),
}


@dataclass(frozen=True)
class SystemInputs:
    """What the tests read; any part may be missing (its tests are then not assessed, with the reason)."""

    flag_lists: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    """test id -> quarter, icb_code (and optionally ``listed``, Boolean): e.g. tier one of the UEC programme."""
    provider_months: pl.DataFrame | None = None
    """month (YYYY-MM), org_code, metric_id, numerator, denominator (see ``aggregate.provider_months``)."""
    icb_values: pl.DataFrame | None = None
    """ICB-level values in the canonical metric-values format: quarter, org_code, metric_id, value (period)."""
    finance: pl.DataFrame | None = None
    """quarter, org_code, income, planned_surplus, forecast_surplus: ICB totals or providers (summed)."""
    trust_icb: pl.DataFrame | None = None
    """org_code, icb_code (see ``mapping.trust_icb``)."""


@dataclass(frozen=True)
class SystemTestResult:
    tests: pl.DataFrame
    """quarter, org_code, test_id, failed: what the engine's system adjustment counts (not assessed = False)."""
    evidence: pl.DataFrame
    """One row per (quarter, ICB, test): status, the reason in words and the numbers behind it."""
    monthly: pl.DataFrame
    """The every-month tests month by month: ICB sums, cut-point, population and quartile membership."""


def assess_system(rs: RuleSet, quarters: Sequence[str], icbs: Sequence[str], inputs: SystemInputs) -> SystemTestResult:
    """Run every test of ``rs.system_adjustment`` for each quarter and ICB."""
    sa = rs.system_adjustment
    if sa is None:
        raise ValueError(f"rule set {rs.id} has no system_adjustment: there are no system tests to run")
    labels = sorted({parse_quarter(q).label for q in quarters})
    codes = sorted(set(icbs))
    grid = pl.DataFrame(
        [(q, c) for q in labels for c in codes], schema={"quarter": pl.String, "icb_code": pl.String}, orient="row"
    )
    evidence, monthly = [], []
    for test in sa.tests:
        found, detail = _run(test, sa, labels, codes, inputs)
        evidence.append(_complete(grid, found, test))
        if detail is not None:
            monthly.append(detail)
    ev = pl.concat(evidence, how="vertical_relaxed").select(list(EVIDENCE_SCHEMA)).cast(EVIDENCE_SCHEMA)
    ev = ev.sort("quarter", "icb_code", "test_id")
    month_frame = (
        pl.concat(monthly, how="vertical_relaxed").select(list(MONTHLY_SCHEMA)).cast(MONTHLY_SCHEMA)
        if monthly
        else pl.DataFrame(schema=MONTHLY_SCHEMA)
    )
    tests = ev.select("quarter", pl.col("icb_code").alias("org_code"), "test_id", "failed")
    return SystemTestResult(tests, ev, month_frame.sort("quarter", "test_id", "icb_code", "month"))


# --- one test ---------------------------------------------------------------------------------------------


def _run(
    test: SystemTest, sa: SystemAdjustment, quarters: list[str], icbs: list[str], inputs: SystemInputs
) -> tuple[pl.DataFrame | str, pl.DataFrame | None]:
    """The test's results per (quarter, icb_code), or the reason it could not be assessed at all."""
    if test.kind == "input_flag":
        listed = inputs.flag_lists.get(test.id)
        return (_flag(listed, quarters, icbs) if listed is not None else f"no list supplied for {test.id}"), None
    if test.kind == "deficit":
        if inputs.finance is None:
            return "no finance input supplied", None
        over, off_plan = _param(test, "deficit_over", 2.0), _param(test, "off_plan_over", 1.0)
        totals = system_finance(inputs.finance, inputs.trust_icb, icbs)
        return deficit_results(totals.filter(pl.col("quarter").is_in(quarters)), over, off_plan), None
    metric = str(test.params.get("metric", ""))
    if not metric:
        raise ValueError(f"system test {test.id!r} ({test.kind}) needs params.metric")
    if test.kind == "lowest_quartile_every_month":
        if inputs.provider_months is None or inputs.trust_icb is None:
            return "no monthly provider data or no trust to ICB map supplied", None
        lag = int(_param(test, "lag_quarters", 0))
        return _every_month(test, sa, metric, lag, quarters, icbs, inputs.provider_months, inputs.trust_icb)
    if inputs.icb_values is None:
        return f"no ICB-level values supplied for {metric}", None
    side = "lowest" if test.kind == "lowest_quartile" else "highest"
    return _quartile(sa, metric, side, quarters, icbs, inputs.icb_values), None


def _param(test: SystemTest, name: str, default: float) -> float:
    return float(test.params.get(name, default))  # type: ignore[arg-type]


def _flag(listed: pl.DataFrame, quarters: list[str], icbs: list[str]) -> pl.DataFrame:
    frame = listed.with_columns(
        pl.col("quarter").map_elements(lambda q: parse_quarter(q).label, return_dtype=pl.String)
    )
    if "listed" not in frame.columns:
        frame = frame.with_columns(pl.lit(True).alias("listed"))
    supplied = frame.select("quarter").unique()
    on_list = frame.filter(pl.col("listed")).select("quarter", "icb_code", pl.lit(True).alias("_on")).unique()
    grid = pl.DataFrame(
        [(q, c) for q in quarters for c in icbs], schema={"quarter": pl.String, "icb_code": pl.String}, orient="row"
    )
    found = grid.join(supplied, on="quarter", how="semi").join(on_list, on=["quarter", "icb_code"], how="left")
    on = pl.col("_on").fill_null(False)
    return found.select(
        "quarter",
        "icb_code",
        pl.when(on).then(pl.lit("failed")).otherwise(pl.lit("passed")).alias("status"),
        on.alias("failed"),
        pl.when(on).then(pl.lit("on the list")).otherwise(pl.lit("not on the list")).alias("evidence"),
        pl.lit("input list").alias("basis"),
    )


def _quartile(
    sa: SystemAdjustment, metric: str, side: str, quarters: list[str], icbs: list[str], values: pl.DataFrame
) -> pl.DataFrame:
    period = pl.col("period") if "period" in values.columns else pl.lit(None, pl.String)
    rows = values.filter(
        pl.col("metric_id") == metric,
        pl.col("quarter").is_in(quarters),
        pl.col("org_code").is_in(icbs),
        pl.col("value").is_not_null(),
    ).select("quarter", pl.col("org_code").alias("icb_code"), pl.col("value").cast(pl.Float64), period.alias("period"))
    marked = quartile_membership(rows, ["quarter"], side, sa.quantile_method, sa.quartile_boundary)  # type: ignore[arg-type]
    op = {("lowest", "inclusive"): "<=", ("lowest", "exclusive"): "<", ("highest", "inclusive"): ">=",
          ("highest", "exclusive"): ">"}[(side, sa.quartile_boundary)]  # fmt: skip
    inside = pl.col("in_quartile")
    text = pl.format(
        f"{metric} {{}} {{}} {side}-quartile cut {{}} of {{}} ICBs",
        pl.col("value").round(2),
        pl.when(inside).then(pl.lit(op)).otherwise(pl.lit("not " + op)),
        pl.col("cut_point").round(2),
        pl.col("population"),
    )
    return marked.select(
        "quarter",
        "icb_code",
        pl.when(inside).then(pl.lit("failed")).otherwise(pl.lit("passed")).alias("status"),
        inside.alias("failed"),
        pl.concat_str([text, pl.format(" (period {})", pl.col("period")).fill_null("")]).alias("evidence"),
        pl.lit("ICB-level input").alias("basis"),
        "value",
        "cut_point",
        "population",
    )


def _every_month(
    test: SystemTest,
    sa: SystemAdjustment,
    metric: str,
    lag: int,
    quarters: list[str],
    icbs: list[str],
    months_rows: pl.DataFrame,
    trust_icb: pl.DataFrame,
) -> tuple[pl.DataFrame | str, pl.DataFrame | None]:
    window = pl.DataFrame(
        [(q, f"{y}-{m:02d}") for q in quarters for y, m in parse_quarter(q).shift(-lag).months],
        schema={"quarter": pl.String, "month": pl.String},
        orient="row",
    )
    rows = months_rows.filter(pl.col("metric_id") == metric, pl.col("month").is_in(window["month"].implode()))
    if rows.is_empty():
        return f"no monthly provider data for {metric} in the months assessed", None
    sums = aggregate_to_icb(rows, trust_icb, keys=["month"]).values.drop("metric_id")
    icb_frame = pl.DataFrame({"icb_code": icbs}, schema={"icb_code": pl.String})
    grid = window.join(icb_frame, how="cross").join(sums, on=["month", "icb_code"], how="left")
    marked = quartile_membership(grid, ["quarter", "month"], "lowest", sa.quantile_method, sa.quartile_boundary)
    note = (
        pl.when(pl.col("complete").is_null())
        .then(pl.lit("no provider data"))
        .when(~pl.col("complete"))
        .then(pl.format("incomplete: no figures for {}", pl.col("incomplete_providers")))
        .when(pl.col("value").is_null())
        .then(pl.lit("no activity (denominator 0)"))
        .otherwise(None)
    )
    detail = marked.with_columns(note.alias("note"), pl.lit(test.id).alias("test_id"))
    op = "<=" if sa.quartile_boundary == "inclusive" else "<"
    line = pl.when(pl.col("value").is_null()).then(pl.format("{} {}", pl.col("month"), pl.col("note")))
    line = line.otherwise(
        pl.format(
            "{} {} {} cut {} of {} ICBs",
            pl.col("month"),
            pl.col("value").round(2),
            pl.when(pl.col("in_quartile")).then(pl.lit(op)).otherwise(pl.lit("not " + op)),
            pl.col("cut_point").round(2),
            pl.col("population"),
        )
    )
    summary = (
        detail.sort("month")
        .group_by("quarter", "icb_code")
        .agg(
            pl.col("value").is_not_null().sum().cast(pl.Int64).alias("months_assessed"),
            pl.col("in_quartile").fill_null(False).sum().cast(pl.Int64).alias("months_in_quartile"),
            pl.len().cast(pl.Int64).alias("_months"),
            line.str.join("; ").alias("_lines"),
            pl.col("numerator").sum(),
            pl.col("denominator").sum(),
        )
    )
    all_months = pl.col("months_assessed") == pl.col("_months")
    summary = summary.with_columns(pl.when(all_months).then(pl.col("numerator", "denominator")))
    failed = all_months & (pl.col("months_in_quartile") == pl.col("_months"))
    status = pl.when(~all_months).then(pl.lit("not_assessed")).when(failed).then(pl.lit("failed"))
    status = status.otherwise(pl.lit("passed"))
    head = (
        pl.when(~all_months)
        .then(pl.lit("not assessed: a month has no value"))
        .when(failed)
        .then(pl.lit(f"lowest quartile of ICBs for {metric} in every month"))
        .otherwise(pl.format(f"lowest quartile for {metric} in {{}} of {{}} months", "months_in_quartile", "_months"))
    )
    results = summary.select(
        "quarter",
        "icb_code",
        status.alias("status"),
        failed.alias("failed"),
        pl.concat_str([head, pl.lit(": "), pl.col("_lines")]).alias("evidence"),
        pl.lit("monthly provider numerators and denominators summed to the ICB").alias("basis"),
        "months_assessed",
        "months_in_quartile",
        "numerator",
        "denominator",
    )
    return results, detail


# --- assembling -------------------------------------------------------------------------------------------


def _complete(grid: pl.DataFrame, found: pl.DataFrame | str, test: SystemTest) -> pl.DataFrame:
    """Every (quarter, ICB) of the grid with this test's result; those without one are not assessed."""
    if isinstance(found, str):
        reason, found = found, pl.DataFrame(schema={"quarter": pl.String, "icb_code": pl.String})
    else:
        reason = "no input for this ICB and quarter"
    missing = {c: pl.lit(None, dtype) for c, dtype in EVIDENCE_SCHEMA.items() if c not in found.columns}
    found = found.with_columns(**missing).select(list(EVIDENCE_SCHEMA)).cast(EVIDENCE_SCHEMA)
    out = grid.join(found.drop("test_id", "test_name", "kind"), on=["quarter", "icb_code"], how="left")
    not_assessed = pl.col("status").is_null()
    return out.with_columns(
        pl.lit(test.id).alias("test_id"),
        pl.lit(test.name).alias("test_name"),
        pl.lit(test.kind).alias("kind"),
        pl.col("status").fill_null("not_assessed"),
        pl.col("failed").fill_null(False),
        pl.when(not_assessed).then(pl.lit(f"not assessed: {reason}")).otherwise(pl.col("evidence")).alias("evidence"),
    ).select(list(EVIDENCE_SCHEMA))
