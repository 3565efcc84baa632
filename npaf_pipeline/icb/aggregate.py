"""Provider numerators and denominators summed to the ICB (never percentages averaged).

An ICB's value for a period is ``100 * Σ numerator / Σ denominator`` over its providers' rows. A provider row
that is present but has no numerator or denominator (withheld, quarantined) makes that ICB's period
*incomplete*: its value is left empty, because a sum over the providers that remain would look right and be
wrong. A provider with no row at all had no activity and simply adds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from npaf_pipeline.engine.frames import EngineInputError, require_columns

AGGREGATE_COLUMNS = [
    "icb_code",
    "metric_id",
    "numerator",
    "denominator",
    "value",
    "n_providers",
    "providers",
    "incomplete_providers",
    "complete",
]
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                       "nov", "dec"), start=1)}  # fmt: skip
_ISO_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_ISO_SPAN = re.compile(r"^([0-9]{4}-[0-9]{2})\.\.([0-9]{4}-[0-9]{2})$")
_SHORT = re.compile(r"^([A-Za-z]{3})-([0-9]{2})$")


UNMAPPED_COLUMNS = ["org_code", "metric_id", "numerator", "denominator"]


@dataclass(frozen=True)
class IcbAggregation:
    """ICB sums per period, and the provider rows no ICB could be found for (left out of every sum).

    ``unmapped`` must be reported wherever the sums are (see :meth:`unmapped_summary`): a provider whose figures
    reach no ICB lowers nothing and raises nothing, so without the list no one would know they are missing.
    """

    values: pl.DataFrame
    unmapped: pl.DataFrame

    def unmapped_summary(self) -> pl.DataFrame:
        """Per period and metric: the providers with a row but no ICB, how many, and the figures of those with both."""
        both = pl.col("numerator").is_not_null() & pl.col("denominator").is_not_null()
        keys = [c for c in self.unmapped.columns if c not in UNMAPPED_COLUMNS]
        return (
            self.unmapped.group_by(*keys, "metric_id")
            .agg(
                pl.col("org_code").unique().sort().str.join(",").alias("providers"),
                pl.col("org_code").n_unique().cast(pl.Int64).alias("n_providers"),
                pl.col("numerator").filter(both).sum(),
                pl.col("denominator").filter(both).sum(),
            )
            .sort(*keys, "metric_id")
        )


def aggregate_to_icb(rows: pl.DataFrame, trust_icb: pl.DataFrame, keys: Sequence[str] = ("month",)) -> IcbAggregation:
    """Sum provider numerators and denominators to ICBs per ``keys`` (e.g. month or quarter) and metric.

    ``rows``: org_code, metric_id, numerator, denominator and the ``keys`` columns.
    ``trust_icb``: org_code, icb_code (see :func:`npaf_pipeline.icb.mapping.trust_icb`).
    """
    keys = list(keys)
    require_columns(rows, ["org_code", "metric_id", "numerator", "denominator", *keys], "provider rows")
    require_columns(trust_icb, ["org_code", "icb_code"], "trust to ICB map")
    frame = rows.select(*keys, "org_code", "metric_id", "numerator", "denominator").with_columns(
        pl.col("numerator", "denominator").cast(pl.Float64)
    )
    mapped = frame.join(trust_icb.select("org_code", "icb_code"), on="org_code", how="left")
    unmapped = mapped.filter(pl.col("icb_code").is_null()).drop("icb_code").sort(*keys, "metric_id", "org_code")
    has_both = pl.col("numerator").is_not_null() & pl.col("denominator").is_not_null()
    sums = (
        mapped.filter(pl.col("icb_code").is_not_null())
        .group_by(*keys, "icb_code", "metric_id")
        .agg(
            pl.col("numerator").sum(),
            pl.col("denominator").sum(),
            has_both.sum().cast(pl.Int64).alias("n_providers"),
            pl.col("org_code").filter(has_both).sort().str.join(",").alias("providers"),
            pl.col("org_code").filter(~has_both).sort().str.join(",").alias("incomplete_providers"),
        )
        .with_columns((pl.col("incomplete_providers") == "").alias("complete"))
    )
    value = (
        pl.when(pl.col("complete") & (pl.col("denominator") > 0))
        .then(100 * pl.col("numerator") / pl.col("denominator"))
        .otherwise(None)
    )
    out = sums.with_columns(value.alias("value")).select(*keys, *AGGREGATE_COLUMNS)
    return IcbAggregation(out.sort(*keys, "metric_id", "icb_code"), unmapped)


def provider_months(values: pl.DataFrame) -> pl.DataFrame:
    """Canonical-style monthly provider rows with a ``month`` column (``YYYY-MM``) read from ``period``.

    ``period`` may be ``2025-04``, ``2025-04..2025-04`` or ``Apr-25``; anything covering more than one month is
    an error (the every-month tests need monthly values).
    """
    require_columns(values, ["org_code", "metric_id", "period", "numerator", "denominator"], "monthly provider rows")
    periods = values["period"].unique().to_list()
    months = {p: _month_of(p) for p in periods}
    bad = sorted(str(p) for p, m in months.items() if m is None)
    if bad:
        raise EngineInputError(f"monthly provider rows: period(s) that are not a single month: {bad[:5]}")
    return values.with_columns(pl.col("period").replace_strict(months, return_dtype=pl.String).alias("month"))


def _month_of(period: object) -> str | None:
    text = str(period).strip() if period is not None else ""
    if match := _ISO_MONTH.match(text):
        return text if 1 <= int(match[2]) <= 12 else None
    if (match := _ISO_SPAN.match(text)) and match[1] == match[2]:
        return _month_of(match[1])
    if (match := _SHORT.match(text)) and match[1].lower() in _MONTHS:
        return f"20{match[2]}-{_MONTHS[match[1].lower()]:02d}"
    return None
