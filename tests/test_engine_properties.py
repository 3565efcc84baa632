"""Property-based tests of the scoring engine on small synthetic inputs.

Expected values are derived from the rules in the methodology (§1.3-§1.8), never from the engine itself:
scores from the four scoring formulas, segments from pooled sample quartiles (numpy as an independent
quantile implementation), the override cap, segment 5 and competition ranks by (adjusted segment, average).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from npaf_pipeline.engine.league import league_ranks
from npaf_pipeline.engine.pipeline import EngineResult, run
from npaf_pipeline.engine.scoring import score_metrics
from npaf_pipeline.engine.segment import cutpoints, segment, unadjusted_segments
from npaf_pipeline.ruleset import RuleSet, load_ruleset
from npaf_pipeline.ruleset.load import parse_ruleset
from npaf_pipeline.ruleset.model import Bands, GateFail, GateMeet, Lookup, ProvidedScore
from tests.test_segmentation_rules import NUMPY_METHOD

Q1, Q2, Q3 = "2025-26 Q1", "2025-26 Q2", "2025-26 Q3"
TYPES = ("a", "b")
EPS = 1e-9
CAP = 3


# --- a tiny rule set: every scoring family, both directions, both scoring populations ---------------------


@dataclass(frozen=True)
class Spec:
    """What the test knows about one synthetic metric, independently of the engine."""

    id: str
    family: str
    direction: str
    pooled: bool
    domain: str
    method: dict[str, Any]


SPECS = [
    Spec("OF0001", "continuous", "higher", False, "d1", {"family": "continuous"}),
    Spec("OF0002", "continuous", "lower", True, "d1", {"family": "continuous"}),
    Spec("OF0003", "gate_fail", "higher", False, "d1", {"family": "gate_fail", "standard": {"op": ">=", "value": 50}}),
    Spec("OF0004", "gate_fail", "lower", True, "d1", {"family": "gate_fail", "standard": {"op": "<", "value": 20}}),
    Spec("OF0005", "gate_meet", "higher", True, "d2", {"family": "gate_meet", "standard": {"op": ">=", "value": 70}}),
    Spec("OF0006", "gate_meet", "lower", False, "d2", {"family": "gate_meet", "standard": {"op": "<=", "value": 30}}),
    Spec(
        "OF0007",
        "bands",
        "higher",
        False,
        "d2",
        {
            "family": "bands",
            "bands": [
                {"score": 1, "op": ">=", "value": 75},
                {"score": 2, "op": ">=", "value": 50},
                {"score": 3, "op": ">=", "value": 25},
                {"score": 4},
            ],
        },
    ),
    Spec(
        "OF0008",
        "bands",
        "lower",
        True,
        "d2",
        {
            "family": "bands",
            "bands": [
                {"score": 1, "op": "<=", "value": 25},
                {"score": 2, "op": "<=", "value": 50},
                {"score": 3, "op": "<=", "value": 75},
                {"score": 4},
            ],
        },
    ),
]
SPEC = {s.id: s for s in SPECS}


def make_ruleset(quantile_method: int = 7) -> RuleSet:
    """The synthetic rule set, built with ``parse_ruleset`` like any YAML file."""
    metrics = [
        {
            "id": s.id,
            "name": f"Synthetic {s.family} ({s.direction} is better)",
            "org_types": list(TYPES),
            "domain": s.domain,
            "unit": "percent",
            "direction": s.direction,
            "method": s.method,
            "scoring_population": "all_reporting" if s.pooled else "same_type",
            "period_basis": "quarter",
        }
        for s in SPECS
    ]
    return parse_ruleset(
        {
            "id": "synthetic",
            "name": "Synthetic rule set for property tests",
            "version": "0",
            "organisation_types": {"a": {"label": "Type A"}, "b": {"label": "Type B"}},
            "domains": [{"id": "d1", "name": "Domain one"}, {"id": "d2", "name": "Domain two"}],
            "metrics": metrics,
            "segmentation": [
                {
                    "id": "pooled",
                    "org_types": list(TYPES),
                    "mode": "pooled_quantiles",
                    "quantile_method": quantile_method,
                }
            ],
            "override": {"source": "input", "cap_segment": CAP},
            "intensive_support": {"segment": 5, "source": "input"},
            "bootstrap": {"replicates": 20, "seed": 7},
        }
    )


RS = make_ruleset()
RS_BY_METHOD = {m: make_ruleset(m) for m in range(1, 10)}


# --- hand-derived expectations ----------------------------------------------------------------------------


def _better(spec: Spec, x: float, y: float) -> bool:
    """True when value ``x`` is strictly better than ``y`` in the metric's direction."""
    return x > y if spec.direction == "higher" else x < y


