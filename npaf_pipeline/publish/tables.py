"""Build every published table from an engine result: pure polars, every quarter at once.

Engine frames carry the quarter as ``2025-26 Q1``; published tables carry it three ways (``fy``,
``quarter`` = ``Q1``, ``quarter_label``) so the partition values are also inside the files.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

import polars as pl

from npaf_pipeline import __version__
from npaf_pipeline.engine import EngineResult
from npaf_pipeline.icb.mapping import ICB_ORG_TYPE
from npaf_pipeline.icb.system_tests import EVIDENCE_SCHEMA
from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.ruleset.model import RuleSet
from npaf_pipeline.sources.base import sha256_file
from schemas.published import SCHEMA_VERSION

NOF_SOURCE = "nof_csv"


@dataclass(frozen=True)
class InputFile:
    """One input of a run, as the manifest lists it."""

    name: str
    sha256: str | None
    bytes: int | None = None


def describe_inputs(paths: Sequence[str | Path]) -> list[InputFile]:
    """Name, SHA-256 and size of each input file (the files must exist)."""
    out = []
    for p in paths:
        path = Path(p)
        out.append(InputFile(path.name, sha256_file(path), path.stat().st_size))
    return sorted(set(out), key=lambda f: (f.name, f.sha256 or ""))


def quarter_frame(labels: Sequence[str]) -> pl.DataFrame:
    """quarter_label -> fy, quarter for each engine quarter label."""
    parsed = [parse_quarter(label) for label in labels]
    return pl.DataFrame(
        {
            "quarter_label": [q.label for q in parsed],
            "fy": [q.fy for q in parsed],
            "quarter": [f"Q{q.q}" for q in parsed],
        },
        schema={"quarter_label": pl.String, "fy": pl.String, "quarter": pl.String},
    )


def with_quarter(frame: pl.DataFrame) -> pl.DataFrame:
    """Replace the engine's ``quarter`` column by ``fy``, ``quarter`` and ``quarter_label``."""
    labels = frame["quarter"].unique().to_list()
    canon = {label: parse_quarter(label).label for label in labels}
    frame = frame.with_columns(pl.col("quarter").replace_strict(canon, return_dtype=pl.String).alias("quarter_label"))
    return frame.drop("quarter").join(quarter_frame(sorted(set(canon.values()))), on="quarter_label", how="left")


def file_name(expr: pl.Expr) -> pl.Expr:
    """The last path component: published lineage must not depend on where the landing folder sat."""
    return expr.str.replace(r"^.*[/\\]", "")


# --- organisation level -----------------------------------------------------------------------------------


def _org_reference(orgs: pl.DataFrame) -> pl.DataFrame:
    """Name, published type label, subtype and region per organisation (null where the reference lacks them)."""
    keys = ["quarter", "org_code"] if "quarter" in orgs.columns else ["org_code"]
    wanted = {"org_name": "org_name", "trust_type": "org_type_label", "org_subtype": "org_subtype", "region": "region"}
    ref = orgs.select(
        *keys,
        *[
            (pl.col(src) if src in orgs.columns else pl.lit(None, pl.String)).cast(pl.String).alias(dst)
            for src, dst in wanted.items()
        ],
    )
    return ref.unique(subset=keys, keep="first")


