"""One organisation re-scored on one metric against the REAL values of the others (first order).

The scoring families of the engine, restated for a single changed value against a fixed population: the changed
organisation's rank is 1 + the number of others strictly better (a changed value carries no published tie-break
rank, and the engine then ranks it ahead of equal values), the gate families rank it only among the others on its
side of the standard, bands and provided scores map the value directly. Other organisations' scores are held.
``tests/test_explain_real.py`` checks every answer against the engine's own scorer.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from npaf_pipeline.ruleset.model import Bands, Continuous, GateFail, GateMeet, Metric, ProvidedScore

_OPS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class Family:
    """How one metric variant scores a value, and which way is better (sign: key = sign x value, lower key best)."""

    method: object
    sign: float
    valid: tuple[float | None, float | None]

    @classmethod
    def of(cls, metric: Metric, variant: str) -> Family | None:
        method = metric.method if variant == "" else metric.unit_methods.get(variant)
        if method is None or not isinstance(method, Continuous | GateFail | GateMeet | Bands | ProvidedScore):
            return None
        if metric.direction is not None:
            sign = -1.0 if metric.direction == "higher" else 1.0
        elif isinstance(method, Bands):
            sign = _band_direction(method)
            if sign == 0.0:
                return None
        else:
            sign = 1.0  # a provided score: the value is the score, lower is better
        valid = metric.valid_range or (None, None)
        return cls(method, sign, valid)

    def breakpoints(self, others: np.ndarray) -> np.ndarray:
        """Every value at which the changed organisation's score can change."""
        m = self.method
        extra: list[float] = []
        if isinstance(m, GateFail | GateMeet):
            extra.append(m.standard.value)
        if isinstance(m, Bands):
            extra += [b.value for b in m.bands if b.value is not None]
        if isinstance(m, ProvidedScore):
            extra += list(m.allowed or [1.0, 2.0, 3.0, 4.0])
            return np.asarray(extra, dtype=np.float64)
        return np.concatenate([others, np.asarray(extra, dtype=np.float64)])

    def scores(self, values: np.ndarray, others: np.ndarray) -> np.ndarray:
        """The changed organisation's score at each of ``values``, the others' values held."""
        m = self.method
        key = values * self.sign
        other_keys = others * self.sign
        if isinstance(m, Continuous):
            return _ranked(key, np.sort(other_keys), m.best, m.worst)
        if isinstance(m, GateFail | GateMeet):
            op = _OPS[m.standard.op]
            meets = op(values, m.standard.value)
            others_meet = op(others, m.standard.value)
            if isinstance(m, GateFail):
                ranked = _ranked(key, np.sort(other_keys[~others_meet]), m.fail_best, m.fail_worst)
                return np.where(meets, m.meet_score, ranked)
            ranked = _ranked(key, np.sort(other_keys[others_meet]), m.meet_best, m.meet_worst)
            return np.where(meets, ranked, m.fail_score)
        if isinstance(m, Bands):
            out = np.full(values.shape, np.nan)
            done = np.zeros(values.shape, dtype=bool)
            for band in m.bands:
                hit = ~done & (True if band.op is None else _OPS[band.op](values, band.value))
                out = np.where(hit, float(band.score), out)
                done |= hit
            return out
        return values.astype(np.float64)  # ProvidedScore

    def allowed(self, values: np.ndarray) -> np.ndarray:
        lo, hi = self.valid
        ok = np.isfinite(values)
        if lo is not None:
            ok &= values >= lo
        if hi is not None:
            ok &= values <= hi
        if isinstance(self.method, ProvidedScore) and self.method.allowed is not None:
            ok &= np.isin(values, self.method.allowed)
        return ok


def _ranked(key: np.ndarray, sorted_other_keys: np.ndarray, best: float, worst: float) -> np.ndarray:
    """The engine's rank score: rank = 1 + others strictly better, in a group of the others plus this one."""
    rank = 1 + np.searchsorted(sorted_other_keys, key, side="left")
    return _rank_score(rank, sorted_other_keys.size + 1, best, worst)


