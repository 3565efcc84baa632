"""Raw layout of NHS England's NOF league-table CSV: one row per trust, ranges written as text.

Cells are validated as the text the file holds, so a quarantine record shows what was there. The first
release names the quarter column ``Reporting_date``; later ones ``Quarter`` (the adapter reads either as
``Quarter``). Segments and ranks are written as ``1.0``; ranges as ``1.2 to 1.89`` and ``1 to 11``.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.common import ODS_CODE

QUARTER_TEXT = r"^(Q[1-4]\s+[0-9]{4}/[0-9]{2}|[0-9]{4}-[0-9]{2}\s*Q[1-4])$"
SCORE = r"^[0-9]+(\.[0-9]+)?$"
WHOLE = r"^[0-9]+(\.0+)?$"
"""A whole number as the files write it: ``11`` or ``11.0``."""
SCORE_RANGE = r"(?i)^([0-9]+(\.[0-9]+)?)\s*to\s*([0-9]+(\.[0-9]+)?)$"
RANK_RANGE = r"(?i)^([0-9]+(\.0+)?)\s*to\s*([0-9]+(\.0+)?)$"
SEGMENT = r"^[1-5](\.0+)?$"
YES_NO = r"(?i)^(yes|no|y|n)$"


def _ends(column: str, pattern: str) -> tuple[pl.Expr, pl.Expr]:
    text = pl.col(column)
    return (
        text.str.extract(pattern, 1).cast(pl.Float64, strict=False),
        text.str.extract(pattern, 3).cast(pl.Float64, strict=False),
    )


class LeagueTableRaw(pa.DataFrameModel):
    """The columns of every release (header names as published)."""

    quarter: str = pa.Field(alias="Quarter", str_matches=QUARTER_TEXT, description="e.g. 'Q1 2025/26'")
    region: str = pa.Field(alias="Region", nullable=True, description="NHS England region")
    trust_type: str = pa.Field(alias="Trust_type", description="trust type; ranks are within it")
    trust_subtype: str = pa.Field(alias="Trust_subtype", nullable=True, description="finer trust class")
    trust_code: str = pa.Field(alias="Trust_code", str_matches=ODS_CODE, description="ODS code")
    trust_name: str = pa.Field(alias="Trust_name", nullable=True, description="trust name")
    average_score: str = pa.Field(alias="Average_score", str_matches=SCORE, description="OF5002, 2 dp")
    average_range: str = pa.Field(
        alias="Likely_range_of_average_score", nullable=True, str_matches=SCORE_RANGE, description="'1.2 to 1.89'"
    )
    segment: str = pa.Field(alias="Segment", str_matches=SEGMENT, description="OF5000 adjusted segment, '1.0'")
    deficit: str = pa.Field(alias="Trust_in_financial_deficit", str_matches=YES_NO, description="OF5004: Yes/No")
    rank: str = pa.Field(alias="Rank", str_matches=WHOLE, description="league-table position, '1.0'")
    rank_range: str = pa.Field(
        alias="Likely_range_of_rank", nullable=True, str_matches=RANK_RANGE, description="'1 to 11'"
    )
    source_row: int = pa.Field(ge=1, description="line number in the file")

    @pa.check("Likely_range_of_average_score", name="low_end_not_above_high_end")
    def _score_range_order(cls, data) -> pl.LazyFrame:
        low, high = _ends(data.key, SCORE_RANGE)
        return data.lazyframe.select(low.is_null() | high.is_null() | (low <= high))

    @pa.check("Likely_range_of_rank", name="low_end_not_above_high_end")
    def _rank_range_order(cls, data) -> pl.LazyFrame:
        low, high = _ends(data.key, RANK_RANGE)
        return data.lazyframe.select(low.is_null() | high.is_null() | ((low <= high) & (low >= 1)))

    class Config:
        unique = ["Quarter", "Trust_code"]
