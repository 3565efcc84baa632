"""The framework rule set: every rule that differs between framework years, as validated data.

A rule set is one YAML file (``npaf_pipeline/frameworks/<id>.yaml``). The engine reads nothing about the
framework from anywhere else, so a new year is a new file, not a code change.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

METRIC_ID = re.compile(r"^OF0[0-9]{3}$")
Op = Literal[">=", ">", "<=", "<", "==", "!="]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- conditions (used by gates, bands, the override and its exemptions) ---------------------------------


class Compare(_Strict):
    """``value <op> threshold``; on a metric's own value when neither ``metric`` nor ``domain`` is named."""

    op: Op
    value: float
    metric: str | None = Field(None, description="metric whose raw value is compared (OF0xxx)")
    domain: str | None = Field(None, description="domain whose score is compared")

    @model_validator(mode="after")
    def _one_subject(self) -> Compare:
        if self.metric and self.domain:
            raise ValueError("name either 'metric' or 'domain', not both")
        return self


class AnyOf(_Strict):
    any: list[Condition]


class AllOf(_Strict):
    all: list[Condition]


Condition = Compare | AnyOf | AllOf
AnyOf.model_rebuild()
AllOf.model_rebuild()


# --- scoring methods --------------------------------------------------------------------------------------


class Continuous(_Strict):
    """Competition rank in the scoring population mapped linearly onto best..worst."""

    family: Literal["continuous"]
    best: float = 1.0
    worst: float = 4.0


class GateFail(_Strict):
    """Meeting the standard scores ``meet_score``; failers are ranked among themselves onto fail_best..fail_worst."""

    family: Literal["gate_fail"]
    standard: Compare
    meet_score: float = 1.0
    fail_best: float = 2.0
    fail_worst: float = 4.0


class GateMeet(_Strict):
    """Failing the standard scores ``fail_score``; meeters are ranked among themselves onto meet_best..meet_worst."""

    family: Literal["gate_meet"]
    standard: Compare
    fail_score: float = 4.0
    meet_best: float = 1.0
    meet_worst: float = 3.0


class Band(_Strict):
    """One band: the first band whose condition holds gives the score; a band with no ``op`` catches the rest."""

    score: float
    op: Op | None = None
    value: float | None = None

    @model_validator(mode="after")
    def _op_and_value(self) -> Band:
        if (self.op is None) != (self.value is None):
            raise ValueError("a band needs both 'op' and 'value', or neither (a catch-all band)")
        return self


class Bands(_Strict):
    family: Literal["bands"]
    bands: list[Band] = Field(min_length=1)


class Lookup(_Strict):
    """A score looked up from the scores of two input metrics: ``table[row_score-1][col_score-1]``."""

    family: Literal["lookup"]
    inputs: tuple[str, str]
    table: list[list[float]]

    @field_validator("table")
    @classmethod
    def _square(cls, table: list[list[float]]) -> list[list[float]]:
        if not table or any(len(row) != len(table) for row in table):
            raise ValueError("lookup table must be square (one row and column per score 1..n)")
        return table


class ProvidedScore(_Strict):
    """The input value already is the score (published score-only metrics, external bandings)."""

    family: Literal["provided_score"]
    allowed: list[float] | None = None


Method = Annotated[Continuous | GateFail | GateMeet | Bands | Lookup | ProvidedScore, Field(discriminator="family")]


# --- metrics, items, domains ------------------------------------------------------------------------------


