"""Likely ranges of average score and league rank: a percentile bootstrap of each organisation's items.

``bootstrap.method`` in the rule set chooses how. ``exact`` computes the ideal bootstrap (every possible
resample, weighted by its probability: :mod:`npaf_pipeline.engine.exact_bootstrap`), so the bounds carry no
Monte Carlo error; it needs the average to be a plain item mean. ``monte_carlo`` draws seeded replicates
(the only choice for weighted domain groups, where each domain is resampled on its own).

Each replicate resamples every organisation's own item scores with replacement, recomputes its average,
re-applies the quarter's cut-points and the financial override, and re-ranks within type by (segment,
average). Seeds derive from the rule set's seed and the quarter, so a quarter's ranges do not depend on
which other quarters are in the same call.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import polars as pl

from npaf_pipeline.engine import exact_bootstrap
from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.ruleset.model import RuleSet

_MAX_CELLS = 20_000_000  # replicates x organisations x items held in memory at once


def _quarter_seed(label: str) -> int:
    try:
        return parse_quarter(label).index
    except ValueError:
        return zlib.crc32(label.encode())


def likely_ranges(items: pl.DataFrame, segmentation: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """Per (quarter, organisation): average_low/high and rank_low/high at the rule set's level."""
    cfg = rs.bootstrap
    out: list[pl.DataFrame] = []
    for quarter in sorted(segmentation["quarter"].unique().to_list()):
        seg_q = segmentation.filter(pl.col("quarter") == quarter).sort("org_code")
        items_q = items.filter(pl.col("quarter") == quarter)
        if cfg.method == "exact":
            out.append(_exact_quarter(quarter, seg_q, items_q, rs))
        else:
            seed = [cfg.seed, _quarter_seed(quarter)]
            out.append(_one_quarter(quarter, seg_q, items_q, rs, cfg.replicates, seed))
    if not out:
        return pl.DataFrame(
            schema={
                "quarter": pl.String,
                "org_code": pl.String,
                "average_low": pl.Float64,
                "average_high": pl.Float64,
                "rank_low": pl.Int64,
                "rank_high": pl.Int64,
            }
        )
    return pl.concat(out)


