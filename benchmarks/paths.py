"""Where the benchmarks read real data and write their results, page and plots."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = Path(os.environ.get("NPAF_REAL_DATA", ROOT.parent / "shared" / "real-data"))
RESULTS = ROOT / "benchmarks" / "results"
REPORT = ROOT / "docs" / "performance.md"
PLOTS = ROOT / "docs" / "performance"
QUICK = ROOT / "build" / "bench-quick"
"""Where ``--quick`` writes its results, page and plots, so a smoke run never replaces the committed figures."""

NOF_Q1 = [
    "nof-acute-q1-2025-26/nhs-oversight-framework-acute-trust-data.csv",
    "nof-mhc-q1-2025-26/nhs-oversight-framework-mental-health-and-community-trust-data-q1.csv",
]
TRUST_REFERENCE = "reference-derived/trust_reference_2025_26.csv"
ETR = "ods-etr-nov2025/etr.csv"


def real(relative: str) -> Path:
    """A file under the shared real-data folder; a clear error when it is not there."""
    path = REAL_DATA / relative
    if not path.exists():
        raise FileNotFoundError(f"real NHS England data not found at {path} (set NPAF_REAL_DATA)")
    return path
