"""Is a quarter-on-quarter change in average score more than item-level noise? (the rule set decides how)

The default, ``bootstrap``, tests exactly this. The change in average is the sum, over every item present in
either quarter, of the item's change in contribution (weight x score now minus last quarter's; an item entering
or leaving counts with its one side). Resample those n items with replacement, each keeping its previous and
current score together (a paired bootstrap: the same metric measured twice is one unit), and recompute the change
as n x the mean of the resampled contributions. Its distribution is computed exactly, by convolution on a lattice
of ``resolution`` score points rather than estimated from random draws, so the same inputs give the same p-value
bytes. The two-sided p-value is 2 x min(P(change* <= 0), P(change* >= 0)), capped at 1; the change is significant
when p < 1 - level, i.e. when 0 lies outside the central ``level`` interval of the resampled change.
"""

from __future__ import annotations

import math

import numpy as np

from npaf_pipeline.ruleset.model import ChangeSignificance


def _sum_pmf(lattice: np.ndarray) -> tuple[np.ndarray, int]:
    """pmf of the sum of n draws with replacement from ``lattice`` (ints), as (pmf over offsets, offset base)."""
    n = lattice.size
    low = int(lattice.min())
    offsets = lattice - low
    width = int(offsets.max())
    one = np.bincount(offsets, minlength=width + 1).astype(np.float64) / n
    if width == 0:
        return np.ones(1), n * low
    size = n * width + 1
    fft_len = 1 << (size - 1).bit_length()
    pmf = np.fft.irfft(np.fft.rfft(one, fft_len) ** n, fft_len)[:size]
    pmf = np.clip(pmf, 0.0, None)
    return pmf / pmf.sum(), n * low


def bootstrap_p_value(contributions: np.ndarray, resolution: float) -> float | None:
    """Two-sided exact paired-bootstrap p-value of a change in average, from its per-item contribution changes."""
    units = np.asarray(contributions, dtype=np.float64) * contributions.size
    if units.size == 0:
        return None
    lattice = np.rint(units / resolution).astype(np.int64)
    pmf, base = _sum_pmf(lattice)
    totals = base + np.arange(pmf.size, dtype=np.int64)
    p_le = float(pmf[totals <= 0].sum())
    p_ge = float(pmf[totals >= 0].sum())
    p = min(1.0, 2.0 * min(p_le, p_ge))
    return round(max(p, 0.0), 10)


def classify(p_value: float | None, change: float | None, rule: ChangeSignificance) -> bool:
    """Whether a change is significant under the rule set's rule (no p-value and no change: not significant)."""
    if rule.method == "absolute_change":
        return change is not None and not math.isnan(change) and abs(change) >= (rule.min_change or 0.0) - 1e-12
    return p_value is not None and p_value < 1.0 - rule.level
