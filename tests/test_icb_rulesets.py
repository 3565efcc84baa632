"""The ICB rule sets: the draft NPAF end to end through the engine, and NOF 2026/27 on thresholds not yet set."""

from __future__ import annotations

import polars as pl
import pytest
import yaml

from npaf_pipeline.engine import run
from npaf_pipeline.engine.descriptions import attach_segment_descriptions
from npaf_pipeline.engine.frames import EngineInputError
from npaf_pipeline.engine.segment import SegmentationRefused
from npaf_pipeline.icb import SystemInputs, assess_system
from npaf_pipeline.icb.defaults import defaults_in_use
from npaf_pipeline.icb.leadership import COLUMNS as CAPABILITY_COLUMNS
from npaf_pipeline.icb.leadership import beside_segments
from npaf_pipeline.ruleset import RuleSetError, load_ruleset
from npaf_pipeline.ruleset.load import FRAMEWORKS_DIR, parse_ruleset
from npaf_pipeline.ruleset.model import resolve_setting
from schemas.leadership import CAPABILITY_DOMAINS

Q1 = "2025-26 Q1"
MONTHS = ["2025-04", "2025-05", "2025-06"]
ICBS = [f"QA{i}" for i in range(1, 9)]
ACUTE = [f"RA{i}" for i in range(1, 9)]  # RAi is in QAi
OTHER_TRUSTS = {"RM1": "mental_health", "RC1": "community", "RV1": "ambulance"}


@pytest.fixture(scope="module")
def draft():
    return load_ruleset("npaf-2025-26-draft")


# --- the draft rule set -------------------------------------------------------------------------------------


def test_draft_rule_set_has_the_drafts_structure(draft) -> None:
    assert draft.status == "draft"
    assert set(draft.organisation_types) == {"icb", "acute", "mental_health", "community", "ambulance"}
    assert [d.id for d in draft.domains] == ["operating", "finance", "outcomes", "quality"]
    groups = {g.id: g.domains for g in draft.aggregation.groups}
    assert draft.aggregation.overall == "weighted_groups"
    assert groups == {"short_term": ["operating", "finance"], "medium_term": ["outcomes", "quality"]}
    for org_type in draft.organisation_types:  # every type is scored in both the short and the medium term
        domains = {m.domain for m in draft.metrics if org_type in m.org_types and m.role == "scored"}
        assert domains & {"operating", "finance"} and domains & {"outcomes", "quality"}, org_type
    assert [p.org_types for p in draft.segmentation] == [["icb"], ["acute", "mental_health", "community", "ambulance"]]
    assert draft.override.proxy is not None and draft.override.exempt is not None
    assert draft.intensive_support.segment == 5
    sa = draft.system_adjustment
    assert sa is not None and sa.org_types == ["icb"]
    assert [t.kind for t in sa.tests] == [
        "input_flag", "lowest_quartile_every_month", "lowest_quartile_every_month", "lowest_quartile",
        "highest_quartile", "deficit",
    ]  # fmt: skip
    assert set(draft.segment_descriptions) == {1, 2, 3, 4, 5}


def test_draft_metrics_without_a_nof_id_use_unused_of02xx_ids(draft) -> None:
    final = {m.id for m in load_ruleset("nof-2025-26").metrics}
    for metric in draft.metrics:
        if metric.id not in final:
            assert metric.id.startswith("OF02"), metric.id
            assert metric.confidence == "INF" and metric.notes, metric.id
    assert not any(m.startswith("OF02") for m in final)


def test_defaults_that_are_ours_are_listed_with_their_values(draft) -> None:
    used = dict(defaults_in_use(draft).iter_rows())
    assert used["aggregation.groups[short_term].weight"] == "1.0"
    assert used["aggregation.groups[medium_term].weight"] == "1.0"
    assert used["system_adjustment.worsen_by"] == "1"
    assert used["system_adjustment.when_failed_at_least"] == "1"
    assert used["system_adjustment.quartile_boundary"] == '"inclusive"'
    assert used["system_adjustment.tests[rtt_every_month].params.lag_quarters"] == "0.0"
    assert resolve_setting(draft, "segment_descriptions[5]").startswith("The most intensive support")


