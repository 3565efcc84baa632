"""The per-quarter manifest: what produced a snapshot and what it holds, as JSON beside the Parquet.

It is deterministic like the data files: a run time appears only when the caller passes one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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
) -> dict[str, Any]:
    """The manifest document; ``tables`` maps table name -> {path, rows, sha256}."""
    doc: dict[str, Any] = {
        "schema_version": versions["schema_version"],
        "code_version": versions["code_version"],
        "quarter": {"label": quarter.label, "fy": quarter.fy, "quarter": f"Q{quarter.q}", "nhse": quarter.nhse_label},
        "rule_set": {"id": rs.id, "version": rs.version, "name": rs.name, "status": rs.status},
        "inputs": [{"file": f.name, "sha256": f.sha256, "bytes": f.bytes} for f in inputs],
        "tables": {name: dict(info) for name, info in sorted(tables.items())},
        "checks": checks_for(checks, quarter),
    }
    if generated_at is not None:
        doc["generated_at"] = generated_at
    return doc


def dumps(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
