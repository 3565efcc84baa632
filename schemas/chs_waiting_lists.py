"""Raw layout of NHS England's community health services (CHS) waiting-list workbook, Tables 4, 4g and 4h.

Each table has the same rows (National, Region, ICB and Provider) and one column per service. Two models: who a
row is for (:class:`ChsOrganisation`), and one row and service across the tables (:class:`ChsServiceWaits`), so a
count that cannot be right is quarantined with its table and service. Counts are carried as published
(``<name>_text``, a whole number) and as values; blank and ``-`` cells are missing (no submission), not errors.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.common import ODS_CODE

ORG_TYPES = ("National", "Region", "ICB", "Provider")
WHOLE_NUMBER = r"^(\d+|\d{1,3}(,\d{3})+)$|^-\d+$"
"""A count as published (a minus sign is read, and then refused by the range check)."""
COUNTS = ["total", "over_52_104", "over_104"]
TEXT_SUFFIX = "_text"


class ChsOrganisation(pa.DataFrameModel):
    """Who one row of the tables is for."""

    org_type: str = pa.Field(isin=ORG_TYPES, description="National, Region, ICB or Provider")
    org_code: str = pa.Field(nullable=True, str_matches=ODS_CODE, description="ODS code; none for England")
    org_name: str = pa.Field(nullable=True)

    @pa.check("org_code", name="required_below_national")
    def _required(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_not_null() | (pl.col("org_type") == "National"))

    @pa.check("org_code", name="one_row_per_organisation")
    def _unique(cls, data) -> pl.LazyFrame:
        """Two rows for one organisation cannot both be right: every copy is refused."""
        return data.lazyframe.select(pl.len().over("org_type", data.key) == 1)

    class Config:
        strict = False
        coerce = False


def _count(description: str) -> object:
    return pa.Field(nullable=True, ge=0, description=description)


def _text() -> object:
    return pa.Field(nullable=True, description="the cell as published, trimmed")


class ChsServiceWaits(pa.DataFrameModel):
    """One row and service: the waiting list (Table 4) and those waiting over 52 weeks (Tables 4g and 4h)."""

    service: str = pa.Field(description="service column header, e.g. '(A) Audiology'")
    total: int = _count("waiting list, Table 4")
    over_52_104: int = _count("waiting over 52 and up to 104 weeks, Table 4g")
    over_104: int = _count("waiting over 104 weeks, Table 4h")
    over_52_weeks: int = _count("Table 4g + Table 4h; missing when both are")
    total_text: str = _text()
    over_52_104_text: str = _text()
    over_104_text: str = _text()

    @pa.check(*[c + TEXT_SUFFIX for c in COUNTS], name="is_a_whole_number")
    def _is_a_whole_number(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_null() | pl.col(data.key).str.contains(WHOLE_NUMBER))

    @pa.check("over_52_weeks", name="within_total_waiting_list")
    def _within_total(cls, data) -> pl.LazyFrame:
        """Long waiters are part of the waiting list, and are not reported without it."""
        within = pl.col("total").is_not_null() & (pl.col(data.key) <= pl.col("total"))
        return data.lazyframe.select(pl.col(data.key).is_null() | within.fill_null(True))

    class Config:
        strict = False
        coerce = False
