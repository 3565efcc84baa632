"""The landing zone: ``<landing>/<source>/<any file names>``, raw files exactly as published.

The pipeline never modifies or moves a landing file. Every file is recorded in a ledger with its SHA-256,
size and the time it was first seen, so a changed file (same name, new bytes) is noticed and re-processed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from npaf_pipeline.sources.base import sha256_file

LEDGER_SCHEMA = {
    "source": pl.String,
    "path": pl.String,
    "sha256": pl.String,
    "size_bytes": pl.Int64,
    "first_seen": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class LandingFile:
    source: str
    path: Path
    sha256: str
    size_bytes: int


def scan(landing: str | Path) -> list[LandingFile]:
    """Every raw file under ``landing``, by source folder, in a stable order.

    Source folders are listed as every reader lists them (:func:`registry.source_files`): an entry that is not a
    readable regular file (a folder, a dangling link, a FIFO, a socket, an unreadable file) is an error naming it.
    """
    from npaf_pipeline.sources import registry

    root = Path(landing)
    if not root.is_dir():
        raise FileNotFoundError(f"landing zone {root} does not exist")
    files = []
    for source_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in registry.source_files(root, source_dir.name):
            files.append(LandingFile(source_dir.name, path, sha256_file(path), path.stat().st_size))
    return files


def update_ledger(ledger_path: str | Path, files: list[LandingFile], now: datetime | None = None) -> pl.DataFrame:
    """Merge a scan into the ledger (Parquet), keeping each (path, sha256)'s first-seen time; returns it."""
    ledger_path = Path(ledger_path)
    now = now or datetime.now(UTC)
    old = pl.read_parquet(ledger_path) if ledger_path.exists() else pl.DataFrame(schema=LEDGER_SCHEMA)
    new = pl.DataFrame(
        [(f.source, str(f.path), f.sha256, f.size_bytes, now) for f in files], schema=LEDGER_SCHEMA, orient="row"
    )
    merged = (
        pl.concat([old, new])
        .group_by("source", "path", "sha256", "size_bytes")
        .agg(pl.col("first_seen").min())
        .sort("source", "path", "first_seen")
    )
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = ledger_path.with_suffix(".tmp")
    merged.write_parquet(tmp)
    tmp.replace(ledger_path)
    return merged


def changed_files(files: list[LandingFile], seen: dict[str, str]) -> list[LandingFile]:
    """Files that are new, or whose bytes changed, since ``seen`` (path -> SHA-256)."""
    return [f for f in files if seen.get(str(f.path)) != f.sha256]


def quarters_in_files(files: list[LandingFile], known_quarters: list[str]) -> tuple[set[str], list[str]]:
    """Quarters whose inputs these files hold, read from the files' content; and problems found.

    Metric-value files name their quarters through the values they give. Organisation references and flag
    files without quarters affect every known quarter. A file that cannot be read is reported, and counts as
    affecting every known quarter, so the run that follows surfaces its error in the pipeline.
    """
    from npaf_pipeline.sources import registry
    from npaf_pipeline.sources.base import SourceFileError

    quarters: set[str] = set()
    problems: list[str] = []
    for f in files:
        if f.source not in registry.VALUE_SOURCES:
            quarters.update(known_quarters)
            continue
        try:
            values = registry.reader(f.source)([f.path], None).values
        except (SourceFileError, ValueError, OSError) as exc:
            problems.append(str(exc))
            quarters.update(known_quarters)
            continue
        quarters.update(values["quarter"].unique().drop_nulls().to_list())
    return quarters, problems
