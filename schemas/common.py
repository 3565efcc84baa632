"""Field definitions shared by every table: one spelling of an ODS code, a quarter, a metric id."""

from __future__ import annotations

import pandera.polars as pa

ODS_CODE = r"^[A-Z0-9]{3,6}$"
QUARTER_LABEL = r"^\d{4}-\d{2} Q[1-4]$"
METRIC_ID = r"^OF\d{4}$"
SHA256 = r"^[0-9a-f]{64}$"


def ods_code(description: str = "ODS organisation code", **kw) -> object:
    return pa.Field(str_matches=ODS_CODE, description=description, **kw)


def quarter(**kw) -> object:
    return pa.Field(str_matches=QUARTER_LABEL, description="NHS financial-year quarter, e.g. '2025-26 Q1'", **kw)


def metric_id(**kw) -> object:
    return pa.Field(str_matches=METRIC_ID, description="NOF metric id (OF0xxx raw value)", **kw)