def organisation_segmentation(result: EngineResult, orgs: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """Segmentation joined to the organisation reference, with the domain results as flat columns."""
    seg = result.segmentation
    ref = _org_reference(orgs)
    seg = seg.join(ref, on=[k for k in ("quarter", "org_code") if k in ref.columns], how="left")
    labels = {key: t.label for key, t in rs.organisation_types.items()}
    seg = seg.with_columns(
        pl.coalesce(pl.col("org_type_label"), pl.col("org_type").replace_strict(labels, default=None)).alias(
            "org_type_label"
        )
    )
    dom = result.domain_scores
    for d in rs.domains:
        part = dom.filter(pl.col("domain") == d.id).select(
            "quarter",
            "org_code",
            pl.col("score").alias(f"{d.id}_score"),
            pl.col("segment").alias(f"{d.id}_segment"),
            pl.col("rank").alias(f"{d.id}_rank"),
        )
        seg = seg.join(part, on=["quarter", "org_code"], how="left")
    seg = seg.rename(
        {
            "population": "segmentation_population",
            "cut_1": "cutpoint_1_2",
            "cut_2": "cutpoint_2_3",
            "cut_3": "cutpoint_3_4",
            "average_low": "average_score_low",
            "average_high": "average_score_high",
            "rank_low": "amr_rank_low",
            "rank_high": "amr_rank_high",
        },
        strict=False,
    )
    ranges = {"average_score_low": pl.Float64, "average_score_high": pl.Float64}
    ranges |= {"amr_rank_low": pl.Int64, "amr_rank_high": pl.Int64}
    seg = seg.with_columns([pl.lit(None, t).alias(c) for c, t in ranges.items() if c not in seg.columns])
    return with_quarter(seg).sort("quarter_label", "org_code")


def _range_text(low: str, high: str, number: bool) -> pl.Expr:
    def text(col: str) -> pl.Expr:
        s = pl.col(col).round(2).cast(pl.String) if number else pl.col(col).cast(pl.String)
        return s.str.replace(r"\.0$", "")

    return pl.when(pl.col(low).is_not_null() & pl.col(high).is_not_null()).then(
        pl.format("{} to {}", text(low), text(high))
    )


def _is_icb() -> pl.Expr:
    return pl.col("org_type") == ICB_ORG_TYPE


def _ranked(org_seg: pl.DataFrame, icbs: bool) -> pl.DataFrame:
    """Segmented, ranked organisations: the ICBs (``icbs``) or every other organisation (a frame without
    ``org_type`` holds trusts only)."""
    rows = org_seg.filter(pl.col("adjusted_segment").is_not_null() & pl.col("amr_rank").is_not_null())
    if "org_type" not in rows.columns:
        return rows.clear() if icbs else rows
    return rows.filter(_is_icb() if icbs else ~_is_icb())


def league_table(org_seg: pl.DataFrame) -> pl.DataFrame:
    """NHS England's league-table columns, from the organisation table: segmented trusts only (never ICBs, which a
    rule set ranks among ICBs; they are in :func:`icb_league_table`)."""
    rows = _ranked(org_seg, icbs=False)
    return rows.select(
        "fy",
        "quarter",
        "quarter_label",
        "region",
        pl.col("org_type_label").alias("trust_type"),
        pl.col("org_subtype").alias("trust_subtype"),
        pl.col("org_code").alias("trust_code"),
        pl.col("org_name").alias("trust_name"),
        "average_score",
        pl.col("average_score_low").alias("likely_range_of_average_score_low"),
        pl.col("average_score_high").alias("likely_range_of_average_score_high"),
        _range_text("average_score_low", "average_score_high", True).alias("likely_range_of_average_score"),
        pl.col("adjusted_segment").alias("segment"),
        pl.col("override_flag").alias("trust_in_financial_deficit"),
        pl.col("amr_rank").alias("rank"),
        pl.col("amr_rank_low").alias("likely_range_of_rank_low"),
        pl.col("amr_rank_high").alias("likely_range_of_rank_high"),
        _range_text("amr_rank_low", "amr_rank_high", False).alias("likely_range_of_rank"),
    ).sort("quarter_label", "trust_code")


def icb_league_table(org_seg: pl.DataFrame) -> pl.DataFrame:
    """The ICBs' league table: segmented ICBs ranked among ICBs, in the trust table's layout plus the system
    adjustment and the final segment with its description. Empty when no ICB is segmented (e.g. nof-2025-26)."""
    rows = _ranked(org_seg, icbs=True)
    optional = {"region": pl.String, "org_name": pl.String, "segment_description": pl.String}
    rows = rows.with_columns([pl.lit(None, t).alias(c) for c, t in optional.items() if c not in rows.columns])
    return rows.select(
        "fy",
        "quarter",
        "quarter_label",
        "region",
        pl.col("org_code").alias("icb_code"),
        pl.col("org_name").alias("icb_name"),
        "average_score",
        pl.col("average_score_low").alias("likely_range_of_average_score_low"),
        pl.col("average_score_high").alias("likely_range_of_average_score_high"),
        _range_text("average_score_low", "average_score_high", True).alias("likely_range_of_average_score"),
        "unadjusted_segment",
        "system_tests_failed",
        "system_adjusted_segment",
        pl.col("override_flag").alias("icb_in_financial_deficit"),
        pl.col("adjusted_segment").alias("segment"),
        "final_segment",
        "segment_description",
        pl.col("amr_rank").alias("rank"),
        pl.col("amr_rank_low").alias("likely_range_of_rank_low"),
        pl.col("amr_rank_high").alias("likely_range_of_rank_high"),
        _range_text("amr_rank_low", "amr_rank_high", False).alias("likely_range_of_rank"),
    ).sort("quarter_label", "icb_code")


def system_considerations(evidence: pl.DataFrame | None) -> pl.DataFrame:
    """The system tests' evidence (``icb.assess_system``), one row per quarter, ICB and test; empty without one."""
    columns = [
        "quarter", "icb_code", "test_id", "test_name", "kind", "status", "failed", "evidence", "basis", "value",
        "cut_point", "population", "months_assessed", "months_in_quartile", "numerator", "denominator",
        "off_plan_percent",
    ]  # fmt: skip
    if evidence is None or evidence.is_empty():
        evidence = pl.DataFrame(schema=EVIDENCE_SCHEMA)
    return with_quarter(evidence.select(columns)).sort("quarter_label", "icb_code", "test_id")


# --- metric level -----------------------------------------------------------------------------------------


def _metric_reference(rs: RuleSet) -> pl.DataFrame:
    names = {d.id: d.name for d in rs.domains}
    return pl.DataFrame(
        {
            "metric_id": [m.id for m in rs.metrics],
            "metric_name": [m.name for m in rs.metrics],
            "domain": [m.domain for m in rs.metrics],
            "domain_name": [names[m.domain] for m in rs.metrics],
            "sub_domain": [m.sub_domain for m in rs.metrics],
            "role": [m.role for m in rs.metrics],
            "direction": [m.direction for m in rs.metrics],
        },
        schema={
            "metric_id": pl.String,
            "metric_name": pl.String,
            "domain": pl.String,
            "domain_name": pl.String,
            "sub_domain": pl.String,
            "role": pl.String,
            "direction": pl.String,
        },
    )


def metric_scores(result: EngineResult, values: pl.DataFrame, rs: RuleSet) -> pl.DataFrame:
    """Scores with their value's period, the rule set's metric facts, the individual rank and type statistics."""
    keys = ["quarter", "org_code", "metric_id"]
    scores = result.metric_scores.join(
        result.type_statistics.select(
            "quarter",
            "org_type",
            "metric_id",
            pl.col("n").alias("type_count"),
            pl.col("median").alias("type_median"),
            pl.col("lower_quartile").alias("type_lower_quartile"),
            pl.col("upper_quartile").alias("type_upper_quartile"),
        ),
        on=["quarter", "org_type", "metric_id"],
        how="left",
    )
    if "period" in values.columns:
        periods = values.select(*keys, pl.col("period").cast(pl.String)).unique(subset=keys, keep="first")
        scores = scores.join(periods, on=keys, how="left")
    scores = scores.join(_metric_reference(rs), on="metric_id", how="left").rename(
        {"population": "scoring_population", "population_size": "scoring_population_size", "rank": "scoring_rank"}
    )
    return with_quarter(scores).sort("quarter_label", "org_code", "metric_id")


def _hash_lookup(files: pl.Series, inputs: Sequence[InputFile]) -> dict[str, str | None]:
    """SHA-256 per source file: from the declared inputs by name, else hashed where the file still exists."""
    by_name = {f.name: f.sha256 for f in inputs}
    out: dict[str, str | None] = {}
    for path in files.unique().drop_nulls().to_list():
        name = PurePath(path.replace("\\", "/")).name
        if name in by_name:
            out[path] = by_name[name]
        else:
            out[path] = sha256_file(path) if Path(path).is_file() else None
    return out


def metric_values(values: pl.DataFrame, inputs: Sequence[InputFile] = ()) -> pl.DataFrame:
    """Canonical values with lineage; the NOF CSV reader's ``line`` is the source row."""
    frame = values
    from_nof_reader = "line" in frame.columns and "source_row" not in frame.columns
    if from_nof_reader:
        frame = frame.rename({"line": "source_row"})
    if "source" not in frame.columns:
        frame = frame.with_columns(pl.lit(NOF_SOURCE if from_nof_reader else "unknown").alias("source"))
    if "published_rank" not in frame.columns and "tiebreak_rank" in frame.columns:
        frame = frame.rename({"tiebreak_rank": "published_rank"})
    if "source_file" not in frame.columns:
        frame = frame.with_columns(pl.lit("unknown").alias("source_file"))
    if "source_sha256" not in frame.columns:
        lookup = _hash_lookup(frame["source_file"], inputs)
        frame = frame.with_columns(
            pl.col("source_file").replace_strict(lookup, default=None, return_dtype=pl.String).alias("source_sha256")
        )
    frame = frame.with_columns(file_name(pl.col("source_file")).alias("source_file"))
    return with_quarter(frame).sort("quarter_label", "org_code", "metric_id")


# --- run level --------------------------------------------------------------------------------------------


def quarantine_summary(quarantine: pl.DataFrame | None, labels: Sequence[str]) -> pl.DataFrame:
    """Rejected rows per file, column and rule; without a quarter column they count for every quarter."""
    schema = {
        "quarter": pl.String,
        "source": pl.String,
        "source_file": pl.String,
        "source_sha256": pl.String,
        "column": pl.String,
        "check": pl.String,
        "rows": pl.Int64,
    }
    if quarantine is None or quarantine.is_empty() or not labels:
        return with_quarter(pl.DataFrame(schema=schema))
    q = quarantine.with_columns(file_name(pl.col("source_file")).alias("source_file"))
    if "source_sha256" not in q.columns:
        q = q.with_columns(pl.lit(None, pl.String).alias("source_sha256"))
    if "quarter" not in q.columns:
        q = q.with_columns(pl.lit(None, pl.String).alias("quarter"))
    every = pl.DataFrame({"quarter": list(labels)})
    q = pl.concat(
        [
            q.filter(pl.col("quarter").is_not_null()),
            q.filter(pl.col("quarter").is_null()).drop("quarter").join(every, how="cross").select(q.columns),
        ]
    ).filter(pl.col("quarter").is_in(list(labels)))
    out = q.group_by("quarter", "source", "source_file", "source_sha256", "column", "check").agg(
        pl.len().cast(pl.Int64).alias("rows")
    )
    return with_quarter(out.select(list(schema))).sort("quarter_label", "source", "source_file", "column", "check")


def run_manifest(
    labels: Sequence[str],
    inputs: Sequence[InputFile],
    values_table: pl.DataFrame,
    rs: RuleSet,
    versions: Mapping[str, str],
) -> pl.DataFrame:
    """One row per quarter and input file, with the rule set, code and contract versions."""
    counts = values_table.group_by("quarter_label", "source_file").agg(pl.len().cast(pl.Int64).alias("n"))
    rows = []
    for label in labels:
        for f in inputs:
            rows.append((label, f.name, f.sha256, f.bytes))
    frame = pl.DataFrame(
        rows,
        schema={"quarter": pl.String, "input_file": pl.String, "input_sha256": pl.String, "input_bytes": pl.Int64},
        orient="row",
    )
    frame = with_quarter(frame).join(
        counts, left_on=["quarter_label", "input_file"], right_on=["quarter_label", "source_file"], how="left"
    )
    return frame.with_columns(
        pl.col("n").fill_null(0).alias("metric_value_rows"),
        pl.lit(rs.id).alias("rule_set_id"),
        pl.lit(rs.version).alias("rule_set_version"),
        pl.lit(versions["code_version"]).alias("code_version"),
        pl.lit(versions["schema_version"]).alias("schema_version"),
    ).sort("quarter_label", "input_file")


def inputs_from_values(values_table: pl.DataFrame) -> list[InputFile]:
    """The input files named by the values themselves, when the caller lists none."""
    pairs = values_table.select("source_file", "source_sha256").unique().sort("source_file", "source_sha256")
    return [InputFile(name, sha) for name, sha in pairs.iter_rows()]


def quarters_present(result: EngineResult, values: pl.DataFrame) -> list[str]:
    """Every quarter the run scored or read values for (each gets a snapshot, even with empty tables)."""
    labels: set[str] = set()
    for frame in (result.segmentation, result.metric_scores, values):
        if "quarter" in frame.columns:
            labels.update(frame["quarter"].unique().drop_nulls().to_list())
    return sorted({parse_quarter(label).label for label in labels})


def build_tables(
    result: EngineResult,
    orgs: pl.DataFrame,
    values: pl.DataFrame,
    rs: RuleSet,
    quarantine: pl.DataFrame | None = None,
    inputs: Sequence[InputFile] | None = None,
    versions: Mapping[str, str] | None = None,
    system_evidence: pl.DataFrame | None = None,
    history: Path | None = None,
    seconds: dict[str, float] | None = None,
) -> dict[str, pl.DataFrame]:
    """Every published table, all quarters, before validation and conforming to the models.

    ``system_evidence``: the ICB system tests' evidence (``SystemTestResult.evidence``), for rule sets with them.
    ``history``: a published snapshot to read the quarter before the run's first from (segment changes).
    ``seconds``: given, receives the wall seconds spent building the explanation tables (``explanation_tables``).
    """
    from npaf_pipeline.explain.tables import explanation_tables

    versions = versions or {"code_version": __version__, "schema_version": SCHEMA_VERSION}
    result = result.as_text()  # text keys (what engine.run returns is categorical), once for every table below
    labels = quarters_present(result, values)
    org_seg = organisation_segmentation(result, orgs, rs)
    values_table = metric_values(values, inputs or ())
    files = list(inputs) if inputs is not None else inputs_from_values(values_table)
    started = time.perf_counter()
    explanation = explanation_tables(result, org_seg, rs, history)
    if seconds is not None:
        seconds["explanation_tables"] = time.perf_counter() - started
    return {
        "organisation_segmentation": org_seg,
        "metric_scores": metric_scores(result, values, rs),
        "metric_values": values_table,
        "league_table": league_table(org_seg),
        "icb_league_table": icb_league_table(org_seg),
        "quarantine_summary": quarantine_summary(quarantine, labels),
        "run_manifest": run_manifest(labels, files, values_table, rs, versions),
        "system_considerations": system_considerations(system_evidence),
        **explanation,
    }
