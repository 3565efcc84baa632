"""Adapter for NHS England's NOF dashboard CSVs as a landing source.

Their OF0xxx rows (and the score-only OF1035/OF1046/OF1067/OF1069 rows) are metric values; every other
published row is the reference that reconciliation compares against. Structural problems stop the file
(:class:`SourceFileError`); rows whose values break the canonical contract are quarantined.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandera.polars as pa
import polars as pl

from npaf_pipeline.quarters import parse_quarter
from npaf_pipeline.ruleset import RuleSet, load_ruleset
from npaf_pipeline.sources import nof_csv
from npaf_pipeline.sources.base import AdapterResult, SourceFileError, combine, finish, validate_rows
from schemas.common import ods_code

SOURCE = "nof_dashboard"


class ReferenceRow(pa.DataFrameModel):
    """A published row kept as reference (scores, segments, flags): its code must be an ODS code, as a value's."""

    org_code: str = ods_code()
    source_row: int = pa.Field(ge=1, description="line number in the file")


def read_release(paths: Sequence[str | Path], quarters: Sequence[str] | None = None) -> nof_csv.NofRelease:
    """The published rows of the files, restricted to ``quarters`` when given."""
    try:
        release = nof_csv.read_nof_csv(list(paths))
    except nof_csv.NofFileError as exc:
        # the reader already names the file (and line); keep its words without repeating the path
        where = ", ".join(map(str, paths))
        raise SourceFileError(where, str(exc).removeprefix(f"{where}, ").removeprefix(f"{where}: ")) from None
    if quarters is not None:
        wanted = [parse_quarter(q).label for q in quarters]
        release = nof_csv.NofRelease(release.rows.filter(pl.col("quarter").is_in(wanted)))
    return release


def read(
    paths: Sequence[str | Path], quarters: Sequence[str] | None = None, rs: RuleSet | None = None
) -> AdapterResult:
    """Canonical metric values (with the published rank kept for ordering equal values), per file accounted."""
    rs = rs or load_ruleset("nof-2025-26")
    results = []
    for path in paths:
        release = read_release([path], quarters)
        values = nof_csv.metric_values(release, rs).select(
            "quarter",
            "org_code",
            "metric_id",
            "period",
            "value",
            "unit",
            pl.lit(SOURCE).alias("source"),
            "source_file",
            pl.col("line").alias("source_row"),
            pl.col("tiebreak_rank").alias("published_rank"),
        )
        sha = release.rows["source_sha256"][0] if release.rows.height else ""
        values = values.with_columns(pl.lit(sha).alias("source_sha256"))
        # rows that are not values (published scores, segments, flags) are reference, with the rule a value's code
        # keeps: a flag of ``r1f`` would otherwise be nobody's flag and R1F's go unpublished
        lines = values["source_row"].implode()
        rows = release.rows.filter(~pl.col("line").is_in(lines)).select("org_code", pl.col("line").alias("source_row"))
        reference, quarantine = validate_rows(rows, ReferenceRow, source=SOURCE, path=path, sha256=sha)
        results.append(
            finish(SOURCE, path, sha, release.rows.height, values, quarantine, reference_rows=reference.height)
        )
    return combine(results, SOURCE)
