"""Parquet files from pandera models: the declared schema, zstd, dictionary-encoded strings, no timestamps.

The Arrow schema is derived from the model, never from the frame, so a column that drifts in the engine
fails validation here instead of silently changing the published type.

The partition columns (``fy``, ``quarter``) are stored inside every file *and* named by the Hive folders. pyarrow
(and so pandas) types a string read from a folder name as ``dictionary<values=string, indices=int32>`` and refuses
to merge it with a plain ``string`` column of the same name, so a whole table folder would not open with no
options. The files therefore declare exactly that dictionary type for the partition columns: every reader then
agrees (pyarrow and pandas: dictionary / category; polars: Categorical; DuckDB: VARCHAR), with the same values.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import pandera.polars as pa
import polars as pl
import pyarrow as arrow
import pyarrow.parquet as pq

from npaf_pipeline.partitions import PARTITION_COLUMNS

_ARROW_TYPES = {
    "String": arrow.string(),
    "Int64": arrow.int64(),
    "Float64": arrow.float64(),
    "Boolean": arrow.bool_(),
}
# what pyarrow infers for a string-valued Hive folder name (HivePartitioning.discover(infer_dictionary=True))
PARTITION_TYPE = arrow.dictionary(arrow.int32(), arrow.string())
_POLARS_TYPES = {"String": pl.String, "Int64": pl.Int64, "Float64": pl.Float64, "Boolean": pl.Boolean}


def _dtype_name(column: pa.Column) -> str:
    name = str(column.dtype)
    if name not in _ARROW_TYPES:
        raise TypeError(f"column {column.name}: published tables use String, Int64, Float64 or Boolean, not {name}")
    return name


def polars_schema(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    """Column name -> polars dtype, in the model's order."""
    return {name: _POLARS_TYPES[_dtype_name(col)] for name, col in model.to_schema().columns.items()}


def arrow_schema(model: type[pa.DataFrameModel], metadata: Mapping[str, str] | None = None) -> arrow.Schema:
    """The Arrow schema of a published table: types, nullability, and each column's description and unit."""
    fields = []
    for name, col in model.to_schema().columns.items():
        meta = {"description": col.description or "", "unit": str((col.metadata or {}).get("unit", ""))}
        dtype = _ARROW_TYPES[_dtype_name(col)]
        if name in PARTITION_COLUMNS and dtype == arrow.string():
            dtype = PARTITION_TYPE
        fields.append(arrow.field(name, dtype, nullable=col.nullable, metadata=meta))
    return arrow.schema(fields, metadata=dict(sorted((metadata or {}).items())))


def conform(frame: pl.DataFrame, model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """Select the model's columns in order; absent nullable columns become typed nulls, then validate."""
    schema = model.to_schema()
    missing = [n for n, c in schema.columns.items() if n not in frame.columns and not c.nullable]
    if missing:
        raise ValueError(f"{model.__name__}: required column(s) {missing} not produced")
    types = polars_schema(model)
    frame = frame.with_columns(
        [pl.lit(None, dtype=types[n]).alias(n) for n in schema.columns if n not in frame.columns]
    ).select([pl.col(n).cast(t) for n, t in types.items()])
    return model.validate(frame, lazy=True)


def to_arrow(frame: pl.DataFrame, model: type[pa.DataFrameModel], metadata: Mapping[str, str]) -> arrow.Table:
    """A validated frame as an Arrow table with exactly the declared schema."""
    schema = arrow_schema(model, metadata)
    return frame.select(schema.names).to_arrow().cast(schema)


def write_parquet(table: arrow.Table, path: Path) -> None:
    """Write one file deterministically (same table -> same bytes)."""
    strings = [f.name for f in table.schema if arrow.types.is_string(f.type) or arrow.types.is_dictionary(f.type)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pq.write_table(
            table,
            handle,
            compression="zstd",
            use_dictionary=strings,
            write_statistics=True,
            row_group_size=max(table.num_rows, 1),
        )
        handle.flush()
        os.fsync(handle.fileno())


def kv_metadata(**values: object) -> dict[str, str]:
    """Key-value metadata under the ``npaf.`` prefix; non-strings are stored as JSON."""
    return {f"npaf.{k}": v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in values.items()}


def read_kv_metadata(path: Path) -> dict[str, str]:
    """The ``npaf.`` key-value metadata of a published file, without the prefix."""
    raw = pq.read_schema(path).metadata or {}
    return {k.decode()[5:]: v.decode() for k, v in raw.items() if k.startswith(b"npaf.")}