class Metric(_Strict):
    id: str
    name: str
    org_types: list[str] = Field(min_length=1)
    domain: str
    sub_domain: str | None = None
    unit: str
    direction: Literal["higher", "lower"] | None = None
    method: Method
    unit_methods: dict[str, Method] = Field(
        default_factory=dict,
        description="rows published in another unit are scored by this method instead, outside the main population",
    )
    scoring_population: Literal["all_reporting", "same_type"] = "same_type"
    period_basis: str
    role: Literal["scored", "input"] = "scored"
    valid_range: tuple[float | None, float | None] | None = Field(
        None,
        description=(
            "the plausible range [low, high]: values outside it (or not finite) are quarantined. Both bounds finite "
            "numbers for a scored metric (a count has an upper bound too); an input may leave a side open (null)"
        ),
    )
    rank_by: Literal["value", "score"] = Field(
        "value", description="what the published individual metric rank (IMR) orders: the value or the score"
    )
    item: str | None = Field(None, description="composite item the score is combined into (else its own item)")
    average_precision: int | None = Field(
        None, description="decimal places the score is rounded to before entering averages (None: unrounded)"
    )
    display_precision: int = Field(2, ge=0, le=6, description="decimal places the value is published (and stated) to")
    unit_display_precision: dict[str, int] = Field(
        default_factory=dict, description="display precision of rows published in another unit (e.g. count: 0)"
    )
    confidence: Literal["SRC", "DATA", "INF", "UNK"] = "DATA"
    notes: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not METRIC_ID.match(value):
            raise ValueError(f"metric id must look like OF0xxx, got {value!r}")
        return value

    @property
    def score_id(self) -> str:
        """NHS England's id for the metric's score row (OF0xxx -> OF1xxx)."""
        return "OF1" + self.id[3:]

    @model_validator(mode="after")
    def _finite_range(self) -> Metric:
        """``[0, .inf]`` would let ``1e308`` through as a plausible value: every bound given is a finite number,
        and a scored metric bounds both sides."""
        if self.valid_range is None:
            return self
        low, high = self.valid_range
        for side, bound in (("low", low), ("high", high)):
            if bound is not None and not math.isfinite(bound):
                raise ValueError(f"metric {self.id}: valid_range {side} bound {bound} is not a finite number")
            if bound is None and self.role == "scored":
                raise ValueError(
                    f"metric {self.id}: valid_range needs a finite {side} bound for a scored metric (no open side)"
                )
        if low is not None and high is not None and low > high:
            raise ValueError(f"metric {self.id}: valid_range low bound {low} is above the high bound {high}")
        return self

    @model_validator(mode="after")
    def _direction_when_ranked(self) -> Metric:
        ranked = [self.method, *self.unit_methods.values()]
        if any(isinstance(m, Continuous | GateFail | GateMeet) for m in ranked) and self.direction is None:
            raise ValueError("a ranked method (continuous, gate_fail, gate_meet) needs 'direction'")
        return self


class Item(_Strict):
    """A composite scored item: several metric scores combined into one before averaging."""

    id: str
    name: str
    domain: str
    combine: Literal["mean"] = "mean"


class Domain(_Strict):
    id: str
    name: str
    score_id: str | None = Field(None, description="published id of the domain score, e.g. OF4000")
    segment_id: str | None = Field(None, description="published id of the domain segment, e.g. OF4100")


class OrgType(_Strict):
    label: str
    aliases: list[str] = Field(default_factory=list, description="other spellings in published files")


class Group(_Strict):
    """A group of domains with a weight, for frameworks that build the overall score from domain scores."""

    id: str
    name: str
    domains: list[str] = Field(min_length=1)
    weight: float = Field(gt=0)


class Aggregation(_Strict):
    overall: Literal["item_mean", "weighted_groups"] = "item_mean"
    groups: list[Group] = Field(default_factory=list)
    average_precision: int = 2
    domain_precision: int = 2
    rounding: Literal["half_up", "half_even"] = "half_up"

    @model_validator(mode="after")
    def _groups(self) -> Aggregation:
        if self.overall == "weighted_groups" and not self.groups:
            raise ValueError("overall 'weighted_groups' needs at least one group")
        return self


# --- segmentation, override, segment 5, league tables, bootstrap ------------------------------------------


class SegmentPopulation(_Strict):
    """Organisations segmented together, with the rule that turns their average score into segments 1..4."""

    id: str
    org_types: list[str] = Field(min_length=1)
    mode: Literal["pooled_quantiles", "fixed_thresholds"]
    quantile_method: int = Field(7, ge=1, le=9, description="Hyndman-Fan sample quantile type")
    probabilities: list[float] = Field(default_factory=lambda: [0.25, 0.5, 0.75])
    thresholds: list[float] | None = Field(
        None, description="fixed cut-points for segments 1|2, 2|3, 3|4; None refuses to segment"
    )
    boundary: Literal["le", "lt"] = Field("le", description="a score equal to a cut-point goes below it (le)")
    domain_segments: bool = True

    @model_validator(mode="after")
    def _cuts(self) -> SegmentPopulation:
        probs = self.probabilities
        if sorted(probs) != probs or any(not 0 < p < 1 for p in probs):
            raise ValueError("probabilities must be increasing and strictly between 0 and 1")
        if self.thresholds is not None and sorted(self.thresholds) != self.thresholds:
            raise ValueError("thresholds must be increasing")
        return self


