"""Numbers as the pages show them (the templates' ``num`` and ``value`` filters, and the rows built in Python)."""

from __future__ import annotations

from typing import Any


def fmt(value: Any, dp: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        text = f"{value:,.{dp}f}"
        return "0" if text.strip("-0.,") == "" else text
    return str(value)


def metric_value(value: Any, unit: str | None) -> str:
    """A metric value in its unit, as a reader expects it (percent with %, counts without decimals)."""
    if value is None:
        return "–"
    if unit == "percent":
        return f"{value:,.1f}%"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "percentage points":
        return f"{value:+,.1f} pp"
    return fmt(float(value), 2)
