"""Field definitions shared by every table: one spelling of an ODS code, a quarter, a metric id, a published count."""

from __future__ import annotations

from collections.abc import Callable

import pandera.polars as pa
import polars as pl

ODS_CODE = r"^[A-Z0-9]{3,6}$"
QUARTER_LABEL = r"^\d{4}-\d{2} Q[1-4]$"
METRIC_ID = r"^OF\d{4}$"
SHA256 = r"^[0-9a-f]{64}$"

MONTH_NAMES = (
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
)
"""Month names as raw files spell them (compared without regard to case)."""
WHOLE_NUMBER = r"^(\d+|\d{1,3}(,\d{3})+)$|^-\d+$"
"""A count as published: digits, optionally with thousands separators; a minus sign is read (and then refused)."""
NUMBER = r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$"
"""A number as a workbook or CSV cell holds it, validated as text so a quarantine record shows what was there."""
TEXT_SUFFIX = "_text"
"""A value parsed from a cell is carried next to the cell as published, ``<name>_text``, so an unreadable cell and
an impossible value are quarantined under their own rule."""


def ods_code(description: str = "ODS organisation code", **kw) -> object:
    return pa.Field(str_matches=ODS_CODE, description=description, **kw)


def quarter(**kw) -> object:
    return pa.Field(str_matches=QUARTER_LABEL, description="NHS financial-year quarter, e.g. '2025-26 Q1'", **kw)


def metric_id(**kw) -> object:
    return pa.Field(str_matches=METRIC_ID, description="NOF metric id (OF0xxx raw value)", **kw)


def count(description: str = "count; missing when published blank or '-'") -> object:
    """A parsed count: never negative; missing (blank or '-' in the file) is not an error."""
    return pa.Field(nullable=True, ge=0, description=description)


def published_text(nullable: bool = True) -> object:
    """The ``<name>_text`` twin of a parsed value."""
    return pa.Field(nullable=nullable, description="the cell as published, trimmed")


def blank_or_matching(pattern: str) -> Callable[..., pl.LazyFrame]:
    """A check body: each cell is missing or matches ``pattern`` (a count's ``_text`` twin, say).

    Register it in a model with ``pa.check(*columns, name=...)(blank_or_matching(WHOLE_NUMBER))``.
    """

    def check(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_null() | pl.col(data.key).str.contains(pattern))

    return check


def as_number(column: str) -> pl.Expr:
    """A text column's value (null where it is not a number), for checks across columns."""
    return pl.col(column).cast(pl.Float64, strict=False)
