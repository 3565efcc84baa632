"""A DuckDB catalog over one published snapshot: one view per table and a ``latest_`` view per table.

Each snapshot holds its own catalog, and ``<out>/npaf.duckdb`` resolves to the current one. Its views name the
Parquet folders *inside that snapshot* by absolute path: a connection opened on it keeps reading one whole
snapshot while newer ones are published (a view through ``current`` could show one table old and the next new
within a session). DuckDB resolves relative paths in views against the reader's working directory, not the
database file, so the paths are absolute; re-run :func:`build_catalog` on the output folder after moving it.

The file is deterministic: the same views in a file of the same name give the same bytes (DuckDB stores the
database name, taken from the file name, inside the file, so the catalog is always built as ``npaf.duckdb``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import duckdb

from npaf_pipeline.publish.atomic import CURRENT, current_snapshot

CATALOG_FILE = "npaf.duckdb"
# the oldest storage format that holds views: lets DuckDB 1.x clients (ODBC drivers, older CLIs) open the file
STORAGE_VERSION = "v1.0.0"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_sql(name: str, folder: Path) -> list[str]:
    """The two view definitions for one table folder."""
    pattern = _quote((folder.resolve() / "**" / "*.parquet").as_posix())
    source = (
        f"read_parquet({pattern}, hive_partitioning = true, union_by_name = true, "
        "hive_types = {'fy': VARCHAR, 'quarter': VARCHAR})"
    )
    return [
        f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM {source}',
        f'CREATE OR REPLACE VIEW "latest_{name}" AS SELECT * FROM "{name}" '
        f'WHERE quarter_label = (SELECT max(quarter_label) FROM "{name}")',
    ]


def snapshot_root(out_dir: Path) -> Path:
    """The snapshot folder a catalog belongs to: ``out_dir`` itself, or the current snapshot of an output folder."""
    if (out_dir / CURRENT).is_symlink():
        current = current_snapshot(out_dir)
        if current is None:
            raise FileNotFoundError(f"{out_dir / CURRENT}: names no snapshot")
        return current
    return out_dir


def build_catalog(out_dir: Path, tables: Iterable[str]) -> Path:
    """(Re)write the catalog of one snapshot with views over every table folder of it that holds Parquet files.

    ``out_dir``: a snapshot folder, or an output folder (then its current snapshot's catalog is rewritten, as
    after moving the folder). A catalog that would not change is left alone (same bytes, same file).
    """
    root = snapshot_root(out_dir)
    for debris in root.glob(".catalog-*"):  # left by a build that was killed
        shutil.rmtree(debris, ignore_errors=True)
    work = root / f".catalog-{uuid.uuid4().hex}"
    work.mkdir()
    tmp = work / CATALOG_FILE  # the final name: it is stored in the file
    try:
        con = duckdb.connect(str(tmp), config={"storage_compatibility_version": STORAGE_VERSION})
        try:
            for name in tables:
                if any((root / name).glob("fy=*/quarter=*/*.parquet")):
                    for sql in view_sql(name, root / name):
                        con.execute(sql)
        finally:
            con.close()
        target = root / CATALOG_FILE
        if not target.is_file() or target.read_bytes() != tmp.read_bytes():
            os.replace(tmp, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_dir / CATALOG_FILE