def test_a_default_naming_no_setting_and_a_bad_segment_number_are_rejected() -> None:
    raw = yaml.safe_load((FRAMEWORKS_DIR / "npaf-2025-26-draft.yaml").read_text())
    raw["defaults_ours"].append("aggregation.groups[long_term].weight")
    raw["system_adjustment"]["defaults_ours"].append("tests[nowhere].params.x")
    raw["segment_descriptions"][7] = "off the scale"
    with pytest.raises(RuleSetError, match=r"system_adjustment: .*no such setting \['tests\[nowhere\].params.x'\]"):
        parse_ruleset(raw)
    raw["system_adjustment"]["defaults_ours"].pop()
    with pytest.raises(RuleSetError) as err:
        parse_ruleset(raw)
    text = str(err.value)
    assert "defaults_ours: no such setting 'aggregation.groups[long_term].weight'" in text
    assert "segment_descriptions: segment 7 is not 1..5" in text


# --- the draft end to end -----------------------------------------------------------------------------------


def _values() -> pl.DataFrame:
    """ICB i (0..7) does worse on every ICB metric as i grows; trusts likewise; finance chosen per case."""
    rows: list[tuple[str, str, float]] = []
    for i, icb in enumerate(ICBS):
        rows += [(icb, "OF0201", 1.0 + i), (icb, "OF0202", 100.0 - 5 * i), (icb, "OF0205", 200.0 + 10 * i)]
        rows += [(icb, "OF0206", 20.0 + i), (icb, "OF0203", 60.0 - i), (icb, "OF0204", 80.0 - i)]
        rows += [(icb, "OF0207", float(i)), (icb, "OF0081", 0.0)]
        rows.append((icb, "OF0079", -1.5 if icb == "QA3" else 0.0))  # QA3 plans a deficit
    for i, trust in enumerate(ACUTE):
        rows += [(trust, "OF0023", 90.0 - 5 * i), (trust, "OF0013", 80.0 - 2 * i), (trust, "OF0061", 7.0 - 0.1 * i)]
        rows += [(trust, "OF0046", 2.0), (trust, "OF0081", 0.0)]
        rows.append((trust, "OF0079", -0.5 if trust == "RA2" else 0.0))  # RA2 plans a deficit
    for j, trust in enumerate(OTHER_TRUSTS):
        rows += [(trust, "OF0061", 6.5 + 0.2 * j), (trust, "OF0084", 6.8 + 0.1 * j), (trust, "OF0082", 5.0 - j)]
        rows += [(trust, "OF0079", 0.0), (trust, "OF0081", 0.5), (trust, "OF0086", 1.0 * j)]
    frame = pl.DataFrame(
        rows, schema={"org_code": pl.String, "metric_id": pl.String, "value": pl.Float64}, orient="row"
    )
    return frame.with_columns(pl.lit(Q1).alias("quarter"))


def _orgs() -> pl.DataFrame:
    codes = ICBS + ACUTE + list(OTHER_TRUSTS)
    types = ["icb"] * len(ICBS) + ["acute"] * len(ACUTE) + list(OTHER_TRUSTS.values())
    return pl.DataFrame({"org_code": codes, "org_type": types})


def _flags() -> pl.DataFrame:
    """QA4 and RM1 are flagged in deficit in year but plan to break even and are on plan (exempt);
    QA8 and RA8 are on the intensive-support list."""
    return pl.DataFrame(
        {
            "quarter": [Q1] * 4,
            "org_code": ["QA4", "RM1", "QA8", "RA8"],
            "financial_override": [True, True, None, None],
            "intensive_support": [False, False, True, True],
        }
    )


def _system_inputs() -> SystemInputs:
    # RTT: RA2 (QA2) is lowest every month, RA8 (QA8) second lowest; cancer: QA5 has no June figures
    rtt = {trust: 90.0 - 5 * i for i, trust in enumerate(ACUTE)} | {"RA2": 40.0}
    rows = [(m, t, "OF0023", pct * 10, 1000.0) for m in MONTHS for t, pct in rtt.items()]
    rows += [(m, t, "OF0011", 90.0 - 3 * i, 100.0) for m in MONTHS for i, t in enumerate(ACUTE)
             if not (t == "RA5" and m == "2025-06")]  # fmt: skip
    months = pl.DataFrame(rows, schema=["month", "org_code", "metric_id", "numerator", "denominator"], orient="row")
    finance = pl.DataFrame(
        {
            "quarter": [Q1],
            "org_code": ["QA6"],
            "income": [1000.0],
            "planned_surplus": [0.0],
            "forecast_surplus": [-30.0],
        }
    )
    return SystemInputs(
        flag_lists={"uec_tier1": pl.DataFrame({"quarter": [Q1], "icb_code": ["QA1"]})},
        provider_months=months,
        finance=finance,
        trust_icb=pl.DataFrame({"org_code": ACUTE, "icb_code": ICBS}),
    )


