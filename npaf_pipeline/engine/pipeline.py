"""The whole scoring run in one call: values -> scores -> items -> averages -> segments -> league tables."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from npaf_pipeline.engine.aggregate import aggregate, build_items, group_scores
from npaf_pipeline.engine.bootstrap import likely_ranges
from npaf_pipeline.engine.frames import require_columns
from npaf_pipeline.engine.league import domain_ranks, league_ranks, type_statistics, with_metric_ranks
from npaf_pipeline.engine.scoring import prepare_values, score_prepared
from npaf_pipeline.engine.segment import cutpoints, domain_segments, override_columns, segment
from npaf_pipeline.ruleset.model import RuleSet


@dataclass(frozen=True)
class EngineResult:
    """Every intermediate stage, so each can be published, explained and reconciled.

    :func:`run` returns its frames compact, so that a long range holds its result in about half the memory:
    text columns (quarter, organisation, type, metric, ...) as ``pl.Categorical``, a cell 1, 2 or 4 bytes
    (:func:`compact_dtype`) where polars' strings take 16 and more, and whole numbers (ranks, counts, segments)
    as ``Int32``. Expressions (filters, ``is_in``, lexical sorts, group-bys) read the categoricals as text, and
    the frames of results join on them. Two things need :meth:`as_text` first (or the other side cast to
    :func:`compact_dtype`): a join with a frame of ``String`` keys, and comparing a ``Series`` with a Python
    string (``frame["quarter"] == q``; polars does not take a scalar there for categoricals with their own
    categories, where ``pl.col("quarter") == q`` works).
    """

    metric_scores: pl.DataFrame
    type_statistics: pl.DataFrame
    items: pl.DataFrame
    domain_scores: pl.DataFrame
    group_scores: pl.DataFrame
    cutpoints: pl.DataFrame
    segmentation: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        """Each frame by its field name."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def as_text(self) -> EngineResult:
        """The frames as the stages give them: categorical columns as ``String``, ``Int32`` as ``Int64``."""
        cast = [pl.col(pl.Categorical).cast(pl.String), pl.col(pl.Int32).cast(pl.Int64)]
        return EngineResult(**{n: f.with_columns(cast) for n, f in self.frames().items()})

    def as_categorical(self) -> EngineResult:
        """The frames compact, as :func:`run` returns them: ``String`` columns categorical
        (:func:`compact_dtype`), ``Int64`` as ``Int32``."""
        return EngineResult(**{n: _compact(f) for n, f in self.frames().items()})


_NARROW: dict[str, type[pl.DataType]] = {
    **dict.fromkeys(
        ("quarter", "org_type", "unit", "method", "population", "domain", "target", "override_source"), pl.UInt8
    ),
    **dict.fromkeys(("metric_id", "score_id", "item_id", "group_id"), pl.UInt16),
}
"""Text columns whose values come from a small vocabulary, with the width of their codes: quarters, types,
units, methods, populations, domains and segment targets (1 byte, up to 256 distinct values in a process), and
the rule sets' identifiers (2 bytes, up to 65,536). Organisation codes and any other text column take polars'
default (4-byte codes), as does a column whose vocabulary outgrows its codes (:func:`_compact`)."""


def compact_dtype(column: str) -> pl.DataType:
    """The categorical type :func:`run` gives a text column: codes 1 or 2 bytes wide for a column of
    :data:`_NARROW`, shared by every result in the process (so results join and concatenate), else
    ``pl.Categorical``."""
    physical = _NARROW.get(column)
    if physical is None:
        return pl.Categorical()
    return pl.Categorical(pl.Categories(column, "npaf_pipeline.engine", physical))


