"""Field definitions shared by every table: one spelling of an ODS code, a quarter, a metric id, a published count."""

from __future__ import annotations

import re
from collections.abc import Callable

import pandera.polars as pa
import polars as pl

ODS_CODE = r"^[A-Z0-9]{3,6}$"
QUARTER_LABEL = r"^[0-9]{4}-[0-9]{2} Q[1-4]$"
METRIC_ID = r"^OF[0-9]{4}$"
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
GROUPED = r"[0-9]{1,3}(?:,[0-9]{3})+"
"""Digits grouped in threes by commas (``1,234``, ``14,946``): the one thousands-separator rule of every source. A
comma anywhere else (``1,23``, ``12,34,5``, ``1,5`` as a decimal comma) makes the cell unreadable, never a number."""
WHOLE_NUMBER = rf"^-?(?:{GROUPED}|[0-9]+)$"
"""A count as published: digits, optionally grouped by thousands separators; a minus sign is read (and then refused)."""
NUMBER = rf"^-?(?:{GROUPED}(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)$"
"""A number as a workbook or CSV cell holds it, validated as text so a quarantine record shows what was there:
digits with an optional decimal part and exponent, or a thousands-grouped number (without an exponent)."""
PATTERN_WORDS = {
    NUMBER: "a number (digits with an optional decimal part and exponent, or thousands grouped by commas)",
    WHOLE_NUMBER: "a whole number (digits, optionally grouped by thousands commas)",
    ODS_CODE: "an ODS code (3 to 6 capital letters or digits)",
    QUARTER_LABEL: "a quarter such as 2025-26 Q1",
    METRIC_ID: "a metric id such as OF0013",
}
"""The shared patterns in words, for reasons a person reads; the rule's own name stays in the ``check`` column."""
NOT_GIVEN = ("", "-", "\u2013", "\u2014")
"""Cells (trimmed) that hold nothing: blank, or a dash (hyphen, en or em dash) for 'none' or 'not submitted'."""
SUPPRESSION_MARKERS = (
    "*", "**", "***", ".", "..", "...", "\u2026", ":", "~", "#", "x", "c", "z", "u", "n/a", "na", "n.a.",
    "[c]", "[x]", "[z]", "[u]", "[w]", "[low]", "[dk]",
)  # fmt: skip
"""Symbols NHS and ONS publications put in a number cell that was suppressed or is not available (compared in lower
case). With :data:`NOT_GIVEN` they are the cells that hold no number: a row whose numerator or denominator is one of
them is quarantined (or, where a source says so, not reported), never scored from the rest of the row."""
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


def parse_number(text: pl.Expr, pattern: str = NUMBER) -> pl.Expr:
    """The value of a number cell (text) by the one rule every source reads numbers with: a cell matching ``pattern``
    (:data:`NUMBER` or :data:`WHOLE_NUMBER`) with its thousands separators removed; null for anything else (blank,
    a suppression marker, a malformed grouping such as ``1,23``), which the cell's text check then words.
    ``1e999`` matches and reads as infinity: :func:`is_finite_number` refuses it."""
    return pl.when(text.str.contains(pattern)).then(text.str.replace_all(",", "", literal=True)).cast(pl.Float64)


_NUMBER_RE = re.compile(NUMBER)


def number_from_text(text: str) -> float | None:
    """:func:`parse_number` for one cell in Python (a reader that goes row by row): the value, or None when the
    cell is not a number by the same rule."""
    text = text.strip()
    return float(text.replace(",", "")) if _NUMBER_RE.match(text) else None


def as_number(column: str, data=None) -> pl.Expr:
    """A column's value by :func:`parse_number` (null where it is not a number), for checks across columns.

    ``data``: the check's argument (pandera's ``PolarsData``). With it, a column the adapter has already read as
    numbers (RTT's counts on its quick path) is taken as it is; without it, such a column is written as text and
    parsed back, which gives the same number at the cost of a parse."""
    if data is not None and data.lazyframe.collect_schema()[column].is_numeric():
        return pl.col(column).cast(pl.Float64)
    return parse_number(pl.col(column).cast(pl.String))


def is_suppressed(text: pl.Expr) -> pl.Expr:
    """Whether a (trimmed) cell holds no number: null, blank, a dash or a suppression marker."""
    return text.is_null() | text.str.to_lowercase().is_in([*NOT_GIVEN, *SUPPRESSION_MARKERS])


MAX_MAGNITUDE = 1e15
"""No number in a raw NHS file is this large (a quadrillion patients, seconds or pounds): a cell beyond it, or one
that reads as infinity (``1e999``), is a typo or damage. Each metric's own plausible range is in the rule set."""


def finite_and_plausible(cls, data) -> pl.LazyFrame:
    """A check body: the number in a text cell is finite and within +-:data:`MAX_MAGNITUDE`; blanks and cells that
    are not numbers pass here (their own text check refuses them). Register with
    ``pa.check(*columns, name="finite_and_plausible")``."""
    return data.lazyframe.select(is_plausible_number(pl.col(data.key)))


def is_plausible_number(text: pl.Expr) -> pl.Expr:
    """True unless the cell is a number that is not finite or beyond +-:data:`MAX_MAGNITUDE`."""
    return (parse_number(text).abs() <= MAX_MAGNITUDE).fill_null(True)


def reported(cls, data) -> pl.LazyFrame:
    """A check body: the cell (text) holds a number, not a blank, dash or suppression marker: for the counts a
    metric's numerator or denominator is built from. Register with ``pa.check(*columns, name="reported")``."""
    return data.lazyframe.select(~is_suppressed(pl.col(data.key)))