def _one_quarter(
    quarter: str, seg: pl.DataFrame, items: pl.DataFrame, rs: RuleSet, replicates: int, seed: list[int]
) -> pl.DataFrame:
    codes = seg["org_code"].to_list()
    t = len(codes)
    strata = _Strata.of(rs)
    mat, n = _item_matrix(codes, items, strata)
    rng = np.random.default_rng(seed)
    means = np.empty((replicates, t))
    _, s_count, width = mat.shape
    safe_n = np.maximum(n, 1)
    chunk = max(1, _MAX_CELLS // max(1, t * s_count * width))
    rows = np.arange(t)[None, :, None, None]
    layers = np.arange(s_count)[None, None, :, None]
    mask = np.arange(width)[None, None, None, :] < n[None, :, :, None]
    for start in range(0, replicates, chunk):
        b = min(chunk, replicates - start)
        idx = np.floor(rng.random((b, t, s_count, width)) * safe_n[None, :, :, None]).astype(np.int64)
        stratum_means = (mat[rows, layers, idx] * mask).sum(axis=3) / safe_n[None, :, :]
        means[start : start + b] = strata.combine(stratum_means, n)
    lo_q, hi_q = (1 - rs.bootstrap.level) / 2, 1 - (1 - rs.bootstrap.level) / 2
    precision = _precision(rs)
    scale = 10.0**precision
    avg_r = np.floor(means * scale + 0.5 + 1e-9) / scale
    avg_low = np.quantile(avg_r, lo_q, axis=0)
    avg_high = np.quantile(avg_r, hi_q, axis=0)
    has_items = n.sum(axis=1) > 0
    rank_low, rank_high = _rank_ranges(seg, avg_r, scale, has_items, rs, (lo_q, hi_q))
    return _frame(
        quarter, codes, np.round(avg_low, precision), np.round(avg_high, precision), (rank_low, rank_high), has_items
    )


def _exact_quarter(quarter: str, seg: pl.DataFrame, items: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """The ideal bootstrap of one quarter (see :mod:`npaf_pipeline.engine.exact_bootstrap`)."""
    codes = seg["org_code"].to_list()
    t = len(codes)
    levels = ((1 - rs.bootstrap.level) / 2, 1 - (1 - rs.bootstrap.level) / 2)
    precision = _precision(rs)
    scale = 10**precision
    pos = pl.DataFrame({"org_code": codes, "_org": np.arange(t, dtype=np.int64)})
    placed = items.join(pos, on="org_code", how="inner").sort("_org", "item_id")
    org = placed["_org"].to_numpy()
    values = placed["score"].to_numpy().astype(np.float64)
    bounds = np.searchsorted(org, np.arange(t + 1))
    scores = [values[bounds[i] : bounds[i + 1]] for i in range(t)]
    dist = exact_bootstrap.mean_distributions(scores, precision, levels, rs.bootstrap.exact_grid_decimals)
    has_items = dist.low >= 0
    avg_low = np.where(has_items, dist.low / scale, np.nan)
    avg_high = np.where(has_items, dist.high / scale, np.nan)
    rank_low = np.full(t, -1, dtype=np.int64)
    rank_high = np.full(t, -1, dtype=np.int64)
    has_seg = _has_segment(seg, has_items)
    if has_seg.any():
        width = dist.pmf.shape[1]
        axis = (dist.origin + np.arange(width)) / scale
        segs = replicate_segments(seg, np.repeat(axis[:, None], t, axis=1), rs).T  # (organisation, value)
        keys = segs * width + np.arange(width)[None, :]
        for cols in _type_columns(seg, has_seg):
            low, high, _ = exact_bootstrap.rank_percentiles(
                dist.pmf[cols], keys[cols], levels, rs.bootstrap.exact_rank_max_population
            )
            rank_low[cols], rank_high[cols] = low, high
    return _frame(
        quarter, codes, np.round(avg_low, precision), np.round(avg_high, precision), (rank_low, rank_high), has_items
    )


def _precision(rs: RuleSet) -> int:
    return rs.aggregation.average_precision if rs.aggregation.average_precision is not None else 2


def _frame(
    quarter: str,
    codes: list[str],
    avg_low: np.ndarray,
    avg_high: np.ndarray,
    ranks: tuple[np.ndarray, np.ndarray],
    has_items: np.ndarray,
) -> pl.DataFrame:
    rank_low, rank_high = ranks
    frame = pl.DataFrame(
        {
            "quarter": [quarter] * len(codes),
            "org_code": codes,
            "average_low": avg_low,
            "average_high": avg_high,
            "rank_low": rank_low,
            "rank_high": rank_high,
        },
        schema={
            "quarter": pl.String,
            "org_code": pl.String,
            "average_low": pl.Float64,
            "average_high": pl.Float64,
            "rank_low": pl.Int64,
            "rank_high": pl.Int64,
        },
    )
    return frame.with_columns(
        pl.when(pl.col("rank_low") > 0).then(pl.col("rank_low")).alias("rank_low"),
        pl.when(pl.col("rank_high") > 0).then(pl.col("rank_high")).alias("rank_high"),
        pl.when(pl.lit(has_items)).then(pl.col("average_low")).alias("average_low"),
        pl.when(pl.lit(has_items)).then(pl.col("average_high")).alias("average_high"),
    )


@dataclass(frozen=True)
class _Strata:
    """Resampling strata: one (all items) for an item mean; one per domain for weighted domain groups.

    With weighted groups the average is a weighted mean of group scores, each the mean of its domains' item
    means, so each domain's items are resampled within that domain and the replicate is recombined the same
    way: a replicate never moves an item from one domain to another.
    """

    domains: list[str] | None  # None: a single stratum holding every item
    group: np.ndarray  # group index of each stratum
    weight: np.ndarray  # weight of each group

    @classmethod
    def of(cls, rs: RuleSet) -> _Strata:
        agg = rs.aggregation
        if agg.overall == "item_mean":
            return cls(None, np.zeros(1, dtype=np.int64), np.ones(1))
        domains = [d for g in agg.groups for d in g.domains]
        group = np.array([gi for gi, g in enumerate(agg.groups) for _ in g.domains], dtype=np.int64)
        return cls(domains, group, np.array([g.weight for g in agg.groups], dtype=np.float64))

    def combine(self, stratum_means: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Replicate averages from stratum means (replicate, org, stratum), as ``aggregate.aggregate`` does."""
        if self.domains is None:
            return stratum_means[..., 0]
        weighted = np.zeros(stratum_means.shape[:2])
        weights = np.zeros(n.shape[0])
        for gi, weight in enumerate(self.weight):
            here = n[:, self.group == gi] > 0  # (org, domains of the group) that have items
            count = here.sum(axis=1)
            total = (stratum_means[:, :, self.group == gi] * here[None, :, :]).sum(axis=2)
            has = count > 0
            weighted += np.where(has[None, :], total / np.maximum(count, 1)[None, :] * weight, 0.0)
            weights += np.where(has, weight, 0.0)
        return weighted / np.maximum(weights, 1e-300)[None, :]


def _item_matrix(codes: list[str], items: pl.DataFrame, strata: _Strata) -> tuple[np.ndarray, np.ndarray]:
    """Item scores as (organisation, stratum, item) in a fixed order, zero-padded, with the counts."""
    t = len(codes)
    s_count = 1 if strata.domains is None else len(strata.domains)
    pos = pl.DataFrame({"org_code": codes, "_org": np.arange(t, dtype=np.int64)})
    stratum = (
        pl.lit(0, pl.Int64)
        if strata.domains is None
        else pl.col("domain").replace_strict(strata.domains, range(s_count), default=None, return_dtype=pl.Int64)
    )
    placed = (
        items.join(pos, on="org_code", how="inner")
        .with_columns(stratum.alias("_stratum"))
        .drop_nulls("_stratum")
        .sort("_org", "_stratum", "item_id")
        .with_columns(pl.int_range(pl.len()).over("_org", "_stratum").alias("_k"))
    )
    org = placed["_org"].to_numpy()
    st = placed["_stratum"].to_numpy()
    k = placed["_k"].to_numpy()
    n = np.zeros((t, s_count), dtype=np.int64)
    np.add.at(n, (org, st), 1)
    width = max(int(n.max()) if n.size else 1, 1)
    mat = np.zeros((t, s_count, width))
    mat[org, st, k] = placed["score"].to_numpy()
    return mat, n


def _rank_ranges(
    seg: pl.DataFrame,
    avg_r: np.ndarray,
    scale: float,
    has_items: np.ndarray,
    rs: RuleSet,
    levels: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Likely league positions: every replicate segmented and ranked within type as the engine ranks."""
    t = seg.height
    rank_low = np.full(t, -1, dtype=np.int64)
    rank_high = np.full(t, -1, dtype=np.int64)
    has_seg = _has_segment(seg, has_items)
    if not has_seg.any():
        return rank_low, rank_high
    segs = replicate_segments(seg, avg_r, rs)
    # segment first, then the rounded average: one integer key, smaller is better
    key = segs * (scale * 1000) + np.round(avg_r * scale)
    lo_q, hi_q = levels
    for cols in _type_columns(seg, has_seg):
        ranks = _competition_ranks(key[:, cols])
        rank_low[cols] = np.quantile(ranks, lo_q, axis=0, method="inverted_cdf").astype(np.int64)
        rank_high[cols] = np.quantile(ranks, hi_q, axis=0, method="inverted_cdf").astype(np.int64)
    return rank_low, rank_high


def _has_segment(seg: pl.DataFrame, has_items: np.ndarray) -> np.ndarray:
    cuts = seg.select("cut_1", "cut_2", "cut_3").to_numpy()
    return ~np.isnan(cuts).any(axis=1) & has_items


def _type_columns(seg: pl.DataFrame, has_seg: np.ndarray) -> list[np.ndarray]:
    """Column indices of each league table (organisation type), segmented organisations only."""
    types = seg["org_type"].to_list()
    out = []
    for org_type in sorted(set(types)):
        cols = np.array([i for i, ty in enumerate(types) if ty == org_type and has_seg[i]], dtype=np.int64)
        if cols.size:
            out.append(cols)
    return out


def replicate_segments(seg: pl.DataFrame, avg_r: np.ndarray, rs: RuleSet) -> np.ndarray:
    """Adjusted segments of rounded averages ``avg_r`` (rows x organisations, columns in ``seg`` order).

    The quarter's cut-points with the population's boundary rule, then the system adjustment where the rule
    set has one, then the financial override's cap: what the engine does to the observed average.
    """
    cuts = seg.select("cut_1", "cut_2", "cut_3").to_numpy()
    boundary = {p.id: p.boundary == "le" for p in rs.segmentation}
    le = np.array([boundary.get(p, True) for p in seg["population"].to_list()]) if "population" in seg.columns else True
    above = np.where(
        np.asarray(le)[None, :, None], avg_r[:, :, None] > cuts[None, :, :], avg_r[:, :, None] >= cuts[None, :, :]
    )
    segs = 1 + above.sum(axis=2)
    sa = rs.system_adjustment
    if sa is not None and "system_tests_failed" in seg.columns:
        failed = seg["system_tests_failed"].fill_null(0).to_numpy()
        applies = seg["org_type"].is_in(sa.org_types).to_numpy() & (failed >= sa.when_failed_at_least)
        segs = np.where(applies[None, :], np.minimum(segs + sa.worsen_by, sa.max_segment), segs)
    flagged = seg["override_flag"].fill_null(False).to_numpy()
    return np.where(flagged[None, :], np.maximum(segs, rs.override.cap_segment), segs)


def _competition_ranks(key: np.ndarray) -> np.ndarray:
    """Competition ("1224") ranks of every row of ``key`` at once (integer-valued keys, smaller first)."""
    b, c = key.shape
    key = key - key.min()
    offset = (np.arange(b, dtype=np.float64) * (float(key.max()) + 1.0))[:, None]
    shifted = (key + offset).ravel()
    ordered = np.sort(shifted)
    pos = np.searchsorted(ordered, shifted, side="left").reshape(b, c)
    return pos - (np.arange(b, dtype=np.int64) * c)[:, None] + 1