def _meets(spec: Spec, x: float) -> bool:
    """True when value ``x`` meets the gate metric's standard."""
    std = spec.method["standard"]
    return x >= std["value"] if std["op"] == ">=" else x <= std["value"] if std["op"] == "<=" else x < std["value"]


def _spread(lo: float, hi: float, rank: int, n: int) -> float:
    """Rank ``rank`` of ``n`` placed linearly on lo..hi (a population of one gets ``lo``)."""
    return lo if n == 1 else lo + (hi - lo) * (rank - 1) / (n - 1)


def expected_score(spec: Spec, x: float, population: list[float]) -> float:
    """Score of value ``x`` among ``population`` (which includes ``x``), straight from methodology §1.3."""
    if spec.family == "continuous":
        rank = 1 + sum(_better(spec, y, x) for y in population)
        return _spread(1.0, 4.0, rank, len(population))
    if spec.family == "gate_fail":
        if _meets(spec, x):
            return 1.0
        failers = [y for y in population if not _meets(spec, y)]
        return _spread(2.0, 4.0, 1 + sum(_better(spec, y, x) for y in failers), len(failers))
    if spec.family == "gate_meet":
        if not _meets(spec, x):
            return 4.0
        meeters = [y for y in population if _meets(spec, y)]
        return _spread(1.0, 3.0, 1 + sum(_better(spec, y, x) for y in meeters), len(meeters))
    cuts = (75, 50, 25) if spec.direction == "higher" else (25, 50, 75)
    for score, cut in enumerate(cuts, start=1):
        if (x >= cut) if spec.direction == "higher" else (x <= cut):
            return float(score)
    return 4.0


def expected_segment(average: float, cuts: list[float]) -> int:
    """Methodology §1.5: segment k is the first whose cut-point the average does not exceed (``<=``)."""
    return 1 + sum(average > c for c in cuts)


def competition_ranks(keys: list[tuple[Any, ...]]) -> list[int]:
    """1 + the number of strictly smaller keys: ties share a rank, the next rank is skipped."""
    return [1 + sum(other < key for other in keys) for key in keys]


# --- strategies ------------------------------------------------------------------------------------------

# values on and either side of every standard and band edge, so ties and boundaries come up often
EDGE_VALUES = [0.0, 10.0, 19.99, 20.0, 25.0, 30.0, 30.01, 49.99, 50.0, 69.99, 70.0, 75.0, 100.0]
VALUE = st.one_of(st.sampled_from(EDGE_VALUES), st.floats(0, 100, allow_nan=False).map(lambda v: round(v, 2)))


@st.composite
def panels(draw: st.DrawFn, quarter: str = Q1, min_orgs: int = 1, max_orgs: int = 9) -> tuple[pl.DataFrame, ...]:
    """(orgs, values, flags) for one quarter: each organisation reports a random subset of the metrics."""
    n = draw(st.integers(min_orgs, max_orgs))
    codes = [f"T{i:03d}" for i in range(1, n + 1)]
    types = [draw(st.sampled_from(TYPES)) for _ in codes]
    rows = [
        (quarter, code, s.id, value)
        for code in codes
        for s in SPECS
        if (value := draw(st.one_of(st.none(), VALUE, VALUE, VALUE))) is not None
    ]
    maybe = st.sampled_from([True, False, None])
    flag_rows = [(quarter, code, draw(maybe), draw(maybe)) for code in codes]
    return (
        pl.DataFrame({"org_code": codes, "org_type": types}),
        pl.DataFrame(
            rows,
            schema={"quarter": pl.String, "org_code": pl.String, "metric_id": pl.String, "value": pl.Float64},
            orient="row",
        ),
        pl.DataFrame(
            flag_rows,
            schema={
                "quarter": pl.String,
                "org_code": pl.String,
                "financial_override": pl.Boolean,
                "intensive_support": pl.Boolean,
            },
            orient="row",
        ),
    )


