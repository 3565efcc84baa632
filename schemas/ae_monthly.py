"""Raw layout of NHS England's monthly A&E attendances and emergency admissions provider CSV.

Column names are the adapter's canonical names (``npaf_pipeline.sources.ae_monthly.COLUMNS`` maps the published
headers onto them). Every count is carried twice: the cell as published (``<name>_text``, which must be a whole
number) and its value (``<name>``, never negative), so an unreadable cell and a negative count are quarantined
under their own rule. Blank and ``-`` cells are missing; in a count a value is built from (``SCORED``) a blank, dash
or suppression marker (``*``, ``..``, ``x``...) quarantines the row, so no value is made from what is left of it.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.common import (
    MONTH_NAMES,
    ODS_CODE,
    TEXT_SUFFIX,
    WHOLE_NUMBER,
    blank_or_matching,
    count,
    finite_and_plausible,
    published_text,
    reported,
)

MONTHS = MONTH_NAMES
PERIOD = rf"(?i)^MSitAE-({'|'.join(MONTHS)})-([0-9]{{4}})$"
"""The Period cell, e.g. ``MSitAE-APRIL-2025`` (any letter case)."""

ATTENDANCES = [
    "attendances_type1",
    "attendances_type2",
    "attendances_other",
    "attendances_booked_type1",
    "attendances_booked_type2",
    "attendances_booked_other",
]
OVER_4H = [
    "over_4h_type1",
    "over_4h_type2",
    "over_4h_other",
    "over_4h_booked_type1",
    "over_4h_booked_type2",
    "over_4h_booked_other",
]
OTHER_COUNTS = [
    "dta_wait_4_12h",
    "dta_wait_12h_plus",
    "emergency_admissions_type1",
    "emergency_admissions_type2",
    "emergency_admissions_other",
    "other_emergency_admissions",
]
COUNTS = ATTENDANCES + OVER_4H + OTHER_COUNTS
SCORED = [*ATTENDANCES, *OVER_4H, "dta_wait_12h_plus"]
"""The counts a value is built from (OF0013 from attendances and over-4-hour waits, OF9013 from 12-hour waits): a
blank, dash or suppression marker in any of them quarantines the row; the organisation's quarter is withheld."""
COUNT_TEXT = rf"{WHOLE_NUMBER}|^[-\u2013\u2014]$"
"""A count's cell as published: a whole number (thousands separators allowed), or a dash for none."""
DENOMINATOR_OF = dict(zip(OVER_4H, ATTENDANCES, strict=True))
"""Each over-4-hour count and the attendances it is part of (numerator <= denominator)."""


FILE = "_file"
"""Rows of several files validated together carry their file here; the checks across rows then look within a file,
so validating the files together finds what validating each on its own does."""


def _files(data) -> list[str]:
    return [FILE] if FILE in data.lazyframe.collect_schema().names() else []


def _per_file(data, aggregate: pl.Expr) -> pl.Expr:
    return aggregate.over(FILE) if _files(data) else aggregate


class AeMonthlyRow(pa.DataFrameModel):
    """One organisation's month: attendances and over-4-hour waits by department type, DTA waits, admissions."""

    period: str = pa.Field(str_matches=PERIOD, description="e.g. 'MSitAE-APRIL-2025'")
    org_code: str = pa.Field(str_matches=ODS_CODE, description="ODS code of the reporting organisation")
    parent_org: str = pa.Field(nullable=True, description="NHS England region")
    org_name: str = pa.Field(nullable=True)

    attendances_type1: int = count()
    attendances_type2: int = count()
    attendances_other: int = count()
    attendances_booked_type1: int = count()
    attendances_booked_type2: int = count()
    attendances_booked_other: int = count()
    over_4h_type1: int = count()
    over_4h_type2: int = count()
    over_4h_other: int = count()
    over_4h_booked_type1: int = count()
    over_4h_booked_type2: int = count()
    over_4h_booked_other: int = count()
    dta_wait_4_12h: int = count()
    dta_wait_12h_plus: int = count()
    emergency_admissions_type1: int = count()
    emergency_admissions_type2: int = count()
    emergency_admissions_other: int = count()
    other_emergency_admissions: int = count()

    attendances_type1_text: str = published_text()
    attendances_type2_text: str = published_text()
    attendances_other_text: str = published_text()
    attendances_booked_type1_text: str = published_text()
    attendances_booked_type2_text: str = published_text()
    attendances_booked_other_text: str = published_text()
    over_4h_type1_text: str = published_text()
    over_4h_type2_text: str = published_text()
    over_4h_other_text: str = published_text()
    over_4h_booked_type1_text: str = published_text()
    over_4h_booked_type2_text: str = published_text()
    over_4h_booked_other_text: str = published_text()
    dta_wait_4_12h_text: str = published_text()
    dta_wait_12h_plus_text: str = published_text()
    emergency_admissions_type1_text: str = published_text()
    emergency_admissions_type2_text: str = published_text()
    emergency_admissions_other_text: str = published_text()
    other_emergency_admissions_text: str = published_text()

    _is_a_whole_number = pa.check(*[c + TEXT_SUFFIX for c in COUNTS], name="is_a_whole_number")(
        blank_or_matching(COUNT_TEXT)
    )
    _finite = pa.check(*[c + TEXT_SUFFIX for c in COUNTS], name="finite_and_plausible")(finite_and_plausible)
    _reported = pa.check(*[c + TEXT_SUFFIX for c in SCORED], name="reported_not_suppressed")(reported)

    @pa.check(*OVER_4H, name="within_attendances")
    def _within_attendances(cls, data) -> pl.LazyFrame:
        """Patients waiting over 4 hours are part of the attendances of the same type."""
        return data.lazyframe.select((pl.col(data.key) <= pl.col(DENOMINATOR_OF[data.key])).fill_null(True))

    @pa.check("period", name="single_period_per_file")
    def _single_period(cls, data) -> pl.LazyFrame:
        """A monthly file holds one month: rows naming another month than most rows do are refused."""
        period = pl.col(data.key).str.to_uppercase()
        usual = period.mode().sort().first()
        return data.lazyframe.select(period == _per_file(data, usual))

    @pa.check("org_code", name="one_row_per_organisation")
    def _one_row_per_organisation(cls, data) -> pl.LazyFrame:
        """Two rows for one organisation and month cannot both be right: every copy is refused."""
        by = [pl.col("period").str.to_uppercase(), data.key]
        return data.lazyframe.select(pl.len().over(_files(data) + by) == 1)

    class Config:
        strict = False
        coerce = False
