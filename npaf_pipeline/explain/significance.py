"""Is a quarter-on-quarter change in average score more than item-sampling noise? (the rule set decides how)

The default, ``bootstrap``, tests exactly this: treat each quarter's item scores as a sample of the
organisation's performance; resample the previous quarter's n1 items and the current quarter's n2 items, each with
replacement and independently (as the likely ranges resample), and take D* = mean(current*) - mean(previous*). The
distribution of D* is computed exactly, by convolution on a lattice of ``resolution`` score points, rather than
estimated from random draws, so the same inputs give the same p-value bytes. The two-sided p-value is
2 x min(P(D* <= 0), P(D* >= 0)), capped at 1; the change is significant when p < 1 - level, i.e. when 0 lies
outside the central ``level`` interval of D*.
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


def bootstrap_p_value(previous: np.ndarray, current: np.ndarray, resolution: float) -> float | None:
    """Two-sided exact-bootstrap p-value of the change in mean item score (None without items in either)."""
    if previous.size == 0 or current.size == 0:
        return None
    a = np.rint(np.asarray(previous, dtype=np.float64) / resolution).astype(np.int64)
    b = np.rint(np.asarray(current, dtype=np.float64) / resolution).astype(np.int64)
    n1, n2 = a.size, b.size
    pmf1, base1 = _sum_pmf(a)
    pmf2, base2 = _sum_pmf(b)
    cdf2 = np.cumsum(pmf2)
    totals1 = base1 + np.arange(pmf1.size, dtype=np.int64)
    # mean2 <= mean1  <=>  total2 <= n2 * total1 / n1 (integers on the lattice)
    le_idx = np.floor_divide(n2 * totals1, n1) - base2
    lt_idx = -np.floor_divide(-(n2 * totals1), n1) - base2 - 1  # total2 < ceil(n2 * total1 / n1)

    def cdf_at(idx: np.ndarray) -> np.ndarray:
        clipped = np.clip(idx, -1, cdf2.size - 1)
        return np.where(clipped < 0, 0.0, cdf2[np.maximum(clipped, 0)])

    p_le = float(np.dot(pmf1, cdf_at(le_idx)))
    p_ge = float(np.dot(pmf1, 1.0 - cdf_at(lt_idx)))
    p = min(1.0, 2.0 * min(p_le, p_ge))
    return round(max(p, 0.0), 10)


def classify(p_value: float | None, change: float | None, rule: ChangeSignificance) -> bool:
    """Whether a change is significant under the rule set's rule (no p-value and no change: not significant)."""
    if rule.method == "absolute_change":
        return change is not None and not math.isnan(change) and abs(change) >= (rule.min_change or 0.0) - 1e-12
    return p_value is not None and p_value < 1.0 - rule.level
