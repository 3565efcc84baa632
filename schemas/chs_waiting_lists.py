"""Raw layout of NHS England's community health services (CHS) waiting-list workbook, Tables 4, 4g and 4h.

Each table has the same rows (National, Region, ICB and Provider) and one column per service. Two models: who a
row is for (:class:`ChsOrganisation`), and one row and service across the tables (:class:`ChsServiceWaits`), so a
count that cannot be right is quarantined with its table and service. Counts are carried as published
(``<name>_text``, a whole number) and as values; a service blank (or ``-``) in all three tables is a service the
organisation does not run, not an error; blank in one table but not another is quarantined.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.common import (
    ODS_CODE,
    TEXT_SUFFIX,
    WHOLE_NUMBER,
    blank_or_matching,
    count,
    finite_and_plausible,
    published_text,
)

ORG_TYPES = ("National", "Region", "ICB", "Provider")
COUNTS = ["total", "over_52_104", "over_104"]
WORKBOOK = "workbook"
"""Optional column of :class:`ChsOrganisation`: which workbook a row is from, when several are validated at once."""


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
        """Two rows for one organisation cannot both be right: every copy is refused. The rule is about one
        workbook: rows of several workbooks validated together are told apart by their ``workbook`` column."""
        within = [WORKBOOK] if WORKBOOK in data.lazyframe.collect_schema() else []
        return data.lazyframe.select(pl.len().over(*within, "org_type", data.key) == 1)

    class Config:
        strict = False
        coerce = False


class ChsServiceWaits(pa.DataFrameModel):
    """One row and service: the waiting list (Table 4) and those waiting over 52 weeks (Tables 4g and 4h)."""

    service: str = pa.Field(description="service column header, e.g. '(A) Audiology'")
    org_type: str = pa.Field(nullable=True, description="the row's organisation type (National, Region, ICB, Provider)")
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
    _finite = pa.check(*[c + TEXT_SUFFIX for c in COUNTS], name="finite_and_plausible")(finite_and_plausible)

    @pa.check("total", name="long_waiters_reported_with_the_waiting_list")
    def _all_or_none(cls, data) -> pl.LazyFrame:
        """A service a provider runs has its waiting list in Table 4 and its long waiters in Tables 4g and 4h; a
        service it does not run is blank (or '-') in all three. One table blank (or suppressed) where another has a
        count is a suppressed part of the value: the row is quarantined, never scored from the tables left (long
        waiters without a waiting list break ``within_total_waiting_list``). England's row (National), which NHS
        England publishes with some services' 4g and 4h blank, is not scored and exempt."""
        whole = pl.col("total").is_null() | pl.all_horizontal(pl.col(c + TEXT_SUFFIX).is_not_null() for c in COUNTS)
        return data.lazyframe.select(whole | (pl.col("org_type") == "National"))

    @pa.check("over_52_weeks", name="within_total_waiting_list")
    def _within_total(cls, data) -> pl.LazyFrame:
        """Long waiters are part of the waiting list, and are not reported without it."""
        within = pl.col("total").is_not_null() & (pl.col(data.key) <= pl.col("total"))
        return data.lazyframe.select(pl.col(data.key).is_null() | within.fill_null(True))

    class Config:
        strict = False
        coerce = False