def _compact(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with each ``String`` column as :func:`compact_dtype` and each ``Int64`` as ``Int32`` (the engine's
    whole numbers count organisations, items or segments: a cast that would overflow raises). A text column
    whose vocabulary has outgrown its codes in this process takes 4-byte codes instead (:func:`_concat`
    reconciles the batches)."""
    frame = frame.with_columns(pl.col(pl.Int64).cast(pl.Int32))
    for column in (c for c, t in frame.schema.items() if t == pl.String):
        try:
            frame = frame.with_columns(pl.col(column).cast(compact_dtype(column)))
        except pl.exceptions.ComputeError:
            frame = frame.with_columns(pl.col(column).cast(pl.Categorical()))
    return frame


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The batches' frames one after the other; a column whose categorical type differs between batches (see
    :func:`_compact`) takes 4-byte codes in all of them."""
    types = {c: {f.schema[c] for f in frames} for c in frames[0].columns}
    mixed = [c for c, t in types.items() if len(t) > 1 and all(isinstance(d, pl.Categorical) for d in t)]
    if mixed:
        frames = [f.with_columns(pl.col(c).cast(pl.String).cast(pl.Categorical()) for c in mixed) for f in frames]
    return pl.concat(frames, how="vertical_relaxed")


def wide_inputs(
    values: pl.DataFrame, domain_scores: pl.DataFrame | None = None, columns: set[str] | None = None
) -> pl.DataFrame:
    """One row per (quarter, organisation) with ``value__<metric>`` and ``domain__<domain>`` columns.

    ``columns`` limits the frame to the columns a condition reads (all metrics and domains when ``None``).
    """
    if columns is not None:
        metrics = [c.removeprefix("value__") for c in columns if c.startswith("value__")]
        domains = [c.removeprefix("domain__") for c in columns if c.startswith("domain__")]
        values = values.filter(pl.col("metric_id").is_in(metrics))
        if domain_scores is not None:
            domain_scores = domain_scores.filter(pl.col("domain").is_in(domains))
    wide = values.filter(pl.col("value").is_not_null()).pivot(
        on="metric_id", index=["quarter", "org_code"], values="value", aggregate_function="first"
    )
    wide = wide.rename({c: f"value__{c}" for c in wide.columns if c not in ("quarter", "org_code")})
    if domain_scores is not None and domain_scores.height:
        dom = domain_scores.pivot(on="domain", index=["quarter", "org_code"], values="score_raw")
        dom = dom.rename({c: f"domain__{c}" for c in dom.columns if c not in ("quarter", "org_code")})
        wide = wide.join(dom, on=["quarter", "org_code"], how="full", coalesce=True)
    return wide


@dataclass(frozen=True)
class ScoreStage:
    metric_scores: pl.DataFrame
    type_statistics: pl.DataFrame


@dataclass(frozen=True)
class AggregateStage:
    items: pl.DataFrame
    org_scores: pl.DataFrame
    domain_scores: pl.DataFrame
    group_scores: pl.DataFrame


@dataclass(frozen=True)
class SegmentStage:
    cutpoints: pl.DataFrame
    domain_scores: pl.DataFrame
    segmentation: pl.DataFrame


def score_stage(values: pl.DataFrame, orgs: pl.DataFrame, rs: RuleSet) -> ScoreStage:
    """Step 1: metric scores with their individual metric ranks, and per-type medians and quartiles."""
    require_columns(values, ["quarter", "org_code", "metric_id", "value"], "metric values")
    prepared = prepare_values(values, orgs)
    scores = score_prepared(prepared, rs)
    return ScoreStage(with_metric_ranks(scores, rs), type_statistics(prepared))


def aggregate_stage(scores: pl.DataFrame, rs: RuleSet) -> AggregateStage:
    """Step 2: items, average metric score, domain scores and domain-group scores."""
    items = build_items(scores, rs)
    org_scores, dom = aggregate(items, rs)
    return AggregateStage(items, org_scores, dom, group_scores(dom, rs))


def segment_stage(
    agg: AggregateStage,
    values: pl.DataFrame,
    rs: RuleSet,
    flags: pl.DataFrame | None = None,
    system_tests: pl.DataFrame | None = None,
    with_ranges: bool = True,
) -> SegmentStage:
    """Steps 3-4 and league tables: cut-points, segments, override, segment 5, ranks, likely ranges."""
    cuts = cutpoints(agg.org_scores, agg.domain_scores, rs)
    dom = domain_ranks(domain_segments(agg.domain_scores, cuts, rs))
    needs = override_columns(rs)
    wide = wide_inputs(values, dom, needs) if needs else None
    seg = segment(agg.org_scores, cuts, rs, flags, wide, system_tests)
    seg = league_ranks(seg, rs)
    if with_ranges:
        seg = seg.join(likely_ranges(agg.items, seg, rs), on=["quarter", "org_code"], how="left")
    return SegmentStage(cuts, dom, seg.sort("quarter", "org_code"))


BATCH_ROWS = 250_000
"""Value rows scored together at most (whole quarters; one quarter may exceed it). Quarters are independent,
so a long range is run in batches of quarters: the intermediate frames of one batch are freed before the next,
and peak memory follows the batch rather than the range."""


def run(
    values: pl.DataFrame,
    orgs: pl.DataFrame,
    rs: RuleSet,
    flags: pl.DataFrame | None = None,
    system_tests: pl.DataFrame | None = None,
    with_ranges: bool = True,
) -> EngineResult:
    """Score, aggregate, segment and rank every quarter present in ``values``.

    Every quarter is scored on its own (populations, cut-points, ranks and likely ranges are per quarter), so
    the quarters are run in batches of about :data:`BATCH_ROWS` value rows and the batches' results joined in
    quarter order: the same rows as one pass over all quarters, and every frame that one pass sorts by quarter
    first stays sorted. Each batch's text columns become categorical before the next batch runs (see
    :class:`EngineResult`), so the result grows by its compact form only.
    """
    require_columns(values, ["quarter", "org_code", "metric_id", "value"], "metric values")
    batches = quarter_batches(values, BATCH_ROWS)
    if len(batches) <= 1:
        return _run_all(values, orgs, rs, flags, system_tests, with_ranges)
    parts = [
        _run_all(
            _in(values, batch),
            _in(orgs, batch),
            rs,
            _in(flags, batch),
            _in(system_tests, batch),
            with_ranges,
        )
        for batch in batches
    ]
    return EngineResult(
        **{name: _concat([getattr(p, name) for p in parts]) for name in EngineResult.__dataclass_fields__}
    )


def quarter_batches(values: pl.DataFrame, max_rows: int) -> list[list[str]]:
    """Consecutive quarters (in label order, which is time order) grouped so that a batch has at most
    ``max_rows`` value rows, or a single quarter."""
    counts = values.group_by("quarter").len().sort("quarter")
    batches: list[list[str]] = []
    rows = 0
    for quarter, n in counts.iter_rows():
        if not batches or rows + n > max_rows:
            batches.append([])
            rows = 0
        batches[-1].append(quarter)
        rows += n
    return batches


def _in(frame: pl.DataFrame | None, quarters: list[str]) -> pl.DataFrame | None:
    """The rows of ``frame`` for ``quarters`` (all of it when it has no quarter column)."""
    if frame is None or "quarter" not in frame.columns:
        return frame
    return frame.filter(pl.col("quarter").is_in(quarters))


def _run_all(
    values: pl.DataFrame,
    orgs: pl.DataFrame,
    rs: RuleSet,
    flags: pl.DataFrame | None,
    system_tests: pl.DataFrame | None,
    with_ranges: bool,
) -> EngineResult:
    """One pass over the quarters of ``values``, its frames compact (:meth:`EngineResult.as_categorical`). The
    metric scores are made compact as soon as the aggregate stage has read them, before the segment stage (the
    batch's largest) runs."""
    scored = score_stage(values, orgs, rs)
    agg = aggregate_stage(scored.metric_scores, rs)
    metric_scores, type_stats = _compact(scored.metric_scores), _compact(scored.type_statistics)
    del scored
    seg = segment_stage(agg, values, rs, flags, system_tests, with_ranges)
    return EngineResult(
        metric_scores=metric_scores,
        type_statistics=type_stats,
        items=_compact(agg.items),
        domain_scores=_compact(seg.domain_scores),
        group_scores=_compact(agg.group_scores),
        cutpoints=_compact(seg.cutpoints),
        segmentation=_compact(seg.segmentation),
    )
