"""The published tables BI reads: one pandera model per table, the single source of the Parquet schema,
the Frictionless data package and docs/data-dictionary.md.

Every field carries a description and ``metadata={"unit": ..., "example": ...}``; every model names its
primary key in ``Config.unique``. Columns are only ever added (a minor version bump), never renamed or
retyped, so older quarters stay readable next to newer ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import pandera.polars as pa

from schemas.common import METRIC_ID, ODS_CODE, QUARTER_LABEL, SHA256
from schemas.leadership import CAPABILITY_DOMAINS, OVERALL

SCHEMA_VERSION = "1.3.0"

FY_PATTERN = r"^[0-9]{4}-[0-9]{2}$"
QUARTERS = ["Q1", "Q2", "Q3", "Q4"]
OVERRIDE_SOURCES = ["input", "proxy", "missing", "none"]
SYSTEM_TEST_STATUSES = ["failed", "passed", "not_assessed"]
CAPABILITY_AREAS = {
    OVERALL: "overall",
    "strategy_leadership_planning": "strategy, leadership and planning",
    "quality_of_care": "quality of care",
    "people_culture": "people and culture",
    "access_delivery": "access and delivery of services",
    "productivity_value": "productivity and value for money",
    "finance_oversight": "financial performance and oversight",
}
assert list(CAPABILITY_AREAS)[1:] == list(CAPABILITY_DOMAINS), "one column per capability area of the input"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # example value only


def field(description: str, unit: str, example: Any, **checks: Any) -> Any:
    """A documented column: every published field goes through here so none lacks a unit or example."""
    return pa.Field(description=description, metadata={"unit": unit, "example": example}, **checks)


def _score(description: str, example: float = 2.41, **kw: Any) -> Any:
    return field(description, "score (1 best to 4 worst)", example, nullable=True, ge=1, le=4, **kw)


def _rank(description: str, example: int = 12) -> Any:
    return field(description, "rank (1 = best)", example, nullable=True, ge=1)


class QuarterRow(pa.DataFrameModel):
    """Columns every published table starts with: the partition values, also stored inside each file."""

    fy: str = field(
        "NHS financial year (April to March); also the fy= partition folder",
        "text",
        "2025-26",
        str_matches=FY_PATTERN,
    )
    quarter: str = field(
        "quarter of the financial year (Q1 = April to June); also the quarter= partition folder",
        "text",
        "Q1",
        isin=QUARTERS,
    )
    quarter_label: str = field(
        "financial year and quarter in one sortable label, as the engine and the manifests spell it",
        "text",
        "2025-26 Q1",
        str_matches=QUARTER_LABEL,
    )


class OrganisationSegmentation(QuarterRow):
    """Organisation-level results: average score, segments before and after each adjustment, ranks,
    likely ranges, the cut-points used, and one score/segment/rank column per domain of the rule set."""

    org_code: str = field("ODS code of the organisation", "code", "R0A", str_matches=ODS_CODE)
    org_name: str = field(
        "organisation name as published", "text", "Manchester University NHS Foundation Trust", nullable=True
    )
    org_type: str = field("organisation type key of the rule set", "code", "acute")
    org_type_label: str = field("organisation type as NHS England labels it", "text", "Acute trust", nullable=True)
    org_subtype: str = field("finer organisation class", "text", "Acute - Teaching", nullable=True)
    region: str = field("NHS England region", "text", "North West", nullable=True)
    segmentation_population: str = field(
        "organisations segmented together (null for types that are reported but never segmented)",
        "code",
        "trusts",
        nullable=True,
    )
    n_items: int = field("number of scored items in the average", "count", 19, ge=0)
    average_score: float = _score("average metric score, rounded as published (drives segments and ranks)")
    average_score_raw: float = _score("average metric score at full precision", 2.418683)
    unadjusted_segment: int = field(
        "segment from the average score and the cut-points",
        "segment (1 best to 4 worst)",
        3,
        nullable=True,
        ge=1,
        le=4,
    )
    improvement_to_next_segment: float = field(
        "how far the average score must fall to reach the next better segment (0 in segment 1)",
        "score points",
        0.1,
        nullable=True,
        ge=0,
    )
    system_tests_failed: int = field(
        "whole-system tests failed (draft framework; 0 when the rule set has none)", "count", 0, ge=0
    )
    system_adjusted_segment: int = field(
        "segment after the system adjustment (equals unadjusted_segment when the rule set has none)",
        "segment (1 best to 4 worst)",
        3,
        nullable=True,
        ge=1,
        le=4,
    )
    override_flag: bool = field("the financial override applies (in financial deficit)", "flag", False)
    override_source: str = field(
        "where the override flag came from: input, proxy (rule set fallback), missing (no input) or none",
        "code",
        "input",
        isin=OVERRIDE_SOURCES,
    )
    override_exempt: bool = field("the organisation meets the rule set's exemption from the override", "flag", False)
    adjusted_segment: int = field(
        "segment after the financial override (no better than the cap when flagged); NHS England's OF5000",
        "segment (1 best to 4 worst)",
        3,
        nullable=True,
        ge=1,
        le=4,
    )
    intensive_support: bool = field("in the intensive-support programme (Recovery Support Programme)", "flag", False)
    final_segment: int = field(
        "published segment: adjusted segment, or 5 for intensive support; NHS England's OF5005",
        "segment (1 best to 5)",
        3,
        nullable=True,
        ge=1,
        le=5,
    )
    amr_rank: int = _rank(
        "aggregated metric ranking (AMR): league-table position within type (adjusted segment, then average score)", 71
    )
    average_rank: int = _rank("rank within type on the average score alone; NHS England's OF5002 rank", 73)
    average_score_low: float = _score("likely range of the average score: lower end (bootstrap)", 2.06)
    average_score_high: float = _score("likely range of the average score: upper end (bootstrap)", 2.79)
    amr_rank_low: int = _rank("likely range of the league-table position: best end (bootstrap)", 17)
    amr_rank_high: int = _rank("likely range of the league-table position: worst end (bootstrap)", 114)
    cutpoint_1_2: float = _score("cut-point between segments 1 and 2 used this quarter", 2.05)
    cutpoint_2_3: float = _score("cut-point between segments 2 and 3 used this quarter", 2.32)
    cutpoint_3_4: float = _score("cut-point between segments 3 and 4 used this quarter", 2.6)

    class Config:
        description = "one row per quarter and organisation"
        unique = ["fy", "quarter", "org_code"]
        strict = True
        coerce = True


def _domain_example(domain_id: str) -> tuple[float, int, int]:
    """An example score, segment and rank for a domain that differs from domain to domain (same id, same example),
    consistent with the example cut-points 2.05, 2.32 and 2.6."""
    step = int(hashlib.sha256(domain_id.encode()).hexdigest(), 16) % 19
    score = round(1.62 + 0.11 * step, 2)
    segment = 1 + sum(score > cut for cut in (2.05, 2.32, 2.6))
    return score, segment, 9 + 11 * step


def domain_columns(domain_id: str, domain_name: str) -> dict[str, Any]:
    """The three flat columns each domain of a rule set adds to organisation_segmentation."""
    score, segment, rank = _domain_example(domain_id)
    return {
        f"{domain_id}_score": (float, _score(f"{domain_name} domain score, rounded as published", score)),
        f"{domain_id}_segment": (
            int,
            field(
                f"{domain_name} domain segment (display only)",
                "segment (1 best to 4 worst)",
                segment,
                nullable=True,
                ge=1,
                le=4,
            ),
        ),
        f"{domain_id}_rank": (int, _rank(f"rank within type on the {domain_name} domain score", rank)),
    }


def beside_columns() -> dict[str, Any]:
    """Columns reported beside the segment, never used to compute it (added in 1.1.0, after the domain columns)."""
    columns: dict[str, Any] = {
        "segment_description": (
            str,
            field(
                "what the final segment means, in the rule set's words (null where the rule set describes none)",
                "text",
                "Performing well with specific issues; targeted support where needed",
                nullable=True,
            ),
        )
    }
    examples = ("good", "strong", "requires improvement", "good", "serious concerns", "strong", "good")
    for (area, words), example in zip(CAPABILITY_AREAS.items(), examples * len(CAPABILITY_AREAS), strict=False):
        columns[f"capability_{area}"] = (
            str,
            field(
                f"leadership capability rating, {words}, as supplied (never changes the segment)",
                "text",
                example,
                nullable=True,
            ),
        )
    return columns


def organisation_segmentation_model(domains: Sequence[tuple[str, str]]) -> type[pa.DataFrameModel]:
    """OrganisationSegmentation with ``<domain>_score``, ``_segment`` and ``_rank`` for each (id, name), then the
    columns reported beside the segment."""
    annotations: dict[str, Any] = {}
    attrs: dict[str, Any] = {"__module__": __name__}
    columns = {c: spec for domain_id, name in domains for c, spec in domain_columns(domain_id, name).items()}
    for column, (dtype, spec) in (columns | beside_columns()).items():
        annotations[column] = dtype
        attrs[column] = spec
    attrs["__annotations__"] = annotations
    attrs["__doc__"] = OrganisationSegmentation.__doc__
    return type("OrganisationSegmentationByDomain", (OrganisationSegmentation,), attrs)


class MetricScores(QuarterRow):
    """Every metric score with the value it came from, how it was scored, and the peer statistics."""

    org_code: str = field("ODS code of the organisation", "code", "R0A", str_matches=ODS_CODE)
    org_type: str = field("organisation type key of the rule set", "code", "acute")
    metric_id: str = field("NOF metric id of the value", "code", "OF0003", str_matches=METRIC_ID)
    score_id: str = field("NOF id of the score row (OF1xxx)", "code", "OF1003", str_matches=METRIC_ID)
    metric_name: str = field("metric name in the rule set", "text", "Percentage of patients waiting over 52 weeks")
    domain: str = field("domain id the metric belongs to", "code", "access")
    domain_name: str = field("domain name", "text", "Access to services")
    sub_domain: str = field("sub-domain", "text", "Elective care", nullable=True)
    role: str = field(
        "scored (enters the averages) or input (feeds a composite only)", "code", "scored", isin=["scored", "input"]
    )
    value: float = field("metric value (null for composites scored from other scores)", "see unit", 4.01, nullable=True)
    unit: str = field(
        "unit of value: percent, count, rate, mins, days, out of 10, percentage points or score",
        "text",
        "percent",
        nullable=True,
    )
    period: str = field("period the value covers, as the source states it", "text", "Jun-25", nullable=True)
    direction: str = field("which way is better", "code", "lower", nullable=True, isin=["higher", "lower"])
    method: str = field("scoring method family", "code", "gate_fail")
    scoring_population: str = field("the population the metric was scored in", "code", "main:acute", nullable=True)
    scoring_population_size: int = field("organisations in the scoring population", "count", 138, nullable=True, ge=0)
    scoring_rank: int = _rank("rank within the scoring group (null where the method does not rank)", 84)
    score: float = _score("metric score; NHS England's OF1xxx value", 3.643564)
    metric_rank: int = _rank(
        "individual metric ranking (IMR): rank within type on this metric, best first; NHS England's Rank", 113
    )
    type_count: int = field("organisations of this type with a value", "count", 131, nullable=True, ge=0)
    type_median: float = field("median value within type (Excel QUARTILE.INC)", "see unit", 2.4, nullable=True)
    type_lower_quartile: float = field("25th percentile of values within type", "see unit", 1.33, nullable=True)
    type_upper_quartile: float = field("75th percentile of values within type", "see unit", 3.325, nullable=True)

    class Config:
        description = "one row per quarter, organisation and metric"
        unique = ["fy", "quarter", "org_code", "metric_id"]
        strict = True
        coerce = True


class MetricValues(QuarterRow):
    """The canonical metric values the scores were computed from, with the raw row each came from."""

    org_code: str = field("ODS code of the organisation", "code", "R0A", str_matches=ODS_CODE)
    metric_id: str = field("NOF metric id", "code", "OF0003", str_matches=METRIC_ID)
    period: str = field("period the value covers, as the source states it", "text", "Jun-25", nullable=True)
    value: float = field("metric value", "see unit", 4.01, nullable=True)
    numerator: float = field(
        "numerator summed over the period, where the source has one", "count", 1520.0, nullable=True, ge=0
    )
    denominator: float = field(
        "denominator summed over the period, where the source has one", "count", 37900.0, nullable=True, ge=0
    )
    unit: str = field("unit of value", "text", "percent", nullable=True)
    source: str = field("source adapter that read the value", "code", "nof_csv")
    source_file: str = field(
        "name of the file the value was read from (folders dropped; source_sha256 identifies the file)",
        "text",
        "nhs-oversight-framework-acute-trust-data.csv",
    )
    source_sha256: str = field(
        "SHA-256 of that file (null when the file was not available at publish time)",
        "SHA-256 hex",
        EMPTY_SHA256,
        nullable=True,
        str_matches=SHA256,
    )
    source_row: int = field(
        "row in the file that fed the value (1-based, as a spreadsheet shows it)", "row number", 2, nullable=True, ge=0
    )
    published_rank: float = field(
        "NHS England's published within-type rank of the value (NOF files only; orders equal 2 dp values)",
        "rank (1 = best)",
        113.0,
        nullable=True,
        ge=1,
    )

    class Config:
        description = "one row per quarter, organisation and metric"
        unique = ["fy", "quarter", "org_code", "metric_id"]
        strict = True
        coerce = True


class LeagueTable(QuarterRow):
    """NHS England's league table, one row per segmented trust, with typed values and the text ranges kept. Trusts
    only: ICBs, where a rule set segments them, are in icb_league_table."""

    region: str = field("NHS England region", "text", "North West", nullable=True)
    trust_type: str = field("trust type; league positions are within it", "text", "Acute trust")
    trust_subtype: str = field("finer trust class", "text", "Acute - Teaching", nullable=True)
    trust_code: str = field("ODS code of the trust", "code", "R0A", str_matches=ODS_CODE)
    trust_name: str = field("trust name", "text", "Manchester University NHS Foundation Trust", nullable=True)
    average_score: float = _score("average metric score (OF5002)")
    likely_range_of_average_score_low: float = _score("likely range of the average score: lower end", 2.06)
    likely_range_of_average_score_high: float = _score("likely range of the average score: upper end", 2.79)
    likely_range_of_average_score: str = field(
        "likely range of the average score as NHS England writes it", "text", "2.06 to 2.79", nullable=True
    )
    segment: int = field("adjusted segment (OF5000)", "segment (1 best to 4 worst)", 3, ge=1, le=4)
    trust_in_financial_deficit: bool = field("the financial override applies (OF5004)", "flag", False)
    rank: int = field("league-table position within trust type (AMR rank)", "rank (1 = best)", 71, ge=1)
    likely_range_of_rank_low: int = _rank("likely range of the position: best end", 17)
    likely_range_of_rank_high: int = _rank("likely range of the position: worst end", 114)
    likely_range_of_rank: str = field(
        "likely range of the position as NHS England writes it", "text", "17 to 114", nullable=True
    )

    class Config:
        description = "one row per quarter and segmented trust"
        unique = ["fy", "quarter", "trust_code"]
        strict = True
        coerce = True


class IcbLeagueTable(QuarterRow):
    """The ICBs' league table, one row per segmented ICB, ranked among ICBs, in the layout of NHS England's trust
    league table, with the system adjustment that moved the segment. Empty for rule sets that do not segment ICBs
    (nof-2025-26 reports ICBs without a segment)."""

    region: str = field("NHS England region", "text", "North West", nullable=True)
    icb_code: str = field("ODS code of the ICB", "code", "QYG", str_matches=ODS_CODE)
    icb_name: str = field("ICB name", "text", "NHS Cheshire and Merseyside Integrated Care Board", nullable=True)
    average_score: float = _score(
        "the ICB's overall score, rounded as published (the draft NPAF: the delivery score, the weighted mean of the "
        "short- and medium-term scores)"
    )
    likely_range_of_average_score_low: float = _score(
        "likely range of the score: lower end (bootstrap within domains, weighted as the score is)", 2.06
    )
    likely_range_of_average_score_high: float = _score("likely range of the score: upper end", 2.79)
    likely_range_of_average_score: str = field(
        "likely range of the score as NHS England writes it", "text", "2.06 to 2.79", nullable=True
    )
    unadjusted_segment: int = field(
        "segment from the score and the cut-points among ICBs, before any adjustment",
        "segment (1 best to 4 worst)",
        2,
        ge=1,
        le=4,
    )
    system_tests_failed: int = field(
        "system-consideration tests failed (see system_considerations; 0 when the rule set has none)", "count", 1, ge=0
    )
    system_adjusted_segment: int = field(
        "segment after the system adjustment (equals unadjusted_segment when no test moved it)",
        "segment (1 best to 4 worst)",
        3,
        ge=1,
        le=4,
    )
    icb_in_financial_deficit: bool = field(
        "the financial override applies (in deficit: the segment is no better than the rule set's cap)", "flag", False
    )
    segment: int = field(
        "adjusted segment: after the system adjustment and the financial override; orders the table",
        "segment (1 best to 4 worst)",
        3,
        ge=1,
        le=4,
    )
    final_segment: int = field(
        "published segment: the adjusted segment, or 5 for intensive support (Recovery Support Programme)",
        "segment (1 best to 5)",
        3,
        ge=1,
        le=5,
    )
    segment_description: str = field(
        "what the final segment means, in the rule set's words (null where the rule set describes none)",
        "text",
        "Significant issues in some areas; support and improvement agreed with NHS England",
        nullable=True,
    )
    rank: int = field("league-table position among ICBs (segment, then score)", "rank (1 = best)", 17, ge=1)
    likely_range_of_rank_low: int = _rank("likely range of the position: best end", 9)
    likely_range_of_rank_high: int = _rank("likely range of the position: worst end", 28)
    likely_range_of_rank: str = field(
        "likely range of the position as NHS England writes it", "text", "9 to 28", nullable=True
    )

    class Config:
        description = "one row per quarter and segmented ICB"
        unique = ["fy", "quarter", "icb_code"]
        strict = True
        coerce = True


class QuarantineSummary(QuarterRow):
    """Raw rows rejected by validation, counted per file and rule (the detail stays in the quarantine)."""

    source: str = field("source adapter", "code", "ae_monthly")
    source_file: str = field("name of the file the rows are in", "text", "Monthly-AE-April-2025.csv")
    source_sha256: str = field("SHA-256 of that file", "SHA-256 hex", EMPTY_SHA256, nullable=True, str_matches=SHA256)
    column: str = field("column that failed (null for whole-row rules)", "text", "org_code", nullable=True)
    check: str = field("the rule that failed", "text", "str_matches('^[A-Z0-9]{3,6}$')")
    rows: int = field("rows rejected", "count", 3, ge=1)

    class Config:
        description = "one row per quarter, file, column and rule"
        unique = ["fy", "quarter", "source", "source_file", "column", "check"]
        strict = True
        coerce = True


class RunManifest(QuarterRow):
    """Which inputs, rule set and code produced the quarter's snapshot (the JSON manifest, as a table)."""

    input_file: str = field("name of an input file", "text", "nhs-oversight-framework-acute-trust-data.csv")
    input_sha256: str = field(
        "SHA-256 of the input file", "SHA-256 hex", EMPTY_SHA256, nullable=True, str_matches=SHA256
    )
    input_bytes: int = field("size of the input file", "bytes", 1551554, nullable=True, ge=0)
    metric_value_rows: int = field("metric values of this quarter read from the file", "count", 2474, ge=0)
    rule_set_id: str = field("framework rule set", "code", "nof-2025-26")
    rule_set_version: str = field("version of the rule set", "text", "2025.26.1")
    code_version: str = field("npaf-pipeline version that wrote the snapshot", "text", "0.1.0")
    schema_version: str = field("version of this published contract", "text", SCHEMA_VERSION)

    class Config:
        description = "one row per quarter and input file"
        unique = ["fy", "quarter", "input_file", "input_sha256"]
        strict = True
        coerce = True


