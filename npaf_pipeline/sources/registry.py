"""Which landing folder holds which source, and which source wins when two supply the same value.

Every metric-value adapter exposes ``read(paths, quarters) -> AdapterResult``. When two sources give a
value for the same (quarter, organisation, metric), the earlier source in ``PRECEDENCE`` wins and the other
is kept as superseded (never silently dropped): user-supplied canonical values first (an explicit
correction), then values computed from raw extracts, then NHS England's published dashboard values.
"""

from __future__ import annotations

import importlib
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from npaf_pipeline.sources.base import AdapterResult, SourceFileError

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


IGNORED_NAMES = frozenset({"SOURCE.md", "README.md", ".DS_Store"})
"""Documentation beside the raw files; hidden files and Office lock files (``~$...``) are ignored too."""


class LandingEntryError(SourceFileError):
    """An entry of a source folder that is not a readable regular file (the message names it and says what it is)."""


def source_files(landing: Path, source: str) -> list[Path]:
    """The raw files of one source folder and its subfolders (documentation, hidden and lock files excluded).

    Every other entry must be a readable regular file, or a symbolic link to one: a link whose target is gone, a
    FIFO, a socket, a file that cannot be opened, or a folder with no file in it (a month's file replaced by a
    folder) raises :class:`LandingEntryError` naming it. Skipping it would publish the quarter without what it
    should have held (a month of A&E, say) and say nothing.
    """
    folder = landing / source
    if not folder.is_dir():
        return []
    return sorted(_files_in(folder, {folder.resolve()}))


def _files_in(folder: Path, seen: set[Path]) -> list[Path]:
    files: list[Path] = []
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise LandingEntryError(
            folder, f"the folder cannot be listed ({exc.strerror}): check its permissions"
        ) from None
    for path in entries:
        if path.name in IGNORED_NAMES or path.name.startswith((".", "~$")):
            continue
        if check_entry(path) == "folder":
            real = path.resolve()
            if real in seen:
                raise LandingEntryError(path, "a link back to a folder above it (a loop); remove the link")
            inside = _files_in(path, seen | {real})
            if not inside:
                raise LandingEntryError(
                    path, "a folder with no file in it where a file was expected; land the file itself, or remove it"
                )
            files += inside
        else:
            files.append(path)
    return files


def check_entry(path: Path) -> str:
    """``"file"`` or ``"folder"`` for a landing entry; anything else raises :class:`LandingEntryError`."""
    try:
        mode = path.stat().st_mode  # follows a symbolic link to what it points at
    except FileNotFoundError:
        target = os.readlink(path) if path.is_symlink() else "?"
        raise LandingEntryError(
            path, f"a symbolic link to {target}, which does not exist; land the file again"
        ) from None
    except OSError as exc:
        raise LandingEntryError(path, f"cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        return "folder"
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise LandingEntryError(path, f"{kind}, not a regular file: land the file itself")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise LandingEntryError(path, f"cannot be read ({exc.strerror}): check its permissions") from None
    return "file"


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
