"""ICB system considerations: aggregation to ICBs, quartile edges, ties, missing months, finance, real extracts."""

from __future__ import annotations

import csv
import datetime
import re
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from npaf_pipeline.engine.frames import EngineInputError
from npaf_pipeline.engine.segment import adjust_segments
from npaf_pipeline.icb import SystemInputs, aggregate_to_icb, assess_system, icb_codes, provider_months, trust_icb
from npaf_pipeline.icb.cancer import cwt_monthly
from npaf_pipeline.icb.quartiles import quartile_membership
from npaf_pipeline.ruleset import load_ruleset
from npaf_pipeline.ruleset.load import parse_ruleset
from npaf_pipeline.sources import ae_monthly, cwt_crs
from npaf_pipeline.sources.base import SourceFileError
from npaf_pipeline.sources.organisations import organisation_reference
from tests.conftest import real_file

Q1 = "2025-26 Q1"
MONTHS = ["2025-04", "2025-05", "2025-06"]
ICBS = ["QA1", "QA2", "QA3", "QA4", "QA5"]


def _ruleset(**changes: object):
    """The shipped draft rule set, optionally with system_adjustment settings changed."""
    raw = load_ruleset("npaf-2025-26-draft").model_dump(exclude_none=True)
    raw["system_adjustment"].update(changes)
    return parse_ruleset(raw)


RS = _ruleset()
ONE_TRUST_EACH = pl.DataFrame({"org_code": [f"R{c}" for c in ICBS], "icb_code": ICBS})


def _months(values: dict[str, list[float | None]], metric: str = "OF0023", den: float = 100.0) -> pl.DataFrame:
    """One trust per ICB (R<icb>), a percentage per month on a denominator of ``den``; None = no row."""
    rows = [
        (month, f"R{icb}", metric, pct * den / 100, den)
        for icb, series in values.items()
        for month, pct in zip(MONTHS, series, strict=True)
        if pct is not None
    ]
    return pl.DataFrame(
        rows, schema=["month", "org_code", "metric_id", "numerator", "denominator"], orient="row"
    ).with_columns(pl.col("numerator", "denominator").cast(pl.Float64))


def _evidence(inputs: SystemInputs, rs=RS, icbs=ICBS, quarters=(Q1,)) -> dict[tuple[str, str], dict]:
    result = assess_system(rs, list(quarters), icbs, inputs)
    return {(r["icb_code"], r["test_id"]): r for r in result.evidence.iter_rows(named=True)}


# --- aggregation to the ICB ---------------------------------------------------------------------------------


def test_icb_value_sums_numerators_and_denominators_never_averages_percentages() -> None:
    rows = pl.DataFrame(
        {
            "month": ["2025-04"] * 3,
            "org_code": ["RA", "RB", "XX9"],
            "metric_id": ["OF0023"] * 3,
            "numerator": [90.0, 10.0, 5.0],
            "denominator": [100.0, 1000.0, 5.0],
        }
    )
    mapping = pl.DataFrame({"org_code": ["RA", "RB"], "icb_code": ["QA1", "QA1"]})
    result = aggregate_to_icb(rows, mapping)
    row = result.values.row(0, named=True)
    assert (row["numerator"], row["denominator"]) == (100.0, 1100.0)
    assert row["value"] == pytest.approx(100 * 100 / 1100)  # 9.09 %, not the 50 % mean of 90 % and 1 %
    assert row["providers"] == "RA,RB" and row["n_providers"] == 2 and row["complete"]
    assert result.unmapped["org_code"].to_list() == ["XX9"]  # no ICB: reported, left out of every sum


def test_a_provider_without_figures_leaves_the_icb_month_incomplete_and_zero_activity_empty() -> None:
    rows = pl.DataFrame(
        {
            "month": ["2025-04", "2025-04", "2025-05"],
            "org_code": ["RA", "RB", "RC"],
            "metric_id": ["OF0011"] * 3,
            "numerator": [50.0, None, 0.0],
            "denominator": [60.0, None, 0.0],
        }
    )
    mapping = pl.DataFrame({"org_code": ["RA", "RB", "RC"], "icb_code": ["QA1", "QA1", "QA2"]})
    by_icb = {r["icb_code"]: r for r in aggregate_to_icb(rows, mapping).values.iter_rows(named=True)}
    assert by_icb["QA1"]["complete"] is False and by_icb["QA1"]["incomplete_providers"] == "RB"
    assert by_icb["QA1"]["value"] is None  # 50/60 would look right and be wrong
    assert by_icb["QA2"]["complete"] is True and by_icb["QA2"]["value"] is None  # no activity


