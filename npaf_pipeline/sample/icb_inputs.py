"""ICB-level inputs of the draft framework's ICB assessment: metric values, system finance, the UEC tier-one list
and leadership capability ratings.

None of these is calibrated: no ICB-level figures were measured for the sample. The distributions below are
assumed, plausible spreads (``ASSUMED_ICB``), read like the trusts' ones: an ICB has a persistent overall quality,
a persistent standing per family of measures, and noise per period (once a financial year for surveys and
plans). Finance is written once, as amounts (``system_finance/``), and the ICB's OF0079 and OF0081 values are
computed from the same amounts, so the finance score and system test 6 agree.
"""

from __future__ import annotations

import csv
from pathlib import Path

from npaf_pipeline.quarters import Quarter
from npaf_pipeline.sample.icbs import NOTE, icb_score
from npaf_pipeline.sample.organisations import Icb
from npaf_pipeline.sample.periods import _window, period_text
from npaf_pipeline.sample.randomness import from_quantiles, normal, phi

# metric -> (unit, better direction, family, annual, quantiles at PROBABILITIES); assumed, not measured
ASSUMED_ICB: dict[str, tuple[str, str, str, bool, tuple[float, ...]]] = {
    "OF0201": ("percent", "lower", "elective", False, (-15.0, -8.0, -6.0, -3.0, 0.0, 3.0, 6.0, 8.0, 15.0)),
    "OF0202": ("rate", "higher", "primary", False, (150.0, 220.0, 260.0, 330.0, 420.0, 520.0, 620.0, 680.0, 850.0)),
    "OF0203": ("percent", "higher", "cancer", False, (48.0, 51.0, 52.0, 54.0, 56.0, 58.0, 60.0, 61.0, 64.0)),
    "OF0204": ("percent", "higher", "primary", True, (62.0, 66.0, 68.0, 71.0, 74.0, 77.0, 80.0, 81.0, 85.0)),
    "OF0205": ("rate", "lower", "flow", False, (14000.0, 15500.0, 16000.0, 17000.0, 18500.0, 20000.0, 21500.0,
                                                 22500.0, 25000.0)),
    "OF0206": ("rate", "lower", "mental_health", False, (2000.0, 2300.0, 2450.0, 2700.0, 3000.0, 3350.0, 3700.0,
                                                         3900.0, 4400.0)),
    "OF0207": ("percent", "lower", "mental_health", False, (-30.0, -20.0, -16.0, -10.0, -4.0, 2.0, 8.0, 12.0, 20.0)),
    "OF0291": ("percent", "lower", "mental_health", False, (0.0, 0.5, 1.0, 3.0, 6.0, 10.0, 15.0, 18.0, 28.0)),
}  # fmt: skip
"""OF0291 (out-of-area share of mental health bed days) is an input of system test 5, not a scored metric."""
PLAN_PERCENT = (-3.0, -2.0, -1.2, -0.3, 0.0, 0.0, 0.0, 0.0, 0.5)
"""Planned surplus (+) or deficit (-), % of income: most systems plan to break even (assumed)."""
VARIANCE_PERCENT = (-3.5, -2.0, -1.4, -0.6, -0.1, 0.2, 0.5, 0.7, 1.2)
"""Forecast minus plan, % of income (assumed)."""
INCOME_THOUSANDS = (1_800_000.0, 2_000_000.0, 2_200_000.0, 2_700_000.0, 3_300_000.0, 4_000_000.0, 5_000_000.0,
                    5_600_000.0, 7_000_000.0)  # fmt: skip
"""Annual income (allocation), £000 (assumed)."""
TIER_ONE_SHARE = 0.12
"""Share of ICBs in tier one of the urgent and emergency care support programme (assumed)."""
RATINGS = ("strong", "good", "requires improvement", "serious concerns")
"""Invented labels for leadership capability ratings: NHS England's scale was not found."""
DOMAINS = (
    "overall",
    "strategy_leadership_planning",
    "quality_of_care",
    "people_culture",
    "access_delivery",
    "productivity_value",
    "finance_oversight",
)
VALUE_HEADER = ["quarter", "org_code", "metric_id", "period", "value", "numerator", "denominator", "unit", "note"]


def _p(seed: int, icb: str, family: str, measure: str, period: str, direction: str = "higher") -> float:
    """The probability at which to read a distribution (high = good when ``direction`` is higher)."""
    p = phi(icb_score(seed, icb, family, measure, period))
    return p if direction == "higher" else 1.0 - p


