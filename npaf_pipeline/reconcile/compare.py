"""Compare the engine with every published OF1xxx, OF40xx, OF41xx and OF5xxx value and rank.

Two modes. ``end_to_end`` computes everything from the published metric values (OF0xxx) and input flags.
``stage`` computes each stage from NHS England's *published* previous stage, so a divergence is pinned to
the step that causes it (scores from values; averages and domain scores from published scores; segments
from published averages; the override from the published unadjusted segment; league ranks from published
segments and averages).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml

from npaf_pipeline.engine.aggregate import aggregate, build_items
from npaf_pipeline.engine.league import domain_ranks, league_ranks
from npaf_pipeline.engine.numeric import condition_expr
from npaf_pipeline.engine.pipeline import EngineResult, run, wide_inputs
from npaf_pipeline.engine.scoring import score_lookup_from
from npaf_pipeline.engine.segment import (
    adjust_segments,
    cutpoints,
    domain_segments,
    final_segments,
    unadjusted_segments,
)
from npaf_pipeline.reconcile import league
from npaf_pipeline.ruleset.model import RuleSet
from npaf_pipeline.screening import screen_values
from npaf_pipeline.sources import nof_csv

KNOWN_DIFFERENCES = Path(__file__).with_name("known_differences.yaml")
KEYS = ["quarter", "org_code", "metric_id"]
SCORE_TOLERANCE = 0.01
COMPUTED_SCHEMA = {
    "quarter": pl.String,
    "org_code": pl.String,
    "metric_id": pl.String,
    "computed_value": pl.Float64,
    "computed_rank": pl.Int64,
}


@dataclass(frozen=True)
class KnownDifference:
    id: str
    metrics: list[str]
    modes: list[str]
    reason: str
    orgs: list[str] | None = None
    applies_to: str = "value"
    when: str | None = None

    def covers(self, metric_id: str, org_code: str, mode: str) -> bool:
        return (
            mode in self.modes
            and any(fnmatch.fnmatch(metric_id, pattern) for pattern in self.metrics)
            and (self.orgs is None or org_code in self.orgs)
        )


def load_known_differences(path: Path = KNOWN_DIFFERENCES) -> list[KnownDifference]:
    return [KnownDifference(**entry) for entry in yaml.safe_load(path.read_text(encoding="utf-8"))]


@dataclass(frozen=True)
class Reconciliation:
    rows: pl.DataFrame
    known: list[KnownDifference]
    set_aside: pl.DataFrame = field(default_factory=pl.DataFrame)
    """Published values the method has no score for (screening's quarantine records), kept out of both modes."""
    league_without_data: pl.DataFrame = field(default_factory=pl.DataFrame)
    """League-table trusts (quarter, org_code, trust_type) that no data file given holds: nothing to compute for
    them (e.g. an ambulance league table reconciled without the ambulance data file), so they are not compared."""

    def summary(self) -> pl.DataFrame:
        """Match rates by mode and published id: values, values outside the known list, ranks."""
        return (
            self.rows.group_by("mode", "metric_id")
            .agg(
                pl.len().alias("rows"),
                pl.col("match").sum().alias("matched"),
                pl.col("known_difference").is_not_null().sum().alias("known"),
                (pl.col("known_difference").is_null()).sum().alias("rows_outside_known"),
                (pl.col("match") & pl.col("known_difference").is_null()).sum().alias("matched_outside_known"),
                pl.col("published_rank").is_not_null().sum().alias("ranked"),
                pl.col("rank_match").sum().alias("rank_matched"),
                (pl.col("rank_difference").abs() <= 2).sum().alias("rank_within_2"),
            )
            .sort("mode", "metric_id")
        )

    def stage_summary(self) -> pl.DataFrame:
        """The same, with published ids folded into their stage (OF1xxx, OF40xx, OF41xx, OF500x)."""
        staged = self.rows.with_columns(_stage_name(pl.col("metric_id")).alias("stage"))
        return (
            staged.group_by("mode", "stage")
            .agg(
                pl.len().alias("rows"),
                pl.col("match").sum().alias("matched"),
                pl.col("known_difference").is_not_null().sum().alias("known"),
                (pl.col("match") & pl.col("known_difference").is_null()).sum().alias("matched_outside_known"),
                pl.col("known_difference").is_null().sum().alias("rows_outside_known"),
                pl.col("published_rank").is_not_null().sum().alias("ranked"),
                pl.col("rank_match").sum().alias("rank_matched"),
                (pl.col("rank_difference").abs() <= 2).sum().alias("rank_within_2"),
            )
            .sort("mode", "stage")
        )


def _stage_name(metric: pl.Expr) -> pl.Expr:
    return (
        pl.when(metric.str.starts_with("OF1"))
        .then(pl.lit("OF1xxx metric scores"))
        .when(metric.str.starts_with("OF40"))
        .then(pl.lit("OF40xx domain scores"))
        .when(metric.str.starts_with("OF41"))
        .then(pl.lit("OF41xx domain segments"))
        .when(metric.str.starts_with("likely_"))
        .then(pl.lit("likely ranges"))
        .when(metric.str.starts_with("league_"))
        .then(pl.lit("league table"))
        .otherwise(metric)
    )


def reconcile(
    release: nof_csv.NofRelease,
    rs: RuleSet,
    known: list[KnownDifference] | None = None,
    league_table: pl.DataFrame | None = None,
) -> Reconciliation:
    """Run both modes over a NOF release and compare with what it publishes.

    ``league_table``: rows of NHS England's league-table files (:mod:`npaf_pipeline.sources.nof_league_table`)
    for the same quarters; their fields and likely ranges are compared too (metric ids ``league_*`` and
    ``likely_*``).
    """
    known = load_known_differences() if known is None else known
    orgs = nof_csv.organisations(release, rs)
    values, set_aside = screen_values(nof_csv.metric_values(release, rs).rename({"line": "source_row"}), orgs, rs)
    flags = nof_csv.flags(release)
    published = _published(release)
    # both modes read its metric scores, ranked without the published tie-break ranks
    e2e = run(values, orgs, rs, flags, with_ranges=False).as_text()
    computed = {
        "end_to_end": _end_to_end(e2e, rs),
        "stage": _stages(e2e.metric_scores, values, orgs, flags, published, rs),
    }
    without_data = pl.DataFrame(schema={"quarter": pl.String, "org_code": pl.String, "trust_type": pl.String})
    if league_table is not None:  # a trust no data file holds has nothing to be computed from: listed, not compared
        held = orgs.select("quarter", "org_code")
        without_data = league_table.join(held, on=["quarter", "org_code"], how="anti").select(without_data.columns)
        league_table = league_table.join(held, on=["quarter", "org_code"], how="semi")
    if league_table is not None and league_table.height:
        computed = _with_league(computed, values, orgs, flags, published, rs)
        published = pl.concat([published, league.published_rows(league_table).select(published.columns)])
    frames = []
    shifted: set[tuple[str, str, str, str]] = set()
    for mode, (frame, cuts) in computed.items():
        joined = published.join(frame, on=KEYS, how="left").with_columns(pl.lit(mode).alias("mode"))
        frames.append(joined)
        shifted |= {(mode, *key) for key in _cut_shifts(joined, cuts, rs)}
    rows = pl.concat(frames).filter(pl.col("metric_id") != "OF5007")  # an input, not computed
    rows = rows.filter(~((pl.col("mode") == "end_to_end") & (pl.col("metric_id") == "OF5004")))
    tol = pl.when(_is_score(pl.col("metric_id"))).then(SCORE_TOLERANCE).otherwise(0.0)
    diff = (pl.col("computed_value") - pl.col("published_value")).abs()
    rows = rows.with_columns(
        diff.alias("abs_difference"),
        tol.alias("tolerance"),
        (diff <= tol + 1e-9).fill_null(False).alias("match"),
        (pl.col("computed_rank") - pl.col("published_rank")).alias("rank_difference"),
    ).with_columns(
        pl.when(pl.col("published_rank").is_not_null())
        .then((pl.col("rank_difference") == 0).fill_null(False))
        .alias("rank_match")
    )
    rows = _attribute(rows, known, shifted)
    order = [
        "quarter",
        "org_code",
        "org_type",
        "metric_id",
        "mode",
        "published_value",
        "computed_value",
        "abs_difference",
        "tolerance",
        "match",
        "published_rank",
        "computed_rank",
        "rank_difference",
        "rank_match",
        "known_difference",
        "rank_known_difference",
    ]
    rows = rows.select(order).sort("mode", "metric_id", "org_code")
    return Reconciliation(rows, known, set_aside, without_data.sort("quarter", "trust_type", "org_code"))


def _is_score(metric: pl.Expr) -> pl.Expr:
    return (
        metric.str.starts_with("OF1")
        | metric.str.starts_with("OF40")
        | metric.is_in(["OF5002", "league_average_score", "likely_average_low", "likely_average_high"])
    )


def _with_league(
    computed: dict[str, tuple[pl.DataFrame, pl.DataFrame]],
    values: pl.DataFrame,
    orgs: pl.DataFrame,
    flags: pl.DataFrame,
    published: pl.DataFrame,
    rs: RuleSet,
) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """Each mode's rows plus the league-table fields and likely ranges it computes."""
    e2e = run(values, orgs, rs, flags, with_ranges=True).as_text()
    ranges = {"end_to_end": e2e.segmentation.select("quarter", "org_code", *league.LIKELY.values())}
    pub_scores = (
        published.filter(pl.col("metric_id").str.starts_with("OF1"))
        .select(
            "quarter",
            "org_code",
            ("OF0" + pl.col("metric_id").str.slice(3)).alias("metric_id"),
            pl.col("published_value").alias("score"),
        )
        .join(orgs.select("quarter", "org_code", "org_type"), on=["quarter", "org_code"], how="left")
    )
    items = build_items(pub_scores, rs)  # the published combined finance score (OF1080) is among them
    ranges["stage"] = league.stage_ranges(items, published, orgs, flags, rs)
    out = {}
    for mode, (frame, cuts) in computed.items():
        extra = league.computed_rows(frame, ranges[mode], flags).select(frame.columns)
        out[mode] = (pl.concat([frame, extra], how="vertical_relaxed"), cuts)
    return out


def _published(release: nof_csv.NofRelease) -> pl.DataFrame:
    orgs = release.rows.select("quarter", "org_code", "trust_type").unique(["quarter", "org_code"])
    pub = release.published(("OF1", "OF40", "OF41", "OF5"))
    return pub.select(
        "quarter",
        "org_code",
        "metric_id",
        pl.col("value").alias("published_value"),
        pl.col("rank").cast(pl.Int64).alias("published_rank"),
    ).join(orgs.rename({"trust_type": "org_type"}), on=["quarter", "org_code"], how="left")


# --- end to end -------------------------------------------------------------------------------------------


def _end_to_end(result: EngineResult, rs: RuleSet) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = pl.concat(
        [
            _score_rows(result.metric_scores),
            _domain_rows(result.domain_scores, rs),
            _segmentation_rows(result.segmentation),
        ],
        how="vertical_relaxed",
    )
    return rows, result.cutpoints


def _score_rows(scores: pl.DataFrame) -> pl.DataFrame:
    rank = pl.col("metric_rank") if "metric_rank" in scores.columns else pl.lit(None, pl.Int64)
    return scores.select(
        "quarter",
        "org_code",
        pl.col("score_id").alias("metric_id"),
        pl.col("score").alias("computed_value"),
        rank.cast(pl.Int64).alias("computed_rank"),
    )


def _domain_rows(domain_scores: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    ids = pl.DataFrame(
        {
            "domain": [d.id for d in rs.domains],
            "score_id": [d.score_id for d in rs.domains],
            "segment_id": [d.segment_id for d in rs.domains],
        }
    )
    dom = domain_scores.join(ids, on="domain", how="inner")
    parts = [
        dom.select(
            "quarter",
            "org_code",
            pl.col("score_id").alias("metric_id"),
            pl.col("score").alias("computed_value"),
            pl.col("rank").cast(pl.Int64).alias("computed_rank"),
        )
    ]
    if "segment" in dom.columns:
        parts.append(
            dom.select(
                "quarter",
                "org_code",
                pl.col("segment_id").alias("metric_id"),
                pl.col("segment").cast(pl.Float64).alias("computed_value"),
                pl.lit(None, pl.Int64).alias("computed_rank"),
            )
        )
    return pl.concat(parts).filter(pl.col("metric_id").is_not_null())


def _segmentation_rows(seg: pl.DataFrame) -> pl.DataFrame:
    spec = [
        ("OF5002", "average_score", "average_rank"),
        ("OF5003", "unadjusted_segment", None),
        ("OF5000", "adjusted_segment", "amr_rank"),
        ("OF5005", "final_segment", None),
        ("OF5004", "override_flag", None),
    ]
    parts = []
    for metric, value_col, rank_col in spec:
        if value_col not in seg.columns:
            continue
        parts.append(
            seg.select(
                "quarter",
                "org_code",
                pl.lit(metric).alias("metric_id"),
                pl.col(value_col).cast(pl.Float64).alias("computed_value"),
                (pl.col(rank_col) if rank_col and rank_col in seg.columns else pl.lit(None))
                .cast(pl.Int64)
                .alias("computed_rank"),
            )
        )
    return pl.concat(parts) if parts else pl.DataFrame(schema=COMPUTED_SCHEMA)


# --- stage by stage ---------------------------------------------------------------------------------------


def _pub_value(published: pl.DataFrame, metric: str, alias: str) -> pl.DataFrame:
    return published.filter(pl.col("metric_id") == metric).select(
        "quarter", "org_code", pl.col("published_value").alias(alias)
    )


def _stages(
    scores: pl.DataFrame,
    values: pl.DataFrame,
    orgs: pl.DataFrame,
    flags: pl.DataFrame,
    published: pl.DataFrame,
    rs: RuleSet,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    keys = ["quarter", "org_code"]
    org_type = orgs.select("quarter", "org_code", "org_type")
    parts: list[pl.DataFrame] = []

    # OF1xxx from published OF0xxx (the combined-finance lookup from published OF1079 / OF1081)
    lookup_ids = [m.score_id for m in rs.metrics if m.method.family == "lookup"]
    parts.append(_score_rows(scores.filter(~pl.col("score_id").is_in(lookup_ids))))
    pub_scores = (
        published.filter(pl.col("metric_id").str.starts_with("OF1"))
        .select(
            "quarter",
            "org_code",
            ("OF0" + pl.col("metric_id").str.slice(3)).alias("metric_id"),
            pl.col("published_value").alias("score"),
        )
        .join(org_type, on=keys, how="left")
    )
    parts.append(_score_rows(score_lookup_from(pub_scores, rs)))

    # OF40xx and OF5002 from published OF1xxx (their ranks: from the published OF40xx and OF5002 values)
    org_scores, dom = aggregate(build_items(pub_scores, rs), rs)
    ids = {d.score_id: d.id for d in rs.domains if d.score_id}
    pub_dom = (
        published.filter(pl.col("metric_id").is_in(list(ids)))
        .select(
            "quarter",
            "org_code",
            pl.col("metric_id").replace(ids).alias("domain"),
            pl.col("published_value").alias("score"),
        )
        .join(org_type, on=keys, how="left")
    )
    pub_avg = _pub_value(published, "OF5002", "average_score").join(org_type, on=keys, how="left")
    dom_ranks = domain_ranks(pub_dom).select("quarter", "org_code", "domain", "rank")
    dom = dom.join(dom_ranks, on=["quarter", "org_code", "domain"], how="left")
    parts.append(_domain_rows(dom, rs).filter(pl.col("metric_id").str.starts_with("OF40")))
    avg_rank = league_ranks(pub_avg.with_columns(pl.lit(None, pl.Int64).alias("adjusted_segment")), rs)
    avg = org_scores.join(avg_rank.select("quarter", "org_code", "average_rank"), on=keys, how="left")
    parts.append(_segmentation_rows(avg.select("quarter", "org_code", "average_score", "average_rank")))

    # OF41xx and OF5003 from published OF40xx and OF5002
    cuts = cutpoints(pub_avg, pub_dom, rs)
    dom_segments = domain_segments(pub_dom, cuts, rs).with_columns(pl.lit(None, pl.Int64).alias("rank"))
    parts.append(_domain_rows(dom_segments, rs).filter(pl.col("metric_id").str.starts_with("OF41")))
    parts.append(
        _segmentation_rows(unadjusted_segments(pub_avg, cuts, rs).select("quarter", "org_code", "unadjusted_segment"))
    )

    # OF5004 by the proxy rule, from published OF0079 / OF0081 (the engine itself takes the flag as input)
    if rs.override.proxy is not None:
        wide = wide_inputs(values)
        proxy = wide.select(*keys, condition_expr(rs.override.proxy).alias("override_flag"))
        parts.append(_segmentation_rows(proxy))

    # OF5000 from published OF5003 + OF5004; OF5005 from published OF5000 + OF5007
    pub_flags = flags
    unadj = _pub_value(published, "OF5003", "unadjusted_segment").join(org_type, on=keys, how="left")
    adjusted = adjust_segments(unadj.with_columns(pl.col("unadjusted_segment").cast(pl.Int64)), rs, pub_flags)
    parts.append(_segmentation_rows(adjusted.select("quarter", "org_code", "adjusted_segment")))
    adj = _pub_value(published, "OF5000", "adjusted_segment").with_columns(pl.col("adjusted_segment").cast(pl.Int64))
    parts.append(_segmentation_rows(final_segments(adj, rs, pub_flags).select("quarter", "org_code", "final_segment")))

    # AMR rank from published OF5000 + OF5002 (attached to the OF5000 row)
    amr_in = adj.join(pub_avg, on=keys, how="inner")
    amr = league_ranks(amr_in, rs).select(
        "quarter",
        "org_code",
        pl.lit("OF5000").alias("metric_id"),
        pl.col("amr_rank").cast(pl.Int64).alias("computed_rank"),
    )
    stage = pl.concat([p.select(list(COMPUTED_SCHEMA)) for p in parts], how="vertical_relaxed")
    # OF5000 carries both the adjusted segment (from OF5003+OF5004) and the AMR rank (from OF5000+OF5002)
    stage = stage.join(amr, on=KEYS, how="left", suffix="_amr").with_columns(
        pl.coalesce("computed_rank_amr", "computed_rank").alias("computed_rank")
    )
    return stage.drop("computed_rank_amr").unique(KEYS, keep="first"), cuts


# --- known differences ------------------------------------------------------------------------------------


def _cut_shifts(joined: pl.DataFrame, cuts: pl.DataFrame, rs: RuleSet) -> set[tuple[str, str, str]]:
    """Segment rows whose difference is exactly a cut-point shift.

    From the published scores and segments, each boundary k lies in [highest score published in a segment
    <= k, lowest score published in a segment > k). A row is a cut shift when, for every boundary between
    the published and the computed segment, the computed cut-point lies outside that interval and the
    trust's published score lies between the computed cut and the interval, so moving the cut into the
    published interval would reproduce NHS England's segment.
    """
    pairs = [("overall", "OF5002", "OF5003")] + [(d.id, d.score_id, d.segment_id) for d in rs.domains]
    pop_of = {t: p.id for p in rs.segmentation for t in p.org_types}
    wide = joined.select("quarter", "org_code", "org_type", "metric_id", "published_value", "computed_value")
    out: set[tuple[str, str, str]] = set()
    cut_rows = {(q, pop, t): (c1, c2, c3) for q, pop, t, _, c1, c2, c3 in cuts.iter_rows()}
    for target, score_id, segment_id in pairs:
        if score_id is None or segment_id is None:
            continue
        score = wide.filter(pl.col("metric_id") == score_id).select(
            "quarter", "org_code", "org_type", pl.col("published_value").alias("s")
        )
        seg = wide.filter(pl.col("metric_id") == segment_id).select(
            "quarter", "org_code", pl.col("published_value").alias("p"), pl.col("computed_value").alias("c")
        )
        both = score.join(seg, on=["quarter", "org_code"], how="inner").drop_nulls(["s", "p"])
        both = both.with_columns(pl.col("org_type").map_elements(rs.org_type_key, return_dtype=pl.String))
        for (quarter, org_type), group in both.group_by("quarter", "org_type"):
            pop = pop_of.get(org_type)
            members = both.filter(
                (pl.col("quarter") == quarter) & pl.col("org_type").is_in([t for t, p in pop_of.items() if p == pop])
            )
            cut = cut_rows.get((quarter, pop, target))
            if cut is None:
                continue
            intervals = []
            for k in (1, 2, 3):
                lower = members.filter(pl.col("p") <= k)["s"].max()
                upper = members.filter(pl.col("p") > k)["s"].min()
                intervals.append((lower, upper))
            for org, s, p, c in group.select("org_code", "s", "p", "c").iter_rows():
                if c is None or p == c:
                    continue
                lo_seg, hi_seg = int(min(p, c)), int(max(p, c))
                ok = True
                for k in range(lo_seg, hi_seg):
                    lower, upper = intervals[k - 1]
                    ck = cut[k - 1]
                    inside = lower is not None and upper is not None and lower <= ck < upper
                    between = (s <= ck) if c < p else (s > ck)
                    ok = ok and not inside and between
                if ok:
                    out.add((quarter, org, segment_id))
    return out


def _attribute(
    rows: pl.DataFrame, known: list[KnownDifference], shifted: set[tuple[str, str, str, str]]
) -> pl.DataFrame:
    """Name the known difference behind every mismatch it covers; end-to-end mismatches of downstream
    stages whose own stage reproduces exactly are attributed to the upstream differences they inherit."""
    value_ids: list[str | None] = []
    rank_ids: list[str | None] = []
    tied = (pl.len().over("quarter", "org_type", "metric_id", "mode", "computed_rank") > 1) & pl.col(
        "computed_rank"
    ).is_not_null()
    for quarter, metric, org, mode, match, rank_match, is_tied, difference in rows.select(
        "quarter", "metric_id", "org_code", "mode", "match", "rank_match", tied.alias("_tied"), "abs_difference"
    ).iter_rows():
        conditions = {"display_tie"} if is_tied else set()
        if league.noise_condition(metric, difference):
            conditions.add("bootstrap_noise")
        if (mode, quarter, org, metric) in shifted:
            conditions.add("cut_shift")
        value_ids.append(_first(known, metric, org, mode, "value", conditions) if not match else None)
        rank_ids.append(_first(known, metric, org, mode, "rank", conditions) if rank_match is False else None)
    rows = rows.with_columns(
        pl.Series("known_difference", value_ids, dtype=pl.String),
        pl.Series("rank_known_difference", rank_ids, dtype=pl.String),
    )
    stage_ok = rows.filter(pl.col("mode") == "stage").select(
        *KEYS,
        pl.col("match").alias("_stage_match"),
        pl.col("rank_match").alias("_stage_rank_match"),
        pl.col("computed_value").alias("_stage_value"),
        pl.col("known_difference").alias("_stage_known"),
    )
    rows = rows.join(stage_ok, on=KEYS, how="left")
    downstream = ~pl.col("metric_id").str.starts_with("OF1")
    inherit = (pl.col("mode") == "end_to_end") & downstream
    return rows.with_columns(
        pl.when(inherit & ~pl.col("match") & pl.col("known_difference").is_null() & pl.col("_stage_match"))
        .then(pl.lit("inherited-from-upstream"))
        # the same computed value as the stage, whose own difference is already explained
        .when(
            inherit
            & ~pl.col("match")
            & pl.col("known_difference").is_null()
            & (pl.col("computed_value") == pl.col("_stage_value"))
        )
        .then(pl.col("_stage_known"))
        .otherwise(pl.col("known_difference"))
        .alias("known_difference"),
        pl.when(
            inherit
            & (pl.col("rank_match") == False)  # noqa: E712 - null means "no published rank"
            & pl.col("rank_known_difference").is_null()
            & pl.col("_stage_rank_match")
        )
        .then(pl.lit("inherited-from-upstream"))
        .otherwise(pl.col("rank_known_difference"))
        .alias("rank_known_difference"),
    ).drop("_stage_match", "_stage_rank_match", "_stage_value", "_stage_known")


def _first(
    known: list[KnownDifference], metric: str, org: str, mode: str, applies_to: str, conditions: set[str]
) -> str | None:
    for entry in known:
        if entry.when is not None and entry.when not in conditions:
            continue
        if entry.applies_to == applies_to and entry.covers(metric, org, mode):
            return entry.id
    return None


INHERITED_REASON = (
    "end to end only: this stage reproduces NHS England exactly from the published previous stage, so the "
    "difference comes from an upstream known difference (ambulance-pooled scores or the missing ambulance "
    "trusts in the pooled quartiles) carried forward"
)
