"""Likely ranges of average score and league rank: a seeded percentile bootstrap of each organisation's items.

Each replicate resamples every organisation's own item scores with replacement, recomputes its average,
re-applies the quarter's cut-points and the financial override, and re-ranks within type by (segment,
average). Seeds derive from the rule set's seed and the quarter, so a quarter's ranges do not depend on
which other quarters are in the same call.
"""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl

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
        out.append(_one_quarter(quarter, seg_q, items_q, rs, cfg.replicates, [cfg.seed, _quarter_seed(quarter)]))
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
    pos = {c: i for i, c in enumerate(codes)}
    lists = [[] for _ in codes]
    for code, score in items.select("org_code", "score").iter_rows():
        if code in pos:
            lists[pos[code]].append(score)
    t = len(codes)
    n = np.array([len(x) for x in lists], dtype=np.int64)
    width = max(int(n.max()) if t else 1, 1)
    mat = np.zeros((t, width))
    for i, x in enumerate(lists):
        mat[i, : len(x)] = x
    safe_n = np.maximum(n, 1)
    rng = np.random.default_rng(seed)
    means = np.empty((replicates, t))
    chunk = max(1, _MAX_CELLS // max(1, t * width))
    rows = np.arange(t)[None, :, None]
    for start in range(0, replicates, chunk):
        b = min(chunk, replicates - start)
        idx = np.floor(rng.random((b, t, width)) * safe_n[None, :, None]).astype(np.int64)
        picked = mat[rows, idx]
        mask = np.arange(width)[None, None, :] < n[None, :, None]
        means[start : start + b] = (picked * mask).sum(axis=2) / safe_n[None, :]
    lo_q, hi_q = (1 - rs.bootstrap.level) / 2, 1 - (1 - rs.bootstrap.level) / 2
    avg2 = np.floor(means * 100 + 0.5 + 1e-9) / 100
    avg_low = np.quantile(avg2, lo_q, axis=0)
    avg_high = np.quantile(avg2, hi_q, axis=0)

    rank_low = np.full(t, -1, dtype=np.int64)
    rank_high = np.full(t, -1, dtype=np.int64)
    cuts = seg.select("cut_1", "cut_2", "cut_3").to_numpy()
    has_seg = ~np.isnan(cuts).any(axis=1) & (n > 0)
    le = True
    if rs.segmentation:
        le = all(p.boundary == "le" for p in rs.segmentation)
    if has_seg.any():
        above = (avg2[:, :, None] > cuts[None, :, :]) if le else (avg2[:, :, None] >= cuts[None, :, :])
        segs = 1 + above.sum(axis=2)
        flagged = seg["override_flag"].fill_null(False).to_numpy()
        segs = np.where(flagged[None, :], np.maximum(segs, rs.override.cap_segment), segs)
        key = segs * 10_000 + np.round(avg2 * 100)
        types = seg["org_type"].to_list()
        for org_type in sorted(set(types)):
            cols = np.array([i for i, ty in enumerate(types) if ty == org_type and has_seg[i]])
            if cols.size == 0:
                continue
            k = key[:, cols]
            srt = np.sort(k, axis=1)
            ranks = np.empty_like(k, dtype=np.int64)
            for r in range(k.shape[0]):
                ranks[r] = np.searchsorted(srt[r], k[r], side="left") + 1
            rank_low[cols] = np.quantile(ranks, lo_q, axis=0, method="inverted_cdf").astype(np.int64)
            rank_high[cols] = np.quantile(ranks, hi_q, axis=0, method="inverted_cdf").astype(np.int64)
    frame = pl.DataFrame(
        {
            "quarter": [quarter] * t,
            "org_code": codes,
            "average_low": np.round(avg_low, 2),
            "average_high": np.round(avg_high, 2),
            "rank_low": rank_low,
            "rank_high": rank_high,
        }
    )
    return frame.with_columns(
        pl.when(pl.col("rank_low") > 0).then(pl.col("rank_low")).alias("rank_low"),
        pl.when(pl.col("rank_high") > 0).then(pl.col("rank_high")).alias("rank_high"),
        pl.when(pl.lit(n > 0)).then(pl.col("average_low")).alias("average_low"),
        pl.when(pl.lit(n > 0)).then(pl.col("average_high")).alias("average_high"),
    )
