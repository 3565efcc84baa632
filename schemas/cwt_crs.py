"""Raw layout of NHS England's Cancer Waiting Times (CWT-CRS) provider data extract (one xlsx sheet).

Column names are the adapter's canonical names (``npaf_pipeline.sources.cwt_crs.COLUMNS`` maps the published
headers onto them). The period and the counts are carried twice: the cell as published (``<name>_text``) and its
parsed value, so an unreadable cell and an impossible value are quarantined under their own rule. Counts may be
halves (a patient shared between two trusts counts 0.5 to each).
"""

from __future__ import annotations

import datetime

import pandera.polars as pa
import polars as pl

from schemas.common import (
    NUMBER,
    ODS_CODE,
    TEXT_SUFFIX,
    blank_or_matching,
    count,
    finite_and_plausible,
    published_text,
    reported,
)

STANDARDS = ("28-day FDS", "31-day Combined", "62-day Combined")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
FINANCIAL_YEAR = r"^[0-9]{4}/[0-9]{2}$"
COUNTS = ["total_treated", "within_standard", "breaches"]
SCORED = ["total_treated", "within_standard"]
"""The counts OF0010 and OF0011 are built from: blank, '-' or a suppression marker in either quarantines the row."""
TOLERANCE = 1e-6
ALL_MODALITIES = "ALL MODALITIES"
ALL_CANCERS = "ALL CANCERS"
BREAKDOWN = ["stage_route", "treatment_modality", "cancer_type"]
TOTALS = {"treatment_modality": ALL_MODALITIES, "cancer_type": ALL_CANCERS}
"""The value a breakdown column holds on a row that totals that column's parts."""
MEASURED = ("28-day FDS", "62-day Combined")
"""The standards the metrics are built from (31-day rows feed nothing and are not checked)."""
TOTALS_PER_ROW = {"28-day FDS": 0, "62-day Combined": 1}
"""How many breakdown columns a row of the standard totals: none for 28-day FDS (every row is a part: OF0010 sums
them all); one for 62-day, which gives the same patients twice, by cancer type (TREATMENT MODALITY 'ALL
MODALITIES') and by modality (CANCER TYPE 'ALL CANCERS'). A row totalling more is a subtotal of rows the extract
also gives (counted twice if summed); a 62-day row totalling neither is a breakdown the extract does not give."""
PATIENTS = "patients (halves allowed); missing when blank or '-'"


