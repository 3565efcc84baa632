"""The Hive partition columns every published table also holds inside its files."""

from __future__ import annotations

import polars as pl

PARTITION_COLUMNS = ("fy", "quarter")


def plain_partitions(frame: pl.DataFrame) -> pl.DataFrame:
    """``fy`` and ``quarter`` as plain strings, as the engine's frames hold them.

    The files store them dictionary-encoded (the type readers give a folder name), which polars reads as
    Categorical and will not stack or join with String.
    """
    cols = [c for c in PARTITION_COLUMNS if c in frame.columns and frame.schema[c] != pl.String]
    return frame.with_columns(pl.col(c).cast(pl.String) for c in cols) if cols else frame
