"""What readers see in a published output folder: the files behind the stable paths, and each reader's rows."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from npaf_pipeline.publish.atomic import CURRENT
from schemas.published import published_models

TABLES = list(published_models([]))


def catalog_views(out: Path) -> dict[str, str]:
    """The catalog's view definitions, with the output folder's own path written ``<out>`` (it differs per copy)."""
    if not (out / "npaf.duckdb").is_file():
        return {}
    with duckdb.connect(str(out / "npaf.duckdb"), read_only=True) as con:
        views = con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall()
    return {name: sql.replace(out.resolve().as_posix(), "<out>") for name, sql in views}


def visible_files(out: Path, skip: tuple[str, ...] = ("data-docs",)) -> dict[str, bytes]:
    """Every file reached through ``<out>/<name>`` (symlinks followed), by path relative to ``out``."""
    files: dict[str, bytes] = {}
    if not out.is_dir():
        return files
    for entry in sorted(out.iterdir()):
        if entry.name.startswith(".") or entry.name == CURRENT or entry.name in skip:
            continue
        if entry.is_dir():
            for path in entry.rglob("*"):  # rglob follows the symlinked root it starts from
                if path.is_file():
                    files[path.relative_to(out).as_posix()] = path.read_bytes()
        elif entry.is_file():
            files[entry.name] = entry.read_bytes()
    return files


def _rows(table: pa.Table) -> list[tuple]:
    columns = [c.to_pylist() for c in table.columns]
    return sorted((tuple(None if v != v else v for v in row) for row in zip(*columns, strict=True)), key=repr)


def reader_rows(out: Path, catalog: duckdb.DuckDBPyConnection | None = None) -> dict[str, list[tuple]]:
    """Each table's rows, read from its folder by pyarrow, pandas, polars, DuckDB and the catalog's view, which
    must all agree; tables absent from the folder read as no rows."""
    seen: dict[str, list[tuple]] = {}
    own = catalog is None and (out / "npaf.duckdb").is_file()
    con = duckdb.connect(str(out / "npaf.duckdb"), read_only=True) if own else catalog
    try:
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()} if con else set()
        for table in TABLES:
            folder = out / table
            if not any(folder.glob("fy=*/quarter=*/*.parquet")):
                assert table not in views, table
                seen[table] = []
                continue
            pattern = (folder / "**" / "*.parquet").as_posix()
            arrow = _rows(pq.read_table(folder))
            assert _rows(pa.Table.from_pandas(pd.read_parquet(folder), preserve_index=False)) == arrow, table
            assert _rows(pl.scan_parquet(pattern, hive_partitioning=True).collect().to_arrow()) == arrow, table
            direct = duckdb.sql(f"SELECT * FROM read_parquet('{pattern}', hive_partitioning = true)")
            assert _rows(direct.to_arrow_table()) == arrow, table
            assert con is not None and _rows(con.sql(f'SELECT * FROM "{table}"').to_arrow_table()) == arrow, table
            seen[table] = arrow
    finally:
        if own and con is not None:
            con.close()
    return seen


def manifests_match_files(out: Path) -> None:
    """Every manifest names exactly the files a reader sees for its quarter, with their hashes and row counts."""
    for manifest_path in sorted((out / "manifests").glob("fy=*/quarter=*/manifest.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for entry in manifest["tables"].values():
            path = out / entry["path"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], path
            assert pq.read_metadata(path).num_rows == entry["rows"], path
