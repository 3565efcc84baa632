"""The sample's ICBs: their ICB-level scores and the ICB list (``icb_reference/``).

Every landing zone has England's 42 ICBs at any scale (``organisations.ICB_COUNT``, codes ``QZ1`` ... ``QZZ`` then
``QQ1`` ... ``QQ7``), spread over the seven regions as England's are. The trusts are dealt to them in turn
(``organisations.build_population``): at scale 1 (40 trusts, one of them a care trust outside the ODS list)
three ICBs host no trust the ICB assessment can see; from scale 2 every ICB hosts at least one. An ICB that hosts
none has ICB-level inputs only, and its tests that sum provider data month by month are not assessed, with the
reason.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from npaf_pipeline.sample.organisations import Icb
from npaf_pipeline.sample.randomness import normal

NOTE = "synthetic (npaf sample-data)"
REFERENCE_HEADER = ["icb_code", "icb_name", "region", "region_code", "note"]


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
