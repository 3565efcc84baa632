"""A DuckDB catalog over the published Parquet: one view per table and a ``latest_`` view per table.

DuckDB resolves relative paths in views against the reader's working directory, not the database file,
so views name the Parquet folders by absolute path; re-run :func:`build_catalog` after moving the folder.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path

import duckdb

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


def build_catalog(out_dir: Path, tables: Iterable[str]) -> Path:
    """(Re)write ``<out>/npaf.duckdb`` with views over every table folder that holds Parquet files."""
    target = out_dir / CATALOG_FILE
    tmp = out_dir / f".{CATALOG_FILE}.{uuid.uuid4().hex}.tmp"
    try:
        con = duckdb.connect(str(tmp), config={"storage_compatibility_version": STORAGE_VERSION})
        try:
            for name in tables:
                folder = out_dir / name
                if any(folder.glob("fy=*/quarter=*/*.parquet")):
                    for sql in view_sql(name, folder):
                        con.execute(sql)
        finally:
            con.close()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return target
