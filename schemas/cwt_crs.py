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
FINANCIAL_YEAR = r"^\d{4}/\d{2}$"
COUNTS = ["total_treated", "within_standard", "breaches"]
SCORED = ["total_treated", "within_standard"]
"""The counts OF0010 and OF0011 are built from: blank, '-' or a suppression marker in either quarantines the row."""
TOLERANCE = 1e-6
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

    @pa.check("org_code", name="one_row_per_breakdown")
    def _unique(cls, data) -> pl.LazyFrame:
        """Two rows for one provider, month, standard and breakdown cannot both be right: every copy is refused."""
        key = ["period", "standard", data.key, "stage_route", "treatment_modality", "cancer_type"]
        return data.lazyframe.select(pl.len().over(key) == 1)

    class Config:
        strict = False
        coerce = False
