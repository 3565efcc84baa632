"""Raw layouts of the organisation reference inputs: the ODS ``etr`` report and a NOF trust-type list.

Cells are validated as the text the files hold; the readers have already turned blank and ``-`` cells into
nulls (and, in the trust-type list's Region column, unevaluated Excel formulas into nulls).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.common import ODS_CODE

REGION_CODE = r"^Y[0-9]{2}$"
ICB_CODE = r"^Q[A-Z0-9]{2}$"
ODS_DATE = r"^[0-9]{8}$"


def _as_date(column: str) -> pl.Expr:
    return pl.col(column).str.strptime(pl.Date, "%Y%m%d", strict=False)


class EtrRaw(pa.DataFrameModel):
    """ODS ``etr`` report (NHS trusts): 27 fields, no header; the fields the reference uses."""

    org_code: str = pa.Field(str_matches=ODS_CODE, description="field 1: organisation code")
    org_name: str = pa.Field(description="field 2: name")
    region_code: str = pa.Field(nullable=True, str_matches=REGION_CODE, description="field 3: NHS England region")
    icb_code: str = pa.Field(nullable=True, str_matches=ICB_CODE, description="field 4: integrated care board")
    postcode: str = pa.Field(nullable=True, description="field 10: postcode")
    open_date: str = pa.Field(str_matches=ODS_DATE, description="field 11: open date, YYYYMMDD")
    close_date: str = pa.Field(nullable=True, str_matches=ODS_DATE, description="field 12: close date, YYYYMMDD")
    source_row: int = pa.Field(ge=1, description="line in the file")

    @pa.check("open_date", "close_date", name="calendar_date")
    def _real_date(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_null() | _as_date(data.key).is_not_null())

    @pa.check("close_date", name="closes_after_opening")
    def _closes_after_opening(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(_as_date("close_date") >= _as_date("open_date"))

    class Config:
        unique = ["org_code"]


class TrustTypesRaw(pa.DataFrameModel):
    """A NOF trust-type list (layout of ``trust_reference_2025_26.csv``): the columns the reference uses."""

    trust_code: str = pa.Field(alias="Trust_code", str_matches=ODS_CODE, description="ODS code")
    trust_name: str = pa.Field(alias="Trust_name", description="name as NHS England publishes it")
    region: str = pa.Field(alias="Region", nullable=True, description="NHS England region name")
    trust_type: str = pa.Field(alias="Trust_type", description="NOF trust type, e.g. 'Acute trust'")
    trust_subtype: str = pa.Field(alias="Trust_subtype", nullable=True, description="e.g. 'Acute - Teaching'")
    source_row: int = pa.Field(ge=1, description="line in the file (header is line 1)")

    class Config:
        unique = ["Trust_code"]
