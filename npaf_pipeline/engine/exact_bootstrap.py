"""The exact ("ideal") percentile bootstrap of likely ranges: no replicates, so no Monte Carlo error.

Average range. Resampling an organisation's n item scores with replacement and re-averaging gives a mean
whose sum is the n-fold convolution of the empirical distribution of its items. Held on an integer grid
(1/G of a point) that convolution is computed exactly enough by FFT, and the distribution of the mean
rounded at the rule set's precision follows from the distribution of the sum at the rounding thresholds.
Item scores that are not on the grid are bracketed: once rounded down and once up, every item moves the
sum the same way, so the true probability of "rounded mean <= v" lies between the two grids' values. A
bound is taken only when both grids give the same percentile, which makes it the ideal bootstrap's bound
whatever the scores' further digits; otherwise the grid is refined tenfold, up to the rule set's
``bootstrap.exact_grid_decimals`` (the last grid then rounds each score to nearest, and the bound is marked
uncertified: only a score within half a grid step of where it would change the bound can make it differ).
Scores held at the published precision (most metrics enter averages at 2 dp) sit on every grid exactly, so
only the unrounded scores ever need a finer grid, and the finer grids are computed for those organisations
only.

Rank range. Replicates resample organisations independently, so an organisation's key (segment, rounded
average) is a function of its own rounded mean only, and its rank is 1 + the number of others whose key is
strictly smaller: given its own key k, a sum of independent Bernoulli(P(K_j < k)) variables, i.e. a
Poisson-binomial count. The rank distribution is the mixture of those counts over its own key distribution.
For populations up to ``exact_rank_max_population`` the count is exact (the whole population's
Poisson-binomial by dynamic programming, then the organisation's own Bernoulli divided out, forwards when
its probability is <= 1/2 and backwards otherwise, which keeps the division stable); larger populations
use the refined normal approximation (normal with a skewness term, continuity-corrected), whose cost is
linear in organisations.

Percentiles are the inverse of the distribution function (Hyndman-Fan type 1, ``inverted_cdf``): the
smallest value whose cumulative probability reaches the level, for averages and ranks alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy.special import ndtr

_ON_GRID = 1e-6
"""A score within this fraction of a grid step of a grid point is on it (binary floating point noise)."""
_TOL = 1e-9
"""Cumulative probabilities within this of a percentile level count as reaching it (floating point noise)."""
_MAX_FFT_CELLS = 8_000_000
"""FFT work held in memory at once (organisations x transform length)."""
_WORKERS = 1
"""FFT threads: one, so a run's cost does not depend on what else the machine is doing."""
_NEGLIGIBLE = 1e-13
"""Probability below which an (organisation, rounded mean) pair is left out of the rank mixture."""


@dataclass(frozen=True)
class MeanDistributions:
    """Distribution of each organisation's bootstrap mean, rounded, on a shared axis of rounded units.

    ``pmf[i, c]`` is the probability that organisation i's rounded mean is ``(origin + c) / 10**precision``.
    ``low``/``high`` are the percentile bounds in rounded units (-1 for an organisation without items);
    ``decimals`` the grid at which each organisation's bounds were taken; ``certified`` whether the two
    bracketing grids agreed there (False only when refinement stopped at the finest grid).
    """

    origin: int
    pmf: np.ndarray
    low: np.ndarray
    high: np.ndarray
    decimals: np.ndarray
    certified: np.ndarray