class Override(_Strict):
    """The financial override: a flagged organisation is no better than ``cap_segment``."""

    source: Literal["input", "proxy", "input_else_proxy", "none"] = "input"
    cap_segment: int = Field(3, ge=1, le=4)
    proxy: Condition | None = None
    exempt: Condition | None = Field(None, description="organisations meeting this are never capped")
    org_types: list[str] | None = Field(None, description="types the override applies to (None: all)")

    @model_validator(mode="after")
    def _proxy(self) -> Override:
        if self.source in ("proxy", "input_else_proxy") and self.proxy is None:
            raise ValueError(f"source {self.source!r} needs a 'proxy' condition")
        return self


class IntensiveSupport(_Strict):
    """Segment 5: an external decision (RSP/PIP list), applied after the override."""

    segment: int = 5
    source: Literal["input", "none"] = "input"


class SystemTest(_Strict):
    id: str
    name: str
    kind: Literal["input_flag", "lowest_quartile_every_month", "highest_quartile", "lowest_quartile", "deficit"]
    params: dict[str, float | str | list[str]] = Field(default_factory=dict)


class SystemAdjustment(_Strict):
    """Whole-system tests that move an organisation's segment (draft NPAF)."""

    org_types: list[str] = Field(min_length=1)
    tests: list[SystemTest] = Field(min_length=1)
    worsen_by: int = Field(1, ge=0, le=3)
    when_failed_at_least: int = Field(1, ge=1)
    max_segment: int = Field(4, ge=1, le=4)
    quantile_method: int = Field(7, ge=1, le=9, description="Hyndman-Fan type of the quartiles the tests use")
    quartile_boundary: Literal["inclusive", "exclusive"] = Field(
        "inclusive", description="inclusive: an organisation exactly on the quartile is in that quartile"
    )
    defaults_ours: list[str] = Field(
        default_factory=list,
        description="settings (paths relative to system_adjustment) whose values the framework leaves open",
    )

    @model_validator(mode="after")
    def _known(self) -> SystemAdjustment:
        ids = [t.id for t in self.tests]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"tests: duplicate ids {dupes}")
        bad = [path for path in self.defaults_ours if not _resolves(self, path)]
        if bad:
            raise ValueError(f"defaults_ours: no such setting {bad}")
        return self


class League(_Strict):
    rank_within: Literal["org_type"] = "org_type"
    order: list[Literal["adjusted_segment", "average_score"]] = Field(
        default_factory=lambda: ["adjusted_segment", "average_score"]
    )


class Bootstrap(_Strict):
    method: Literal["exact", "monte_carlo"] = Field(
        "monte_carlo",
        description="exact: the ideal bootstrap (every resample, no Monte Carlo error; plain item means only); "
        "monte_carlo: seeded replicates",
    )
    exact_rank_max_population: int = Field(
        400,
        ge=1,
        description="exact: league tables up to this size get exact rank distributions, larger ones the "
        "refined normal approximation of the Poisson-binomial count",
    )
    exact_grid_decimals: int = Field(
        5,
        ge=0,
        le=8,
        description="exact: finest grid (decimals of a point) on which unrounded item scores are bracketed",
    )
    replicates: int = Field(1000, ge=10, description="monte_carlo: number of replicates")
    seed: int = Field(20250901, description="monte_carlo: seed (with the quarter)")
    level: float = Field(0.95, gt=0, lt=1)
    cutpoints: Literal["observed", "recomputed"] = Field(
        "observed", description="segment cut-points in each replicate: the quarter's own, or recomputed"
    )


