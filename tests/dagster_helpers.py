"""Shared set-up for Dagster tests: a landing zone of real NHS England files (linked, never copied)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import ACUTE_Q1, MHC_Q1, real_file

REAL_LANDING = {
    "nof_dashboard": [ACUTE_Q1, MHC_Q1],
    "ods_etr": ["ods-etr-nov2025/etr.csv"],
    "trust_reference": ["reference-derived/trust_reference_2025_26.csv"],
}


def real_landing(root: Path, sources: dict[str, list[str]] | None = None) -> Path:
    """A landing zone under ``root`` whose files are symbolic links to the shared real data."""
    landing = root / "landing"
    for source, files in (sources or REAL_LANDING).items():
        folder = landing / source
        folder.mkdir(parents=True, exist_ok=True)
        for relative in files:
            target = real_file(relative)
            os.symlink(target.resolve(), folder / target.name)
    return landing
