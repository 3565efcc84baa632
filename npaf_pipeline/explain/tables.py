"""The published explanation tables of a run, built from the engine result and the organisation table.

Called from :func:`npaf_pipeline.publish.tables.build_tables`, so a quarter's explanation is published with
every other table of the quarter. The quarter before the first one of a run is read from the snapshot
(``history``), so publishing one quarter at a time still explains its moves.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from npaf_pipeline.engine import EngineResult
from npaf_pipeline.explain.changes import segment_changes
from npaf_pipeline.explain.distance import segment_distance
from npaf_pipeline.explain.drivers import segment_explanation
from npaf_pipeline.explain.snapshot import read_quarter
from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.ruleset.model import RuleSet

TABLES = ("segment_explanation", "segment_distance", "segment_changes", "segment_change_items")


def _labelled(frame: pl.DataFrame) -> pl.DataFrame:
    canon = {label: parse_quarter(label).label for label in frame["quarter"].unique().to_list()}
    return frame.with_columns(pl.col("quarter").replace_strict(canon, return_dtype=pl.String).alias("quarter_label"))


def _history(history: Path | None, labels: list[str]) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """The published organisation and driver tables of each quarter before a run quarter that the run lacks."""
    if history is None:
        return None, None
    wanted = sorted({parse_quarter(q).shift(-1).label for q in labels} - set(labels))
    orgs, items = [], []
    for label in wanted:
        org = read_quarter(history, "organisation_segmentation", label)
        drivers = read_quarter(history, "segment_explanation", label)
        if org is not None and drivers is not None:
            orgs.append(org)
            items.append(drivers)
    if not orgs:
        return None, None
    return pl.concat(orgs, how="diagonal_relaxed"), pl.concat(items, how="diagonal_relaxed")


def explanation_tables(
    result: EngineResult, org_seg: pl.DataFrame, rs: RuleSet, history: Path | None = None
) -> dict[str, pl.DataFrame]:
    """``segment_explanation``, ``segment_distance``, ``segment_changes`` and ``segment_change_items`` (``result``
    with text keys, as :func:`npaf_pipeline.publish.tables.build_tables` passes it)."""
    drivers = segment_explanation(_labelled(result.items.drop("quarter_label", strict=False)), org_seg, rs)
    labels = org_seg["quarter_label"].unique().to_list()
    previous_org, previous_items = _history(history, labels)
    changes, change_items = segment_changes(org_seg, drivers, rs, previous_org, previous_items)
    return {
        "segment_explanation": drivers,
        "segment_distance": segment_distance(result.metric_scores, result.cutpoints, org_seg, rs),
        "segment_changes": changes,
        "segment_change_items": change_items,
    }