AVERAGE = st.integers(100, 400).map(lambda c: c / 100)


@st.composite
def org_scores(draw: st.DrawFn, max_orgs: int = 24) -> pl.DataFrame:
    """Average scores (2 dp, 1.00-4.00) of organisations of both types, as the aggregation step returns them."""
    averages = draw(st.lists(st.one_of(AVERAGE, st.sampled_from([2.05, 2.33, 2.6])), min_size=1, max_size=max_orgs))
    n = len(averages)
    return pl.DataFrame(
        {
            "quarter": [Q1] * n,
            "org_code": [f"T{i:03d}" for i in range(1, n + 1)],
            "org_type": [draw(st.sampled_from(TYPES)) for _ in averages],
            "n_items": [5] * n,
            "average_score_raw": averages,
            "average_score": averages,
        }
    )


def _populations(values: pl.DataFrame, orgs: pl.DataFrame) -> dict[tuple[str, str, str], list[tuple[str, float]]]:
    """(quarter, metric, population) -> [(org, value)], with populations as the metric's rule defines them."""
    kind = dict(zip(orgs["org_code"], orgs["org_type"], strict=True))
    out: dict[tuple[str, str, str], list[tuple[str, float]]] = {}
    for quarter, code, metric, value in values.select("quarter", "org_code", "metric_id", "value").iter_rows():
        pop = "all" if SPEC[metric].pooled else kind[code]
        out.setdefault((quarter, metric, pop), []).append((code, value))
    return out


