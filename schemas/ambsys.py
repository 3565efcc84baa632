"""Raw layout of the AmbSYS time series workbook, sheet ``Raw``: one row per area (service, region, England) per month.

Cells are validated as the text the workbook holds (so a quarantine record shows what was there); the adapter
has already turned blank and ``-`` cells into nulls and derived each row's calendar month from row order.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.common import MONTH_NAMES, NUMBER, ODS_CODE, as_number, finite_and_plausible

MONTH_NAME = r"(?i)^(" + "|".join(MONTH_NAMES) + r")$"
REGION_CODE = r"^Y[0-9]{2}$"
INDICATORS = ("A7", "A10", "A30", "A53")
PAIRS = {"A30": "A10", "A53": "A7"}
"""Each numerator and its denominator: OF0017 = ΣA30 / ΣA10, OF0028 = ΣA53 / ΣA7."""


class AmbsysRaw(pa.DataFrameModel):
    """The ``Raw`` sheet columns the adapter uses (header names as in the workbook, row 5)."""

    year: str = pa.Field(
        alias="Year", nullable=True, description="financial year, an Excel formula: cached value or nothing"
    )
    month_name: str = pa.Field(alias="Month", str_matches=MONTH_NAME, description="month name, e.g. AUGUST")
    region_code: str = pa.Field(alias="Reg", nullable=True, str_matches=REGION_CODE, description="NHS region code")
    area: str = pa.Field(alias="Area", str_matches=ODS_CODE, description="trust code, region code or ENG")
    area_name: str = pa.Field(alias="Trust", nullable=True, description="trust name (blank on total rows)")
    a7: str = pa.Field(alias="A7", nullable=True, str_matches=NUMBER, description="all incidents")
    a10: str = pa.Field(alias="A10", nullable=True, str_matches=NUMBER, description="Category 2 incidents")
    a30: str = pa.Field(
        alias="A30", nullable=True, str_matches=NUMBER, description="Category 2 total response time (seconds)"
    )
    a53: str = pa.Field(alias="A53", nullable=True, str_matches=NUMBER, description="incidents conveyed to ED")
    month: str = pa.Field(str_matches=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="calendar month from row order")
    source_row: int = pa.Field(ge=1, description="row number in the sheet, as Excel shows it")

    @pa.check(*INDICATORS, name="non_negative")
    def _non_negative(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(as_number(data.key) >= 0)

    _finite = pa.check(*INDICATORS, name="finite_and_plausible")(finite_and_plausible)

    @pa.check(*PAIRS, name="reported_with_its_denominator")
    def _pair(cls, data) -> pl.LazyFrame:
        """A numerator and its denominator are reported together or not at all (a month not reported, as London's
        Category 2 in October 2022, leaves the quarter without a value); one without the other is quarantined."""
        other = PAIRS[data.key]
        return data.lazyframe.select(pl.col(data.key).is_null() == pl.col(other).is_null())

    @pa.check("A53", name="conveyed_to_ed_at_most_all_incidents")
    def _conveyed_le_incidents(cls, data) -> pl.LazyFrame:
        a53, a7 = as_number("A53"), as_number("A7")
        return data.lazyframe.select(a53.is_null() | a7.is_null() | (a53 <= a7))

    class Config:
        unique = ["Area", "month"]
