"""Every fictional ICB of the sample: the ICBs that host trusts, then as many more as the code scheme allows.

England has 42 ICBs; the sample's ``QZ`` + one character scheme holds 35 (``organisations.ICB_CHARACTERS``), so
the sample has 35 at any scale. The first ones are the ICBs the trusts belong to (8 at scale 1, all 35 from scale
5); the others host no trust in the sample and have ICB-level inputs only. Their names come after every name the
trusts use, and their regions fill the emptiest region first, so the trust files do not change.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from npaf_pipeline.sample.organisations import ICB_CHARACTERS, REGIONS, Icb, Population, _places
from npaf_pipeline.sample.randomness import normal

ICB_COUNT = len(ICB_CHARACTERS)
"""ICBs in the sample: all the code scheme allows (35; England has 42)."""
NOTE = "synthetic (npaf sample-data)"
REFERENCE_HEADER = ["icb_code", "icb_name", "region", "region_code", "note"]


def all_icbs(pop: Population, seed: int) -> tuple[Icb, ...]:
    """The trusts' ICBs first, then ICBs with no trust in the sample, up to ``ICB_COUNT``, sorted by code."""
    hosts = list(pop.icbs)
    extra = ICB_COUNT - len(hosts)
    if extra <= 0:
        return tuple(hosts)
    used = len(hosts) + len(pop.organisations) + len(pop.closed)
    places = _places(seed, used + extra)[used:]
    per_region = {r.code: sum(c.region.code == r.code for c in hosts) for r in REGIONS}
    out = list(hosts)
    for i, place in enumerate(places, start=len(hosts)):
        region = min(REGIONS, key=lambda r: (per_region[r.code], REGIONS.index(r)))
        per_region[region.code] += 1
        name = f"NHS Synthetic {place} Integrated Care Board (synthetic)"
        out.append(Icb(f"QZ{ICB_CHARACTERS[i]}", name, region, tuple(f"Z{i:02d}{letter}" for letter in "ABC")))
    return tuple(sorted(out, key=lambda c: c.code))


WEIGHTS = (0.55, 0.45, 0.5, 0.45)
"""Loadings of overall quality, family standing, own strength and noise (as the trusts' ``model.WEIGHTS``)."""


def icb_score(seed: int, icb: str, family: str, measure: str, period: str) -> float:
    """A standard-normal score, higher is better: overall quality, standing in ``family``, own strength, noise."""
    parts = (
        normal(seed, "icb_overall", icb),
        normal(seed, "icb_family", icb, family),
        normal(seed, "icb_own", icb, measure),
        normal(seed, "icb_noise", icb, measure, period),
    )
    return sum(w * x for w, x in zip(WEIGHTS, parts, strict=True)) / math.sqrt(sum(w * w for w in WEIGHTS))


def write_icb_reference(icbs: tuple[Icb, ...], folder: Path) -> list[tuple[Path, int]]:
    """``icb_reference.csv``: icb_code, icb_name, region, region_code (the ICB list the ICB assessment reads)."""
    path = folder / "icb_reference.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(REFERENCE_HEADER)
        writer.writerows([c.code, c.name, c.region.name, c.region.code, NOTE] for c in icbs)
    return [(path, len(icbs))]