class SystemConsiderations(QuarterRow):
    """The system-consideration tests of an ICB assessment (the draft NPAF's six), one row per ICB and test, with
    the status, the evidence in words and the numbers behind it. Empty for rule sets without system tests."""

    icb_code: str = field("ODS code of the ICB", "code", "QWE", str_matches=ODS_CODE)
    test_id: str = field("system test id in the rule set", "code", "rtt_every_month")
    test_name: str = field(
        "what the test asks", "text", "Lowest quartile of ICBs for 18-week RTT performance in every month"
    )
    kind: str = field("how the test is computed (the rule set's test kind)", "code", "lowest_quartile_every_month")
    status: str = field(
        "failed, passed, or not_assessed (an input, value or month missing; never counted as failed)",
        "code",
        "failed",
        isin=SYSTEM_TEST_STATUSES,
    )
    failed: bool = field("the test counts as failed in the system adjustment", "flag", True)
    evidence: str = field(
        "the reason in words, with the numbers",
        "text",
        "lowest quartile of ICBs for OF0023 in every month: 2025-04 55.6 <= cut 57.25 of 42 ICBs; ...",
    )
    basis: str = field(
        "where the numbers come from", "text", "monthly provider numerators and denominators summed", nullable=True
    )
    value: float = field(
        "ICB-level tests: the ICB's value; deficit test: forecast position, % of income",
        "see test",
        71.3,
        nullable=True,
    )
    cut_point: float = field(
        "quartile tests: the cut (P25 or P75 of the ICBs); deficit test: minus the deficit limit",
        "see test",
        72.05,
        nullable=True,
    )
    population: int = field("ICBs with a value the cut was taken over", "count", 42, nullable=True, ge=0)
    months_assessed: int = field("every-month tests: months with a value", "count", 3, nullable=True, ge=0)
    months_in_quartile: int = field("every-month tests: months in the lowest quartile", "count", 2, nullable=True, ge=0)
    numerator: float = field(
        "every-month tests: the quarter's summed numerator; deficit test: the forecast deficit",
        "see test",
        30512.0,
        nullable=True,
    )
    denominator: float = field(
        "every-month tests: the quarter's summed denominator; deficit test: income",
        "see test",
        48210.0,
        nullable=True,
    )
    off_plan_percent: float = field("deficit test: forecast minus plan, % of income", "percent", -0.4, nullable=True)

    class Config:
        description = "one row per quarter, ICB and system test"
        unique = ["fy", "quarter", "icb_code", "test_id"]
        strict = True
        coerce = True