def _scores_by_key(scores: pl.DataFrame) -> dict[tuple[str, str, str], float]:
    return {(q, m, o): s for q, m, o, s in scores.select("quarter", "metric_id", "org_code", "score").iter_rows()}


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame in a canonical row order (sorted on every column)."""
    return frame.sort(frame.columns)


def _assert_results_equal(left: EngineResult, right: EngineResult) -> None:
    for name in EngineResult.__dataclass_fields__:
        assert_frame_equal(_sorted(getattr(left, name)), _sorted(getattr(right, name)), check_exact=True)


# --- step 1: metric scores --------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(panel=panels())
def test_every_score_lies_between_one_and_four(panel: tuple[pl.DataFrame, ...]) -> None:
    """Every value present gets exactly one score, within 1.00-4.00."""
    orgs, values, _ = panel
    scores = score_metrics(values, orgs, RS)
    assert scores.height == values.height
    assert scores["score"].is_null().sum() == 0
    assert all(1.0 - EPS <= s <= 4.0 + EPS for s in scores["score"])


@settings(max_examples=50, deadline=None)
@given(panel=panels())
def test_scores_follow_the_four_scoring_formulas(panel: tuple[pl.DataFrame, ...]) -> None:
    """Continuous, gate-fail, gate-meet and band scores as the methodology states them, in their populations."""
    orgs, values, _ = panel
    got = _scores_by_key(score_metrics(values, orgs, RS))
    for (quarter, metric, _), members in _populations(values, orgs).items():
        population = [v for _, v in members]
        for code, value in members:
            want = expected_score(SPEC[metric], value, population)
            assert got[(quarter, metric, code)] == pytest.approx(want, abs=EPS), (metric, code, value, population)


@settings(max_examples=50, deadline=None)
@given(panel=panels(min_orgs=2), tiebreak_column=st.booleans())
def test_scores_are_monotone_and_ties_share_a_score(panel: tuple[pl.DataFrame, ...], tiebreak_column: bool) -> None:
    """Within one scoring population a better value never scores worse, and equal values score the same.

    Without a tie-break rank (the column absent, or present but empty) nothing can separate equal values.
    """
    orgs, values, _ = panel
    if tiebreak_column:
        values = values.with_columns(pl.lit(None, pl.Float64).alias("tiebreak_rank"))
    got = _scores_by_key(score_metrics(values, orgs, RS))
    for (quarter, metric, _), members in _populations(values, orgs).items():
        spec = SPEC[metric]
        for code_x, x in members:
            for code_y, y in members:
                sx, sy = got[(quarter, metric, code_x)], got[(quarter, metric, code_y)]
                if x == y:
                    assert sx == sy, (metric, code_x, code_y, x)
                elif _better(spec, x, y):
                    assert sx <= sy + EPS, (metric, code_x, x, sx, code_y, y, sy)


@settings(max_examples=30, deadline=None)
@given(panel=panels(min_orgs=2), data=st.data())
def test_a_tiebreak_rank_never_overrides_a_better_value(panel: tuple[pl.DataFrame, ...], data: st.DataObject) -> None:
    """With published ranks given (even ones that contradict the values), a better value still never scores worse."""
    orgs, values, _ = panel
    ranks = [data.draw(st.one_of(st.none(), st.integers(1, 9))) for _ in range(values.height)]
    values = values.with_columns(pl.Series("tiebreak_rank", ranks, dtype=pl.Float64))
    got = _scores_by_key(score_metrics(values, orgs, RS))
    for (quarter, metric, _), members in _populations(values, orgs).items():
        for code_x, x in members:
            for code_y, y in members:
                if _better(SPEC[metric], x, y):
                    assert got[(quarter, metric, code_x)] <= got[(quarter, metric, code_y)] + EPS, (metric, x, y)


@settings(max_examples=30, deadline=None)
@given(panel=panels(), shuffle_seed=st.integers(0, 2**32 - 1))
def test_results_do_not_depend_on_row_order(panel: tuple[pl.DataFrame, ...], shuffle_seed: int) -> None:
    """Shuffling the input rows (values, organisations, flags) leaves every output frame identical once sorted."""
    orgs, values, flags = panel
    rng = random.Random(shuffle_seed)

    def shuffled(frame: pl.DataFrame) -> pl.DataFrame:
        order = list(range(frame.height))
        rng.shuffle(order)
        return frame[order]

    first = run(values, orgs, RS, flags)
    second = run(shuffled(values), shuffled(orgs), RS, shuffled(flags))
    _assert_results_equal(first, second)


SHIPPED_VALUES = st.one_of(
    st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.99, 1.0, 1.01, 30.0, 70.0, 75.0, 78.0, 80.0]),
    st.floats(-5, 100, allow_nan=False).map(lambda v: round(v, 2)),
)


@st.composite
def shipped_panels(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Random values for every metric of the shipped 2025/26 rule set, for acute, MH&C and ambulance trusts."""
    rs = load_ruleset("nof-2025-26")
    n = draw(st.integers(1, 8))
    codes = [f"T{i:03d}" for i in range(1, n + 1)]
    types = [draw(st.sampled_from(["acute", "mhc", "ambulance"])) for _ in codes]
    rows = []
    for code, org_type in zip(codes, types, strict=True):
        for m in rs.metrics:
            if isinstance(m.method, Lookup) or org_type not in m.org_types or not draw(st.booleans()):
                continue
            unit = m.unit
            if isinstance(m.method, ProvidedScore):
                value = float(draw(st.sampled_from(m.method.allowed or [1, 2, 3, 4])))
            elif m.unit_methods and draw(st.booleans()):
                unit, value = "count", float(draw(st.integers(0, 5)))
            else:
                value = draw(SHIPPED_VALUES)
            rows.append((Q1, code, m.id, value, unit))
    schema = {
        "quarter": pl.String,
        "org_code": pl.String,
        "metric_id": pl.String,
        "value": pl.Float64,
        "unit": pl.String,
    }
    return pl.DataFrame({"org_code": codes, "org_type": types}), pl.DataFrame(rows, schema=schema, orient="row")