def test_provider_months_reads_single_month_periods_and_refuses_spans() -> None:
    rows = pl.DataFrame(
        {
            "org_code": ["RA", "RA", "RA"],
            "metric_id": ["OF0023"] * 3,
            "period": ["2025-04", "May-25", "2025-06..2025-06"],
            "numerator": [1.0, 2.0, 3.0],
            "denominator": [2.0, 4.0, 6.0],
        }
    )
    assert provider_months(rows)["month"].to_list() == MONTHS
    quarter = rows.with_columns(pl.lit("2025-04..2025-06").alias("period"))
    with pytest.raises(EngineInputError, match=r"not a single month: \['2025-04..2025-06'\]"):
        provider_months(quarter)


# --- quartile convention ------------------------------------------------------------------------------------


def test_icb_exactly_on_the_quartile_is_in_it_when_inclusive_and_out_when_exclusive() -> None:
    frame = pl.DataFrame({"g": ["x"] * 5, "value": [10.0, 20.0, 30.0, 40.0, 50.0]})
    low = quartile_membership(frame, ["g"], "lowest", 7, "inclusive")
    assert low["cut_point"][0] == 20.0  # type 7: P25 of 10..50 lands on 20 exactly
    assert low["in_quartile"].to_list() == [True, True, False, False, False]
    assert quartile_membership(frame, ["g"], "lowest", 7, "exclusive")["in_quartile"].to_list() == [True] + [False] * 4
    high = quartile_membership(frame, ["g"], "highest", 7, "inclusive")
    assert high["cut_point"][0] == 40.0 and high["in_quartile"].to_list() == [False, False, False, True, True]


def test_ties_stay_together_and_other_quantile_types_move_the_cut() -> None:
    tied = pl.DataFrame({"g": ["x"] * 6, "value": [10.0, 10.0, 10.0, 20.0, 30.0, 40.0]})
    assert quartile_membership(tied, ["g"], "lowest")["in_quartile"].to_list() == [True] * 3 + [False] * 3
    frame = pl.DataFrame({"g": ["x"] * 4, "value": [10.0, 20.0, 30.0, 40.0]})
    assert quartile_membership(frame, ["g"], "lowest", 7)["cut_point"][0] == 17.5
    assert quartile_membership(frame, ["g"], "lowest", 6)["cut_point"][0] == 12.5
    assert quartile_membership(frame, ["g"], "lowest", 1)["cut_point"][0] == 10.0


# --- tests 2 and 3: lowest quartile in every month ----------------------------------------------------------


def test_every_month_fails_only_when_in_the_lowest_quartile_in_all_three_months() -> None:
    months = _months(
        {
            "QA1": [10, 10, 10],  # bottom every month
            "QA2": [20, 20, 45],  # on the quartile twice (inclusive), out in June
            "QA3": [30, 30, 30],
            "QA4": [40, 40, 40],
            "QA5": [50, 50, 50],
        }
    )
    ev = _evidence(SystemInputs(provider_months=months, trust_icb=ONE_TRUST_EACH))
    assert ev["QA1", "rtt_every_month"]["status"] == "failed"
    assert ev["QA1", "rtt_every_month"]["months_in_quartile"] == 3
    assert ev["QA1", "rtt_every_month"]["evidence"].startswith("lowest quartile of ICBs for OF0023 in every month")
    assert "2025-04 10.0 <= cut 20.0 of 5 ICBs" in ev["QA1", "rtt_every_month"]["evidence"]
    assert ev["QA2", "rtt_every_month"]["status"] == "passed"
    assert ev["QA2", "rtt_every_month"]["months_in_quartile"] == 2
    assert "2025-06 45.0 not <= cut 30.0" in ev["QA2", "rtt_every_month"]["evidence"]
    assert ev["QA1", "rtt_every_month"]["numerator"] == 30.0  # the quarter's sums, behind the monthly values
    # cancer uses other rows: none supplied, so not assessed (never failed)
    assert ev["QA1", "cancer_every_month"]["status"] == "not_assessed"
    assert ev["QA1", "cancer_every_month"]["failed"] is False
    assert "no monthly provider data for OF0011" in ev["QA1", "cancer_every_month"]["evidence"]