class CwtCrsRow(pa.DataFrameModel):
    """One provider's month for one standard and breakdown (route, modality, cancer type)."""

    period: datetime.date = pa.Field(nullable=True, description="first day of the month (PERIOD, parsed)")
    period_text: str = published_text(nullable=False)
    year: str = pa.Field(str_matches=FINANCIAL_YEAR, description="financial year, e.g. '2025/26'")
    month: str = pa.Field(isin=MONTHS, description="e.g. 'APR'")
    standard: str = pa.Field(isin=STANDARDS)
    org_code: str = pa.Field(str_matches=ODS_CODE, description="ODS code of the provider")
    stage_route: str = pa.Field(nullable=True)
    treatment_modality: str = pa.Field(nullable=True)
    cancer_type: str = pa.Field(nullable=True)
    total_treated: float = count(PATIENTS)
    within_standard: float = count(PATIENTS)
    breaches: float = count(PATIENTS)
    total_treated_text: str = published_text()
    within_standard_text: str = published_text()
    breaches_text: str = published_text()

    @pa.check("period_text", name="is_a_date")
    def _is_a_date(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("period").is_not_null())

    _is_a_number = pa.check(*[c + TEXT_SUFFIX for c in COUNTS], name="is_a_number")(blank_or_matching(NUMBER))
    _finite = pa.check(*[c + TEXT_SUFFIX for c in COUNTS], name="finite_and_plausible")(finite_and_plausible)
    _reported = pa.check(*[c + TEXT_SUFFIX for c in SCORED], name="reported_not_suppressed")(reported)

    @pa.check("within_standard", name="within_total_treated")
    def _within_total(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col(data.key) <= pl.col("total_treated")).fill_null(True))

    @pa.check("breaches", name="total_minus_within")
    def _breaches(cls, data) -> pl.LazyFrame:
        """BREACHES is TOTAL TREATED - WITHIN STANDARD; a formula cell never recalculated breaks this."""
        gap = (pl.col(data.key) - (pl.col("total_treated") - pl.col("within_standard"))).abs()
        return data.lazyframe.select((gap <= TOLERANCE).fill_null(True))

    @pa.check("month", name="agrees_with_period")
    def _month(cls, data) -> pl.LazyFrame:
        named = pl.col("period").dt.strftime("%b").str.to_uppercase()
        return data.lazyframe.select((pl.col(data.key) == named).fill_null(True))

    @pa.check("year", name="agrees_with_period")
    def _year(cls, data) -> pl.LazyFrame:
        start = pl.col("period").dt.year() - (pl.col("period").dt.month() < 4).cast(pl.Int32)
        fy = pl.format("{}/{}", start, ((start + 1) % 100).cast(pl.String).str.zfill(2))
        return data.lazyframe.select((pl.col(data.key) == fy).fill_null(True))

    @pa.check(*BREAKDOWN, name="known_breakdown")
    def _known_breakdown(cls, data) -> pl.LazyFrame:
        """A value of the shape the extract gives for the row's standard (:func:`_known`); whether the row may be a
        total is ``not_a_subtotal``'s to say."""
        return data.lazyframe.select(_known(data.key))

    @pa.check(*TOTALS, name="not_a_subtotal")
    def _not_a_subtotal(cls, data) -> pl.LazyFrame:
        """A total value on a row totalling more columns than the standard's rows do: the sum of rows the extract
        also gives, which summed with them would count its patients twice."""
        too_many = [_is(standard) & (_totals() > allowed) for standard, allowed in TOTALS_PER_ROW.items()]
        return data.lazyframe.select(~(pl.any_horizontal(too_many) & _is_total(data.key)))

    @pa.check("cancer_type", name="by_cancer_type_or_by_modality")
    def _one_view(cls, data) -> pl.LazyFrame:
        """A 62-day row of a modality and a cancer type (neither a total) is a breakdown the extract does not give (by
        both): the metric would leave it out. Values of another shape are ``known_breakdown``'s, too many totals
        ``not_a_subtotal``'s."""
        too_few = [_is(standard) & (_totals() < allowed) for standard, allowed in TOTALS_PER_ROW.items()]
        by_both = pl.any_horizontal(too_few) & _known("treatment_modality") & _known("cancer_type")
        return data.lazyframe.select(~by_both)

    @pa.check("org_code", name="one_row_per_breakdown")
    def _unique(cls, data) -> pl.LazyFrame:
        """Two rows for one provider, month, standard and breakdown cannot both be right: every copy is refused."""
        key = ["period", "standard", data.key, "stage_route", "treatment_modality", "cancer_type"]
        return data.lazyframe.select(pl.len().over(key) == 1)

    class Config:
        strict = False
        coerce = False


def _known(column: str) -> pl.Expr:
    """Whether the row's value in a breakdown column has the shape the extract gives for the row's standard: given
    (28-day rows leave TREATMENT MODALITY blank: they are not broken down by modality), and, where it reads as a total
    (``ALL ...``), the total name the reader sums by (``TOTALS``). The parts' names (cancer types, routes, modalities)
    are not listed: NHS England adds and renames them, and a part of a known shape is summed whatever its name.
    True for the standards not measured."""
    value = pl.col(column)  # trimmed as read (``sheet_rows``)
    blank = (value.is_null() | (value == "")).fill_null(True)
    total_like = value.str.to_uppercase().str.starts_with("ALL ").fill_null(False)
    stray_total = total_like & ~(_is_total(column) if column in TOTALS else pl.lit(False))
    shaped = ~blank & ~stray_total
    if column == "treatment_modality":
        fds = blank | _is_total(column)  # a 28-day total is ``not_a_subtotal``'s
        return pl.when(_is("28-day FDS")).then(fds).when(_is("62-day Combined")).then(shaped).otherwise(True)
    return pl.when(_is(MEASURED[0]) | _is(MEASURED[1])).then(shaped).otherwise(True)


def _is(standard: str) -> pl.Expr:
    """Rows of the standard (as ``isin`` accepts it: any other spelling is quarantined there)."""
    return pl.col("standard") == standard


def _is_total(column: str) -> pl.Expr:
    return (pl.col(column).str.to_uppercase() == TOTALS[column]).fill_null(False)


def _totals() -> pl.Expr:
    """How many breakdown columns the row totals (holds the total name of)."""
    return pl.sum_horizontal(*[_is_total(c).cast(pl.Int32) for c in TOTALS])
