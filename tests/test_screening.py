"""Screening merged values: unknown organisations set aside, rule-set ranges enforced, signed percents kept."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
import yaml

from npaf_pipeline.ruleset import RuleSetError, available, load_ruleset
from npaf_pipeline.screening import OUT_OF_RANGE, OUT_OF_SCOPE, screen_values

RULESET = Path(__file__).parents[1] / "npaf_pipeline" / "frameworks" / "nof-2025-26.yaml"

SHA = "0" * 64


def _values(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            ("2025-26 Q1", org, metric, value, "canonical", "v.csv", SHA, i + 2)
            for i, (org, metric, value) in enumerate(rows)
        ],
        schema={
            "quarter": pl.String,
            "org_code": pl.String,
            "metric_id": pl.String,
            "value": pl.Float64,
            "source": pl.String,
            "source_file": pl.String,
            "source_sha256": pl.String,
            "source_row": pl.Int64,
        },
        orient="row",
    )


ORGS = pl.DataFrame({"quarter": ["2025-26 Q1"] * 2, "org_code": ["RAA", "RBB"], "org_type": ["acute", "mhc"]})


def test_values_outside_the_metric_range_are_quarantined_and_signed_percentages_kept(rs) -> None:
    values = _values(
        [
            ("RAA", "OF0013", 101.5),  # a share over 100 %
            ("RAA", "OF0079", -19.58),  # a planned deficit: a signed percentage, valid
            ("RBB", "OF0086", 138.61),  # a cost index over 100: valid
            ("RAA", "OF0020", -1.0),  # a negative count
            ("RBB", "OF0061", 10.5),  # out of 10
            ("RAA", "OF0014", 12.0),
        ]
    )
    accepted, set_aside = screen_values(values, ORGS, rs)
    assert sorted(accepted.select("metric_id", "value").rows()) == [
        ("OF0014", 12.0),
        ("OF0079", -19.58),
        ("OF0086", 138.61),
    ]
    assert set(set_aside["check"]) == {OUT_OF_RANGE}
    assert sorted(set_aside.select("metric_id", "source_row").rows()) == [("OF0013", 2), ("OF0020", 5), ("OF0061", 6)]
    reason = set_aside.filter(pl.col("metric_id") == "OF0013")["reason"].item()
    assert reason == "OF0013 value outside the valid range [0.0, 100.0]"
    assert accepted.height + set_aside.height == values.height


def test_organisations_outside_the_reference_are_set_aside_with_the_reason(rs) -> None:
    values = _values([("RAA", "OF0013", 80.0), ("NLX01", "OF0013", 90.0), ("8J094", "OF0013", 99.0)])
    accepted, set_aside = screen_values(values, ORGS, rs)
    assert accepted["org_code"].to_list() == ["RAA"]
    assert set(set_aside["check"]) == {OUT_OF_SCOPE}
    assert sorted(set_aside["value"].to_list()) == ["8J094", "NLX01"]
    assert set_aside["column"].unique().to_list() == ["org_code"]


# --- issue 11.3: non-finite and absurd values, plausible ranges in every shipped rule set --------------------

SHIPPED = available()


@pytest.mark.parametrize(
    ("metric", "value"),
    [
        ("OF0017", 1.1e301),  # a Category 2 mean in minutes
        ("OF0020", 1e308),  # an MRSA count
        ("OF0048", math.inf),  # an HCAI rate read from '1e999'
        ("OF0088", -math.inf),
        ("OF0013", math.nan),
        ("OF0025", 1e6),  # days from discharge-ready: finite, but not a plausible number of days
        ("OF0086", 5000.0),  # a cost index
        ("OF0067", 7.0),  # a CQC score is 1-4
    ],
)
def test_non_finite_and_absurd_values_are_quarantined(rs, metric: str, value: float) -> None:
    accepted, set_aside = screen_values(_values([("RAA", metric, value), ("RAA", "OF0014", 12.0)]), ORGS, rs)
    assert accepted["metric_id"].to_list() == ["OF0014"]
    assert set_aside.select("check", "metric_id", "source_row").rows() == [(OUT_OF_RANGE, metric, 2)]


def test_a_non_finite_numerator_is_quarantined_even_with_a_plausible_value(rs) -> None:
    values = _values([("RAA", "OF0013", 80.0), ("RBB", "OF0013", 75.0)]).with_columns(
        pl.Series("numerator", [math.inf, 75.0]), pl.Series("denominator", [100.0, 100.0])
    )
    acute = ORGS.with_columns(pl.lit("acute").alias("org_type"))  # OF0013 is scored for acute trusts only
    accepted, set_aside = screen_values(values, acute, rs)
    assert accepted["org_code"].to_list() == ["RBB"]
    assert set_aside["reason"].to_list() == ["OF0013 value, numerator or denominator is not a finite number"]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_scored_metric_of_every_shipped_rule_set_has_a_finite_plausible_range(name: str) -> None:
    for metric in load_ruleset(name).metrics:
        assert metric.valid_range is not None, f"{name} {metric.id} has no valid_range"
        low, high = metric.valid_range
        assert low is not None and high is not None and math.isfinite(low) and math.isfinite(high), (name, metric.id)
        if metric.unit == "percent" and metric.id not in SIGNED_OR_INDEX:
            assert (low, high) == (0, 100), (name, metric.id)


SIGNED_OR_INDEX = {"OF0079", "OF0081", "OF0085", "OF0086", "OF0201", "OF0207"}
"""Percent-unit metrics that are a signed change or difference, or a cost index around 100."""


@pytest.mark.parametrize(
    ("bound", "role", "message"),
    [
        ([0, math.inf], "scored", "high bound inf is not a finite number"),
        ([-math.inf, 10], "input", "low bound -inf is not a finite number"),
        ([0, math.nan], "scored", "high bound nan is not a finite number"),
        ([0, None], "scored", "needs a finite high bound for a scored metric"),
        ([None, 5], "scored", "needs a finite low bound for a scored metric"),
        ([10, 0], "scored", "low bound 10.0 is above the high bound 0.0"),
    ],
)
def test_the_rule_set_model_refuses_an_open_or_infinite_range(tmp_path, bound, role, message) -> None:
    raw = yaml.safe_load(RULESET.read_text(encoding="utf-8"))
    metric = next(m for m in raw["metrics"] if m["id"] == "OF0017")
    metric["valid_range"], metric["role"] = bound, role
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(RuleSetError) as err:
        load_ruleset(path)
    text = str(err.value)
    assert str(path) in text and "OF0017" in text and "valid_range" in text and message in text


def test_an_open_side_is_allowed_for_an_input_metric(tmp_path) -> None:
    raw = yaml.safe_load(RULESET.read_text(encoding="utf-8"))
    next(m for m in raw["metrics"] if m["id"] == "OF0079")["valid_range"] = [None, 100]
    path = tmp_path / "open.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert next(m for m in load_ruleset(path).metrics if m.id == "OF0079").valid_range == (None, 100)