def test_on_the_quartile_every_month_fails_inclusive_and_passes_exclusive() -> None:
    months = _months({"QA1": [10, 10, 10], "QA2": [20, 20, 20], "QA3": [30] * 3, "QA4": [40] * 3, "QA5": [50] * 3})
    inputs = SystemInputs(provider_months=months, trust_icb=ONE_TRUST_EACH)
    assert _evidence(inputs)["QA2", "rtt_every_month"]["status"] == "failed"
    strict = _ruleset(quartile_boundary="exclusive")
    assert _evidence(inputs, rs=strict)["QA2", "rtt_every_month"]["status"] == "passed"
    assert _evidence(inputs, rs=strict)["QA1", "rtt_every_month"]["status"] == "failed"


def test_tied_icbs_at_the_bottom_all_fail_together() -> None:
    months = _months({"QA1": [10] * 3, "QA2": [10] * 3, "QA3": [10] * 3, "QA4": [40] * 3, "QA5": [50] * 3})
    ev = _evidence(SystemInputs(provider_months=months, trust_icb=ONE_TRUST_EACH))
    assert [ev[c, "rtt_every_month"]["status"] for c in ICBS] == ["failed"] * 3 + ["passed"] * 2


def test_a_missing_month_means_not_assessed_with_the_month_named() -> None:
    months = _months({"QA1": [10, None, 10], "QA2": [20] * 3, "QA3": [30] * 3, "QA4": [40] * 3, "QA5": [50] * 3})
    result = assess_system(RS, [Q1], ICBS, SystemInputs(provider_months=months, trust_icb=ONE_TRUST_EACH))
    ev = {(r["icb_code"], r["test_id"]): r for r in result.evidence.iter_rows(named=True)}
    row = ev["QA1", "rtt_every_month"]
    assert (row["status"], row["failed"], row["months_assessed"]) == ("not_assessed", False, 2)
    assert "2025-05 no provider data" in row["evidence"]
    # the May quartile is taken over the four ICBs with a value: QA2 is then the bottom ICB
    may = result.monthly.filter(pl.col("test_id") == "rtt_every_month", pl.col("month") == "2025-05")
    assert set(may["population"].to_list()) == {4}
    assert ev["QA2", "rtt_every_month"]["status"] == "failed"
    engine = result.tests.filter(pl.col("org_code") == "QA1", pl.col("test_id") == "rtt_every_month")
    assert engine["failed"].to_list() == [False]


def test_lag_quarters_moves_the_months_assessed() -> None:
    months = _months({c: [10.0 * (i + 1)] * 3 for i, c in enumerate(ICBS)})
    raw = load_ruleset("npaf-2025-26-draft").model_dump(exclude_none=True)
    for test in raw["system_adjustment"]["tests"]:
        if test["id"] == "rtt_every_month":
            test["params"]["lag_quarters"] = 1
    lagged = parse_ruleset(raw)
    ev = _evidence(SystemInputs(provider_months=months, trust_icb=ONE_TRUST_EACH), rs=lagged, quarters=["2025-26 Q2"])
    assert ev["QA1", "rtt_every_month"]["status"] == "failed"  # Q2 assessed on Q1's months (April to June)