_SEGMENT = "segment (1 best to 4 worst)"


def _segment(description: str, example: int = 3, top: int = 4) -> Any:
    unit = _SEGMENT if top == 4 else "segment (1 best to 5)"
    return field(description, unit, example, nullable=True, ge=1, le=top)


class SegmentExplanation(QuarterRow):
    """Drivers of each average score: one row per scored item with its share of the average, in the engine's own
    arithmetic (the contributions of an organisation add up to its unrounded average), and its pull against the
    type's mean average and against the cut-point of the next better segment."""

    org_code: str = field("ODS code of the organisation", "code", "R0A", str_matches=ODS_CODE)
    org_name: str = field(
        "organisation name as published", "text", "Manchester University NHS Foundation Trust", nullable=True
    )
    org_type: str = field("organisation type key of the rule set", "code", "acute")
    item_id: str = field(
        "scored item as the engine averages it (a metric id, or a composite such as HCAI)", "code", "HCAI"
    )
    item_name: str = field("item name in the rule set", "text", "Healthcare-associated infections")
    domain: str = field("domain id the item belongs to", "code", "safety")
    score: float = _score("the item's score as it enters the average (a composite's mean)", 2.333333)
    weight: float = field(
        "the item's share factor: 1/number of items for an item mean, or the rule set's weighting for weighted "
        "domain groups",
        "share (0 to 1)",
        0.052632,
        ge=0,
        le=1,
    )
    contribution: float = field(
        "weight x score; an organisation's contributions add up to average_score_raw", "score points", 0.122807
    )
    pull_vs_type_mean: float = field(
        "weight x (score - the type's mean average): positive pulls the average towards worse than the type's mean",
        "score points",
        0.01842,
    )
    pull_vs_cut_above: float = field(
        "weight x (score - the cut-point of the next better segment); null in segment 1 and where unsegmented",
        "score points",
        0.0156,
        nullable=True,
    )
    driver_rank: int = field(
        "order among the organisation's items by pull_vs_type_mean, largest first (1 = pulls most towards worse)",
        "rank (1 = strongest pull towards worse)",
        1,
        ge=1,
    )
    type_mean_average: float = _score("mean unrounded average score of the organisation's type this quarter", 2.337)
    cut_above: float = _score("cut-point of the next better segment (null in segment 1)", 2.33)

    class Config:
        description = "one row per quarter, organisation and scored item"
        unique = ["fy", "quarter", "org_code", "item_id"]
        strict = True
        coerce = True