class ChangeSignificance(_Strict):
    """When a quarter-on-quarter change in average score counts as significant (NHS England's threshold is not
    published: this is the project's rule, see docs/explain.md).

    ``bootstrap``: the bootstrap distribution of (mean of the current quarter's items resampled with replacement)
    minus (mean of the previous quarter's items resampled), computed exactly by convolution on a lattice of
    ``resolution`` score points rather than by random draws; the change is significant when 0 lies outside its
    central ``level`` interval. ``absolute_change``: significant when |change| >= ``min_change``.
    """

    method: Literal["bootstrap", "absolute_change"] = "bootstrap"
    level: float = Field(0.95, gt=0, lt=1)
    resolution: float = Field(0.01, gt=0, le=0.05, description="bootstrap: score lattice of the exact computation")
    min_change: float | None = Field(None, gt=0, description="absolute_change: smallest |change| that is significant")

    @model_validator(mode="after")
    def _threshold(self) -> ChangeSignificance:
        if self.method == "absolute_change" and self.min_change is None:
            raise ValueError("method 'absolute_change' needs 'min_change'")
        return self


class Ranking(_Strict):
    published_rank_tiebreak: bool = Field(
        True, description="order equal displayed values by the published within-type rank when it is given"
    )


class RuleSet(_Strict):
    id: str
    name: str
    version: str
    status: Literal["final", "draft", "illustrative"] = "final"
    source: str | None = None
    organisation_types: dict[str, OrgType]
    domains: list[Domain] = Field(min_length=1)
    items: list[Item] = Field(default_factory=list)
    metrics: list[Metric] = Field(min_length=1)
    aggregation: Aggregation = Field(default_factory=Aggregation)
    segmentation: list[SegmentPopulation] = Field(default_factory=list)
    override: Override = Field(default_factory=Override)
    intensive_support: IntensiveSupport = Field(default_factory=IntensiveSupport)
    system_adjustment: SystemAdjustment | None = None
    league: League = Field(default_factory=League)
    bootstrap: Bootstrap = Field(default_factory=Bootstrap)
    change_significance: ChangeSignificance = Field(default_factory=ChangeSignificance)
    ranking: Ranking = Field(default_factory=Ranking)
    reporting_only_org_types: list[str] = Field(
        default_factory=list,
        description="types scored and reported but never segmented (e.g. ICBs in 2025/26)",
    )
    segment_descriptions: dict[int, str] = Field(
        default_factory=dict, description="what each segment means (support, intervention ...), by segment number"
    )
    defaults_ours: list[str] = Field(
        default_factory=list,
        description="settings (dotted paths, list items by id: 'aggregation.groups[short_term].weight') whose "
        "values are this project's choice where the framework leaves the rule open",
    )

    # -- cross-references ----------------------------------------------------------------------------------
    @model_validator(mode="after")
    def _references(self) -> RuleSet:
        problems: list[str] = []
        types = set(self.organisation_types)
        domains = {d.id for d in self.domains}
        items = {i.id: i for i in self.items}
        metric_ids = [m.id for m in self.metrics]
        dupes = sorted({m for m in metric_ids if metric_ids.count(m) > 1})
        if dupes:
            problems.append(f"metrics: duplicate ids {dupes}")
        by_id = {m.id: m for m in self.metrics}
        for m in self.metrics:
            where = f"metrics[{m.id}]"
            if m.domain not in domains:
                problems.append(f"{where}.domain: unknown domain {m.domain!r} (known: {sorted(domains)})")
            for t in m.org_types:
                if t not in types:
                    problems.append(f"{where}.org_types: unknown organisation type {t!r}")
            if m.item is not None:
                if m.item not in items:
                    problems.append(f"{where}.item: unknown item {m.item!r}")
                elif items[m.item].domain != m.domain:
                    problems.append(f"{where}.item: item {m.item!r} is in another domain")
            if isinstance(m.method, Lookup):
                for inp in m.method.inputs:
                    if inp not in by_id:
                        problems.append(f"{where}.method.inputs: unknown metric {inp!r}")
                    elif by_id[inp].role != "input":
                        problems.append(f"{where}.method.inputs: {inp} must have role 'input'")
        for d in self.domains:
            if not any(m.domain == d.id for m in self.metrics):
                problems.append(f"domains[{d.id}]: no metric belongs to it")
        segmented: list[str] = []
        for pop in self.segmentation:
            for t in pop.org_types:
                if t not in types:
                    problems.append(f"segmentation[{pop.id}].org_types: unknown organisation type {t!r}")
                segmented.append(t)
        twice = sorted({t for t in segmented if segmented.count(t) > 1})
        if twice:
            problems.append(f"segmentation: organisation types in more than one population: {twice}")
        for g in self.aggregation.groups:
            for d in g.domains:
                if d not in domains:
                    problems.append(f"aggregation.groups[{g.id}].domains: unknown domain {d!r}")
        for t in self.reporting_only_org_types:
            if t in segmented:
                problems.append(f"reporting_only_org_types: {t!r} is also segmented")
        sa = self.system_adjustment
        if sa is not None:
            for t in sa.org_types:
                if t not in types:
                    problems.append(f"system_adjustment.org_types: unknown organisation type {t!r}")
        top = max(4, self.intensive_support.segment)
        for number in self.segment_descriptions:
            if not 1 <= number <= top:
                problems.append(f"segment_descriptions: segment {number} is not 1..{top}")
        for path in self.defaults_ours:
            if not _resolves(self, path):
                problems.append(f"defaults_ours: no such setting {path!r}")
        for cond, where in (
            (self.override.proxy, "override.proxy"),
            (self.override.exempt, "override.exempt"),
        ):
            for leaf in _leaves(cond):
                if leaf.metric and leaf.metric not in by_id:
                    problems.append(f"{where}: unknown metric {leaf.metric!r}")
                if leaf.domain and leaf.domain not in domains:
                    problems.append(f"{where}: unknown domain {leaf.domain!r}")
        if self.bootstrap.method == "exact":
            if self.aggregation.overall != "item_mean":
                problems.append(
                    "bootstrap.method: exact needs aggregation.overall item_mean (weighted domain groups are "
                    "resampled domain by domain: use monte_carlo)"
                )
            if self.bootstrap.cutpoints != "observed":
                problems.append("bootstrap.method: exact needs bootstrap.cutpoints observed")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- convenience ---------------------------------------------------------------------------------------
    def metric(self, metric_id: str) -> Metric:
        for m in self.metrics:
            if m.id == metric_id:
                return m
        raise KeyError(f"rule set {self.id} has no metric {metric_id}")

    def org_type_key(self, label: str) -> str | None:
        """The rule set's key for a published trust-type label (any known spelling), or None."""
        norm = label.strip().lower()
        for key, t in self.organisation_types.items():
            if norm in {key.lower(), t.label.lower(), *(a.lower() for a in t.aliases)}:
                return key
        return None

    def population_of(self, org_type: str) -> SegmentPopulation | None:
        for pop in self.segmentation:
            if org_type in pop.org_types:
                return pop
        return None