def mean_distributions(
    scores: list[np.ndarray], precision: int, levels: tuple[float, float], max_decimals: int = 5
) -> MeanDistributions:
    """Exact bootstrap distributions of the rounded mean of each organisation's item ``scores``.

    Grids run from ``precision`` decimals to ``max_decimals`` (the rule set's ``exact_grid_decimals``).
    """
    t = len(scores)
    n = np.array([len(s) for s in scores], dtype=np.int64)
    low = np.full(t, -1, dtype=np.int64)
    high = np.full(t, -1, dtype=np.int64)
    decimals = np.full(t, -1, dtype=np.int64)
    certified = np.ones(t, dtype=bool)
    cdfs: dict[int, tuple[int, np.ndarray]] = {}
    pending = [i for i in range(t) if n[i] > 0]
    d = precision
    for extra in range(max(0, max_decimals - precision) + 1):
        if not pending:
            break
        d = precision + extra
        floors, ceils = _snap(scores, pending, d, "floor"), _snap(scores, pending, d, "ceil")
        below = _rounded_mean_cdfs(floors, n[pending], d, precision)
        # organisations whose scores all sit on this grid have one distribution, not two
        apart = [k for k in range(len(pending)) if not np.array_equal(floors[k], ceils[k])]
        above = list(below)
        for k, cdf in zip(
            apart, _rounded_mean_cdfs([ceils[k] for k in apart], n[pending][apart], d, precision), strict=True
        ):
            above[k] = cdf
        still = []
        for k, i in enumerate(pending):
            (origin_a, a), (origin_b, b) = below[k], above[k]
            pa, pb = _percentiles(origin_a, a, levels), _percentiles(origin_b, b, levels)
            if pa == pb:
                low[i], high[i] = pa
                decimals[i] = d
                # the rank mixture uses the midpoint of the brackets (identical when every score is on the grid)
                cdfs[i] = _midpoint(origin_a, a, origin_b, b)
            else:
                still.append(i)
        pending = still
    if pending:  # brackets still apart at the finest grid: round every score to its nearest grid point
        nearest = _rounded_mean_cdfs(_snap(scores, pending, d, "nearest"), n[pending], d, precision)
        for k, i in enumerate(pending):
            low[i], high[i] = _percentiles(*nearest[k], levels)
            decimals[i] = d
            certified[i] = False
            cdfs[i] = nearest[k]
    if not cdfs:
        return MeanDistributions(0, np.zeros((t, 1)), low, high, decimals, certified)
    origin = min(o for o, _ in cdfs.values())
    width = max(o + c.size for o, c in cdfs.values()) - origin
    pmf = np.zeros((t, width))
    for i, (o, c) in cdfs.items():
        pmf[i, o - origin : o - origin + c.size] = np.diff(c, prepend=0.0)
    return MeanDistributions(origin, np.clip(pmf, 0.0, None), low, high, decimals, certified)


def _snap(scores: list[np.ndarray], rows: list[int], decimals: int, how: str) -> list[np.ndarray]:
    """Scores as integers on the 10**-decimals grid: rounded down, up or to nearest off the grid."""
    g = 10.0**decimals
    out = []
    for i in rows:
        scaled = np.asarray(scores[i], dtype=np.float64) * g
        nearest = np.rint(scaled)
        on = np.abs(scaled - nearest) <= _ON_GRID
        if how == "floor":
            ints = np.where(on, nearest, np.floor(scaled))
        elif how == "ceil":
            ints = np.where(on, nearest, np.ceil(scaled))
        else:
            ints = nearest
        out.append(ints.astype(np.int64))
    return out


