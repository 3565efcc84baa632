"""Which landing folder holds which source, and which source wins when two supply the same value.

Every metric-value adapter exposes ``read(paths, quarters) -> AdapterResult``. When two sources give a
value for the same (quarter, organisation, metric), the earlier source in ``PRECEDENCE`` wins and the other
is kept as superseded (never silently dropped): user-supplied canonical values first (an explicit
correction), then values computed from raw extracts, then NHS England's published dashboard values.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from npaf_pipeline.sources.base import AdapterResult

VALUE_SOURCES: dict[str, str] = {
    "canonical": "npaf_pipeline.sources.canonical",
    "ae_monthly": "npaf_pipeline.sources.ae_monthly",
    "cwt_crs": "npaf_pipeline.sources.cwt_crs",
    "chs_waiting_lists": "npaf_pipeline.sources.chs_waiting_lists",
    "ambsys": "npaf_pipeline.sources.ambsys",
    "rtt_full": "npaf_pipeline.sources.rtt_full",
    "nof_dashboard": "npaf_pipeline.sources.nof_dashboard",
}
PRECEDENCE = list(VALUE_SOURCES)
REFERENCE_SOURCES: dict[str, str] = {"nof_league_table": "npaf_pipeline.sources.nof_league_table"}
"""Published references (not metric values) that have a landing folder: compared with, never scored."""
KEYS = ["quarter", "org_code", "metric_id"]

Reader = Callable[[Sequence[Path], Sequence[str] | None], AdapterResult]


def reader(source: str) -> Reader:
    if source not in VALUE_SOURCES:
        raise KeyError(f"unknown source {source!r}; known: {', '.join(VALUE_SOURCES)}")
    return importlib.import_module(VALUE_SOURCES[source]).read


def source_files(landing: Path, source: str) -> list[Path]:
    """The raw files of one source folder (documentation files and hidden or lock files excluded)."""
    folder = landing / source
    if not folder.is_dir():
        return []
    skip = {"SOURCE.md", "README.md"}
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.name not in skip and not p.name.startswith((".", "~$"))
    )


def merge_values(by_source: dict[str, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One value per key by source precedence; returns ``(values, superseded)``."""
    frames = [
        frame.with_columns(pl.lit(PRECEDENCE.index(source)).alias("_precedence"))
        for source, frame in by_source.items()
        if frame.height
    ]
    if not frames:
        empty = pl.DataFrame(schema={k: pl.String for k in KEYS})
        return empty, empty
    stacked = pl.concat(frames, how="diagonal_relaxed").sort([*KEYS, "_precedence"])
    first = pl.int_range(pl.len()).over(KEYS) == 0
    return stacked.filter(first).drop("_precedence"), stacked.filter(~first).drop("_precedence")