def _leaves(cond: Condition | None) -> list[Compare]:
    if cond is None:
        return []
    if isinstance(cond, Compare):
        return [cond]
    children = cond.any if isinstance(cond, AnyOf) else cond.all
    return [leaf for child in children for leaf in _leaves(child)]


_STEP = re.compile(r"^(?P<name>[A-Za-z_]\w*)(?:\[(?P<key>[^\]]+)\])?$")


def resolve_setting(root: object, path: str) -> object:
    """The value of a setting named by a dotted path; ``name[key]`` picks a list item by id or a mapping entry.

    ``aggregation.groups[short_term].weight``, ``segmentation[trusts].mode``, ``tests[deficit].params.deficit_over``.
    Raises ``KeyError`` naming the path when a step does not exist.
    """
    node: object = root
    for step in path.split("."):
        match = _STEP.match(step)
        if match is None:
            raise KeyError(f"{path}: cannot read step {step!r}")
        name, key = match["name"], match["key"]
        node = _child(node, name, path)
        if key is not None:
            node = _item(node, key, path)
    return node


def _child(node: object, name: str, path: str) -> object:
    if isinstance(node, BaseModel) and name in type(node).model_fields:
        return getattr(node, name)
    if isinstance(node, dict):
        return _item(node, name, path)
    raise KeyError(f"{path}: no setting {name!r}")


def _item(node: object, key: str, path: str) -> object:
    if isinstance(node, list):
        for x in node:
            if getattr(x, "id", None) == key:
                return x
    if isinstance(node, dict):
        for k in (key, int(key) if key.isdigit() else key):
            if k in node:
                return node[k]
    raise KeyError(f"{path}: no entry {key!r}")


def _resolves(root: object, path: str) -> bool:
    try:
        resolve_setting(root, path)
    except KeyError:
        return False
    return True
