"""Canonical tables every source adapter produces: metric values with lineage, and the quarantine."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.common import METRIC_ID, ODS_CODE, QUARTER_LABEL, SHA256


class MetricValues(pa.DataFrameModel):
    """One metric value per (quarter, organisation, metric), with the raw row it came from."""

    quarter: str = pa.Field(str_matches=QUARTER_LABEL, description="NHS financial-year quarter, e.g. '2025-26 Q1'")
    org_code: str = pa.Field(str_matches=ODS_CODE, description="ODS code of the organisation")
    metric_id: str = pa.Field(str_matches=METRIC_ID, description="NOF metric id (OF0xxx)")
    period: str = pa.Field(description="the period the value covers, e.g. '2025-04..2025-06' or 'Jun-25'")
    value: float = pa.Field(nullable=True, description="metric value in `unit`")
    numerator: float = pa.Field(nullable=True, ge=0, description="numerator summed over the period, if any")
    denominator: float = pa.Field(nullable=True, ge=0, description="denominator summed over the period, if any")
    unit: str = pa.Field(description="percent, count, rate, mins, days, out of 10, percentage points or score")
    source: str = pa.Field(description="source adapter name (landing folder)")
    source_file: str = pa.Field(description="file the value was read from")
    source_sha256: str = pa.Field(str_matches=SHA256, description="SHA-256 of that file")
    source_row: int = pa.Field(ge=0, description="first row (1-based, as a spreadsheet shows it) that fed the value")
    published_rank: float = pa.Field(
        nullable=True,
        ge=1,
        description="NHS England's published within-type rank (NOF files only); orders equal 2 dp values",
    )

    class Config:
        unique = ["quarter", "org_code", "metric_id"]
        strict = "filter"
        coerce = True


class Quarantine(pa.DataFrameModel):
    """A raw row that was not accepted, with the rule it broke; rows read = accepted + quarantined."""

    source: str = pa.Field(description="source adapter name")
    source_file: str = pa.Field(description="file the row is in")
    source_sha256: str = pa.Field(str_matches=SHA256, description="SHA-256 of that file")
    source_row: int = pa.Field(ge=0, description="row number in the file (1-based, as a spreadsheet shows it)")
    column: str = pa.Field(nullable=True, description="column that failed (null for whole-row rules)")
    check: str = pa.Field(description="the rule that failed")
    value: str = pa.Field(nullable=True, description="the offending value, as text")
    reason: str = pa.Field(description="the failure in plain words")

    class Config:
        coerce = True


METRIC_VALUE_COLUMNS = list(MetricValues.to_schema().columns)
OPTIONAL_METRIC_VALUE_COLUMNS = ["numerator", "denominator", "published_rank"]
QUARANTINE_COLUMNS = list(Quarantine.to_schema().columns)


def empty_metric_values() -> pl.DataFrame:
    return pl.DataFrame(schema=_polars_schema(MetricValues))


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=_polars_schema(Quarantine))


def _polars_schema(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    """The polars dtypes the model declares (the single declaration every table is built from)."""
    return {name: col.dtype.type for name, col in model.to_schema().columns.items()}