def _rounded_mean_cdfs(
    ints: list[np.ndarray], n: np.ndarray, decimals: int, precision: int
) -> list[tuple[int, np.ndarray]]:
    """(origin, cumulative probabilities) of each rounded resampled mean, origin in rounded units.

    The sum of n draws (integers on the grid) has the n-fold convolution of the empirical distribution,
    computed as the n-th power of its discrete Fourier transform. A mean rounds half up to v (in rounded
    units) when ``S < (2v + 1) n G / (2 s)`` (S the sum, G the grid, s the rounded scale), so the
    distribution of v is the sum's cumulative distribution read at those thresholds.
    """
    g = 10**decimals
    s = 10**precision
    lo = np.array([int(a.min()) for a in ints], dtype=np.int64)
    span = np.array([int(a.max()) for a in ints], dtype=np.int64) - lo
    support = n * span + 1
    length = np.array([_fft_length(int(m)) for m in support], dtype=np.int64)
    out: list[tuple[int, np.ndarray] | None] = [None] * len(ints)
    for size in np.unique(length):
        members = np.flatnonzero(length == size)
        step = max(1, _MAX_FFT_CELLS // int(size))
        for start in range(0, members.size, step):
            chunk = members[start : start + step]
            flat = np.concatenate([r * int(size) + ints[k] - lo[k] for r, k in enumerate(chunk)])
            weight = np.concatenate([np.full(ints[k].size, 1.0 / n[k]) for k in chunk])
            base = np.bincount(flat, weights=weight, minlength=chunk.size * int(size)).reshape(chunk.size, -1)
            spectrum = _power(sfft.rfft(base, axis=1, workers=_WORKERS), n[chunk])
            cum = np.cumsum(sfft.irfft(spectrum, n=int(size), axis=1, workers=_WORKERS), axis=1)
            for r, k in enumerate(chunk):
                nk, lok = int(n[k]), int(lo[k])
                total_lo, total_hi = nk * lok, nk * (lok + int(span[k]))
                v_lo = (2 * s * total_lo + nk * g) // (2 * nk * g)
                v_hi = (2 * s * total_hi + nk * g) // (2 * nk * g)
                v = np.arange(v_lo, v_hi + 1, dtype=np.int64)
                # largest sum (grid units) whose mean rounds to <= v, relative to the smallest possible sum
                limit = -(-((2 * v + 1) * nk * g) // (2 * s)) - 1 - total_lo
                limit = np.minimum(limit, int(support[k]) - 1)
                c = np.where(limit >= 0, cum[r, np.clip(limit, 0, None)], 0.0)
                # transform noise (about 1e-16) must not make the distribution function fall or leave [0, 1]
                c = np.clip(np.maximum.accumulate(c / cum[r, int(support[k]) - 1]), 0.0, 1.0)
                out[k] = (int(v_lo), c)
    return out  # type: ignore[return-value]


def _power(spectrum: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Each row raised to its own integer power by repeated squaring (a few complex products, no logarithms)."""
    result = np.ones_like(spectrum)
    base = spectrum.copy()
    exponent = n.astype(np.int64).copy()
    while exponent.any():
        odd = np.flatnonzero(exponent & 1)
        if odd.size == exponent.size:
            result *= base
        elif odd.size:
            result[odd] *= base[odd]
        exponent >>= 1
        if exponent.any():
            base *= base
    return result


def _fft_length(m: int) -> int:
    """A transform length >= m that the FFT handles fast (a product of small primes)."""
    return int(sfft.next_fast_len(m, real=True))


def _percentiles(origin: int, cdf: np.ndarray, levels: tuple[float, float]) -> tuple[int, int]:
    """Smallest values whose cumulative probability reaches each level (inverted CDF)."""
    lo_q, hi_q = levels
    lo = int(np.argmax(cdf >= lo_q - _TOL))
    hi = int(np.argmax(cdf >= hi_q - _TOL))
    return origin + lo, origin + hi


def _midpoint(origin_a: int, a: np.ndarray, origin_b: int, b: np.ndarray) -> tuple[int, np.ndarray]:
    if origin_a == origin_b and a.size == b.size and np.array_equal(a, b):
        return origin_a, a
    origin = min(origin_a, origin_b)
    end = max(origin_a + a.size, origin_b + b.size)

    def widen(o: int, c: np.ndarray) -> np.ndarray:
        full = np.ones(end - origin)
        full[: o - origin] = 0.0
        full[o - origin : o - origin + c.size] = c
        return full

    return origin, (widen(origin_a, a) + widen(origin_b, b)) / 2


# --- ranks ---------------------------------------------------------------------------------------------------


def rank_percentiles(
    pmf: np.ndarray, keys: np.ndarray, levels: tuple[float, float], exact_max: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """Percentile ranks of each row of a population, competition ranks on ``keys`` (smaller is better).

    ``pmf[i, c]``: probability that organisation i's rounded mean is the c-th value of the shared axis;
    ``keys[i, c]``: its league key there, strictly increasing in c for every organisation. Returns
    (low, high, method) with method ``exact`` or ``refined_normal``.
    """
    t = pmf.shape[0]
    if t == 1:
        return np.ones(1, dtype=np.int64), np.ones(1, dtype=np.int64), "exact"
    rows, cols = np.nonzero(pmf > _NEGLIGIBLE)
    weight = pmf[rows, cols]
    # P(K_i < K_i(c)) for i's own key at c: its cumulative probability below c (keys rise with c)
    below = np.cumsum(pmf, axis=1) - pmf
    own_below = np.clip(below[rows, cols], 0.0, 1.0)
    distinct, key_index = np.unique(keys[rows, cols], return_inverse=True)
    exact = t <= exact_max
    p_less = _probability_below(pmf, keys, distinct, exact)
    if exact:
        rank_cdf = _exact_rank_cdf(p_less, rows, key_index, weight, own_below, t)
        low = 1 + np.argmax(rank_cdf >= levels[0] - _TOL, axis=1)
        high = 1 + np.argmax(rank_cdf >= levels[1] - _TOL, axis=1)
        return low.astype(np.int64), high.astype(np.int64), "exact"
    mu, var, skew = p_less
    m = mu[key_index] - own_below
    v = np.clip(var[key_index] - own_below * (1 - own_below), 0.0, None)
    g = skew[key_index] - own_below * (1 - own_below) * (1 - 2 * own_below)
    low = _bisect_rank(rows, weight, m, v, g, t, levels[0])
    high = _bisect_rank(rows, weight, m, v, g, t, levels[1])
    return low, high, "refined_normal"


def _probability_below(
    pmf: np.ndarray, keys: np.ndarray, distinct: np.ndarray, exact: bool, chunk: int = 1024
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(K_j < k) for every organisation j and distinct key k: the matrix for exact counts; for the
    approximation only its sums over j (mean, variance and third cumulant of the count), chunk by chunk."""
    t, width = pmf.shape
    cdf = np.cumsum(pmf, axis=1)
    parts = []
    sums = [np.zeros(distinct.size), np.zeros(distinct.size), np.zeros(distinct.size)]
    for start in range(0, t, chunk):
        k = keys[start : start + chunk]
        c = cdf[start : start + chunk]
        # number of values of each row whose key is < k: keys rise along each row, so a per-row search
        offset = (np.arange(k.shape[0]) * (int(keys.max()) + int(distinct.max()) + 2))[:, None]
        flat = (k + offset).ravel()
        pos = np.searchsorted(flat, (distinct[None, :] + offset).ravel(), side="left").reshape(k.shape[0], -1)
        pos -= (np.arange(k.shape[0]) * width)[:, None]
        p = np.where(pos > 0, np.take_along_axis(c, np.clip(pos - 1, 0, width - 1), axis=1), 0.0)
        p = np.clip(p, 0.0, 1.0)
        if exact:
            parts.append(p)
        else:
            q = p * (1 - p)
            sums[0] += p.sum(axis=0)
            sums[1] += q.sum(axis=0)
            sums[2] += (q * (1 - 2 * p)).sum(axis=0)
    return np.vstack(parts) if exact else tuple(sums)


def _exact_rank_cdf(
    p_less: np.ndarray, rows: np.ndarray, key_index: np.ndarray, weight: np.ndarray, own: np.ndarray, t: int
) -> np.ndarray:
    """Cumulative rank distribution of every organisation: (t, t), column r-1 is P(rank <= r)."""
    d = p_less.shape[1]
    whole = np.zeros((d, t + 1))
    whole[:, 0] = 1.0
    for j in range(t):  # Poisson-binomial of the whole population at every distinct key
        p = p_less[j][:, None]
        whole[:, 1:] = whole[:, 1:] * (1 - p) + whole[:, :-1] * p
        whole[:, 0] *= 1 - p[:, 0]
    rank_pmf = np.zeros((t, t))
    step = max(1, 4_000_000 // (t + 1))
    for start in range(0, rows.size, step):
        sl = slice(start, start + step)
        part = weight[sl, None] * _divide_out(whole[key_index[sl]], own[sl])
        first = np.flatnonzero(np.r_[True, rows[sl][1:] != rows[sl][:-1]])  # rows come sorted (np.nonzero)
        rank_pmf[rows[sl][first]] += np.add.reduceat(part, first, axis=0)
    return np.cumsum(rank_pmf, axis=1)


def _divide_out(total: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Poisson-binomial of the others: ``total`` (pairs, t+1) divided by each pair's own Bernoulli(p).

    Forwards where p <= 1/2 and backwards otherwise, so each step multiplies the error by at most 1.
    """
    pairs, width = total.shape
    out = np.zeros((pairs, width - 1))
    fwd = p <= 0.5
    if fwd.any():
        tf, pf = total[fwd], p[fwd]
        q = np.zeros((tf.shape[0], width - 1))
        prev = np.zeros(tf.shape[0])
        for c in range(width - 1):
            prev = (tf[:, c] - pf * prev) / (1 - pf)
            q[:, c] = prev
        out[fwd] = q
    bwd = ~fwd
    if bwd.any():
        tb, pb = total[bwd], p[bwd]
        q = np.zeros((tb.shape[0], width - 1))
        nxt = np.zeros(tb.shape[0])
        for c in range(width - 1, 0, -1):
            nxt = (tb[:, c] - (1 - pb) * nxt) / pb
            q[:, c - 1] = nxt
        out[bwd] = q
    return np.clip(out, 0.0, 1.0)


def _rna_cdf(x: np.ndarray, mu: np.ndarray, var: np.ndarray, skew: np.ndarray) -> np.ndarray:
    """Refined normal approximation of P(count <= x) for a Poisson-binomial count (Volkova 1996)."""
    sd = np.sqrt(var)
    safe = np.where(sd > 1e-9, sd, 1.0)
    z = (x + 0.5 - mu) / safe
    density = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    approx = ndtr(z) + skew * (1 - z * z) * density / (6 * safe**3)
    point = (x + 0.5 >= mu).astype(np.float64)  # a (nearly) certain count
    return np.clip(np.where(sd > 1e-9, approx, point), 0.0, 1.0)


def _bisect_rank(
    rows: np.ndarray, weight: np.ndarray, mu: np.ndarray, var: np.ndarray, skew: np.ndarray, t: int, level: float
) -> np.ndarray:
    """Smallest rank r (1..t) per organisation with P(rank <= r) >= level, all organisations at once."""
    lo = np.ones(t, dtype=np.int64)
    hi = np.full(t, t, dtype=np.int64)
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) // 2
        at = mid[rows] - 1  # rank <= mid  <=>  count of better others <= mid - 1
        mix = np.bincount(rows, weights=weight * _rna_cdf(at, mu, var, skew), minlength=t)
        reach = mix >= level - _TOL
        hi = np.where(active & reach, mid, hi)
        lo = np.where(active & ~reach, mid + 1, lo)