class SegmentDistance(QuarterRow):
    """Distance to the neighbouring segments, in score points and in each metric's own unit: the value one metric
    alone would need to reach the next better unadjusted segment, first order (the organisation re-scored against
    the real values of the others, their scores and the quarter's cut-points held), with the override and segment 5
    noted."""

    org_code: str = field("ODS code of the organisation", "code", "R0A", str_matches=ODS_CODE)
    org_type: str = field("organisation type key of the rule set", "code", "acute")
    unadjusted_segment: int = _segment("segment from the average score and the cut-points")
    adjusted_segment: int = _segment("segment after adjustments and the financial override")
    final_segment: int = _segment("published segment, 5 for intensive support", top=5)
    average_score: float = _score("average metric score, rounded as published")
    points_to_better: float = field(
        "score points the average must fall to reach the next better unadjusted segment (null in segment 1)",
        "score points",
        0.07,
        nullable=True,
        ge=0,
    )
    points_to_worse: float = field(
        "score points the average must rise to fall into the next worse unadjusted segment (null in segment 4)",
        "score points",
        0.12,
        nullable=True,
        ge=0,
    )
    metric_id: str = field("NOF metric id whose value moves the average", "code", "OF0013", str_matches=METRIC_ID)
    metric_name: str = field("metric name in the rule set", "text", "Percentage of patients seen within 4 hours in A&E")
    unit: str = field("unit of value", "text", "percent", nullable=True)
    value: float = field("the metric's current value", "see unit", 74.2)
    value_for_better: float = field(
        "value this metric alone would need, at its display precision, to reach the next better segment (first "
        "order); null when it cannot, or in segment 1",
        "see unit",
        78.0,
        nullable=True,
    )
    can_close_alone: bool = field(
        "this metric alone can reach the next better segment (null in segment 1)", "flag", True, nullable=True
    )
    note: str = field(
        "the answer in words: reaches or jumps to a segment, cannot close the gap alone, the override cap, segment 5",
        "text",
        "reaches segment 2",
    )
    override_capped: bool = field("the financial override holds the segment worse than the score gives", "flag", False)
    segment_without_override: int = _segment("segment before the financial override (after any system adjustment)")
    score: float = _score("the metric's current score", 2.91)
    score_for_better: float = _score("the metric's score at value_for_better", 1.0)
    segment_reached: int = _segment("unadjusted segment at value_for_better (first order)", 2)
    display_decimals: int = field("decimal places value_for_better is stated to", "count", 2, ge=0)

    class Config:
        description = "one row per quarter, segmented organisation and metric that moves its average"
        unique = ["fy", "quarter", "org_code", "metric_id"]
        strict = True
        coerce = True


