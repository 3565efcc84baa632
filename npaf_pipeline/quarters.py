"""NHS financial-year quarters: one place that turns between the spellings in use.

The engine labels quarters ``2025-26 Q1`` (sortable, no slash, safe in paths); NHS England's files write
``Q1 2025/26``; Dagster partition keys are the quarter's first month, ``2025-04``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LABEL = re.compile(r"^([0-9]{4})-([0-9]{2}) Q([1-4])$")
_NHSE = re.compile(r"^Q([1-4])\s+([0-9]{4})/([0-9]{2})$")
_KEY = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_COMPACT = re.compile(r"^([0-9]{4})-([0-9]{2})\s*Q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    """A quarter of an NHS financial year (April to March). ``fy_start`` 2025 is 2025/26."""

    fy_start: int
    q: int

    def __post_init__(self) -> None:
        if not 1 <= self.q <= 4:
            raise ValueError(f"quarter number must be 1-4, got {self.q}")

    @property
    def fy(self) -> str:
        """Financial year as ``2025-26``."""
        return f"{self.fy_start}-{(self.fy_start + 1) % 100:02d}"

    @property
    def label(self) -> str:
        """Engine label, e.g. ``2025-26 Q1``."""
        return f"{self.fy} Q{self.q}"

    @property
    def nhse_label(self) -> str:
        """NHS England's spelling, e.g. ``Q1 2025/26``."""
        return f"Q{self.q} {self.fy_start}/{(self.fy_start + 1) % 100:02d}"

    @property
    def first_month(self) -> tuple[int, int]:
        """(year, month) of the quarter's first calendar month."""
        month = 4 + 3 * (self.q - 1)
        return (self.fy_start + (month - 1) // 12, (month - 1) % 12 + 1)

    @property
    def partition_key(self) -> str:
        """Dagster partition key: the first month, ``2025-04``."""
        y, m = self.first_month
        return f"{y}-{m:02d}"

    @property
    def months(self) -> list[tuple[int, int]]:
        """The three (year, month) pairs in the quarter."""
        y, m = self.first_month
        out = []
        for i in range(3):
            mm = m + i
            out.append((y + (mm - 1) // 12, (mm - 1) % 12 + 1))
        return out

    def shift(self, n: int) -> Quarter:
        """The quarter ``n`` quarters later (negative: earlier)."""
        idx = self.fy_start * 4 + (self.q - 1) + n
        return Quarter(idx // 4, idx % 4 + 1)

    @property
    def index(self) -> int:
        """A monotone integer, handy for seeds and ordering."""
        return self.fy_start * 4 + self.q - 1

    def __str__(self) -> str:
        return self.label


def of_month(year: int, month: int) -> Quarter:
    """The quarter containing a calendar month."""
    fy_start = year if month >= 4 else year - 1
    return Quarter(fy_start, (month - 4) % 12 // 3 + 1)


def parse_quarter(text: str) -> Quarter:
    """Parse any accepted spelling: ``2025-26 Q1``, ``2025-26Q1``, ``Q1 2025/26`` or a key ``2025-04``."""
    s = text.strip()
    for pattern, build in (
        (_LABEL, lambda m: (int(m[1]), int(m[2]), int(m[3]))),
        (_COMPACT, lambda m: (int(m[1]), int(m[2]), int(m[3]))),
        (_NHSE, lambda m: (int(m[2]), int(m[3]), int(m[1]))),
    ):
        match = pattern.match(s)
        if match:
            start, end2, q = build(match)
            if (start + 1) % 100 != end2:
                raise ValueError(f"{text!r}: financial year {start}/{end2:02d} does not span consecutive years")
            return Quarter(start, q)
    match = _KEY.match(s)
    if match:
        year, month = int(match[1]), int(match[2])
        if month not in (1, 4, 7, 10):
            raise ValueError(f"{text!r}: a quarter key must name a quarter's first month (01, 04, 07 or 10)")
        return of_month(year, month)
    raise ValueError(f"{text!r} is not a quarter (expected e.g. '2025-26 Q1', 'Q1 2025/26' or '2025-04')")


def quarter_range(first: Quarter, last: Quarter) -> list[Quarter]:
    """Every quarter from ``first`` to ``last`` inclusive."""
    if last < first:
        raise ValueError(f"range end {last} is before its start {first}")
    return [first.shift(i) for i in range(last.index - first.index + 1)]


def is_quarter(text: str) -> bool:
    """Whether :func:`parse_quarter` reads ``text`` (``2025/26 Q1`` and ``2025-26 Q5`` are none of its spellings):
    a check for input files whose quarters are read by the parser."""
    try:
        parse_quarter(text)
    except ValueError:
        return False
    return True
