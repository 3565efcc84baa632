"""Raw layout of NHS England's community health services (CHS) waiting-list workbook, Tables 4, 4g and 4h.

Each table has the same rows (National, Region, ICB and Provider) and one column per service. Two models: who a
row is for (:class:`ChsOrganisation`), and one row and service across the tables (:class:`ChsServiceWaits`), so a
count that cannot be right is quarantined with its table and service. Counts are carried as published
(``<name>_text``, a whole number) and as values; blank and ``-`` cells are missing (no submission), not errors.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.common import ODS_CODE, TEXT_SUFFIX, WHOLE_NUMBER, blank_or_matching, count, published_text

ORG_TYPES = ("National", "Region", "ICB", "Provider")
COUNTS = ["total", "over_52_104", "over_104"]


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


class ChsServiceWaits(pa.DataFrameModel):
    """One row and service: the waiting list (Table 4) and those waiting over 52 weeks (Tables 4g and 4h)."""

    service: str = pa.Field(description="service column header, e.g. '(A) Audiology'")
    total: int = count("waiting list, Table 4")
    over_52_104: int = count("waiting over 52 and up to 104 weeks, Table 4g")
    over_104: int = count("waiting over 104 weeks, Table 4h")
    over_52_weeks: int = count("Table 4g + Table 4h; missing when both are")
    total_text: str = published_text()
    over_52_104_text: str = published_text()
    over_104_text: str = published_text()

    _is_a_whole_number = pa.check(*[c + TEXT_SUFFIX for c in COUNTS], name="is_a_whole_number")(
        blank_or_matching(WHOLE_NUMBER)
    )

    @pa.check("over_52_weeks", name="within_total_waiting_list")
    def _within_total(cls, data) -> pl.LazyFrame:
        """Long waiters are part of the waiting list, and are not reported without it."""
        within = pl.col("total").is_not_null() & (pl.col(data.key) <= pl.col("total"))
        return data.lazyframe.select(pl.col(data.key).is_null() | within.fill_null(True))

    class Config:
        strict = False
        coerce = False