def test_a_quarantined_cancer_row_makes_that_icb_month_not_assessed(tmp_path: Path) -> None:
    path = tmp_path / "cwt.xlsx"
    rows = []
    for month in (4, 5, 6):
        for i, icb in enumerate(ICBS):
            within = 10 * (i + 1)
            if icb == "QA1" and month == 5:
                within = 200  # more within standard than treated: the row is quarantined
            rows.append(_cwt_row(month, f"R{icb}", total=100, within=within))
    _cwt_book(path, rows)
    monthly = cwt_monthly([path])
    may = monthly.filter(pl.col("org_code") == "RQA1", pl.col("month") == "2025-05", pl.col("metric_id") == "OF0011")
    assert may["numerator"].to_list() == [None]  # withheld, not dropped
    ev = _evidence(SystemInputs(provider_months=monthly, trust_icb=ONE_TRUST_EACH.with_columns(
        pl.concat_str([pl.lit("R"), pl.col("icb_code")]).alias("org_code"))))  # fmt: skip
    row = ev["QA1", "cancer_every_month"]
    assert row["status"] == "not_assessed" and "2025-05 incomplete: no figures for RQA1" in row["evidence"]
    assert ev["QA2", "cancer_every_month"]["status"] == "failed"  # lowest of the four left in May


def test_cwt_public_reader_keeps_every_month_and_refuses_overlapping_extracts(tmp_path: Path) -> None:
    path = tmp_path / "cwt-apr-jun.xlsx"
    _cwt_book(path, [_cwt_row(m, "RQA1", total=100, within=60 if m != 5 else 200) for m in (4, 5, 6)])
    extract = cwt_crs.read_extract(path)
    assert (extract.path, extract.rows_read, extract.accepted.height) == (path, 3, 2)
    assert extract.withheld.select("org_code", pl.col("period").dt.month()).rows() == [("RQA1", 5)]
    again = tmp_path / "cwt-copy.xlsx"
    again.write_bytes(path.read_bytes())
    with pytest.raises(SourceFileError, match=r"holds 2025-04, as does .*cwt-apr-jun\.xlsx"):
        cwt_crs.check_no_overlap([extract, cwt_crs.read_extract(again)])
    with pytest.raises(SourceFileError, match="extracts must not overlap"):
        cwt_monthly([path, again])


def test_icb_code_calls_no_private_function_of_another_module() -> None:
    package = Path(__file__).resolve().parent.parent / "npaf_pipeline"
    files = [*sorted((package / "icb").glob("*.py")), package / "inputs.py"]  # inputs.py feeds the ICB tests
    calls = [
        f"{p.name}: {m.group(0)}"
        for p in files
        for m in re.finditer(r"\b(?!self\b)[a-z_][a-z0-9_]*\._[a-zA-Z]\w*", p.read_text(encoding="utf-8"))
    ]
    assert calls == []


def _cwt_row(month: int, org: str, total: int, within: int) -> list:
    names = {4: "APR", 5: "MAY", 6: "JUN"}
    return [datetime.datetime(2025, month, 1), "2025/26", names[month], "62-day Combined", org,
            "URGENT SUSPECTED CANCER", "ALL MODALITIES", "Lung", total, within, total - within]  # fmt: skip


def _cwt_book(path: Path, rows: list[list]) -> None:
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet("CWT CRS Provider Extract")
        date = book.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_row(0, 0, list(cwt_crs.COLUMNS))
        for r, row in enumerate(rows, start=1):
            sheet.write_datetime(r, 0, row[0], date)
            sheet.write_row(r, 1, row[1:])


# --- tests 1, 4 and 5: input list and ICB-level quartiles ---------------------------------------------------


def test_uec_tier_one_list_fails_listed_icbs_and_a_quarter_without_a_list_is_not_assessed() -> None:
    tier = pl.DataFrame({"quarter": ["Q1 2025/26", "2025-26 Q1"], "icb_code": ["QA2", "QA4"], "listed": [True, False]})
    ev = _evidence(SystemInputs(flag_lists={"uec_tier1": tier}))
    assert ev["QA2", "uec_tier1"]["status"] == "failed"
    assert ev["QA4", "uec_tier1"]["status"] == "passed"  # on the file but not listed
    assert ev["QA1", "uec_tier1"]["evidence"] == "not on the list"
    result = assess_system(RS, [Q1, "2025-26 Q2"], ICBS, SystemInputs(flag_lists={"uec_tier1": tier}))
    q2 = result.evidence.filter(pl.col("test_id") == "uec_tier1", pl.col("quarter") == "2025-26 Q2")
    assert q2.height == 5 and set(q2["status"]) == {"not_assessed"}  # the Q1 list says nothing about Q2