def test_draft_end_to_end_icbs_and_trusts_with_system_adjustment_override_and_segment_5(draft) -> None:
    system = assess_system(draft, [Q1], ICBS, _system_inputs())
    result = run(_values(), _orgs(), draft, flags=_flags(), system_tests=system.tests, with_ranges=False)
    seg = {r["org_code"]: r for r in result.segmentation.iter_rows(named=True)}

    # two populations: ICB cut-points from the eight ICBs, trust cut-points from the eleven trusts pooled
    cuts = result.cutpoints.filter(pl.col("target") == "overall")
    assert dict(cuts.select("population", "n").iter_rows()) == {"icbs": 8, "trusts": 11}
    assert {seg[c]["population"] for c in ICBS} == {"icbs"}
    assert {seg[c]["population"] for c in ACUTE + list(OTHER_TRUSTS)} == {"trusts"}

    # overall = weighted mean of the short- and medium-term scores (weights 1:1), each the mean of its domains
    qa2 = result.domain_scores.filter(pl.col("org_code") == "QA2")
    dom = dict(qa2.select("domain", "score_raw").iter_rows())
    expected = ((dom["operating"] + dom["finance"]) / 2 + (dom["outcomes"] + dom["quality"]) / 2) / 2
    assert seg["QA2"]["average_score_raw"] == pytest.approx(expected)

    # system tests: every failure counted; one failed test moves an ICB one segment worse, never past 4
    failed = system.evidence.filter(pl.col("failed")).group_by("icb_code").len()
    for icb, n in failed.iter_rows():
        assert seg[icb]["system_tests_failed"] == n
    for icb in ICBS:
        row = seg[icb]
        moved = min(4, row["unadjusted_segment"] + 1) if row["system_tests_failed"] >= 1 else row["unadjusted_segment"]
        assert row["system_adjusted_segment"] == moved, icb
    assert seg["QA1"]["unadjusted_segment"] == 1 and seg["QA1"]["system_adjusted_segment"] == 2  # UEC tier one
    # ... because of two defaults that are ours, recorded with the run
    used = dict(defaults_in_use(draft).iter_rows())
    assert (used["system_adjustment.when_failed_at_least"], used["system_adjustment.worsen_by"]) == ("1", "1")
    ev = {(r["icb_code"], r["test_id"]): r for r in system.evidence.iter_rows(named=True)}
    assert ev["QA1", "uec_tier1"]["status"] == "failed"
    assert ev["QA2", "rtt_every_month"]["status"] == "failed"
    assert ev["QA5", "cancer_every_month"]["status"] == "not_assessed"
    assert "2025-06 no provider data" in ev["QA5", "cancer_every_month"]["evidence"]
    assert ev["QA6", "deficit"]["status"] == "failed"
    assert ev["QA1", "gp_satisfaction"]["status"] == "not_assessed"  # no ICB-level input supplied
    assert seg["QA2"]["system_adjusted_segment"] == min(4, seg["QA2"]["unadjusted_segment"] + 1)
    # trusts are never moved by system tests
    assert all(seg[t]["system_adjusted_segment"] == seg[t]["unadjusted_segment"] for t in ACUTE)

    # the finance cap: QA3 and RA2 plan a deficit (proxy); QA4 and RM1 are flagged in year but plan to break
    # even and are on plan, so they are exempt and keep their segment
    for code in ("QA3", "RA2"):
        assert seg[code]["override_flag"] is True and seg[code]["override_source"] == "proxy"
        assert seg[code]["adjusted_segment"] == max(3, seg[code]["system_adjusted_segment"])
    assert seg["QA3"]["system_adjusted_segment"] < 3  # so the cap really moved it
    for code in ("QA4", "RM1"):
        assert seg[code]["override_source"] == "input" and seg[code]["override_exempt"] is True
        assert seg[code]["override_flag"] is False
        assert seg[code]["adjusted_segment"] == seg[code]["system_adjusted_segment"]
    assert seg["RM1"]["adjusted_segment"] < 3

    # segment 5 from the intensive-support list, with the rule set's description
    assert seg["QA8"]["final_segment"] == 5 and seg["RA8"]["final_segment"] == 5
    described = attach_segment_descriptions(result.segmentation, draft)
    texts = dict(described.select("org_code", "segment_description").iter_rows())
    assert texts["QA8"] == draft.segment_descriptions[5]
    assert texts["QA1"] == draft.segment_descriptions[seg["QA1"]["final_segment"]]
    assert described.drop("segment_description").equals(result.segmentation)


