"""Where a published table's quarter lives (``<table>/fy=YYYY-YY/quarter=Qn/part-0.parquet``) and the Hive
partition columns every published table also holds inside its files.

Kept apart from the publishing code, whose imports (Great Expectations among them) take seconds, so that readers
of the layout (the terminal's summary, the NHSE export) find a quarter's file without them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from npaf_pipeline.quarters import Quarter

PARTITION_COLUMNS = ("fy", "quarter")
PART_FILE = "part-0.parquet"
"""The one file of a table's quarter."""


def partition_unit(table: str, quarter: Quarter) -> Path:
    """A table's folder for one quarter, relative to the output root."""
    return Path(table) / f"fy={quarter.fy}" / f"quarter=Q{quarter.q}"


def plain_partitions(frame: pl.DataFrame) -> pl.DataFrame:
    """``fy`` and ``quarter`` as plain strings, as the engine's frames hold them.

    The files store them dictionary-encoded (the type readers give a folder name), which polars reads as
    Categorical and will not stack or join with String.
    """
    cols = [c for c in PARTITION_COLUMNS if c in frame.columns and frame.schema[c] != pl.String]
    return frame.with_columns(pl.col(c).cast(pl.String) for c in cols) if cols else frame
