"""The exact ("ideal") percentile bootstrap of likely ranges: no replicates, so no Monte Carlo error.

Average range. Resampling an organisation's n item scores with replacement and re-averaging gives a mean
whose sum is the n-fold convolution of the empirical distribution of its items. Held on an integer grid
(1/G of a point) that convolution is computed exactly enough by FFT, and the distribution of the mean
rounded at the rule set's precision follows from the distribution of the sum at the rounding thresholds.
Item scores that are not on the grid are bracketed: once rounded down and once up, every item moves the
sum the same way, so the true probability of "rounded mean <= v" lies between the two grids' values. Every
grid computed for an organisation tightens the same two bounds (the least of its floor grids' distribution
functions above, the greatest of its ceiling grids' below). A bound is taken only when both give the same
percentile, which makes it the ideal bootstrap's bound whatever the scores' further digits; otherwise the
grid is refined, in steps of about three (1, 3, 10, 30, 100 times the 2 dp grid: the bracket narrows in
proportion to the grid, so each step leaves about a third open for three times the transform length, and
the work per step stays level), up to the rule set's ``bootstrap.exact_grid_decimals`` (the last grid then
rounds each score to nearest, and the bound is marked uncertified: only a score within half a grid step of
where it would change the bound can make it differ). The first two steps compute both sides; from the
third, one side first, the one the midpoint of the bounds says settles the open percentile (the floor grid
shows a level not reached, the ceiling grid a level reached), and the other side of the same grid only for
what it leaves open. Scores held at the published precision (most metrics enter averages at 2 dp) sit on
every grid exactly, so only the unrounded scores ever need a finer grid, and the finer grids are computed
for those organisations only. The rank mixture uses the midpoint of the floor and ceiling grid of the
finest step computed on both sides (2 dp, or 1/300 of a point for an organisation the 2 dp bracket left
open): an approximation of the distribution, not a bound.

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
_TWO_SIDED_STEPS = 2
"""Refinement steps computed on both sides of the bracket for every open organisation (then one side first)."""
_Z_FAR = 10.0
"""Standard deviations beyond which the refined normal approximation is taken as 0 or 1 (its error there is
below 1e-19)."""
_NEGLIGIBLE = 1e-13
"""Probability below which an (organisation, rounded mean) pair is left out of the rank mixture."""


@dataclass(frozen=True)
class MeanDistributions:
    """Distribution of each organisation's bootstrap mean, rounded, on a shared axis of rounded units.

    ``pmf[i, c]`` is the probability that organisation i's rounded mean is ``(origin + c) / 10**precision``.
    ``low``/``high`` are the percentile bounds in rounded units (-1 for an organisation without items);
    ``grid`` the grid (points per unit of score) at which each organisation's bounds were settled;
    ``certified`` whether the bracketing grids agreed (False only when refinement stopped at the finest grid).
    """

    origin: int
    pmf: np.ndarray
    low: np.ndarray
    high: np.ndarray
    grid: np.ndarray
    certified: np.ndarray


Cdf = tuple[int, np.ndarray]
"""(origin, cumulative probabilities): P(rounded mean <= origin + c) at index c, in rounded units."""


def mean_distributions(
    scores: list[np.ndarray], precision: int, levels: tuple[float, float], max_decimals: int = 5
) -> MeanDistributions:
    """Exact bootstrap distributions of the rounded mean of each organisation's item ``scores``.

    Grids run from ``precision`` decimals to ``max_decimals`` (the rule set's ``exact_grid_decimals``) in the
    steps of :func:`_refinements`.
    """
    t = len(scores)
    n = np.array([len(s) for s in scores], dtype=np.int64)
    out = _Settled(t, levels)
    s = 10**precision
    steps = _refinements(max(0, max_decimals - precision))
    pending = [i for i in range(t) if n[i] > 0]
    for step, r in enumerate(steps):
        if not pending:
            break
        grid = s * r
        if step < _TWO_SIDED_STEPS:
            # both sides of the bracket for every open organisation: their midpoint is the distribution the
            # rank mixture uses, so it is taken from a grid that does not depend on which side settles a bound
            below, above = _both_sides(scores, pending, n, grid, s)
            for i, fl, ce in zip(pending, below, above, strict=True):
                if i in out.upper:
                    out.tighten(i, fl, "floor")
                    out.tighten(i, ce, "ceil")
                else:
                    out.upper[i], out.lower[i] = fl, ce
                out.pair[i] = (fl, ce)
            pending = out.settle(pending, grid)
            continue
        # each organisation's open percentiles are settled by one side of the bracket: the floor grid if the
        # midpoint of its bounds says the level is not reached there, the ceiling grid otherwise. That side
        # first; the other side of the same grid only for what it leaves open.
        first = {i: out.side(i) for i in pending}
        for attempt in (0, 1):
            for how in ("floor", "ceil"):
                rows = [i for i in pending if (first[i] == how) == (attempt == 0)]
                if rows:
                    got = _rounded_mean_cdfs(*_snap(scores, rows, grid, how), n[rows], grid, s)
                    for i, cdf in zip(rows, got, strict=True):
                        out.tighten(i, cdf, how)
            pending = out.settle(pending, grid)
            if not pending:
                break
    if pending:  # bounds still apart at the finest grid: round every score to its nearest grid point
        grid = s * steps[-1]
        nearest = _rounded_mean_cdfs(*_snap(scores, pending, grid, "nearest"), n[pending], grid, s)
        for k, i in enumerate(pending):
            out.low[i], out.high[i] = _percentiles(*nearest[k], levels)
            out.grid[i] = grid
            out.certified[i] = False
            out.cdfs[i] = nearest[k]
    return out.distributions()


def _both_sides(
    scores: list[np.ndarray], rows: list[int], n: np.ndarray, grid: int, s: int
) -> tuple[list[Cdf], list[Cdf]]:
    """Distribution functions of the floor grid and of the ceiling grid (one transform where they coincide)."""
    floors, ceils = _snap(scores, rows, grid, "floor", "ceil")
    counts = n[rows]
    below = _rounded_mean_cdfs(floors, counts, grid, s)
    # organisations whose scores all sit on this grid have one distribution, not two
    first = _starts(counts)
    apart = np.flatnonzero(np.add.reduceat((floors != ceils).astype(np.int64), first) > 0)
    above = list(below)
    got = _rounded_mean_cdfs(ceils[_gather(counts, first, apart)], counts[apart], grid, s)
    for k, cdf in zip(apart, got, strict=True):
        above[k] = cdf
    return below, above


def _refinements(extra: int) -> list[int]:
    """Grid refinements (the grid is ``10**precision * r`` points a unit): 1, 3, 10, 30, ... up to 10**extra.

    Each step leaves open about a third of what the step before left open (the bracket narrows in proportion
    to the grid), for about three times the transform length, so the work per step stays level.
    """
    out, r = [1], 1
    while r < 10**extra:
        out += [3 * r, 10 * r]
        r *= 10
    return out


class _Settled:
    """Per organisation: the bounds of its rounded mean's distribution function while open, the result once
    settled."""

    def __init__(self, t: int, levels: tuple[float, float]) -> None:
        self.levels = levels
        self.low = np.full(t, -1, dtype=np.int64)
        self.high = np.full(t, -1, dtype=np.int64)
        self.grid = np.full(t, -1, dtype=np.int64)
        self.certified = np.ones(t, dtype=bool)
        self.cdfs: dict[int, Cdf] = {}
        self.upper: dict[int, Cdf] = {}  # from floor grids: the distribution function is at most this
        self.lower: dict[int, Cdf] = {}  # from ceiling grids: at least this
        self.pair: dict[int, tuple[Cdf, Cdf]] = {}  # floor and ceiling grid of the finest grid with both

    def tighten(self, i: int, cdf: Cdf, how: str) -> None:
        if how == "floor":
            self.upper[i] = _combine(self.upper[i], cdf, np.minimum)
        else:
            self.lower[i] = _combine(self.lower[i], cdf, np.maximum)

    def settle(self, pending: list[int], grid: int) -> list[int]:
        """Take the bounds of every organisation whose upper and lower distribution functions give the same
        percentiles (then the ideal bootstrap's, which lies between them); return the others."""
        still = []
        for i in pending:
            up, lo = self.upper[i], self.lower[i]
            p = _percentiles(*up, self.levels)
            if p == _percentiles(*lo, self.levels):
                self.low[i], self.high[i] = p
                self.grid[i] = grid
                # the rank mixture uses the midpoint of the floor and ceiling grids of the finest grid that has
                # both (one distribution when every score is on that grid)
                self.cdfs[i] = _midpoint(*self.pair.pop(i))
                del self.upper[i], self.lower[i]
            else:
                still.append(i)
        return still

    def side(self, i: int) -> str:
        """The grid side likely to settle organisation i's first open percentile."""
        up, lo = _widen_pair(self.upper[i], self.lower[i])
        u, w = up[1], lo[1]
        for q in self.levels:
            at = int(np.argmax(u >= q - _TOL))
            if w[at] < q - _TOL:  # open at ``at``: reached there by the upper bound, not by the lower
                return "ceil" if (u[at] + w[at]) / 2 >= q - _TOL else "floor"
        return "floor"

    def distributions(self) -> MeanDistributions:
        t = self.low.size
        if not self.cdfs:
            return MeanDistributions(0, np.zeros((t, 1)), self.low, self.high, self.grid, self.certified)
        origin = min(o for o, _ in self.cdfs.values())
        width = max(o + c.size for o, c in self.cdfs.values()) - origin
        pmf = np.zeros((t, width))
        for i, (o, c) in self.cdfs.items():
            pmf[i, o - origin : o - origin + c.size] = np.diff(c, prepend=0.0)
        return MeanDistributions(origin, np.clip(pmf, 0.0, None), self.low, self.high, self.grid, self.certified)


def _snap(scores: list[np.ndarray], rows: list[int], grid: int, *hows: str) -> list[np.ndarray]:
    """The scores of organisations ``rows``, one after the other, as integers on a grid of ``grid`` points a unit:
    for each of ``hows``, rounded down (``floor``), up (``ceil``) or to nearest (``nearest``) off the grid. The
    scores are scaled once for all of them."""
    scaled = np.concatenate([scores[i] for i in rows]).astype(np.float64) * float(grid)
    nearest = np.rint(scaled)
    on = np.abs(scaled - nearest) <= _ON_GRID
    rounded = {"floor": np.floor, "ceil": np.ceil}
    return [
        (nearest if how == "nearest" else np.where(on, nearest, rounded[how](scaled))).astype(np.int64) for how in hows
    ]


def _starts(n: np.ndarray) -> np.ndarray:
    """Where each organisation's items start in their concatenation (``n`` items each)."""
    return np.concatenate(([0], np.cumsum(n)[:-1])).astype(np.int64)


def _gather(n: np.ndarray, first: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Positions, in a concatenation of items (``n`` each, from ``first``), of the items of organisations
    ``chosen``, in that order."""
    counts = n[chosen]
    return np.repeat(first[chosen] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))


def _rounded_mean_cdfs(items: np.ndarray, n: np.ndarray, grid: int, s: int) -> list[Cdf]:
    """(origin, cumulative probabilities) of each rounded resampled mean, origin in rounded units; ``items``
    the organisations' scores on the grid, one after the other, ``n`` items each.

    The sum of n draws (integers on a grid of G points a unit) has the n-fold convolution of the empirical
    distribution, computed as the n-th power of its discrete Fourier transform. A mean rounds half up to v
    (in rounded units of 1/s) when ``S < (2v + 1) n G / (2 s)`` (S the sum), so the distribution of v is the
    sum's cumulative distribution read at those thresholds.
    """
    if not n.size:
        return []
    g = grid
    first = _starts(n)  # the batches below gather their organisations' items without a loop over them
    lo = np.minimum.reduceat(items, first)
    span = np.maximum.reduceat(items, first) - lo
    support = n * span + 1
    distinct, which = np.unique(support, return_inverse=True)
    length = np.array([_fft_length(int(m)) for m in distinct], dtype=np.int64)[which]
    relative = items - np.repeat(lo, n)
    out: list[Cdf | None] = [None] * n.size
    # batches share a transform length; each row's spectrum is raised to its own number of items, rows of equal
    # numbers together
    for key in np.unique(length):
        members = np.flatnonzero(length == key)
        members = members[np.argsort(n[members], kind="stable")]
        size = int(key)
        step = max(1, _MAX_FFT_CELLS // size)
        for start in range(0, members.size, step):
            chunk = members[start : start + step]
            counts = n[chunk]
            flat = np.repeat(np.arange(chunk.size) * size, counts) + relative[_gather(n, first, chunk)]
            weight = np.repeat(1.0 / counts, counts)
            base = np.bincount(flat, weights=weight, minlength=chunk.size * size).reshape(chunk.size, -1)
            spectrum = _power(sfft.rfft(base, axis=1, workers=_WORKERS), counts)
            pmf = sfft.irfft(spectrum, n=size, axis=1, workers=_WORKERS)
            for r, (origin, c) in enumerate(_read_thresholds(pmf, counts, lo[chunk], span[chunk], g, s)):
                out[chunk[r]] = (origin, c)
    return out  # type: ignore[return-value]


def _read_thresholds(pmf: np.ndarray, n: np.ndarray, lo: np.ndarray, span: np.ndarray, g: int, s: int) -> list[Cdf]:
    """Distribution function of each row's rounded mean from the distribution of its sum (rows of ``pmf``,
    sums relative to the smallest possible one), for all rows at once.

    The sums between consecutive rounding thresholds are added up block by block (one ``reduceat`` over the
    chunk), so no running sum over the whole support is formed.
    """
    rows, size = pmf.shape
    support = n * span + 1
    total_lo, total_hi = n * lo, n * (lo + span)
    v_lo = (2 * s * total_lo + n * g) // (2 * n * g)
    v_hi = (2 * s * total_hi + n * g) // (2 * n * g)
    count = v_hi - v_lo + 1
    first = np.concatenate(([0], np.cumsum(count)[:-1]))
    row = np.repeat(np.arange(rows), count)
    col = np.arange(int(count.sum())) - first[row]
    v = v_lo[row] + col
    # largest sum (grid units) whose mean rounds to <= v, relative to the smallest possible sum
    limit = -(-((2 * v + 1) * n[row] * g) // (2 * s)) - 1 - total_lo[row]
    ends = np.minimum(np.clip(limit, -1, None), support[row] - 1) + 1  # the last end of a row is its support
    starts = np.where(col == 0, 0, np.concatenate(([0], ends[:-1])))
    # block sums [start, end) of every row, each row closed at its support (the sum after it is dropped). The
    # distribution is read in place: indices at its end (the last row's empty blocks and its close when its support
    # fills the row) are empty blocks, so they sum to nothing and the block before them runs to the end
    flat = pmf.reshape(-1)
    idx = np.insert(row * size + starts, first + count, np.arange(rows) * size + support)
    inside = int(np.searchsorted(idx, flat.size))
    sums = np.concatenate((np.add.reduceat(flat, idx[:inside]), np.zeros(idx.size - inside)))
    keep = np.ones(idx.size, dtype=bool)
    keep[first + count + np.arange(rows)] = False
    blocks = np.where(ends > starts, sums[keep], 0.0)
    table = np.zeros((rows, int(count.max())))
    table[row, col] = blocks
    cum = np.cumsum(table, axis=1)
    cum /= cum[np.arange(rows), count - 1][:, None]
    # transform noise (about 1e-16) must not make the distribution function fall or leave [0, 1]
    cum = np.clip(np.maximum.accumulate(cum, axis=1), 0.0, 1.0)
    return [(int(v_lo[r]), cum[r, : count[r]]) for r in range(rows)]


def _power(spectrum: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Each row of ``spectrum`` raised to its integer power ``e[row]`` >= 1: each run of consecutive rows with equal
    powers is a view raised in place by :func:`_power_of` (rows sorted by power make the runs few)."""
    cuts = np.flatnonzero(np.diff(e)) + 1
    for start, stop in zip(np.r_[0, cuts], np.r_[cuts, e.size], strict=True):
        run = spectrum[start:stop]
        raised = _power_of(run, int(e[start]))
        if raised is not run:
            run[...] = raised
    return spectrum


def _power_of(spectrum: np.ndarray, e: int) -> np.ndarray:
    """``spectrum`` raised to the integer power ``e`` >= 1 by repeated squaring, each squaring or product one pass
    over it. The transform's output is ours to overwrite: squarings are in place until the first factor of the
    result is taken, which keeps that array, and the next squaring then writes a new one (not a copy first)."""
    result: np.ndarray | None = None
    base = spectrum
    while True:
        if e & 1:
            if result is None:
                result = base
            else:
                np.multiply(result, base, out=result)
        e >>= 1
        if not e:
            return result  # type: ignore[return-value]
        base = base * base if base is result else np.multiply(base, base, out=base)


def _fft_length(m: int) -> int:
    """A transform length >= m that the FFT handles fast (a product of small primes)."""
    return int(sfft.next_fast_len(m, real=True))


def _percentiles(origin: int, cdf: np.ndarray, levels: tuple[float, float]) -> tuple[int, int]:
    """Smallest values whose cumulative probability reaches each level (inverted CDF)."""
    lo_q, hi_q = levels
    lo = int(np.argmax(cdf >= lo_q - _TOL))
    hi = int(np.argmax(cdf >= hi_q - _TOL))
    return origin + lo, origin + hi


def _widen_pair(a: Cdf, b: Cdf) -> tuple[Cdf, Cdf]:
    """Both distribution functions on their common axis (0 below a function's origin, 1 above its end)."""
    (origin_a, ca), (origin_b, cb) = a, b
    if origin_a == origin_b and ca.size == cb.size:
        return a, b
    origin = min(origin_a, origin_b)
    end = max(origin_a + ca.size, origin_b + cb.size)

    def widen(o: int, c: np.ndarray) -> np.ndarray:
        full = np.ones(end - origin)
        full[: o - origin] = 0.0
        full[o - origin : o - origin + c.size] = c
        return full

    return (origin, widen(origin_a, ca)), (origin, widen(origin_b, cb))


def _combine(a: Cdf, b: Cdf, op: np.ufunc) -> Cdf:
    (origin, ca), (_, cb) = _widen_pair(a, b)
    return origin, op(ca, cb)


def _midpoint(a: Cdf, b: Cdf) -> Cdf:
    if a[0] == b[0] and a[1].size == b[1].size and np.array_equal(a[1], b[1]):
        return a
    (origin, ca), (_, cb) = _widen_pair(a, b)
    return origin, (ca + cb) / 2


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


class _Rna:
    """The refined normal approximation (Volkova 1996) of P(count <= x) for Poisson-binomial counts, its
    per-term constants computed once for repeated evaluation."""

    def __init__(self, mu: np.ndarray, var: np.ndarray, skew: np.ndarray) -> None:
        sd = np.sqrt(var)
        spread = sd > 1e-9
        safe = np.where(spread, sd, 1.0)
        self.mu = mu
        self.inv = 1.0 / safe
        self.coef = skew / (6 * safe**3) / np.sqrt(2 * np.pi)
        # a term is 1 at or above z = ``far`` and 0 at or below ``near`` (below it, for a count without
        # spread, where near = far: a step at its mean): beyond _Z_FAR standard deviations the
        # approximation is 0 or 1 to within 1e-19 (the normal tail and the skewness term both carry
        # exp(-z**2 / 2))
        self.near = np.where(spread, -_Z_FAR, 0.0)
        self.far = np.where(spread, _Z_FAR, 0.0)

    def z(self, x: np.ndarray) -> np.ndarray:
        return (x + 0.5 - self.mu) * self.inv

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """P(count <= x), x one value per term."""
        z = self.z(x)
        out = (z >= self.far).astype(np.float64)
        near = np.flatnonzero((z > self.near) & (z < self.far))  # only these need the special functions
        zn = z[near]
        out[near] = ndtr(zn) + self.coef[near] * (1 - zn * zn) * np.exp(-0.5 * zn * zn)
        return np.clip(out, 0.0, 1.0)

    def keep(self, mask: np.ndarray) -> None:
        """Drop the terms outside ``mask``."""
        self.mu, self.inv, self.coef = self.mu[mask], self.inv[mask], self.coef[mask]
        self.near, self.far = self.near[mask], self.far[mask]


def _bisect_rank(
    rows: np.ndarray, weight: np.ndarray, mu: np.ndarray, var: np.ndarray, skew: np.ndarray, t: int, level: float
) -> np.ndarray:
    """Smallest rank r (1..t) per organisation with P(rank <= r) >= level, all organisations at once.

    A term (one of an organisation's own keys) that is 0 or 1 over the whole of the organisation's open
    interval of ranks is settled: its weight is added to the organisation's sum once if it is 1, and it is not
    evaluated again. As the intervals close only the terms near them are left, so later steps cost a fraction
    of the first.
    """
    rna = _Rna(mu, var, skew)
    lo = np.ones(t, dtype=np.int64)
    hi = np.full(t, t, dtype=np.int64)
    settled = np.zeros(t)  # weight of the terms that are 1 over the organisation's interval
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) // 2
        # rank <= m  <=>  count of better others <= m - 1
        mix = settled + np.bincount(rows, weights=weight * rna.cdf(mid[rows] - 1), minlength=t)
        reach = mix >= level - _TOL
        hi = np.where(active & reach, mid, hi)
        lo = np.where(active & ~reach, mid + 1, lo)
        one = rna.z(lo[rows] - 1) >= rna.far
        z_hi = rna.z(hi[rows] - 1)
        zero = (z_hi <= rna.near) & (z_hi < rna.far)
        settled += np.bincount(rows[one], weights=weight[one], minlength=t)
        keep = ~one & ~zero & (lo < hi)[rows]
        rows, weight = rows[keep], weight[keep]
        rna.keep(keep)
