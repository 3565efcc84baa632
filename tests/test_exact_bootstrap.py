"""The exact bootstrap against its definition: every resample enumerated (small n), a very large seeded Monte
Carlo (realistic n), and the rank approximation for large league tables against the exact count."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import polars as pl
import pytest

from npaf_pipeline.engine import exact_bootstrap
from npaf_pipeline.engine.bootstrap import likely_ranges

LEVELS = (0.025, 0.975)
Q1 = "2025-26 Q1"


def _rounded_cents(mean: Fraction) -> int:
    return int((mean * 100 + Fraction(1, 2)) // 1)  # half up, as the engine rounds averages


def _inverse_cdf(counts: dict[int, int], total: int, level: float) -> int:
    """Smallest value whose cumulative share reaches ``level`` (exact arithmetic)."""
    cum = 0
    for value in sorted(counts):
        cum += counts[value]
        if Fraction(cum, total) >= Fraction(level).limit_denominator(10_000):
            return value
    raise AssertionError("unreachable")


def _brute_average(scores: list[float]) -> tuple[int, int]:
    n = len(scores)
    # the decimal each float stands for (2.59, not the binary 2.58999...): what the engine rounds half up
    exact = [Fraction(repr(float(s))) for s in scores]
    counts: dict[int, int] = {}
    for draw in itertools.product(range(n), repeat=n):
        cents = _rounded_cents(sum(exact[i] for i in draw) / n)
        counts[cents] = counts.get(cents, 0) + 1
    return _inverse_cdf(counts, n**n, LEVELS[0]), _inverse_cdf(counts, n**n, LEVELS[1])


def _item_sets(seed: int, count: int) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    sets = []
    for k in range(count):
        n = int(rng.integers(1, 6))
        raw = rng.uniform(1, 4, n)
        if k % 3 == 0:
            sets.append([round(float(v), 2) for v in raw])  # scores entering at 2 dp
        elif k % 3 == 1:
            sets.append([float(v) for v in raw])  # unrounded scores
        else:  # an HCAI-like mean of three scores beside 2 dp scores, and a score exactly at a half cent
            sets.append([(1 + 2 + round(float(raw[0]), 2)) / 3, 2.345, *[round(float(v), 2) for v in raw[1:]]])
    return sets


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_certified_average_bounds_equal_the_enumeration_of_every_resample(seed: int, rs) -> None:
    """At the shipped grid every bound the brackets settle is the ideal bootstrap's; the rest are one unit off
    at most; with a finer grid every bound of these sets is settled and right."""
    sets = _item_sets(seed, 30)
    expected = [_brute_average(s) for s in sets]
    shipped = exact_bootstrap.mean_distributions(
        [np.array(s) for s in sets], 2, LEVELS, rs.bootstrap.exact_grid_decimals
    )
    for k, scores in enumerate(sets):
        got = (shipped.low[k], shipped.high[k])
        if shipped.certified[k]:
            assert got == expected[k], scores
        else:
            assert max(abs(got[0] - expected[k][0]), abs(got[1] - expected[k][1])) <= 1, scores
    assert shipped.certified.mean() >= 0.9
    fine = exact_bootstrap.mean_distributions([np.array(s) for s in sets], 2, LEVELS, 7)
    assert fine.certified.all()
    assert [(int(a), int(b)) for a, b in zip(fine.low, fine.high, strict=True)] == expected


def test_distribution_sums_to_one_and_agrees_with_its_bounds() -> None:
    sets = _item_sets(7, 20)
    dist = exact_bootstrap.mean_distributions([np.array(s) for s in sets], 2, LEVELS)
    assert np.allclose(dist.pmf.sum(axis=1), 1.0)
    cdf = np.cumsum(dist.pmf, axis=1)
    for k in range(len(sets)):
        assert cdf[k, dist.low[k] - dist.origin] >= LEVELS[0] - 1e-9
        assert dist.low[k] == dist.origin or cdf[k, dist.low[k] - dist.origin - 1] < LEVELS[0] + 1e-9


def test_realistic_average_bounds_agree_with_a_large_seeded_monte_carlo() -> None:
    """16 to 21 items, two thirds at 2 dp: 400,000 replicates put each bound within one unit of the exact one."""
    rng = np.random.default_rng(11)
    for _ in range(4):
        n = int(rng.integers(16, 22))
        scores = np.clip(rng.normal(2.4, 0.9, n), 1, 4)
        scores = np.where(rng.random(n) < 0.66, np.round(scores, 2), scores)
        dist = exact_bootstrap.mean_distributions([scores], 2, LEVELS)
        draws = scores[rng.integers(0, n, size=(400_000, n))].mean(axis=1)
        cents = np.floor(draws * 100 + 0.5 + 1e-9)
        mc = np.quantile(cents, LEVELS, method="inverted_cdf")
        assert abs(dist.low[0] - mc[0]) <= 1 and abs(dist.high[0] - mc[1]) <= 1


def _segmentation(codes: list[str], types: list[str], cuts: tuple[float, float, float], flagged: set[str]):
    return pl.DataFrame(
        {
            "quarter": [Q1] * len(codes),
            "org_code": codes,
            "org_type": types,
            "population": ["trusts"] * len(codes),
            "cut_1": [cuts[0]] * len(codes),
            "cut_2": [cuts[1]] * len(codes),
            "cut_3": [cuts[2]] * len(codes),
            "override_flag": [c in flagged for c in codes],
        }
    )


def _items(sets: dict[str, list[float]], types: dict[str, str]) -> pl.DataFrame:
    rows = [(Q1, c, types[c], f"I{i}", "d", s) for c, scores in sets.items() for i, s in enumerate(scores)]
    return pl.DataFrame(rows, schema=["quarter", "org_code", "org_type", "item_id", "domain", "score"], orient="row")


def test_rank_bounds_equal_the_enumeration_of_every_joint_resample(rs) -> None:
    """Three acute trusts of three items and one of two; the third is flagged (capped at segment 3)."""
    sets = {"RA1": [1.5, 2.25, 3.0], "RA2": [2.0, 2.5, 1.75], "RA3": [1.25, 2.75, 2.0], "RA4": [2.5, 3.5]}
    types = dict.fromkeys(sets, "acute")
    cuts, flagged = (1.9, 2.2, 2.6), {"RA3"}
    got = likely_ranges(_items(sets, types), _segmentation(list(sets), list(types.values()), cuts, flagged), rs)
    codes = list(sets)
    per_org = []
    for c in codes:
        n = len(sets[c])
        means = [sum(sets[c][i] for i in d) / n for d in itertools.product(range(n), repeat=n)]
        per_org.append([np.floor(m * 100 + 0.5 + 1e-9) / 100 for m in means])
    counts: dict[str, dict[int, int]] = {c: {} for c in codes}
    total = 0
    for joint in itertools.product(*per_org):
        keys = []
        for c, avg in zip(codes, joint, strict=True):
            segment = 1 + sum(avg > cut for cut in cuts)
            keys.append((max(segment, 3) if c in flagged else segment, avg))
        for c, key in zip(codes, keys, strict=True):
            rank = 1 + sum(other < key for other in keys)
            counts[c][rank] = counts[c].get(rank, 0) + 1
        total += 1
    expected = {
        c: (_inverse_cdf(counts[c], total, LEVELS[0]), _inverse_cdf(counts[c], total, LEVELS[1])) for c in codes
    }
    assert {r["org_code"]: (r["rank_low"], r["rank_high"]) for r in got.iter_rows(named=True)} == expected


def test_refined_normal_rank_bounds_stay_within_one_place_of_the_exact_ones() -> None:
    """A league table of 300 with realistic spreads: the approximation used above the exact size limit."""
    rng = np.random.default_rng(5)
    t, width = 300, 120
    centre = rng.uniform(20, 100, t)
    spread = rng.uniform(3, 12, t)
    grid = np.arange(width)
    pmf = np.exp(-0.5 * ((grid[None, :] - centre[:, None]) / spread[:, None]) ** 2)
    pmf /= pmf.sum(axis=1, keepdims=True)
    segment = 1 + (grid[None, :] > np.array([[45], [60], [75]])[:, 0][:, None, None]).sum(axis=0)
    segment = np.repeat(segment, t, axis=0)
    keys = segment * width + grid[None, :]
    exact_low, exact_high, m1 = exact_bootstrap.rank_percentiles(pmf, keys, LEVELS, exact_max=t)
    approx_low, approx_high, m2 = exact_bootstrap.rank_percentiles(pmf, keys, LEVELS, exact_max=t - 1)
    assert (m1, m2) == ("exact", "refined_normal")
    differences = np.abs(np.r_[exact_low - approx_low, exact_high - approx_high])
    assert differences.max() <= 1
    assert (differences == 0).mean() >= 0.9


def _enumerated_bounds(scores: list[float]) -> tuple[int, int]:
    """Percentile bounds of the rounded mean over all n**n resamples, in integer arithmetic on the decimals
    the scores stand for (every test score here has at most 9 decimals)."""
    n = len(scores)
    unit = 10**9
    exact = [Fraction(repr(float(s))) * unit for s in scores]
    assert all(e.denominator == 1 for e in exact), scores
    ints = np.array([int(e) for e in exact], dtype=np.int64)
    draws = np.indices((n,) * n).reshape(n, -1)
    sums = ints[draws].sum(axis=0)
    cents = (2 * 100 * sums + n * unit) // (2 * n * unit)  # mean rounded half up at 2 dp
    values, counts = np.unique(cents, return_counts=True)
    cum = np.cumsum(counts)
    total = n**n
    low = values[np.argmax(cum * 1000 >= 25 * total)]
    high = values[np.argmax(cum * 1000 >= 975 * total)]
    return int(low), int(high)


def _near_threshold_sets(seed: int, count: int) -> list[list[float]]:
    """2 dp scores, one or two of them moved a small fraction of a cent off the lattice: resampled sums that
    hold them sit that fraction from a rounding threshold, so the 2 dp bracket leaves bounds open and only
    finer grids settle them."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        n = int(rng.integers(3, 7))
        scores = [float(c) / 100 for c in rng.integers(150, 350, n)]
        for k in range(int(rng.integers(1, 3))):
            offset = float(rng.choice([1.0, -1.0])) * 10.0 ** -float(rng.uniform(2.3, 4.7))
            scores[k] = round(scores[k] + offset, 9)
        out.append(scores)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_bounds_settled_at_every_refinement_step_equal_the_enumeration(seed: int, rs) -> None:
    """Scores built to sit a small fraction of a grid step off rounding thresholds: the brackets settle them
    at every step of the refinement (1, 3, 10, 30, 100 x the 2 dp grid), one side first past the second
    step; every settled bound is the enumeration's, and a finer finest grid settles them all."""
    sets = _near_threshold_sets(seed, 70)
    expected = [_enumerated_bounds(s) for s in sets]
    shipped = exact_bootstrap.mean_distributions(
        [np.array(s) for s in sets], 2, LEVELS, rs.bootstrap.exact_grid_decimals
    )
    assert {100, 300, 1000, 3000} <= set(shipped.grid[shipped.certified].tolist())
    for k, scores in enumerate(sets):
        if shipped.certified[k]:
            assert (shipped.low[k], shipped.high[k]) == expected[k], scores
    fine = exact_bootstrap.mean_distributions([np.array(s) for s in sets], 2, LEVELS, 8)
    assert fine.certified.all()
    assert [(int(a), int(b)) for a, b in zip(fine.low, fine.high, strict=True)] == expected


def test_enumeration_in_integers_agrees_with_the_fraction_enumeration() -> None:
    """The fast enumeration above against the plain one (Fractions, resample by resample)."""
    two_dp = [[round(float(v), 2) for v in s] for s in _item_sets(9, 12)]
    for scores in _near_threshold_sets(9, 12) + two_dp:
        if len(scores) <= 5:
            assert _enumerated_bounds(scores) == _brute_average(scores), scores


def test_spectra_of_a_batch_are_each_raised_to_their_own_number_of_items() -> None:
    """A batch shares a transform length, not a number of items: each row gets its own power, the rows of equal
    powers together or apart."""
    rng = np.random.default_rng(5)
    spectrum = rng.normal(size=(7, 33)) + 1j * rng.normal(size=(7, 33))
    spectrum /= np.abs(spectrum).max()
    for powers in ([1, 2, 2, 5, 5, 5, 21], [13, 1, 13, 4, 21, 4, 1]):
        e = np.array(powers)
        got = exact_bootstrap._power(spectrum.copy(), e)
        expected = np.array([row ** int(k) for row, k in zip(spectrum, e, strict=True)])
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
