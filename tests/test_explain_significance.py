"""The exact paired bootstrap of a change in average, against random resampling, and the rule-set rule."""

from __future__ import annotations

import numpy as np
import pytest

from npaf_pipeline.explain.significance import bootstrap_p_value, classify
from npaf_pipeline.ruleset.model import ChangeSignificance


@pytest.mark.parametrize("seed, n, shift", [(1, 17, -0.1), (2, 9, 0.25), (3, 5, 0.0), (4, 24, 0.05)])
def test_exact_p_value_matches_random_resampling(seed: int, n: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    previous = np.round(rng.uniform(1, 4, n), 2)
    current = np.clip(previous + np.round(rng.normal(shift, 0.3, n), 2), 1, 4)
    contributions = (current - previous) / n
    exact = bootstrap_p_value(contributions, 0.01)
    draws = contributions[rng.integers(0, n, (200_000, n))].sum(axis=1)
    drawn = min(1.0, 2 * min((draws <= 0).mean(), (draws >= 0).mean()))
    assert exact == pytest.approx(drawn, abs=0.01)


def test_edge_cases() -> None:
    assert bootstrap_p_value(np.zeros(6), 0.01) == 1.0  # nothing changed
    assert bootstrap_p_value(np.full(6, 0.05), 0.01) == 0.0  # every item worse: no resample crosses zero
    one = bootstrap_p_value(np.array([0.1, 0, 0, 0, 0]), 0.01)
    assert one == pytest.approx(2 * (4 / 5) ** 5)  # significant only if the one moved item is always drawn
    assert bootstrap_p_value(np.empty(0), 0.01) is None


def test_the_rule_set_decides() -> None:
    boot = ChangeSignificance()
    assert classify(0.01, -0.3, boot) and not classify(0.2, -0.3, boot) and not classify(None, 0.4, boot)
    fixed = ChangeSignificance(method="absolute_change", min_change=0.1)
    assert classify(None, -0.1, fixed) and not classify(0.0, 0.05, fixed)
    with pytest.raises(ValueError, match="min_change"):
        ChangeSignificance(method="absolute_change")
