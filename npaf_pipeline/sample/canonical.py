"""Canonical inputs: metric values with no raw source here, financial-override flags, the intensive-support list.

Values are written as NHS England publishes them (2 dp, period text as in the NOF files, the rule set's unit, or
``count`` for small trusts' HCAI measures). Override flags follow the deficit-plan rule that matches NHS
England's Q1 2025/26 flags (plan below 0, or break-even with a year-to-date variance below -0.01 %), so the
flagged share is the real one. The intensive-support list is the few weakest trusts, kept all period.
Every row carries ``note = synthetic``; the readers ignore extra columns.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

from npaf_pipeline.quarters import Quarter
from npaf_pipeline.sample.calibration import INTENSIVE_SUPPORT_SHARE
from npaf_pipeline.sample.model import quality
from npaf_pipeline.sample.organisations import Population
from npaf_pipeline.sample.periods import period_text

RAW_SOURCED = frozenset({"OF0003", "OF0005", "OF0010", "OF0011", "OF0013", "OF0017", "OF0023", "OF0028"})
"""Metrics the raw extracts of the landing zone give; every other value is written here."""
NOTE = "synthetic (npaf sample-data)"
VALUE_HEADER = ["quarter", "org_code", "metric_id", "period", "value", "numerator", "denominator", "unit", "note"]


def write_values(quarters: list[Quarter], values: pl.DataFrame, folder: Path) -> list[tuple[Path, int]]:
    written = []
    for q in quarters:
        rows = values.filter((pl.col("quarter") == q.label) & ~pl.col("metric_id").is_in(sorted(RAW_SOURCED)))
        path = folder / f"values_{q.label.replace(' ', '_')}.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(VALUE_HEADER)
            for quarter, org, metric, value, unit in (
                rows.sort("metric_id", "org_code")
                .select("quarter", "org_code", "metric_id", "value", "unit")
                .iter_rows()
            ):
                writer.writerow([quarter, org, metric, period_text(metric, q), _text(value, unit), "", "", unit, NOTE])
        written.append((path, rows.height))
    return written


def _text(value: float, unit: str) -> str:
    if unit in ("count", "score"):
        return str(round(value))
    return f"{value:.2f}"


def override_flags(values: pl.DataFrame) -> pl.DataFrame:
    """quarter, org_code, financial_override: the deficit-plan rule on the generated OF0079 and OF0081."""
    finance = values.filter(pl.col("metric_id").is_in(["OF0079", "OF0081"])).pivot(
        on="metric_id", index=["quarter", "org_code"], values="value"
    )
    flagged = (pl.col("OF0079") < 0) | ((pl.col("OF0079") == 0) & (pl.col("OF0081") < -0.01))
    return finance.select("quarter", "org_code", flagged.alias("financial_override")).sort("quarter", "org_code")


def write_override_flags(values: pl.DataFrame, folder: Path) -> list[tuple[Path, int]]:
    flags = override_flags(values)
    path = folder / "override_flags.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["quarter", "org_code", "financial_override", "note"])
        for quarter, org, flag in flags.iter_rows():
            writer.writerow([quarter, org, "1" if flag else "0", NOTE])
    return [(path, flags.height)]


def intensive_support(pop: Population, seed: int) -> list[str]:
    """The weakest trusts by overall quality, in the real share per type (at least one acute trust)."""
    chosen: list[str] = []
    for org_type, share in sorted(INTENSIVE_SUPPORT_SHARE.items()):
        typed = sorted(pop.of_type(org_type), key=lambda o: (quality(o, seed), o.code))
        n = max(1 if org_type == "acute" else 0, round(share * len(typed)))
        chosen += [o.code for o in typed[:n]]
    return sorted(chosen)


def write_intensive_support(
    pop: Population, quarters: list[Quarter], seed: int, folder: Path
) -> list[tuple[Path, int]]:
    codes = intensive_support(pop, seed)
    path = folder / "intensive_support.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["quarter", "org_code", "note"])
        for q in quarters:
            writer.writerows([q.label, code, NOTE] for code in codes)
    return [(path, len(codes) * len(quarters))]
