"""Stores asset outputs (polars frames, or named collections of frames) as one Parquet file per quarter.

Single-run backfills hand one step many partitions at once; frames carry a ``quarter`` column, so the IO
manager splits them by quarter on write and concatenates the requested quarters on read. Rows without a
quarter (e.g. quarantined rows whose period could not be read) belong to every quarter of the run.

A quarter is read whole or not at all: an input quarter with nothing stored (never materialized, or its files
removed), or a collection whose tables are stored for some of the quarters and not others (quarters stored by
different versions of the pipeline), fails the step with the asset, the quarters and the folder named, rather
than giving the step fewer rows. Writing a collection for a quarter removes that quarter's tables the
collection no longer has.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import polars as pl

from assets.partitions import quarter_of

UNPARTITIONED = "all"
PREVIOUS_QUARTER_OPTIONAL = "npaf/previous_quarter_optional"
"""Input metadata: the input's earliest quarter, the one before the run's first (an input mapped to the previous
quarter), may have nothing stored; it is then left out. Any other missing quarter fails the step."""


class StoredTableMissing(RuntimeError):
    """An input quarter the step needs is not stored, or not stored whole."""


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
        if "" not in tables:  # a collection: its tables for these quarters are exactly the ones just written
            folder = self._folder(context)
            for stale in (p for p in folder.iterdir() if p.is_dir() and p.name not in tables):
                for key in keys:
                    (stale / f"{key}.parquet").unlink(missing_ok=True)
        context.add_output_metadata({"tables": ", ".join(sorted(n or "(frame)" for n in tables))})

    def load_input(self, context: dg.InputContext) -> pl.DataFrame | dict[str, pl.DataFrame]:
        folder = self._folder(context)
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else [UNPARTITIONED]
        asset = context.asset_key.to_user_string()
        if any(folder.glob("*.parquet")):  # a single frame
            keys = _stored(asset, folder, keys, {k for k in keys if (folder / f"{k}.parquet").is_file()}, context)
            return _read([folder / f"{k}.parquet" for k in keys])
        names = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []
        held = {name: {k for k in keys if (folder / name / f"{k}.parquet").is_file()} for name in names}
        keys = _stored(asset, folder, keys, set().union(*held.values()), context)
        tables = {}
        for name in names:
            if not held[name]:
                continue  # a table no version stored for these quarters
            lacking = [k for k in keys if k not in held[name]]
            if lacking:
                raise StoredTableMissing(
                    f"{asset}: table {name!r} is stored for {_quarters(sorted(held[name]))} but not for "
                    f"{_quarters(lacking)} ({folder / name}): those quarters were stored by different versions of "
                    f"the pipeline. Materialize {asset} for {_quarters(keys)} again."
                )
            tables[name] = _read([folder / name / f"{k}.parquet" for k in keys])
        return tables


def _stored(asset: str, folder: Path, keys: list[str], stored: set[str], context: dg.InputContext) -> list[str]:
    """The requested quarters that are stored; a missing one fails the step, unless it is the optional previous
    quarter of an input that declares one (``PREVIOUS_QUARTER_OPTIONAL``)."""
    optional = {min(keys)} if keys and context.definition_metadata.get(PREVIOUS_QUARTER_OPTIONAL) else set()
    missing = [k for k in keys if k not in stored and k not in optional]
    if missing:
        where = "" if missing == [UNPARTITIONED] else f" for {_quarters(missing)}"
        hint = (
            ""
            if missing == [UNPARTITIONED]
            else f", e.g. npaf backfill --from {_arg(missing[0])} --to {_arg(missing[-1])}"
        )
        raise StoredTableMissing(
            f"{asset} has nothing stored{where} ({folder}): it was never materialized there, or its files were "
            f"removed. Materialize {asset} first{hint}."
        )
    return [k for k in keys if k in stored]


def _arg(key: str) -> str:
    """A quarter as ``npaf backfill`` takes it without quoting: ``2025-26Q1``."""
    q = quarter_of(key)
    return f"{q.fy}Q{q.q}"


def _quarters(keys: list[str]) -> str:
    return ", ".join(k if k == UNPARTITIONED else quarter_of(k).label for k in keys)


def _write(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)


def _read(paths: list[Path]) -> pl.DataFrame:
    frames = [pl.read_parquet(p) for p in paths]  # every path is stored: see _stored
    if not frames:
        return pl.DataFrame()
    out = pl.concat(frames, how="diagonal_relaxed")
    if len(frames) > 1 and "quarter" in out.columns and out["quarter"].null_count():
        out = out.unique(maintain_order=True)  # rows without a quarter were stored with every quarter
    return out
