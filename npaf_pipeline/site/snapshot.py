"""Read a published snapshot for the site: every quarter of each table, the manifests and the Data Docs.

Only the documented layout is assumed (``<root>/<table>/fy=*/quarter=*/*.parquet``, ``<root>/manifests/...``,
``<root>/data-docs/index.html``); any of those folders may be a symlink into a versioned snapshot, so paths are
globbed under the root as given and never resolved to a physical place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from npaf_pipeline.partitions import plain_partitions

# Tables the site reads; the explanation tables are optional (older snapshots lack them).
CORE_TABLES = (
    "organisation_segmentation",
    "metric_scores",
    "metric_values",
    "league_table",
    "icb_league_table",
    "quarantine_summary",
    "run_manifest",
    "system_considerations",
)
EXPLANATION_TABLES = ("segment_explanation", "segment_distance", "segment_changes")


def table_files(root: Path, table: str) -> list[Path]:
    """Every Parquet file of a table, in quarter order (folder names sort as the quarters do)."""
    return sorted((root / table).glob("fy=*/quarter=*/*.parquet"))


def read_table(root: Path, table: str) -> pl.DataFrame | None:
    """All quarters of a table as one frame (columns a quarter lacks read as null); None when not published."""
    files = table_files(root, table)
    if not files:
        return None
    frames = [plain_partitions(pl.read_parquet(f, hive_partitioning=False)) for f in files]
    return pl.concat(frames, how="diagonal_relaxed")


@dataclass
class Snapshot:
    """The published tables the site is drawn from, with the manifests per quarter."""

    root: Path
    tables: dict[str, pl.DataFrame]
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def quarters(self) -> list[str]:
        return sorted(self.table("organisation_segmentation")["quarter_label"].unique().to_list())

    def table(self, name: str) -> pl.DataFrame:
        frame = self.tables.get(name)
        if frame is None:
            raise KeyError(name)
        return frame

    def has(self, name: str) -> bool:
        return name in self.tables

    def data_docs(self, quarter_label: str) -> Path | None:
        """The Data Docs index under the root, when it was written.

        One site per publish (the acceptance run of the publish that made the snapshot), so every quarter links
        the same index; the quarter's own acceptance result is in its manifest's checks.
        """
        index = self.root / "data-docs" / "index.html"
        return index if index.is_file() else None

    def validation_pages(self, quarter_label: str) -> dict[str, Path]:
        """Per table, the newest validation result page of the acceptance suite (npaf.<table>)."""
        base = self.root / "data-docs" / "validations" / "npaf"
        pages: dict[str, Path] = {}
        if base.is_dir():
            for folder in sorted(p for p in base.iterdir() if p.is_dir()):
                found = sorted(folder.glob("*/*/*.html"))
                if found:
                    pages[folder.name] = found[-1]
        return pages

    def manifest_path(self, quarter_label: str) -> Path:
        fy, q = quarter_label.split(" ")
        return self.root / "manifests" / f"fy={fy}" / f"quarter={q}" / "manifest.json"


def load_snapshot(root: Path) -> Snapshot:
    """Read every table the site needs; a snapshot without organisation_segmentation is not a snapshot."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such snapshot folder")
    tables: dict[str, pl.DataFrame] = {}
    missing: list[str] = []
    for name in (*CORE_TABLES, *EXPLANATION_TABLES):
        frame = read_table(root, name)
        if frame is None:
            missing.append(name)
        else:
            tables[name] = frame
    if "organisation_segmentation" not in tables:
        raise FileNotFoundError(
            f"{root}: no organisation_segmentation/fy=*/quarter=*/*.parquet (is this a publish output folder?)"
        )
    snap = Snapshot(root, tables, missing=missing)
    for label in snap.quarters:
        path = snap.manifest_path(label)
        if path.is_file():
            try:
                snap.manifests[label] = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    return snap