def _icb_values(metric: str, values: dict[str, float | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "quarter": [Q1] * len(values),
            "org_code": list(values),
            "metric_id": [metric] * len(values),
            "period": ["2025 survey"] * len(values),
            "value": list(values.values()),
        },
        schema_overrides={"value": pl.Float64},
    )


def test_gp_satisfaction_lowest_quartile_edge_ties_and_missing_value() -> None:
    gp = _icb_values("OF0204", {"QA1": 70.0, "QA2": 70.0, "QA3": 75.0, "QA4": 80.0, "QA5": None})
    ev = _evidence(SystemInputs(icb_values=gp))
    # four values 70, 70, 75, 80: P25 (type 7) = 70, both tied ICBs sit on it and fail
    assert [ev[c, "gp_satisfaction"]["status"] for c in ICBS] == [
        "failed",
        "failed",
        "passed",
        "passed",
        "not_assessed",
    ]
    assert ev["QA1", "gp_satisfaction"]["cut_point"] == 70.0 and ev["QA1", "gp_satisfaction"]["population"] == 4
    assert ev["QA1", "gp_satisfaction"]["evidence"] == (
        "OF0204 70.0 <= lowest-quartile cut 70.0 of 4 ICBs (period 2025 survey)"
    )


def test_out_of_area_bed_days_highest_quartile_fails_the_worst() -> None:
    share = _icb_values("OF0291", {"QA1": 1.0, "QA2": 2.0, "QA3": 3.0, "QA4": 4.0, "QA5": 5.0})
    ev = _evidence(SystemInputs(icb_values=share))
    assert [ev[c, "mh_out_of_area"]["failed"] for c in ICBS] == [False, False, False, True, True]  # P75 = 4 exactly


# --- test 6: deficit ----------------------------------------------------------------------------------------


