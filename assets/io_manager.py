"""Stores asset outputs (polars frames, or named collections of frames) as one Parquet file per quarter.

Single-run backfills hand one step many partitions at once; frames carry a ``quarter`` column, so the IO
manager splits them by quarter on write and concatenates the requested quarters on read. Rows without a
quarter (e.g. quarantined rows whose period could not be read) belong to every quarter of the run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import polars as pl

from assets.partitions import quarter_of

UNPARTITIONED = "all"


class QuarterTablesIOManager(dg.ConfigurableIOManager):
    base_dir: str

    def _folder(self, context: dg.OutputContext | dg.InputContext) -> Path:
        return Path(self.base_dir, *context.asset_key.path)

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | Mapping[str, pl.DataFrame] | None) -> None:
        if obj is None:
            return
        tables = {"": obj} if isinstance(obj, pl.DataFrame) else dict(obj)
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else [UNPARTITIONED]
        for name, frame in tables.items():
            for key in keys:
                part = frame
                if key != UNPARTITIONED and "quarter" in frame.columns:
                    label = quarter_of(key).label
                    part = frame.filter((pl.col("quarter") == label) | pl.col("quarter").is_null())
                _write(self._folder(context) / name / f"{key}.parquet", part)
        context.add_output_metadata({"tables": ", ".join(sorted(n or "(frame)" for n in tables))})

    def load_input(self, context: dg.InputContext) -> pl.DataFrame | dict[str, pl.DataFrame]:
        folder = self._folder(context)
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else [UNPARTITIONED]
        if any(folder.glob("*.parquet")):  # a single frame
            return _read([folder / f"{k}.parquet" for k in keys])
        names = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []
        return {name: _read([folder / name / f"{k}.parquet" for k in keys]) for name in names}


def _write(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)


def _read(paths: list[Path]) -> pl.DataFrame:
    frames = [pl.read_parquet(p) for p in paths if p.exists()]
    if not frames:
        return pl.DataFrame()
    out = pl.concat(frames, how="diagonal_relaxed")
    if len(frames) > 1 and "quarter" in out.columns and out["quarter"].null_count():
        out = out.unique(maintain_order=True)  # rows without a quarter were stored with every quarter
    return out
