"""Rule sets: the shipped nof-2025-26, errors that name file/metric/field, and other framework shapes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from npaf_pipeline.engine import run
from npaf_pipeline.engine.segment import SegmentationRefused
from npaf_pipeline.ruleset import RuleSetError, available, load_ruleset
from npaf_pipeline.ruleset.load import parse_ruleset
from npaf_pipeline.ruleset.model import GateFail, Lookup

FIXTURES = Path(__file__).parent / "fixtures" / "rulesets"
Q = "2025-26 Q1"


def _raw(name: str = "nof-2025-26") -> dict:
    path = Path(__file__).resolve().parent.parent / "npaf_pipeline" / "frameworks" / f"{name}.yaml"
    return yaml.safe_load(path.read_text())


def test_shipped_rule_set_covers_every_scored_metric_of_the_spec(rs) -> None:
    assert "nof-2025-26" in available()
    ids = {m.id for m in rs.metrics}
    acute = {
        "OF0023", "OF0106", "OF0003", "OF0005", "OF0010", "OF0011", "OF0013", "OF0014", "OF0041", "OF0017",
        "OF0061", "OF0020", "OF0048", "OF0088", "OF0067", "OF0016", "OF0025", "OF0046", "OF0069", "OF0057",
        "OF0035", "OF0063", "OF0028", "OF0082", "OF0084", "OF0079", "OF0081", "OF0080", "OF0085",
    }  # fmt: skip
    mhc = {"OF0005", "OF0041", "OF0016", "OF0061", "OF0067", "OF0035", "OF0057", "OF0063", "OF0082", "OF0084",
           "OF0079", "OF0081", "OF0080", "OF0086"}  # fmt: skip
    assert acute | mhc <= ids
    for metric in acute:
        assert "acute" in rs.metric(metric).org_types, metric
    for metric in mhc:
        assert "mhc" in rs.metric(metric).org_types, metric
    assert {m.id for m in rs.metrics if m.item == "HCAI"} == {"OF0020", "OF0048", "OF0088"}
    finance = rs.metric("OF0080").method
    assert isinstance(finance, Lookup) and finance.inputs == ("OF0079", "OF0081")
    assert {m.id for m in rs.metrics if m.role == "input"} == {"OF0079", "OF0081"}
    assert rs.metric("OF0082").scoring_population == "all_reporting"
    assert rs.metric("OF0084").scoring_population == "same_type"
    gate = rs.metric("OF0013").method
    assert isinstance(gate, GateFail) and (gate.standard.op, gate.standard.value) == (">=", 78)
    assert rs.segmentation[0].org_types == ["acute", "mhc", "ambulance"]
    assert rs.org_type_key("Non-acute hospital trust") == "mhc"


def test_unknown_rule_set_name_lists_the_shipped_ones() -> None:
    with pytest.raises(RuleSetError, match=r"unknown rule set 'nof-1999'.*nof-2025-26"):
        load_ruleset("nof-1999")


def test_bad_field_is_named_with_file_and_metric(tmp_path: Path) -> None:
    raw = _raw()
    for metric in raw["metrics"]:
        if metric["id"] == "OF0013":
            metric["method"]["standard"]["op"] = "=>"
            metric["direction"] = "sideways"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(RuleSetError) as err:
        load_ruleset(path)
    text = str(err.value)
    assert str(path) in text
    assert "metrics[OF0013].direction" in text
    assert "metrics[OF0013].method.gate_fail.standard.op" in text


def test_cross_references_are_checked_on_load() -> None:
    raw = _raw()
    raw["metrics"][0]["domain"] = "nowhere"
    raw["metrics"][1]["org_types"] = ["hospice"]
    raw["override"]["proxy"]["any"][0]["metric"] = "OF0999"
    with pytest.raises(RuleSetError) as err:
        parse_ruleset(raw, source="x.yaml")
    text = str(err.value)
    assert "metrics[OF0023].domain: unknown domain 'nowhere'" in text
    assert "metrics[OF0106].org_types: unknown organisation type 'hospice'" in text
    assert "override.proxy: unknown metric 'OF0999'" in text


def test_ranked_metric_without_direction_is_rejected() -> None:
    raw = _raw()
    del raw["metrics"][0]["direction"]
    with pytest.raises(RuleSetError, match=r"metrics\[OF0023\]: Value error, a ranked method"):
        parse_ruleset(raw)


def test_duplicate_metric_and_lookup_on_a_scored_input_are_rejected() -> None:
    raw = _raw()
    raw["metrics"].append(dict(raw["metrics"][0]))
    for metric in raw["metrics"]:
        if metric["id"] == "OF0081":
            metric["role"] = "scored"
    with pytest.raises(RuleSetError) as err:
        parse_ruleset(raw)
    assert "duplicate ids ['OF0023']" in str(err.value)
    assert "OF0081 must have role 'input'" in str(err.value)


def test_not_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed")
    with pytest.raises(RuleSetError, match="not valid YAML"):
        load_ruleset(bad)
    bad.write_text("- a list")
    with pytest.raises(RuleSetError, match="must be a mapping"):
        load_ruleset(bad)


# --- other framework shapes, same engine ---------------------------------------------------------------------


def _frame(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"org_code": pl.String, "metric_id": pl.String, "value": pl.Float64}, orient="row")


def test_draft_npaf_shape_short_and_medium_term_scores_system_tests_and_override() -> None:
    rs = load_ruleset(FIXTURES / "npaf-draft-mini.yaml")
    icbs = [f"Q{i:02d}" for i in range(1, 9)]
    rows = []
    for i, code in enumerate(icbs):
        rows += [(code, "OF0023", 50.0 + i), (code, "OF0013", 70.0 + 2 * i), (code, "OF0201", 40.0 + i)]
        rows += [(code, "OF0202", 60.0 + i), (code, "OF0079", 0.0 if i != 7 else -3.0), (code, "OF0081", 0.0)]
    values = _frame(rows).with_columns(pl.lit(Q).alias("quarter"))
    orgs = pl.DataFrame({"org_code": icbs, "org_type": ["icb"] * len(icbs)})
    tests = pl.DataFrame(
        {
            "quarter": [Q] * 3,
            "org_code": ["Q08", "Q08", "Q01"],
            "test_id": ["uec_tier1", "deficit", "uec_tier1"],
            "failed": [True, True, True],
        }
    )
    result = run(values, orgs, rs, system_tests=tests, with_ranges=False)
    groups = result.group_scores.filter(pl.col("org_code") == "Q01")
    assert set(groups["group_id"]) == {"short_term", "medium_term"}
    seg = {r["org_code"]: r for r in result.segmentation.iter_rows(named=True)}
    # overall = mean of the two group scores, each the mean of its domains (weights 1:1)
    dom = {
        r["domain"]: r["score_raw"]
        for r in result.domain_scores.filter(pl.col("org_code") == "Q01").iter_rows(named=True)
    }
    short, medium = (dom["operating"] + dom["finance"]) / 2, (dom["outcomes"] + dom["quality"]) / 2
    assert seg["Q01"]["average_score_raw"] == pytest.approx((short + medium) / 2)
    # Q01 failed one test (threshold 2): unchanged; Q08 failed two: worsened by one segment
    assert seg["Q01"]["system_tests_failed"] == 1
    assert seg["Q01"]["system_adjusted_segment"] == seg["Q01"]["unadjusted_segment"]
    assert seg["Q08"]["system_tests_failed"] == 2
    assert seg["Q08"]["system_adjusted_segment"] == min(4, seg["Q08"]["unadjusted_segment"] + 1)
    # override by proxy: Q08 plans a deficit; the break-even ICBs on plan are exempt
    assert seg["Q08"]["override_flag"] is True and seg["Q08"]["override_source"] == "proxy"
    assert seg["Q08"]["adjusted_segment"] >= 3
    assert all(seg[c]["override_exempt"] for c in icbs[:7])


def test_2026_27_shape_fixed_thresholds_for_icbs_and_trusts() -> None:
    rs = load_ruleset(FIXTURES / "nof-2026-27-mini.yaml")
    codes = ["QA1", "QA2", "QA3", "QA4", "RA1", "RA2"]
    values = _frame([(c, "OF0023", v) for c, v in zip(codes, [90, 80, 70, 60, 50, 40], strict=True)])
    values = values.with_columns(pl.lit(Q).alias("quarter"))
    orgs = pl.DataFrame({"org_code": codes, "org_type": ["icb"] * 4 + ["acute"] * 2})
    seg = run(values, orgs, rs, with_ranges=False).segmentation.sort("org_code")
    # ICB scores 1, 2, 3, 4 against thresholds 1.75 / 2.5 / 3.25; acute trusts 1 and 4
    assert seg["unadjusted_segment"].to_list() == [1, 2, 3, 4, 1, 4]
    assert seg["cut_1"].to_list() == [1.75] * 6


def test_fixed_thresholds_without_values_refuse_to_segment() -> None:
    raw = yaml.safe_load((FIXTURES / "nof-2026-27-mini.yaml").read_text())
    for pop in raw["segmentation"]:
        pop["thresholds"] = None
    rs = parse_ruleset(raw)
    values = _frame([("QA1", "OF0023", 50.0)]).with_columns(pl.lit(Q).alias("quarter"))
    orgs = pl.DataFrame({"org_code": ["QA1"], "org_type": ["icb"]})
    with pytest.raises(SegmentationRefused, match="'icbs' uses fixed thresholds but none are set"):
        run(values, orgs, rs)
