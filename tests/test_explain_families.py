"""A group's scorer gives, to the bit, what scoring one organisation against the others gives, for every family."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from npaf_pipeline.explain.families import Family, GroupScorer
from npaf_pipeline.ruleset import available, load_ruleset


def _families() -> list[tuple[str, Family]]:
    out = []
    for name in available():
        rs = load_ruleset(name)
        for metric in rs.metrics:
            for variant in ["", *metric.unit_methods]:
                family = Family.of(metric, variant)
                if family is not None:
                    out.append((f"{name}:{metric.id}:{variant}", family))
    return out


FAMILIES = _families()


def _values(family: Family, rng: np.random.Generator, n: int) -> np.ndarray:
    """Values around where the family's scores change: its standard or band edges, with ties."""
    m = family.method
    anchors = [getattr(getattr(m, "standard", None), "value", None)]
    anchors += [b.value for b in getattr(m, "bands", []) if b.value is not None]
    centre = float(np.mean([a for a in anchors if a is not None] or [50.0]))
    allowed = getattr(m, "allowed", None)
    if allowed is not None or type(m).__name__ == "ProvidedScore":
        return rng.choice(np.asarray(allowed or [1.0, 2.0, 3.0, 4.0], dtype=np.float64), n)
    return np.round(centre + rng.normal(0, max(abs(centre), 1.0) * 0.3, n), 1)  # rounding makes ties


def test_the_rule_sets_have_every_family() -> None:
    kinds = {type(f.method).__name__ for _, f in FAMILIES}
    assert kinds == {"Continuous", "GateFail", "GateMeet", "Bands", "ProvidedScore"}


@pytest.mark.parametrize(("label", "family"), FAMILIES, ids=[label for label, _ in FAMILIES])
def test_group_scores_equal_scores_against_the_others(label: str, family: Family) -> None:
    rng = np.random.default_rng(zlib.crc32(label.encode()))
    for n in (1, 2, 7, 40):
        values = _values(family, rng, n)
        scorer = GroupScorer(family, values)
        sizes = scorer.group_sizes()
        for i in range(n):
            others = np.delete(values, i)
            # its own value and points at least as good: a tie with it, a tie with others, strictly better
            better = values[(values * family.sign) <= values[i] * family.sign]
            step = np.linspace(0, 3 * max(abs(values[i]), 1.0), 5) * -family.sign
            points = np.concatenate([[values[i]], better, values[i] + step])
            expected = family.scores(points, others)
            got = scorer.scores(points, int(sizes[i]))
            assert np.array_equal(got, expected, equal_nan=True), (label, n, i)
            assert np.array_equal(scorer.scores(values, int(sizes[i]))[i : i + 1], expected[:1], equal_nan=True)