def finance(icbs: tuple[Icb, ...], quarters: list[Quarter], seed: int) -> list[tuple[str, str, int, int, int]]:
    """quarter, org_code, income, planned_surplus, forecast_surplus (£000; a deficit is negative)."""
    rows = []
    for q in quarters:
        for c in icbs:
            income = round(from_quantiles(phi(normal(seed, "icb_income", c.code)), INCOME_THOUSANDS))
            plan = from_quantiles(_p(seed, c.code, "finance", "plan", q.fy), PLAN_PERCENT)
            variance = from_quantiles(_p(seed, c.code, "finance", "variance", q.label), VARIANCE_PERCENT)
            planned = round(income * plan / 100)
            rows.append((q.label, c.code, income, planned, round(planned + income * variance / 100)))
    return rows


def values(icbs: tuple[Icb, ...], quarters: list[Quarter], seed: int) -> list[tuple[str, str, str, str, str, str]]:
    """quarter, org_code, metric_id, period, value text, unit: every ICB-level value, finance from the amounts."""
    rows = []
    for q in quarters:
        for c in icbs:
            for metric, (unit, direction, family, annual, quantiles) in ASSUMED_ICB.items():
                p = _p(seed, c.code, family, metric, q.fy if annual else q.label, direction)
                rows.append((q.label, c.code, metric, _period(metric, q), _text(from_quantiles(p, quantiles)), unit))
    for quarter, code, income, planned, forecast in finance(icbs, quarters, seed):
        q = next(q for q in quarters if q.label == quarter)
        plan, variance = 100 * planned / income, 100 * (forecast - planned) / income
        rows.append((quarter, code, "OF0079", period_text("OF0079", q), _text(plan), "percent"))
        rows.append((quarter, code, "OF0081", period_text("OF0081", q), _text(variance), "percent"))
    return sorted(rows)


def _text(value: float) -> str:
    rounded = round(value, 2)
    return f"{0.0 if rounded == 0 else rounded:.2f}"  # never '-0.00'


def _period(metric: str, q: Quarter) -> str:
    if metric == "OF0204":
        return str(q.fy_start - 1)  # the survey published before the quarter
    if metric == "OF0203":
        return _window(q.months[-1])
    return q.nhse_label


def write_values(icbs: tuple[Icb, ...], quarters: list[Quarter], seed: int, folder: Path) -> list[tuple[Path, int]]:
    """``icb_values_<quarter>.csv`` in the canonical metric-values format."""
    rows = values(icbs, quarters, seed)
    written = []
    for q in quarters:
        mine = [r for r in rows if r[0] == q.label]
        path = folder / f"icb_values_{q.label.replace(' ', '_')}.csv"
        _write(path, VALUE_HEADER, [[*r[:5], "", "", r[5], NOTE] for r in mine])
        written.append((path, len(mine)))
    return written


def write_finance(icbs: tuple[Icb, ...], quarters: list[Quarter], seed: int, folder: Path) -> list[tuple[Path, int]]:
    """``system_finance.csv``: one system total per ICB and quarter."""
    rows = finance(icbs, quarters, seed)
    path = folder / "system_finance.csv"
    header = ["quarter", "org_code", "income", "planned_surplus", "forecast_surplus", "note"]
    _write(path, header, [[*r, NOTE] for r in rows])
    return [(path, len(rows))]


def tier_one(icbs: tuple[Icb, ...], q: Quarter, seed: int) -> set[str]:
    """The weakest ICBs on urgent care in the financial year (a list that changes once a year)."""
    n = max(1, round(TIER_ONE_SHARE * len(icbs)))
    ranked = sorted(icbs, key=lambda c: (icb_score(seed, c.code, "urgent", "uec_tier1", q.fy), c.code))
    return {c.code for c in ranked[:n]}


def write_tier_one(icbs: tuple[Icb, ...], quarters: list[Quarter], seed: int, folder: Path) -> list[tuple[Path, int]]:
    """``uec_tier1.csv``: quarter, icb_code, listed (yes/no) for every ICB, so an empty quarter is still supplied."""
    rows = []
    for q in quarters:
        listed = tier_one(icbs, q, seed)
        rows += [[q.label, c.code, "yes" if c.code in listed else "no", NOTE] for c in icbs]
    path = folder / "uec_tier1.csv"
    _write(path, ["quarter", "icb_code", "listed", "note"], rows)
    return [(path, len(rows))]


def write_leadership(icbs: tuple[Icb, ...], quarters: list[Quarter], seed: int, folder: Path) -> list[tuple[Path, int]]:
    """``leadership.csv``: a rating per quarter, ICB and capability area (and overall), renewed each year."""
    rows = []
    for q in quarters:
        for c in icbs:
            for domain in DOMAINS:
                p = _p(seed, c.code, "leadership", domain, q.fy, "lower")  # high p = weak
                rows.append([q.label, c.code, domain, RATINGS[min(int(p * len(RATINGS)), len(RATINGS) - 1)], NOTE])
    path = folder / "leadership.csv"
    _write(path, ["quarter", "org_code", "capability_domain", "rating", "note"], rows)
    return [(path, len(rows))]


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
