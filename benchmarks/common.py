"""Paths, small statistics and process-memory helpers shared by the benchmark modules."""

from __future__ import annotations

import os
import resource
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = Path(os.environ.get("NPAF_REAL_DATA", ROOT.parent / "shared" / "real-data"))
RESULTS = ROOT / "benchmarks" / "results" / "results.json"
REPORT = ROOT / "docs" / "performance.md"
PLOTS = ROOT / "docs" / "performance"
QUICK = ROOT / "build" / "bench-quick"
"""Where ``--quick`` writes its results, page and plots, so a smoke run never replaces the committed figures."""
PYTHON = os.environ.get("NPAF_BENCH_PYTHON") or str(Path(os.sys.executable))

NOF_Q1 = [
    "nof-acute-q1-2025-26/nhs-oversight-framework-acute-trust-data.csv",
    "nof-mhc-q1-2025-26/nhs-oversight-framework-mental-health-and-community-trust-data-q1.csv",
]
TRUST_REFERENCE = "reference-derived/trust_reference_2025_26.csv"


def real(relative: str) -> Path:
    """A file under the shared real-data folder; a clear error when it is not there."""
    path = REAL_DATA / relative
    if not path.exists():
        raise FileNotFoundError(f"real NHS England data not found at {path} (set NPAF_REAL_DATA)")
    return path


def summary(samples: list[float]) -> dict[str, float | int]:
    """Median, min, max and the spread (max - min) of repeated measurements."""
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "spread": max(samples) - min(samples),
        "n": len(samples),
    }


def rss_mb() -> float:
    """Current resident set size of this process (MiB), from /proc."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size of this process's own address space so far (MiB): ``VmHWM`` from /proc.

    Not ``ru_maxrss``: on Linux that survives fork and exec, so a child started by a large parent reports at
    least the parent's resident set. ``VmHWM`` belongs to the address space the child's exec created.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
