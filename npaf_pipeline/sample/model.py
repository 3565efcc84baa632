"""The values the sample data are built around: one per (quarter, organisation, metric).

An organisation's value of a metric is the calibrated distribution (``calibration``) read at the probability of a
standard-normal score made of four parts: the organisation's overall quality (persistent), its standing in the
metric's family (persistent: urgent care, electives, workforce, finance...), its own persistent strength in the
metric, and noise drawn afresh each period. So trusts keep their place from quarter to quarter, segments are
stable, and a few move each quarter. Annual measures (plans, surveys, reference costs) redraw their noise once a
financial year. The raw-source writers reproduce these values through counts; the canonical writer writes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from npaf_pipeline.quarters import Quarter
from npaf_pipeline.ruleset import Metric, RuleSet
from npaf_pipeline.ruleset.model import Lookup, ProvidedScore
from npaf_pipeline.sample.calibration import ASSUMED, COUNT_QUANTILES, QUANTILES, SCORE_COUNTS
from npaf_pipeline.sample.organisations import Organisation, Population, service_of
from npaf_pipeline.sample.randomness import from_counts, from_quantiles, normal, phi

WEIGHTS = {"overall": 0.55, "family": 0.45, "own": 0.5, "noise": 0.45}
"""Loadings of the four parts of the score (normalised to unit variance)."""
FAMILY = {
    "OF0013": "urgent",
    "OF0014": "urgent",
    "OF0025": "urgent",
    "OF0017": "ambulance",
    "OF0028": "ambulance",
    "OF0023": "elective",
    "OF0003": "elective",
    "OF0106": "elective",
    "OF0010": "cancer",
    "OF0011": "cancer",
    "OF0005": "community",
    "OF0057": "community",
    "OF0061": "workforce",
    "OF0084": "workforce",
    "OF0082": "workforce",
    "OF0079": "finance",
    "OF0081": "finance",
    "OF0085": "finance",
    "OF0086": "finance",
    "OF0020": "safety",
    "OF0048": "safety",
    "OF0088": "safety",
    "OF0067": "safety",
    "OF0046": "safety",
    "OF0016": "mental_health",
    "OF0063": "mental_health",
    "OF0035": "mental_health",
    "OF0041": "mental_health",
    "OF0069": "experience",
}
ANNUAL_BASES = frozenset({"plan_year", "survey_year", "financial_year", "year_on_year", "rating_window"})
WINTER = {"OF0013": -0.35, "OF0014": -0.35, "OF0025": -0.25, "OF0017": -0.3}
"""Assumed winter pressure (score shift in Q3 and Q4) on urgent care; not calibrated (Q1 data only)."""
DECIMALS = {"percent": 2, "percentage points": 2, "out of 10": 2, "days": 1, "rate": 2, "mins": 2, "count": 0}


@dataclass(frozen=True)
class Target:
    quarter: str
    org_code: str
    org_type: str
    metric_id: str
    value: float
    unit: str


def value_metrics(rs: RuleSet) -> list[Metric]:
    """Metrics that take a value (every metric but lookups, which the engine computes)."""
    return [m for m in rs.metrics if not isinstance(m.method, Lookup)]


def targets(pop: Population, quarters: list[Quarter], seed: int, rs: RuleSet) -> pl.DataFrame:
    """quarter, org_code, org_type, metric_id, value, unit: every value the landing zone will hold."""
    rows: list[Target] = []
    for metric in value_metrics(rs):
        for org in pop.organisations:
            if org.org_type not in metric.org_types or service_of(metric.id) not in org.services:
                continue
            for q in quarters:
                value, unit = _value(metric, org, q, seed)
                rows.append(Target(q.label, org.code, org.org_type, metric.id, value, unit))
    frame = pl.DataFrame([r.__dict__ for r in rows], schema=_SCHEMA, orient="row") if rows else _empty()
    return frame.sort("quarter", "metric_id", "org_code")


def score(metric: Metric, org: Organisation, q: Quarter, seed: int) -> float:
    """The standard-normal score of ``org`` on ``metric`` in ``q``: higher is better."""
    period = q.fy if metric.period_basis in ANNUAL_BASES else q.label
    parts = {
        "overall": normal(seed, "overall", org.code),
        "family": normal(seed, "family", org.code, FAMILY.get(metric.id, metric.id)),
        "own": normal(seed, "own", org.code, metric.id),
        "noise": normal(seed, "noise", org.code, metric.id, period),
    }
    norm = math.sqrt(sum(w * w for w in WEIGHTS.values()))
    s = sum(WEIGHTS[k] * v for k, v in parts.items()) / norm
    return s + (WINTER.get(metric.id, 0.0) if q.q in (3, 4) else 0.0)


def quality(org: Organisation, seed: int) -> float:
    """The persistent overall quality of an organisation (the first part of every score)."""
    return normal(seed, "overall", org.code)


def _value(metric: Metric, org: Organisation, q: Quarter, seed: int) -> tuple[float, str]:
    s = score(metric, org, q, seed)
    if isinstance(metric.method, ProvidedScore):
        allowed = [int(a) for a in metric.method.allowed or (1, 2, 3, 4)]
        counts = SCORE_COUNTS.get((metric.id, org.org_type)) or SCORE_COUNTS.get((metric.id, "acute"), {})
        return float(from_counts(1.0 - phi(s), counts, allowed)), metric.unit
    p = phi(s) if metric.direction != "lower" else 1.0 - phi(s)
    if org.count_units and metric.id in COUNT_QUANTILES:
        return float(round(from_quantiles(p, COUNT_QUANTILES[metric.id]))), "count"
    value = from_quantiles(p, _quantiles(metric.id, org.org_type))
    return _round(value, DECIMALS.get(metric.unit, 2)), metric.unit


def _quantiles(metric_id: str, org_type: str) -> tuple[float, ...]:
    """Measured (or, for ambulance trusts, assumed) for the type; else measured on the type that has the service."""
    own = QUANTILES.get((metric_id, org_type)) or ASSUMED.get((metric_id, org_type))
    if own:
        return own
    for other in ("mhc", "ambulance", "acute"):  # e.g. the one acute trust with an ambulance service
        if (metric_id, other) in QUANTILES:
            return QUANTILES[(metric_id, other)]
    raise KeyError(f"no calibration for {metric_id} ({org_type})")


def _round(value: float, decimals: int) -> float:
    rounded = round(value, decimals)
    return 0.0 if rounded == 0 else rounded  # never -0.0, which would print as '-0.00'


_SCHEMA = {
    "quarter": pl.String,
    "org_code": pl.String,
    "org_type": pl.String,
    "metric_id": pl.String,
    "value": pl.Float64,
    "unit": pl.String,
}


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=_SCHEMA)
