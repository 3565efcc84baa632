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

from collections.abc import Collection, Sequence
from pathlib import Path

import pandera.polars as pa
import polars as pl

from npaf_pipeline.engine.frames import EngineInputError, require_columns
from npaf_pipeline.quarters import is_quarter
from npaf_pipeline.sources import canonical
from npaf_pipeline.sources.base import SourceFileError, refuse_rejected, validate_rows
from npaf_pipeline.sources.tables import read_table
from schemas.common import NUMBER, ODS_CODE, finite_and_plausible, parse_number

FINANCE_COLUMNS = ["quarter", "org_code", "income", "planned_surplus", "forecast_surplus"]
_AMOUNTS = ["income", "planned_surplus", "forecast_surplus"]
FINANCE_SOURCE = "system_finance"
FINANCE_WHAT = "a finance file (" + ", ".join(FINANCE_COLUMNS) + ")"
_AMOUNT_HINT = (
    "write a number in one currency unit (digits, a minus sign for a deficit, an optional decimal part, thousands "
    "grouped by commas; no currency sign, letters, brackets or %), or leave it blank for not supplied"
)
FINANCE_HINTS = {
    "quarter": "write the quarter as 2025-26 Q1 or Q1 2025/26",
    "org_code": "write the ICB's or provider's ODS code (3 to 6 capital letters or digits)",
    **dict.fromkeys(_AMOUNTS, _AMOUNT_HINT),
}
"""What to write instead, per column, in the message that refuses a finance file."""


class FinanceInput(pa.DataFrameModel):
    """One row of a system finance file, as text: amounts are numbers by the shared rule, or blank (not supplied,
    so the test is not assessed and its evidence says so)."""

    quarter: str = pa.Field(description="a quarter the quarter parser reads: '2025-26 Q1', 'Q1 2025/26'")
    org_code: str = pa.Field(str_matches=ODS_CODE, description="ODS code of the ICB (system total) or provider")
    income: str = pa.Field(nullable=True, str_matches=NUMBER, description="income, one currency unit")
    planned_surplus: str = pa.Field(nullable=True, str_matches=NUMBER, description="planned surplus (deficit < 0)")
    forecast_surplus: str = pa.Field(nullable=True, str_matches=NUMBER, description="forecast surplus (deficit < 0)")
    source_row: int = pa.Field(ge=1, description="row in the file (a CSV's header is row 1)")

    @pa.check("quarter", name="is_a_quarter")
    def _quarter(cls, data) -> pl.LazyFrame:
        """Read by ``quarters.parse_quarter``, as every quarter is."""
        return data.lazyframe.select(pl.col("quarter").map_elements(is_quarter, return_dtype=pl.Boolean))

    _plausible = pa.check(*_AMOUNTS, name="finite_and_plausible")(finite_and_plausible)


def read_finance(paths: Sequence[str | Path], known: Collection[str] | None = None) -> pl.DataFrame:
    """quarter, org_code, income, planned_surplus, forecast_surplus (Float64; blank = null) from finance files.

    Read by the shared table reader (UTF-8, header found in the first lines, blank lines skipped, a column named
    twice, a ragged row or a header with no rows refused). The deficit test has no quarantine that blocks, so a
    row that breaks a rule refuses the file naming row, column, rule and value: a row set aside would leave its
    ICB not assessed, its failed test unseen. Two rows for one quarter and organisation (in any file, identical or
    not) refuse the files naming both: a system total or provider is never counted twice, nor one chosen.
    ``known``: the organisation codes of the run's reference; any other code raises
    :class:`canonical.UnknownOrganisationError` naming row and code with the nearest known codes.
    """
    frames = []
    for path in map(Path, paths):
        raw = read_table(
            path, source=FINANCE_SOURCE, columns={c: c for c in FINANCE_COLUMNS}, required=FINANCE_COLUMNS,
            what=FINANCE_WHAT,
        )  # fmt: skip
        refuse_ragged(path, raw.quarantine, FINANCE_WHAT)
        if known is not None:
            canonical.require_known_codes(raw.frame, known, path, "the system finance file")
        frame = raw.frame.with_columns(canonical.normalise_quarter())
        _, rejected = validate_rows(frame, FinanceInput, source=FINANCE_SOURCE, path=path, sha256=raw.sha256)
        refuse_rejected(path, rejected, FINANCE_HINTS)
        frames.append(frame.with_columns(pl.lit(str(path)).alias("source_file")))
    if not frames:
        return pl.DataFrame(
            schema={c: pl.String if c in ("quarter", "org_code") else pl.Float64 for c in FINANCE_COLUMNS}
        )
    frame = pl.concat(frames)
    refuse_repeats(frame, ["quarter", "org_code"])
    return frame.select("quarter", "org_code", *[parse_number(pl.col(c)).alias(c) for c in _AMOUNTS])


def refuse_ragged(path: Path, quarantine: pl.DataFrame, what: str) -> None:
    """A row with the wrong number of fields refuses the file: its cells cannot be placed in their columns."""
    if quarantine.height:
        first = quarantine.sort("source_row").row(0, named=True)
        raise SourceFileError(path, f"{first['reason']}: not {what}", row=first["source_row"])


def refuse_repeats(frame: pl.DataFrame, keys: Sequence[str]) -> None:
    """Two rows with the same ``keys`` (``source_file``, ``source_row`` name them): which is right cannot be
    guessed, and using both counts one organisation twice. Name both rows and stop, identical or not."""
    repeated = frame.filter(pl.len().over(keys) > 1)
    if repeated.is_empty():
        return
    key = repeated.row(0, named=True)
    same = repeated.filter(pl.all_horizontal(pl.col(k) == key[k] for k in keys)).row(1, named=True)
    where = f"row {same['source_row']}" + (
        "" if same["source_file"] == key["source_file"] else f" of {same['source_file']}"
    )
    raise SourceFileError(
        key["source_file"],
        f"{' '.join(str(key[k]) for k in keys)} is given twice, in row {key['source_row']} and {where}: a row is "
        "used once, so keep the right one",
        row=key["source_row"],
        column=", ".join(keys),
    )


def system_finance(finance: pl.DataFrame, trust_icb: pl.DataFrame | None, icbs: list[str]) -> pl.DataFrame:
    """quarter, icb_code, income, planned_surplus, forecast_surplus, basis, complete."""
    require_columns(finance, FINANCE_COLUMNS, "finance")
    rows = finance.select(FINANCE_COLUMNS).with_columns(pl.col(_AMOUNTS).cast(pl.Float64))
    twice = rows.filter(pl.len().over("quarter", "org_code") > 1)
    if twice.height:  # summed or used twice, a row would count twice
        raise EngineInputError(f"finance: {twice.row(0)[0]} {twice.row(0)[1]} has more than one row; give one")
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
    mapping = trust_icb.select("org_code", "icb_code")
    orphans = rows.filter(~is_icb).join(mapping, on="org_code", how="anti")
    if orphans.height:  # left out, its ICB's sum would be too small; which ICB that is, nothing says
        codes = ", ".join(sorted(set(orphans["org_code"].to_list())))
        raise EngineInputError(
            f"finance: provider(s) {codes} have finance rows but no ICB in the organisation reference (ODS etr): "
            "add them to the reference or give their ICB's own row"
        )
    providers = rows.filter(~is_icb).join(mapping, on="org_code", how="inner")
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
