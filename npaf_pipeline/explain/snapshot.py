"""Read a published snapshot back, one quarter at a time, without the pipeline (and without Dagster).

The layout is the published contract: ``<out>/<table>/fy=<fy>/quarter=Q<n>/*.parquet`` and
``<out>/manifests/fy=<fy>/quarter=Q<n>/manifest.json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl

from npaf_pipeline.partitions import plain_partitions
from npaf_pipeline.quarters import parse_quarter

_PART = re.compile(r"^fy=([0-9]{4}-[0-9]{2})$")


class SnapshotError(ValueError):
    """The snapshot folder, or a quarter in it, is not there."""


def quarter_folder(out: Path, table: str, label: str) -> Path:
    q = parse_quarter(label)
    return out / table / f"fy={q.fy}" / f"quarter=Q{q.q}"


def published_quarters(out: Path, table: str = "organisation_segmentation") -> list[str]:
    """Quarter labels with a published folder for ``table``, oldest first."""
    root = out / table
    labels = []
    if root.is_dir():
        for fy in sorted(root.iterdir()):
            match = _PART.match(fy.name)
            if not match:
                continue
            for q in sorted(fy.iterdir()):
                if q.name.startswith("quarter=Q") and any(q.glob("*.parquet")):
                    labels.append(f"{match.group(1)} {q.name.removeprefix('quarter=')}")
    return sorted(labels, key=lambda label: parse_quarter(label).index)


def read_quarter(out: Path, table: str, label: str, columns: list[str] | None = None) -> pl.DataFrame | None:
    """One quarter of one published table, or None when the snapshot does not hold it."""
    folder = quarter_folder(out, table, label)
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        return None
    frames = [plain_partitions(pl.read_parquet(f, columns=columns)) for f in files]
    return pl.concat(frames, how="vertical_relaxed")


def read_manifest(out: Path, label: str) -> dict[str, Any]:
    path = quarter_folder(out, "manifests", label) / "manifest.json"
    if not path.is_file():
        raise SnapshotError(f"{out}: no manifest for {label} ({path})")
    return json.loads(path.read_text(encoding="utf-8"))
