"""Files users supply in the canonical formats: metric values, financial-override flags, intensive-support lists.

Cells are validated as text (a CSV cell, or a Parquet value turned to text) so a quarantine record shows exactly
what the file held; the adapter has already turned blank and ``-`` cells into nulls and normalised the quarter
spelling. Parsed, typed values are then validated again against ``schemas.canonical.MetricValues``.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.common import METRIC_ID, NUMBER, ODS_CODE, QUARTER_LABEL, finite_and_plausible, parse_number

FLAG = r"(?i)^(1|0|1\.0|0\.0|true|false|yes|no)$"
FLAG_TRUE = ("1", "1.0", "true", "yes")
UNITS = ("percent", "count", "rate", "mins", "days", "out of 10", "percentage points", "score")


def _number(column: str) -> pl.Expr:
    return parse_number(pl.col(column))


def _consecutive_years(cls, data) -> pl.LazyFrame:
    """'2025-27 Q1' has the label's shape but is no financial year."""
    start = pl.col("quarter").str.slice(0, 4).cast(pl.Int64, strict=False)
    end = pl.col("quarter").str.slice(5, 2).cast(pl.Int64, strict=False)
    return data.lazyframe.select((start + 1) % 100 == end)


_QUARTER_CHECK = {"name": "financial_year_of_consecutive_years"}


class MetricValuesInput(pa.DataFrameModel):
    """One metric value per (quarter, organisation, metric), as a user supplies it."""

    quarter: str = pa.Field(str_matches=QUARTER_LABEL, description="quarter, '2025-26 Q1' or 'Q1 2025/26'")
    org_code: str = pa.Field(str_matches=ODS_CODE, description="ODS code of the organisation")
    metric_id: str = pa.Field(str_matches=METRIC_ID, description="NOF metric id, OF0xxx")
    period: str = pa.Field(description="the period the value covers, e.g. '2025-04..2025-06' or 'Jun-25'")
    value: str = pa.Field(nullable=True, str_matches=NUMBER, description="the value, in `unit`; blank = not available")
    numerator: str = pa.Field(nullable=True, str_matches=NUMBER, description="optional numerator")
    denominator: str = pa.Field(nullable=True, str_matches=NUMBER, description="optional denominator")
    unit: str = pa.Field(isin=UNITS, description="unit; a blank cell is filled from the units given to the reader")
    source_row: int = pa.Field(ge=1, description="row in the file (a CSV's header is row 1)")

    @pa.check("numerator", "denominator", name="non_negative")
    def _non_negative(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(_number(data.key) >= 0)

    _finite = pa.check("value", "numerator", "denominator", name="finite_and_plausible")(finite_and_plausible)

    @pa.check("numerator", name="given_with_its_denominator")
    def _pair(cls, data) -> pl.LazyFrame:
        """A numerator and a denominator come together or not at all: one left blank, '-' or suppressed beside the
        other is half a value (the row is quarantined, not scored from the half that is left)."""
        return data.lazyframe.select(pl.col("numerator").is_null() == pl.col("denominator").is_null())

    _quarter_years = pa.check("quarter", **_QUARTER_CHECK)(_consecutive_years)

    class Config:
        unique = ["quarter", "org_code", "metric_id"]


class OverrideFlagsInput(pa.DataFrameModel):
    """Financial-override flag per (quarter, organisation): 1/0, true/false or yes/no; blank = not supplied."""

    quarter: str = pa.Field(str_matches=QUARTER_LABEL, description="quarter, '2025-26 Q1' or 'Q1 2025/26'")
    org_code: str = pa.Field(str_matches=ODS_CODE, description="ODS code of the organisation")
    financial_override: str = pa.Field(nullable=True, str_matches=FLAG, description="1/0, true/false, yes/no")
    source_row: int = pa.Field(ge=1, description="row in the file (a CSV's header is row 1)")

    _quarter_years = pa.check("quarter", **_QUARTER_CHECK)(_consecutive_years)

    class Config:
        unique = ["quarter", "org_code"]


class IntensiveSupportInput(pa.DataFrameModel):
    """Intensive-support programme per (quarter, organisation); a file without the flag column is a list (all yes)."""

    quarter: str = pa.Field(str_matches=QUARTER_LABEL, description="quarter, '2025-26 Q1' or 'Q1 2025/26'")
    org_code: str = pa.Field(str_matches=ODS_CODE, description="ODS code of the organisation")
    intensive_support: str = pa.Field(
        nullable=True, str_matches=FLAG, description="1/0, true/false, yes/no; blank = not supplied"
    )
    source_row: int = pa.Field(ge=1, description="row in the file (a CSV's header is row 1)")

    _quarter_years = pa.check("quarter", **_QUARTER_CHECK)(_consecutive_years)

    class Config:
        unique = ["quarter", "org_code"]
