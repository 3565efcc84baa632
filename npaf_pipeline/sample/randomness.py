"""Keyed random streams: every draw is addressed by (seed, what, who, when), never by call order.

So adding a metric, an organisation or a quarter leaves every other number as it was, and the same arguments
always give the same files.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Sequence

import numpy as np

from npaf_pipeline.sample.calibration import PROBABILITIES


def stream(seed: int, *key: object) -> np.random.Generator:
    """A generator for one purpose; the key is hashed with CRC-32 (stable across runs, unlike ``hash``)."""
    return np.random.default_rng([seed & 0xFFFFFFFF, *(zlib.crc32(str(k).encode("utf-8")) for k in key)])


def uniforms(seed: int, *key: object) -> tuple[float, float]:
    """Two independent uniforms in (0, 1) for ``key``, from a BLAKE2 hash (cheap enough for one per value)."""
    digest = hashlib.blake2b("\x1f".join(map(str, (seed, *key))).encode("utf-8"), digest_size=16).digest()
    a, b = int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:], "big")
    return (a + 0.5) / 2.0**64, (b + 0.5) / 2.0**64


def normal(seed: int, *key: object) -> float:
    """One standard-normal draw for ``key`` (Box-Muller)."""
    u1, u2 = uniforms(seed, *key)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def phi(x: float) -> float:
    """Standard-normal cumulative distribution function."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def from_quantiles(p: float, quantiles: Sequence[float]) -> float:
    """The value at probability ``p`` of a distribution given by its quantiles at ``PROBABILITIES``."""
    return float(np.interp(min(max(p, 0.0), 1.0), PROBABILITIES, quantiles))


def from_counts(p: float, counts: dict[int, int], allowed: Sequence[int]) -> int:
    """A category at probability ``p`` (categories in ascending order), counts smoothed by one per category."""
    weights = [counts.get(c, 0) + 1 for c in allowed]
    total, cumulative = sum(weights), 0
    for category, weight in zip(allowed, weights, strict=True):
        cumulative += weight
        if p <= cumulative / total:
            return category
    return allowed[-1]
