"""Months of the generated quarters, and the period texts NHS England prints for each metric."""

from __future__ import annotations

from collections.abc import Iterable

from npaf_pipeline.quarters import Quarter

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def months(quarters: Iterable[Quarter]) -> list[tuple[int, int]]:
    """Every (year, month) of the quarters, in order."""
    return sorted({ym for q in quarters for ym in q.months})


def shift_month(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + n
    return index // 12, index % 12 + 1


def _mon(year: int, month: int, sep: str = " ") -> str:
    return f"{MONTH_NAMES[month - 1][:3]}{sep}{year % 100:02d}"


def _window(end: tuple[int, int]) -> str:
    return f"{_mon(*shift_month(*end, -11))} - {_mon(*end)}"


def _year_to(end: tuple[int, int]) -> str:
    """NHS England's spelling of a 12-month window for OF0041: 'Jun 24 - Jun 25' (same month both ends)."""
    return f"{_mon(*shift_month(*end, -12))} - {_mon(*end)}"


def period_text(metric_id: str, q: Quarter) -> str:
    """The ``Reporting_date`` NHS England's NOF files give the metric in quarter ``q`` (the Q1 2025/26 forms)."""
    last = q.months[-1]
    fy, yy = q.fy_start, (q.fy_start + 1) % 100
    texts = {
        "OF0106": _mon(*last, "-"),
        "OF0025": _mon(*last, "-"),
        "OF0041": f"{_year_to(last)} vs {_year_to(shift_month(*last, -12))}",
        "OF0061": str(fy - 1),
        "OF0084": str(fy - 1),
        "OF0035": str(fy - 1),
        "OF0069": str(fy - 2),
        "OF0020": _window(last),
        "OF0048": _window(last),
        "OF0088": _window(last),
        "OF0046": _window(shift_month(*last, -3)),
        "OF0067": "Latest published if awarded post August 2023",
        "OF0082": f"Q{q.shift(-1).q} {q.shift(-1).fy}",
        "OF0079": f"{fy}/{yy:02d}",
        "OF0081": f"Month {3 * q.q} {fy}",
        "OF0085": f"To M12 {fy - 1}/{fy % 100:02d} vs {fy - 2}/{(fy - 1) % 100:02d}",
        "OF0086": f"{fy - 2}/{(fy - 1) % 100:02d}",
    }
    return texts.get(metric_id, q.nhse_label)