def test_leadership_capability_is_reported_beside_the_segment_and_never_changes_it(draft) -> None:
    result = run(_values(), _orgs(), draft, flags=_flags(), with_ranges=False).as_text()
    ratings = pl.DataFrame(
        {
            "quarter": [Q1] * 7,
            "org_code": ["RA1"] * 7,
            "capability_domain": ["overall", *CAPABILITY_DOMAINS],
            "rating": ["low", "low", "medium", "low", "low", "medium", "low"],
        }
    )
    out = beside_segments(result.segmentation, ratings)
    assert out.select(result.segmentation.columns).equals(result.segmentation)
    assert out.columns[-7:] == CAPABILITY_COLUMNS
    ra1 = out.filter(pl.col("org_code") == "RA1").row(0, named=True)
    assert ra1["capability_overall"] == "low" and ra1["capability_people_culture"] == "low"
    assert out.filter(pl.col("org_code") == "RA2")["capability_overall"].to_list() == [None]
    bad = ratings.with_columns(pl.lit("vibes").alias("capability_domain"))
    with pytest.raises(EngineInputError, match="capability_domain"):
        beside_segments(result.segmentation, bad)


# --- NOF 2026/27 --------------------------------------------------------------------------------------------


def _nof_values() -> tuple[pl.DataFrame, pl.DataFrame]:
    icbs, trusts = ["QB1", "QB2", "QB3", "QB4"], ["RB1", "RB2"]
    rows = [(c, "OF0023", v) for c, v in zip(icbs + trusts, [90.0, 80.0, 70.0, 60.0, 50.0, 40.0], strict=True)]
    values = pl.DataFrame(
        rows, schema={"org_code": pl.String, "metric_id": pl.String, "value": pl.Float64}, orient="row"
    )
    orgs = pl.DataFrame({"org_code": icbs + trusts, "org_type": ["icb"] * 4 + ["acute"] * 2})
    return values.with_columns(pl.lit("2026-27 Q1").alias("quarter")), orgs


def test_nof_2026_27_refuses_to_segment_until_thresholds_are_set() -> None:
    rs = load_ruleset("nof-2026-27")
    assert rs.status == "illustrative"
    assert [(p.id, p.mode, p.thresholds) for p in rs.segmentation] == [
        ("icbs", "fixed_thresholds", None),
        ("trusts", "fixed_thresholds", None),
    ]
    values, orgs = _nof_values()
    with pytest.raises(SegmentationRefused, match="fixed thresholds but none are set"):
        run(values, orgs, rs, with_ranges=False)


def test_nof_2026_27_segments_icbs_once_thresholds_are_supplied() -> None:
    raw = load_ruleset("nof-2026-27").model_dump(exclude_none=True)
    for pop in raw["segmentation"]:
        pop["thresholds"] = [1.75, 2.5, 3.25]
    rs = parse_ruleset(raw)
    values, orgs = _nof_values()
    seg = run(values, orgs, rs, with_ranges=False).segmentation.sort("org_code")
    # ICBs ranked among ICBs on OF0023: scores 1, 2, 3, 4; trusts among trusts: 1 and 4
    assert dict(seg.select("org_code", "unadjusted_segment").iter_rows()) == {
        "QB1": 1, "QB2": 2, "QB3": 3, "QB4": 4, "RB1": 1, "RB2": 4,
    }  # fmt: skip
    described = dict(attach_segment_descriptions(seg, rs).select("org_code", "segment_description").iter_rows())
    assert described["QB1"] == rs.segment_descriptions[1] and described["QB2"] is None  # segment 2: not described


def test_nof_2026_27_carries_the_2025_26_trust_metrics_forward_unchanged() -> None:
    before = {m.id: m.model_dump() for m in load_ruleset("nof-2025-26").metrics}
    after = {m.id: m.model_dump() for m in load_ruleset("nof-2026-27").metrics}
    assert after.keys() == before.keys()
    placeholders = set()
    for metric_id, metric in after.items():
        if "icb" in metric["org_types"]:
            placeholders.add(metric_id)
            metric["org_types"] = [t for t in metric["org_types"] if t != "icb"]
        assert metric == before[metric_id], metric_id
    assert placeholders == {"OF0023", "OF0011", "OF0013", "OF0079", "OF0081", "OF0080"}
    assert all(after[m]["scoring_population"] == "same_type" for m in ("OF0023", "OF0011", "OF0013"))