CHANGE_CAUSES = ["own_score", "cut_points", "override", "system", "segment_5", "none"]
CHANGE_CLASSES = ["override", "significant", "not_significant"]


class SegmentChanges(QuarterRow):
    """Quarter-on-quarter moves: previous and current average, segments and rank, what moved the segment, and the
    significance class of the change (the rule set's change_significance rule)."""

    org_code: str = field("ODS code of the organisation", "code", "R0A", str_matches=ODS_CODE)
    org_type: str = field("organisation type key of the rule set", "code", "acute")
    previous_quarter_label: str = field("the quarter compared with", "text", "2025-26 Q1", str_matches=QUARTER_LABEL)
    previous_average: float = _score("average score last quarter, rounded as published", 2.38)
    average: float = _score("average score this quarter, rounded as published", 2.31)
    average_change: float = field(
        "change in the unrounded average (the sum of segment_change_items.contribution_change)", "score points", -0.07
    )
    previous_segment: int = _segment("adjusted segment last quarter")
    segment: int = _segment("adjusted segment this quarter (the league-table segment)", 2)
    previous_final_segment: int = _segment("final segment last quarter", top=5)
    final_segment: int = _segment("final segment this quarter", 2, top=5)
    previous_rank: int = _rank("league-table position last quarter", 80)
    rank: int = _rank("league-table position this quarter", 64)
    segment_changed: bool = field("the adjusted segment changed", "flag", True)
    cause: str = field(
        "what moved the segment: own_score, cut_points, override, system, segment_5 (only the final segment moved), "
        "none",
        "code",
        "own_score",
        isin=CHANGE_CAUSES,
    )
    change_class: str = field(
        "override (the override alone moved it), or significant / not_significant by the rule set's test (given "
        "for every row)",
        "code",
        "not_significant",
        isin=CHANGE_CLASSES,
    )
    p_value: float = field(
        "two-sided p-value of the change in average (exact bootstrap; null under other rules)",
        "probability",
        0.21,
        nullable=True,
        ge=0,
        le=1,
    )
    previous_unadjusted_segment: int = _segment("unadjusted segment last quarter")
    unadjusted_segment: int = _segment("unadjusted segment this quarter", 2)
    segment_at_previous_cutpoints: int = _segment("this quarter's average against last quarter's cut-points", 2)
    previous_override_flag: bool = field("the financial override applied last quarter", "flag", True, nullable=True)
    override_flag: bool = field("the financial override applies this quarter", "flag", True, nullable=True)
    previous_n_items: int = field("scored items last quarter", "count", 18, nullable=True, ge=0)
    n_items: int = field("scored items this quarter", "count", 18, nullable=True, ge=0)

    class Config:
        description = "one row per quarter and organisation with a published previous quarter"
        unique = ["fy", "quarter", "org_code"]
        strict = True
        coerce = True


