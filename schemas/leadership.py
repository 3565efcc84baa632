"""Leadership capability ratings: an input reported beside the segment, never used to compute it.

NHS England rates an organisation's capability from its board's self-assessment against six areas derived from
*The insightful provider board* (assessing provider capability, August 2025). One row per quarter, organisation
and capability area, plus an optional ``overall`` row. The rating scale is NHS England's regional judgement and
is not fixed here: any non-empty label is accepted as supplied.
"""

from __future__ import annotations

import pandera.polars as pa

from schemas.common import ODS_CODE, QUARTER_LABEL

CAPABILITY_DOMAINS = (
    "strategy_leadership_planning",
    "quality_of_care",
    "people_culture",
    "access_delivery",
    "productivity_value",
    "finance_oversight",
)
"""The six areas: strategy, leadership and planning; quality of care; people and culture; access and delivery of
services; productivity and value for money; financial performance and oversight."""
OVERALL = "overall"


class LeadershipCapability(pa.DataFrameModel):
    """A capability rating per (quarter, organisation, capability area)."""

    quarter: str = pa.Field(str_matches=QUARTER_LABEL, description="NHS financial-year quarter, e.g. '2025-26 Q1'")
    org_code: str = pa.Field(str_matches=ODS_CODE, description="ODS code of the trust or ICB")
    capability_domain: str = pa.Field(
        isin=[*CAPABILITY_DOMAINS, OVERALL], description="one of the six capability areas, or 'overall'"
    )
    rating: str = pa.Field(str_matches=r"\S", description="the rating as supplied (e.g. the regional team's label)")

    class Config:
        unique = ["quarter", "org_code", "capability_domain"]
        strict = "filter"
        coerce = True