def _rank_score(rank: np.ndarray, k: int, best: float, worst: float) -> np.ndarray:
    """Rank ``rank`` in a group of ``k`` as a score from ``best`` (rank 1) to ``worst`` (rank k); ``best`` alone."""
    if k <= 1:
        return np.full(np.shape(rank), best, dtype=np.float64)
    return best + (worst - best) * ((rank - 1) / (k - 1))


class GroupScorer:
    """:meth:`Family.scores` for each organisation of a group against the others, the group's work done once.

    A point is only ever asked for at the organisation's own value or better (a candidate improves on it), so the
    others strictly better than the point are the group's members strictly better than it: the organisation
    itself is not one of them. Only the size of the group it is ranked in (the others on its side of a standard, plus
    itself) depends on the organisation. So a rank is read from the group's sorted keys, and the scores on a
    grid are worked out once per group size rather than once per organisation; each is the same arithmetic as
    :meth:`Family.scores` on the others, to the bit (``tests/test_explain_families.py``).
    """

    def __init__(self, family: Family, values: np.ndarray) -> None:
        self.family, self.values = family, values
        keys = values * family.sign
        m = family.method
        if isinstance(m, GateFail | GateMeet):
            meets = _OPS[m.standard.op](values, m.standard.value)
            self.ranked_side = ~meets if isinstance(m, GateFail) else meets
        else:
            self.ranked_side = np.ones(values.shape, dtype=bool)
        self.sorted_keys = np.sort(keys[self.ranked_side])

    def group_sizes(self) -> np.ndarray:
        """For each organisation, the size of the group its value is ranked in: the others ranked, plus itself."""
        return self.sorted_keys.size - self.ranked_side.astype(np.int64) + 1

    def scores(self, points: np.ndarray, k: int) -> np.ndarray:
        """Scores at ``points`` (each at the organisation's own value or better) in a group of size ``k``
        (:meth:`group_sizes`): what :meth:`Family.scores` gives against the others."""
        m = self.family.method
        if not isinstance(m, Continuous | GateFail | GateMeet):
            return self.family.scores(points, self.values)  # bands and provided scores: the others play no part
        rank = 1 + np.searchsorted(self.sorted_keys, points * self.family.sign, side="left")
        if isinstance(m, Continuous):
            return _rank_score(rank, k, m.best, m.worst)
        meets = _OPS[m.standard.op](points, m.standard.value)
        if isinstance(m, GateFail):
            return np.where(meets, m.meet_score, _rank_score(rank, k, m.fail_best, m.fail_worst))
        return np.where(meets, _rank_score(rank, k, m.meet_best, m.meet_worst), m.fail_score)


def _band_direction(method: Bands) -> float:
    """+1 when scores rise with the value (lower is better), -1 when they fall, 0 when bands are not monotone."""
    edges = sorted({b.value for b in method.bands if b.value is not None})
    if not edges:
        return 0.0
    probe = np.asarray([edges[0] - 1.0, *edges, *(e + 1e-6 for e in edges), edges[-1] + 1.0])
    order = np.argsort(probe)
    scores = Family(method, 1.0, (None, None)).scores(probe[order], np.empty(0))
    diffs = np.diff(scores)
    if np.all(diffs >= 0):
        return 1.0
    if np.all(diffs <= 0):
        return -1.0
    return 0.0


def snap(values: np.ndarray, decimals: int, sign: float) -> np.ndarray:
    """Each value moved to the display grid in the better direction (values already on it stay)."""
    scale = 10.0**decimals
    scaled = values * scale
    near = np.rint(scaled)
    on_grid = np.abs(scaled - near) < 1e-6
    better_up = sign < 0  # higher is better: round up
    moved = np.ceil(scaled) if better_up else np.floor(scaled)
    return np.where(on_grid, near, moved) / scale


def display(value: float, decimals: int) -> float:
    """A value rounded to its display precision (as a float that prints that way)."""
    return round(value, decimals) if math.isfinite(value) else value
