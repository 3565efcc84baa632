"""The per-quarter manifest: what produced a snapshot and what it holds, as JSON beside the Parquet.

It is deterministic like the data files: a run time appears only when the caller passes one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from npaf_pipeline.explain.changes import manifest_summary
from npaf_pipeline.publish.tables import InputFile
from npaf_pipeline.quarters import Quarter, parse_quarter
from npaf_pipeline.ruleset.model import RuleSet

MANIFESTS = "manifests"
MANIFEST_FILE = "manifest.json"


def manifest_unit(quarter: Quarter) -> Path:
    """Folder of a quarter's manifest, relative to the output root."""
    return Path(MANIFESTS) / f"fy={quarter.fy}" / f"quarter=Q{quarter.q}"


def checks_for(checks: Sequence[Mapping[str, Any]] | None, quarter: Quarter) -> list[dict[str, Any]]:
    """Check results that concern a quarter: those naming it, and those naming no quarter."""
    out = []
    for check in checks or ():
        named = check.get("quarter")
        if named is None or parse_quarter(str(named)) == quarter:
            out.append(dict(check))
    return out


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_manifest(
    quarter: Quarter,
    rs: RuleSet,
    versions: Mapping[str, str],
    inputs: Sequence[InputFile],
    tables: Mapping[str, Mapping[str, Any]],
    checks: Sequence[Mapping[str, Any]] | None = None,
    generated_at: str | None = None,
    segment_changes: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """The manifest document; ``tables`` maps table name -> {path, rows, sha256}.

    ``segment_changes``: the quarter's segment_changes rows, summarised in NHS England's shape (changed; of which
    override / significant / not significant; significant without a change of segment) per organisation type.
    """
    doc: dict[str, Any] = {
        "schema_version": versions["schema_version"],
        "code_version": versions["code_version"],
        "quarter": {"label": quarter.label, "fy": quarter.fy, "quarter": f"Q{quarter.q}", "nhse": quarter.nhse_label},
        "rule_set": {"id": rs.id, "version": rs.version, "name": rs.name, "status": rs.status},
        "inputs": [{"file": f.name, "sha256": f.sha256, "bytes": f.bytes} for f in inputs],
        "tables": {name: dict(info) for name, info in sorted(tables.items())},
        "checks": checks_for(checks, quarter),
    }
    if segment_changes is not None:
        doc["segment_changes_summary"] = manifest_summary(segment_changes, quarter.label)
    if generated_at is not None:
        doc["generated_at"] = generated_at
    return doc


def dumps(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