def _finance(rows: list[tuple[str, float | None, float, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(Q1, *r) for r in rows],
        schema={
            "quarter": pl.String,
            "org_code": pl.String,
            "income": pl.Float64,
            "planned_surplus": pl.Float64,
            "forecast_surplus": pl.Float64,
        },
        orient="row",
    )


def test_deficit_over_two_percent_or_more_than_one_percent_off_plan() -> None:
    finance = _finance(
        [
            ("QA1", 1000, -10, -25),  # 2.5 % deficit: over 2 %
            ("QA2", 1000, 0, -20),  # exactly 2 %: not over it, but 2 % behind plan
            ("QA3", 1000, -20, -20),  # exactly 2 % and on plan
            ("QA4", 1000, -5, -15),  # 1.5 % deficit, exactly 1 % behind plan: not more than 1 %
            ("QA5", 1000, 30, 5),  # surplus, 2.5 % behind plan: no deficit
        ]
    )
    ev = _evidence(SystemInputs(finance=finance))
    assert [ev[c, "deficit"]["status"] for c in ICBS] == ["failed", "failed", "passed", "passed", "passed"]
    assert ev["QA1", "deficit"]["value"] == pytest.approx(-2.5)
    assert ev["QA2", "deficit"]["off_plan_percent"] == pytest.approx(-2.0)
    assert ev["QA2", "deficit"]["evidence"].startswith("deficit of at most 2% but more than 1% behind plan")
    assert ev["QA1", "deficit"]["basis"] == "system finance input"


def test_provider_finance_is_summed_to_the_icb_and_a_system_row_wins() -> None:
    mapping = pl.DataFrame({"org_code": ["RX1", "RX2", "RY1"], "icb_code": ["QA1", "QA1", "QA2"]})
    finance = _finance(
        [
            ("RX1", 600, 0, -30),  # 5 % deficit on its own
            ("RX2", 400, 0, 10),  # together: -20 of 1000 = 2 %, 2 % behind plan
            ("RY1", 500, 0, -50),  # ignored: QA2 has its own system total
            ("QA2", 1000, 0, 0),
            ("QA3", None, 0, -10),  # no income: not assessed
        ]
    )
    ev = _evidence(SystemInputs(finance=finance, trust_icb=mapping))
    qa1 = ev["QA1", "deficit"]
    assert (qa1["numerator"], qa1["denominator"], qa1["status"]) == (20.0, 1000.0, "failed")
    assert qa1["basis"] == "finance of 2 provider(s) summed: RX1,RX2"
    assert ev["QA2", "deficit"]["status"] == "passed" and ev["QA2", "deficit"]["basis"] == "system finance input"
    assert ev["QA3", "deficit"]["status"] == "not_assessed"
    assert ev["QA4", "deficit"]["evidence"] == "not assessed: no input for this ICB and quarter"


# --- ICBs that host no trust -------------------------------------------------------------------------------


def test_icbs_hosting_no_trust_are_not_assessed_on_provider_sums_with_the_reason() -> None:
    """QA4 hosts a trust without RTT or cancer rows, QA5 hosts none (as in the sample at scale 1): their
    provider-summed tests are not assessed, month by month with why, and they leave the others' cut alone."""
    mapping = pl.DataFrame({"org_code": ["RQA1", "RQA2", "RQA3", "RAMB"], "icb_code": ["QA1", "QA2", "QA3", "QA4"]})
    months = _months({"QA1": [10] * 3, "QA2": [20] * 3, "QA3": [30] * 3}).with_columns(
        pl.concat_str([pl.lit("R"), pl.col("org_code").str.slice(1)]).alias("org_code")
    )
    finance = _finance([("RQA1", 1000, 0, -30), ("RQA2", 1000, 0, 0), ("RQA3", 1000, 0, 0), ("RAMB", 500, 0, -5)])
    inputs = SystemInputs(provider_months=months, finance=finance, trust_icb=mapping)
    result = assess_system(RS, [Q1], ICBS, inputs)
    ev = {(r["icb_code"], r["test_id"]): r for r in result.evidence.iter_rows(named=True)}
    assert result.evidence.height == len(ICBS) * 6  # every ICB still gets every test
    for icb in ("QA4", "QA5"):
        row = ev[icb, "rtt_every_month"]
        assert (row["status"], row["failed"], row["months_assessed"]) == ("not_assessed", False, 0)
        assert row["evidence"] == (
            "not assessed: a month has no value: "
            "2025-04 no provider data; 2025-05 no provider data; 2025-06 no provider data"
        )
        assert row["numerator"] is None and row["denominator"] is None
    cut = ev["QA1", "rtt_every_month"]["evidence"]
    assert ev["QA1", "rtt_every_month"]["status"] == "failed" and "cut 15.0 of 3 ICBs" in cut  # P25 of 10, 20, 30
    monthly = result.monthly.filter(pl.col("icb_code") == "QA5", pl.col("test_id") == "rtt_every_month")
    assert monthly["note"].to_list() == ["no provider data"] * 3 and monthly["in_quartile"].null_count() == 3
    # no cancer rows at all: the whole test is not assessed for every ICB, with the reason
    assert {ev[c, "cancer_every_month"]["evidence"] for c in ICBS} == {
        "not assessed: no monthly provider data for OF0011 in the months assessed"
    }
    # finance summed from providers: the ICB without a trust has no input; the one with a small trust has one
    assert ev["QA5", "deficit"]["evidence"] == "not assessed: no input for this ICB and quarter"
    assert ev["QA4", "deficit"]["basis"] == "finance of 1 provider(s) summed: RAMB"
    assert ev["QA1", "deficit"]["status"] == "failed"
    adjusted = adjust_segments(
        pl.DataFrame({"quarter": [Q1] * 5, "org_code": ICBS, "org_type": ["icb"] * 5, "unadjusted_segment": [2] * 5}),
        RS,
        system_tests=result.tests,
    ).sort("org_code")
    assert adjusted["system_tests_failed"].to_list() == [2, 0, 0, 0, 0]  # not assessed is never failed


def test_no_trust_mapped_to_any_icb_is_not_assessed_not_an_error() -> None:
    empty_map = pl.DataFrame(schema={"org_code": pl.String, "icb_code": pl.String})
    months = _months({"QA1": [10] * 3, "QA2": [20] * 3})
    result = assess_system(RS, [Q1], ICBS, SystemInputs(provider_months=months, trust_icb=empty_map))
    rtt = result.evidence.filter(pl.col("test_id") == "rtt_every_month")
    assert rtt.height == len(ICBS) and set(rtt["status"]) == {"not_assessed"}
    assert rtt["evidence"].str.contains("2025-04 no provider data").all()


# --- the frame the engine reads -----------------------------------------------------------------------------


def test_every_icb_gets_every_test_and_the_engine_counts_the_failures() -> None:
    months = _months({"QA1": [10] * 3, "QA2": [20, 20, 45], "QA3": [30] * 3, "QA4": [40] * 3, "QA5": [50] * 3})
    tier = pl.DataFrame({"quarter": [Q1], "icb_code": ["QA1"]})
    result = assess_system(
        RS, [Q1], ICBS, SystemInputs(flag_lists={"uec_tier1": tier}, provider_months=months, trust_icb=ONE_TRUST_EACH)
    )
    assert result.evidence.height == len(ICBS) * 6
    assert result.tests.columns == ["quarter", "org_code", "test_id", "failed"]
    seg = pl.DataFrame(
        {"quarter": [Q1] * 5, "org_code": ICBS, "org_type": ["icb"] * 5, "unadjusted_segment": [1, 2, 3, 4, 4]}
    )
    adjusted = adjust_segments(seg, RS, system_tests=result.tests).sort("org_code")
    assert adjusted["system_tests_failed"].to_list() == [2, 0, 0, 0, 0]
    assert adjusted["system_adjusted_segment"].to_list() == [2, 2, 3, 4, 4]


def test_a_rule_set_without_system_adjustment_has_no_tests(rs) -> None:
    with pytest.raises(ValueError, match="no system_adjustment"):
        assess_system(rs, [Q1], ICBS, SystemInputs())


# --- real extracts: aggregation checked against hand sums ---------------------------------------------------


@pytest.fixture(scope="module")
def reference() -> pl.DataFrame:
    etr = real_file("ods-etr-nov2025/etr.csv")
    types = real_file("reference-derived/trust_reference_2025_26.csv")
    return organisation_reference(etr, types, load_ruleset("nof-2025-26"))


def _hand_icb_map() -> dict[str, str]:
    """trust -> ICB read straight from the derived trust list with the csv module (independent of the reader)."""
    path = real_file("reference-derived/trust_reference_2025_26.csv")
    with path.open(encoding="utf-8-sig", newline="") as f:
        return {r["Trust_code"]: r["icb_code"] for r in csv.DictReader(f) if r["icb_code"]}


@pytest.mark.real_data
def test_real_62_day_cancer_per_icb_and_month_equals_hand_sums(reference: pl.DataFrame) -> None:
    path = real_file("cwt-crs-provider-apr-jul2025/CWT-CRS-Apr-2025-to-Jul-2025-Data-Extract-Provider.xlsx")
    monthly = cwt_monthly([path]).filter(pl.col("metric_id") == "OF0011", pl.col("month").is_in(MONTHS))
    got = aggregate_to_icb(monthly, trust_icb(reference)).values
    # by hand: the raw sheet, 62-day rows broken down by cancer type, summed per ICB and month
    sheet = pl.read_excel(path, infer_schema_length=0)
    icb_of = _hand_icb_map()
    hand: dict[tuple[str, str], list[float]] = {}
    for row in sheet.iter_rows(named=True):
        month = str(row["PERIOD"])[:7]
        if row["STANDARD"] != "62-day Combined" or row["TREATMENT MODALITY"] != "ALL MODALITIES":
            continue
        if month in MONTHS and row["ORG CODE"] in icb_of:
            sums = hand.setdefault((month, icb_of[row["ORG CODE"]]), [0.0, 0.0])
            sums[0] += float(row["WITHIN STANDARD"])
            sums[1] += float(row["TOTAL TREATED"])
    assert got.height == len(hand) == 3 * 42
    for row in got.iter_rows(named=True):
        assert [row["numerator"], row["denominator"]] == hand[row["month"], row["icb_code"]], row
    assert got["complete"].all()
    # monthly sums add up to the adapter's own quarterly values, provider by provider
    quarterly = cwt_crs.read([path], quarters=[Q1]).values.filter(pl.col("metric_id") == "OF0011")
    by_provider = monthly.group_by("org_code").agg(pl.col("numerator", "denominator").sum())
    joined = quarterly.join(by_provider, on="org_code", suffix="_monthly")
    assert joined.height == quarterly.height == by_provider.height
    assert (joined["numerator"] == joined["numerator_monthly"]).all()
    assert (joined["denominator"] == joined["denominator_monthly"]).all()
    # Q1 2025/26 over the 42 ICBs: 56,809.5 of 83,324 treated within 62 days
    assert got.select(pl.col("numerator").sum()).item() == 56809.5
    assert got.select(pl.col("denominator").sum()).item() == 83324.0


@pytest.mark.real_data
def test_real_62_day_every_month_test_runs_for_all_42_icbs(reference: pl.DataFrame) -> None:
    path = real_file("cwt-crs-provider-apr-jul2025/CWT-CRS-Apr-2025-to-Jul-2025-Data-Extract-Provider.xlsx")
    inputs = SystemInputs(provider_months=cwt_monthly([path]), trust_icb=trust_icb(reference))
    result = assess_system(RS, [Q1], icb_codes(reference), inputs)
    cancer = result.evidence.filter(pl.col("test_id") == "cancer_every_month")
    assert cancer.height == 42 and set(cancer["status"]) == {"failed", "passed"}
    failed = sorted(cancer.filter(pl.col("failed"))["icb_code"].to_list())
    assert failed == ["QF7", "QH8", "QHL", "QKK", "QMM", "QOQ", "QT1", "QWU"]
    cuts = (
        result.monthly.filter(pl.col("test_id") == "cancer_every_month")
        .group_by("month")
        .agg(pl.col("cut_point").first())
    )
    assert dict(cuts.sort("month").iter_rows()) == pytest.approx({"2025-04": 66.0297, "2025-05": 62.5863,
                                                                  "2025-06": 63.1660}, abs=1e-4)  # fmt: skip


@pytest.mark.real_data
def test_real_ae_four_hour_numerators_and_denominators_per_icb_equal_hand_sums(reference: pl.DataFrame) -> None:
    folder = real_file("ae-monthly-2024-25")
    files = sorted(folder.glob("*.csv"))
    values = ae_monthly.read(files, quarters=[Q1]).values.filter(pl.col("metric_id") == "OF0013")
    got = aggregate_to_icb(values, trust_icb(reference), keys=["quarter"])
    icb_of = _hand_icb_map()
    hand: dict[str, list[float]] = {}
    for name in ("Monthly-AE-April-2025.csv", "Monthly-AE-May-2025.csv", "Monthly-AE-June-2025-1-1.csv"):
        with (folder / name).open(encoding="utf-8-sig", errors="replace", newline="") as f:
            for row in csv.DictReader(f):
                code = (row.get("Org Code") or "").strip()
                if code not in icb_of:
                    continue
                attendances = sum(_count(v) for k, v in row.items() if k and k.startswith("A&E attendances"))
                over = sum(_count(v) for k, v in row.items() if k and k.startswith("Attendances over 4hrs"))
                sums = hand.setdefault(icb_of[code], [0.0, 0.0])
                sums[0] += attendances - over
                sums[1] += attendances
    assert got.values.height == len(hand) == 42
    for row in got.values.iter_rows(named=True):
        assert [row["numerator"], row["denominator"]] == hand[row["icb_code"]], row["icb_code"]
    # Q1 2025/26: 4,919,292 of 6,652,297 attendances at NHS trusts within 4 hours (73.95 %); the other
    # reporting organisations (independent UTCs, walk-in centres) have no ICB in the reference
    assert got.values.select(pl.col("numerator").sum()).item() == 4_919_292
    assert got.values.select(pl.col("denominator").sum()).item() == 6_652_297
    assert got.unmapped.height == 50


def _count(cell: str | None) -> float:
    text = (cell or "").strip().replace(",", "")
    return float(text) if text not in ("", "-") else 0.0
