"""Screening merged values: unknown organisations set aside, rule-set ranges enforced, signed percents kept."""

from __future__ import annotations

import polars as pl

from npaf_pipeline.screening import OUT_OF_RANGE, OUT_OF_SCOPE, screen_values

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