@settings(max_examples=25, deadline=None)
@given(panel=shipped_panels())
def test_shipped_rule_set_scores_lie_between_one_and_four(panel: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    """The 2025/26 rule set, combined finance lookup and count-banded infection metrics included."""
    rs = load_ruleset("nof-2025-26")
    orgs, values = panel
    scores = score_metrics(values, orgs, rs)
    assert scores["score"].is_null().sum() == 0
    assert all(1.0 - EPS <= s <= 4.0 + EPS for s in scores["score"])
    # OF0080 exists exactly where both finance inputs were scored
    finance = values.filter(pl.col("metric_id").is_in(["OF0079", "OF0081"])).group_by("org_code").len()
    both = sorted(finance.filter(pl.col("len") == 2)["org_code"].to_list())
    assert sorted(scores.filter(pl.col("metric_id") == "OF0080")["org_code"].to_list()) == both


def test_synthetic_rule_set_has_the_families_it_claims() -> None:
    """Guard: the synthetic rule set really holds each family in both directions (else the properties are hollow)."""
    kinds = {(type(m.method).__name__, m.direction) for m in RS.metrics}
    for method in (GateFail, GateMeet, Bands):
        assert {(method.__name__, "higher"), (method.__name__, "lower")} <= kinds
    assert {("Continuous", "higher"), ("Continuous", "lower")} <= kinds


# --- steps 3-4: segments ----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(scores=org_scores(), method=st.integers(1, 9))
def test_unadjusted_segment_is_monotone_in_the_pooled_average(scores: pl.DataFrame, method: int) -> None:
    """A lower (better) average never gets a worse segment, equal averages share one, whatever the type."""
    rs = RS_BY_METHOD[method]
    seg = unadjusted_segments(scores, cutpoints(scores, None, rs), rs)
    pairs = sorted(seg.select("average_score", "unadjusted_segment").iter_rows())
    assert all(1 <= s <= 4 for _, s in pairs)
    for (avg_x, seg_x), (avg_y, seg_y) in itertools.pairwise(pairs):
        assert seg_x <= seg_y
        if avg_x == avg_y:
            assert seg_x == seg_y


@settings(max_examples=60, deadline=None)
@given(scores=org_scores(), method=st.integers(1, 7))
def test_unadjusted_segment_uses_pooled_quartiles(scores: pl.DataFrame, method: int) -> None:
    """seg = 1 if avg <= P25, 2 if <= P50, 3 if <= P75, else 4; quartiles over both types (numpy's quantiles)."""
    rs = RS_BY_METHOD[method]
    averages = scores["average_score"].to_list()
    cuts = [float(np.quantile(averages, p, method=NUMPY_METHOD[method])) for p in (0.25, 0.5, 0.75)]
    seg = unadjusted_segments(scores, cutpoints(scores, None, rs), rs)
    for avg, got in seg.select("average_score", "unadjusted_segment").iter_rows():
        assert got == expected_segment(avg, cuts), (avg, cuts)


@pytest.mark.parametrize(
    ("method", "averages", "org", "want"),
    [
        # type 8, P25 of {2.32, 2.48} is the minimum 2.32: the trust at 2.32 is at P25, so segment 1
        (8, [2.32, 2.48], "T001", 1),
        # type 9, P75 of these seven is 2.47 exactly (between the two 2.47s): both trusts at 2.47 are segment 3
        (9, [2.06, 2.08, 2.14, 2.15, 2.47, 2.47, 2.48], "T005", 3),
    ],
)
def test_average_equal_to_an_interpolated_cut_stays_in_the_better_segment(
    method: int, averages: list[float], org: str, want: int
) -> None:
    """An average equal to a quartile that lies between two equal averages belongs to the better segment."""
    rs = RS_BY_METHOD[method]
    n = len(averages)
    scores = pl.DataFrame(
        {
            "quarter": [Q1] * n,
            "org_code": [f"T{i:03d}" for i in range(1, n + 1)],
            "org_type": ["a"] * n,
            "n_items": [5] * n,
            "average_score_raw": averages,
            "average_score": averages,
        }
    )
    seg = unadjusted_segments(scores, cutpoints(scores, None, rs), rs)
    assert seg.filter(pl.col("org_code") == org)["unadjusted_segment"].item() == want


@st.composite
def segment_inputs(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Average scores plus override and intensive-support flags (True, False or not supplied)."""
    scores = draw(org_scores())
    maybe = st.sampled_from([True, False, None])
    flags = pl.DataFrame(
        {
            "quarter": scores["quarter"],
            "org_code": scores["org_code"],
            "financial_override": [draw(maybe) for _ in range(scores.height)],
            "intensive_support": [draw(maybe) for _ in range(scores.height)],
        },
        schema_overrides={"financial_override": pl.Boolean, "intensive_support": pl.Boolean},
    )
    return scores, flags


@settings(max_examples=60, deadline=None)
@given(data=segment_inputs())
def test_override_caps_and_never_improves_the_segment(data: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    """Adjusted = max(unadjusted, 3) when flagged, else unadjusted: never better, never better than the cap."""
    scores, flags = data
    seg = segment(scores, cutpoints(scores, None, RS), RS, flags)
    flag = dict(zip(flags["org_code"], flags["financial_override"], strict=True))
    for code, unadj, adj in seg.select("org_code", "unadjusted_segment", "adjusted_segment").iter_rows():
        assert adj >= unadj
        if flag[code]:
            assert adj >= CAP
            assert adj == max(unadj, CAP)
        else:
            assert adj == unadj


@settings(max_examples=60, deadline=None)
@given(data=segment_inputs())
def test_final_segment_is_five_exactly_for_intensive_support(data: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    """Final segment 5 for organisations on the intensive-support list; everyone else keeps the adjusted one."""
    scores, flags = data
    seg = segment(scores, cutpoints(scores, None, RS), RS, flags)
    support = dict(zip(flags["org_code"], flags["intensive_support"], strict=True))
    for code, adj, final in seg.select("org_code", "adjusted_segment", "final_segment").iter_rows():
        if support[code]:
            assert final == 5
        else:
            assert final == adj
            assert final != 5


@settings(max_examples=60, deadline=None)
@given(data=segment_inputs())
def test_amr_ranks_are_competition_ranks_within_type(data: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    """AMR: within a type, 1 + the number of organisations with a smaller (adjusted segment, average) key."""
    scores, flags = data
    seg = league_ranks(segment(scores, cutpoints(scores, None, RS), RS, flags), RS)
    for org_type in TYPES:
        part = seg.filter(pl.col("org_type") == org_type).sort("org_code")
        keys = list(zip(part["adjusted_segment"], part["average_score"], strict=True))
        ranks = part["amr_rank"].to_list()
        assert ranks == competition_ranks(keys)
        # 1-based, ties share a rank and the next rank skips the tie's size: rank r first appears at place r
        ordered = sorted(ranks)
        assert all(ordered.index(r) == r - 1 for r in ordered)


# --- quarter vectorisation --------------------------------------------------------------------------------


@st.composite
def multi_quarter(draw: st.DrawFn) -> tuple[list[str], pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Two or three quarters, each with its own organisations, values and flags (codes overlap across quarters)."""
    quarters = draw(st.sampled_from([[Q1, Q2], [Q1, Q3], [Q1, Q2, Q3]]))
    parts = [draw(panels(quarter=q, max_orgs=7)) for q in quarters]
    # an organisation keeps one type across quarters: take the type from the largest panel
    widest = max((p[0] for p in parts), key=lambda f: f.height)
    return (
        quarters,
        widest,
        pl.concat([p[1] for p in parts]),
        pl.concat([p[2] for p in parts]),
    )


@settings(max_examples=20, deadline=None)
@given(data=multi_quarter())
def test_many_quarters_in_one_call_match_each_quarter_alone(
    data: tuple[list[str], pl.DataFrame, pl.DataFrame, pl.DataFrame],
) -> None:
    """Scores, cut-points, segments, ranks and likely ranges of a quarter do not depend on the other quarters."""
    quarters, orgs, values, flags = data
    together = run(values, orgs, RS, flags)
    for quarter in quarters:
        alone = run(values.filter(pl.col("quarter") == quarter), orgs, RS, flags.filter(pl.col("quarter") == quarter))
        for name in EngineResult.__dataclass_fields__:
            part = getattr(together, name).filter(pl.col("quarter") == quarter)
            assert_frame_equal(_sorted(part), _sorted(getattr(alone, name)), check_exact=True, check_dtypes=False)