class SegmentChangeItems(QuarterRow):
    """The change in average split into items: each item's change in contribution (weight x score), with items
    entering or leaving; an organisation's rows add up to segment_changes.average_change."""

    org_code: str = field("ODS code of the organisation", "code", "R0A", str_matches=ODS_CODE)
    org_type: str = field("organisation type key of the rule set", "code", "acute")
    previous_quarter_label: str = field("the quarter compared with", "text", "2025-26 Q1", str_matches=QUARTER_LABEL)
    item_id: str = field("scored item", "code", "OF0013")
    item_name: str = field("item name in the rule set", "text", "Percentage of patients seen within 4 hours in A&E")
    previous_score: float = _score("the item's score last quarter (null: entered)", 2.9)
    score: float = _score("the item's score this quarter (null: left)", 2.5)
    previous_weight: float = field("share factor last quarter", "share (0 to 1)", 0.0556, nullable=True, ge=0, le=1)
    weight: float = field("share factor this quarter", "share (0 to 1)", 0.0556, nullable=True, ge=0, le=1)
    contribution_change: float = field("weight x score now minus last quarter's", "score points", -0.0222)
    status: str = field(
        "entered, left, changed or unchanged", "code", "changed", isin=["entered", "left", "changed", "unchanged"]
    )

    class Config:
        description = "one row per quarter, organisation with a previous quarter, and item in either quarter"
        unique = ["fy", "quarter", "org_code", "item_id"]
        strict = True
        coerce = True


TABLES: dict[str, type[pa.DataFrameModel]] = {
    "organisation_segmentation": OrganisationSegmentation,
    "metric_scores": MetricScores,
    "metric_values": MetricValues,
    "league_table": LeagueTable,
    "icb_league_table": IcbLeagueTable,
    "quarantine_summary": QuarantineSummary,
    "run_manifest": RunManifest,
    "system_considerations": SystemConsiderations,
    "segment_explanation": SegmentExplanation,
    "segment_distance": SegmentDistance,
    "segment_changes": SegmentChanges,
    "segment_change_items": SegmentChangeItems,
}


def published_models(domains: Sequence[tuple[str, str]]) -> dict[str, type[pa.DataFrameModel]]:
    """Every published table's model, with organisation_segmentation widened by the rule set's domains."""
    return {**TABLES, "organisation_segmentation": organisation_segmentation_model(domains)}
